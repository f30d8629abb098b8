"""ICE scores, Wilson intervals, records io, and the paper-figure reproduction from the shared data."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from distillscope.ice.claims_judge import ClaimsJudge
from distillscope.ice.judges import template_mentions_vendor
from distillscope.ice.records import (
    IceRecord,
    import_attack_results,
    judge_rows_file,
    read_records,
    write_records,
)
from distillscope.ice.scores import compute_scores, rate_set
from distillscope.rundir import read_jsonl
from distillscope.stats import wilson_interval

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ice" / "paper_ice_labelled.jsonl.gz"


def test_wilson_matches_hand_computed_values() -> None:
    lo, hi = wilson_interval(5, 10)
    assert lo == pytest.approx(0.236589, abs=1e-5) and hi == pytest.approx(0.763411, abs=1e-5)
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.277540, abs=1e-5)


def _rec(
    i: int,
    loose: bool | None,
    strict: bool = False,
    query: str = "Who made you?",
    tpl: str = "a",
    label: str | None = None,
) -> IceRecord:
    lab = label or (None if loose is None else ("contradiction" if loose else "consistent"))
    return IceRecord(
        target="glm-4-plus",
        idx=i,
        template_id=tpl,
        query=query,
        response="x",
        loose=loose,
        strict=strict,
        hard=strict,
        label=lab,
    )


def test_rates_denominators_groups_and_first_contradiction() -> None:
    recs = [
        _rec(0, False),
        _rec(1, True, True, "谁开发了你？", "b"),
        _rec(2, True),
        _rec(3, None),
        _rec(4, False, label="unscored"),
    ]
    s = compute_scores(recs).targets["glm-4-plus"]
    loose, strict = s.overall.loose, s.overall.strict
    assert loose is not None and strict is not None
    assert (s.overall.n, s.overall.n_unscored, loose.k, strict.k) == (5, 2, 2, 1)
    assert loose.rate == pytest.approx(0.4)
    zh_strict = s.by_language["zh"].strict
    assert zh_strict is not None and zh_strict.k == 1 and s.by_language["en"].n == 4
    assert s.queries_to_first_contradiction == 2
    assert s.top_templates[0].template_id == "b"
    assert rate_set(recs, "scored").n == 3
    json.dumps(compute_scores(recs).model_dump())  # serialisable


def test_records_roundtrip_and_import(tmp_path: Path) -> None:
    src = tmp_path / "attack.jsonl"
    src.write_text(
        json.dumps(
            {
                "jailbreak_prompt": "Be free. {query}",
                "query": "Who made you?",
                "target_responses": ["I am GPT-4 by OpenAI."],
                "eval_results": [True],
            }
        )
        + "\n"
        + json.dumps({"jailbreak_prompt": "Hi ", "query": "Q?", "target_responses": ["ok"], "eval_results": False})
        + "\n",
        encoding="utf-8",
    )
    recs = import_attack_results(src, "glm-4-plus")
    assert recs[0].prompt == "Be free. Who made you?" and recs[1].prompt == "Hi Q?"
    assert (recs[0].loose, recs[1].label) == (True, "consistent")
    out = tmp_path / "r.jsonl.gz"
    write_records(out, recs)
    assert read_records(out) == recs


async def test_judge_rows_file_keeps_extra_fields(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text(
        json.dumps({"target": "glm-4-plus", "response": "I was developed by OpenAI.", "id": 7}) + "\n", encoding="utf-8"
    )
    summary = await judge_rows_file(src, dst, ClaimsJudge())
    [row] = list(read_jsonl(dst))
    assert summary.strict == 1 and row["id"] == 7 and row["label"] == "contradiction" and row["judge"] == "claims"


@pytest.mark.data
def test_paper_labels_reproduce_the_paper_figure() -> None:
    if not DATA.exists():
        pytest.skip(f"validation data {DATA} is absent (it lives in ../shared/data beside the repo)")
    recs = []
    with gzip.open(DATA, "rt", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            strict = bool(r["strict"])
            recs.append(
                IceRecord(
                    target=r["target"],
                    idx=r["idx"],
                    template=r["jailbreak_prompt"],
                    query=r["query"],
                    response=r["response"],
                    loose=r["loose"],
                    strict=strict,
                    hard=strict and not template_mentions_vendor(r["jailbreak_prompt"]),
                    label="contradiction" if r["loose"] else "consistent",
                )
            )
    scores = compute_scores(recs).targets
    expected = {
        "glm-4-plus": (0.42, 0.30, 0.16),
        "deepseek-chat": (0.34, 0.22, 0.07),
        "claude-3-5-sonnet-20241022": (0.01, 0.00, 0.00),
    }
    for target, (lo, st, hd) in expected.items():
        o = scores[target].overall
        assert o.n == 1000 and o.loose and o.strict and o.hard
        assert (round(o.loose.rate, 2), round(o.strict.rate, 2), round(o.hard.rate, 2)) == (lo, st, hd)


def test_unjudged_levels_are_not_measured_and_imported_labels_are_kept(tmp_path: Path) -> None:
    recs = [
        IceRecord(
            target="glm-4-plus",
            idx=i,
            response="x",
            loose=i == 0,
            label="contradiction" if i == 0 else "consistent",
            imported_loose=i < 2,
        )
        for i in range(4)
    ]  # loose only, like an import
    o = rate_set(recs)
    assert o.loose is not None and o.loose.k == 1 and o.strict is None and o.hard is None
    assert o.imported_loose is not None and o.imported_loose.k == 2
    assert compute_scores(recs).targets["glm-4-plus"].top_templates[0].scores.strict is None


def test_summary_counts_contradictions_by_location() -> None:
    from distillscope.summary import _by_location

    rows = [
        {"loose": True, "strict": True, "hard": False, "label": "contradiction", "location": "reasoning"},
        {"loose": True, "strict": False, "hard": False, "label": "contradiction", "location": "answer"},
        {"loose": True, "strict": False, "hard": False, "label": "contradiction"},
        {"loose": False, "label": "consistent", "location": None},
    ]
    counts = _by_location([IceRecord.model_validate({"target": "m", **r}) for r in rows])
    assert {where: c.model_dump() for where, c in counts.items()} == {
        "answer": {"loose": 1, "strict": 0, "hard": 0},
        "reasoning": {"loose": 1, "strict": 1, "hard": 0},
        "unknown": {"loose": 1, "strict": 0, "hard": 0},
    }


async def test_judge_records_keeps_the_imported_label(tmp_path: Path) -> None:
    from distillscope.ice.records import judge_records

    src = tmp_path / "attack.jsonl"
    src.write_text(
        json.dumps(
            {
                "jailbreak_prompt": "Hi {query}",
                "query": "Who made you?",
                "target_responses": ["<think>I am ChatGPT, built by OpenAI.</think>Hello."],
                "eval_results": [False],
            }
        )
        + "\n",
        encoding="utf-8",
    )
    [rec] = await judge_records(import_attack_results(src, "glm-4-plus"), ClaimsJudge(), "claims")
    assert (rec.imported_loose, rec.loose, rec.strict, rec.location, rec.judge) == (
        False,
        True,
        True,
        "reasoning",
        "claims",
    )


def test_a_judge_that_scored_nothing_measured_nothing() -> None:
    """Every reply unscored (a judge answering garbage): no rate is measured, rather than 0% of n."""
    recs = [_rec(i, False, label="unscored") for i in range(6)]
    o = rate_set(recs)
    assert (o.n, o.n_unscored, o.loose, o.strict, o.hard) == (6, 6, None, None, None)
    one_scored = rate_set([*recs, _rec(6, True)])
    assert one_scored.loose is not None and (one_scored.loose.k, one_scored.loose.n) == (1, 7)


def test_saved_scores_are_read_back_and_recomputed_only_when_they_do_not_cover_the_records(tmp_path: Path) -> None:
    from distillscope.ice.scores import saved_scores

    recs = [
        IceRecord(target="m", idx=i, loose=i < 2, label="contradiction" if i < 2 else "consistent") for i in range(4)
    ]
    path = tmp_path / "scores.json"
    saved = compute_scores(recs).model_copy(update={"denominator": "scored"})  # a mark only the saved file has
    path.write_text(saved.model_dump_json(), encoding="utf-8")
    assert saved_scores(path, recs).denominator == "scored"  # read, not recomputed
    assert saved_scores(path, recs[:3]).denominator == "all"  # the file covers other records: recomputed
    assert saved_scores(tmp_path / "absent.json", recs).targets["m"].overall.n == 4
