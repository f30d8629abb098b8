"""Prompt-set loaders, specs, sampling, hashing and the built-in set."""

from __future__ import annotations

import csv
import gzip
import json
import random
from pathlib import Path

import pandas as pd
import pytest

from distillscope.errors import ConfigError
from distillscope.prompts import (
    BUILTIN_GROUPS,
    builtin_prompts,
    load_arenahard,
    load_mtbench,
    load_numina,
    load_prompt_set,
    load_sharegpt,
    sample_prompts,
)

SHARED_PROMPTS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "prompts"


def shared(name: str) -> Path:
    path = SHARED_PROMPTS / name
    if not path.exists():
        pytest.skip(f"shared validation data {path} is absent (needs ../shared/data next to the repo)")
    return path


def write_jsonl(path: Path, rows: list[dict[str, object]], gz: bool = False) -> Path:
    text = "".join(json.dumps(r) + "\n" for r in rows)
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def test_arenahard_prompt_and_turn_formats(tmp_path: Path) -> None:
    rows: list[dict[str, object]] = [
        {"id": "a", "category": "x", "cluster": "Puzzles", "prompt": "first"},
        {"question_id": "b", "turns": [{"content": "second"}]},
        {"uid": "c", "turns": ["third", "follow-up"]},
        {"id": "d", "prompt": "   "},  # empty: dropped
    ]
    items = load_arenahard(write_jsonl(tmp_path / "q.jsonl.gz", rows, gz=True))
    assert [(i.id, i.text) for i in items] == [("a", "first"), ("b", "second"), ("c", "third")]
    assert items[0].category == "Puzzles"
    assert items[2].turns == ("third", "follow-up")
    assert all(i.set == "arenahard" for i in items)


def test_sharegpt_json_array_first_turn_and_multi_turn(tmp_path: Path) -> None:
    data = [
        {
            "id": "s1",
            "conversations": [
                {"from": "system", "value": "be nice"},
                {"from": "human", "value": "hello"},
                {"from": "gpt", "value": "hi there"},
                {"from": "human", "value": "tell me more"},
                {"from": "gpt", "value": "sure"},
            ],
        },
        {"id": "s2", "conversations": [{"from": "gpt", "value": "no human turn"}]},
        {"id": "s3", "prompt": "plain prompt"},
    ]
    path = tmp_path / "sg.json"
    path.write_text(json.dumps(data))
    first = load_sharegpt(path)
    assert [(i.id, i.text) for i in first] == [("s1", "hello"), ("s3", "plain prompt")]
    assert first[0].turns == ("hello", "tell me more")
    assert [m.content for m in first[0].request_messages()] == ["hello"]
    multi = load_sharegpt(path, multi_turn=True)
    msgs = multi[0].request_messages()
    assert [m.role for m in msgs] == ["system", "user", "assistant", "user"]
    assert msgs[-1].content == "tell me more" and multi[0].text == "tell me more"


def test_mtbench_and_numina(tmp_path: Path) -> None:
    mt = load_mtbench(write_jsonl(tmp_path / "mt.jsonl", [{"id": 81, "category": "writing", "turns": ["t1", "t2"]}]))
    assert mt[0].id == "81" and mt[0].text == "t1" and mt[0].turns == ("t1", "t2") and mt[0].category == "writing"
    nu = load_numina(write_jsonl(tmp_path / "n.jsonl", [{"problem": "1+1?", "source": "amc"}, {"problem": "2+2?"}]))
    assert [i.text for i in nu] == ["1+1?", "2+2?"] and nu[0].category == "amc" and nu[1].id == "1"


def test_generic_jsonl_csv_parquet_with_field(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "g.jsonl", [{"q": "alpha", "id": 1}, {"q": "beta", "id": 2}])
    with (tmp_path / "g.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, ["id", "q"])
        w.writeheader()
        w.writerows([{"id": "1", "q": "alpha"}, {"id": "2", "q": "beta"}])
    pd.DataFrame({"q": ["alpha", "beta"]}).to_parquet(tmp_path / "g.parquet")
    for kind, name in (("jsonl", "g.jsonl"), ("csv", "g.csv"), ("parquet", "g.parquet")):
        ps = load_prompt_set(f"{kind}:{tmp_path / name}#q")
        assert [i.text for i in ps] == ["alpha", "beta"], kind
        assert ps.set_names == ["g"]


def test_generic_jsonl_auto_field_and_gz(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "x.jsonl.gz", [{"instruction": "do a"}, {"instruction": "do b"}], gz=True)
    assert [i.text for i in load_prompt_set(f"jsonl:{path}")] == ["do a", "do b"]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("", "no usable prompt"),
        ('{"prompt": "ok"}\n{not json}\n', "invalid JSON line"),
        ('["a", "b"]', "not a JSON object"),
    ],
)
def test_malformed_files_raise_config_error_naming_the_fix(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(ConfigError, match=needle):
        load_arenahard(path)


def test_missing_field_and_bad_specs(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "f.jsonl", [{"body": "x"}])
    with pytest.raises(ConfigError, match="SPEC#FIELD"):
        load_prompt_set(f"jsonl:{path}#question")
    with pytest.raises(ConfigError, match="does not exist"):
        load_prompt_set("arenahard:/nonexistent/q.jsonl")
    with pytest.raises(ConfigError, match="builtin"):
        load_prompt_set("nosuchkind")
    with pytest.raises(ConfigError, match="unknown built-in group"):
        load_prompt_set("builtin:poetry")


def test_duplicate_ids_made_unique(tmp_path: Path) -> None:
    items = load_arenahard(write_jsonl(tmp_path / "d.jsonl", [{"id": "x", "prompt": "a"}, {"id": "x", "prompt": "b"}]))
    assert [i.id for i in items] == ["x", "x#2"]


def test_builtin_has_three_groups_of_original_prompts() -> None:
    items = builtin_prompts()
    assert len(items) >= 60
    assert set(BUILTIN_GROUPS) == {"reasoning", "math", "instructions"}
    for group in BUILTIN_GROUPS:
        assert sum(i.category == group for i in items) >= 20
    assert len({i.id for i in items}) == len(items) and len({i.text for i in items}) == len(items)
    assert {i.set for i in load_prompt_set("builtin:math")} == {"builtin:math"}


def test_seeded_sampling_is_reproducible_and_per_set() -> None:
    a = load_prompt_set("builtin", sample=4, rng=random.Random(7))
    b = load_prompt_set("builtin", sample=4, rng=random.Random(7))
    c = load_prompt_set("builtin", sample=4, rng=random.Random(8))
    assert [i.id for i in a] == [i.id for i in b]
    assert [i.id for i in a] != [i.id for i in c]
    assert len(a) == 12 and all(sum(i.set == s for i in a) == 4 for s in a.set_names)
    assert a.content_hash == b.content_hash != c.content_hash
    items = builtin_prompts(["math"])
    assert sample_prompts(items, 100, random.Random(0)) == items


def test_real_arena_hard() -> None:
    ps = load_prompt_set(f"arenahard:{shared('arena_hard_v0.1.jsonl.gz')}")
    assert len(ps) == 500 and len({i.id for i in ps}) == 500
    assert all(i.text.strip() for i in ps)


def test_real_sharegpt_sampled() -> None:
    path = shared("sharegpt_1000.jsonl.gz")
    assert len(load_prompt_set(f"sharegpt:{path}")) == 1000
    s1 = load_prompt_set(f"sharegpt:{path}", sample=100, rng=random.Random(3))
    s2 = load_prompt_set(f"sharegpt:{path}", sample=100, rng=random.Random(3))
    assert len(s1) == 100 and s1.content_hash == s2.content_hash


def test_real_mt_bench() -> None:
    ps = load_prompt_set(f"mtbench:{shared('mt_bench_80.jsonl.gz')}")
    assert len(ps) == 80 and all(len(i.turns) == 2 for i in ps)
