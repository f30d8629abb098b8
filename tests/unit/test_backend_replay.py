"""replay: backend: file formats, prompt matching, misses as typed errors, model selection."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from distillscope.backends.replay import ReplayBackend, load_transcripts
from distillscope.errors import ConfigError
from distillscope.model import Model, get_model
from distillscope.registry import BackendOptions
from distillscope.types import GenerateRequest

ROWS = [
    {"model": "alpha", "instruction": "What is 2+2?", "output": "4"},
    {"model": "alpha", "instruction": "Name a fruit.", "output": "Apple"},
    {"model": "alpha", "instruction": "Name a fruit.", "output": "Pear"},
    {"model": "beta", "prompt": "What is 2+2?", "response": "Four"},
]


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    text = "\n".join(json.dumps(r) for r in rows) + "\n"
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


@pytest.mark.parametrize("name", ["t.jsonl", "t.jsonl.gz"])
async def test_answers_recorded_prompts_after_stripping(tmp_path: Path, name: str) -> None:
    f = _write(tmp_path / name, ROWS)
    model = get_model(f"replay:{f}#alpha")
    c = await model.generate(GenerateRequest.chat("  What is 2+2?\n"))
    assert c.ok and c.text == "4"
    beta = get_model(f"replay:{f}#beta")
    assert (await beta.generate(GenerateRequest.chat("What is 2+2?"))).text == "Four"


async def test_samples_pick_distinct_recorded_answers(tmp_path: Path) -> None:
    model = get_model(f"replay:{_write(tmp_path / 't.jsonl', ROWS)}#alpha")
    reqs = [GenerateRequest.chat("Name a fruit.", sample_index=i) for i in range(3)]
    a, b, c = await model.generate_many(reqs)
    assert (a.text, b.text) == ("Apple", "Pear")
    assert c.status == "error" and c.error_kind == "replay_miss" and c.error and "2 recorded" in c.error


async def test_unrecorded_prompt_is_a_typed_non_retryable_miss(tmp_path: Path) -> None:
    model = get_model(f"replay:{_write(tmp_path / 't.jsonl', ROWS)}#alpha")
    c = await model.generate(GenerateRequest.chat("Never asked"))
    assert c.status == "error" and c.error_kind == "replay_miss" and c.attempts == 1 and c.text == ""
    assert c.error and "Never asked" in c.error


async def test_alpacaeval_json_list_uses_generator(tmp_path: Path) -> None:
    rows = [{"instruction": "Hi", "output": "Hello!", "generator": "gpt4_1106_preview", "dataset": "x"}]
    f = tmp_path / "model_outputs.json"
    f.write_text(json.dumps(rows))
    model = get_model(f"replay:{f}")  # single model: '#MODEL' may be left out
    assert (await model.generate(GenerateRequest.chat("Hi"))).text == "Hello!"
    assert model.identity.startswith("replay:gpt4_1106_preview@")


def test_unknown_model_or_file_is_a_config_error_listing_models(tmp_path: Path) -> None:
    f = _write(tmp_path / "t.jsonl", ROWS)
    with pytest.raises(ConfigError, match="alpha, beta"):
        ReplayBackend.from_spec(f"{f}#gamma", BackendOptions())
    with pytest.raises(ConfigError, match="alpha, beta"):
        ReplayBackend.from_spec(str(f), BackendOptions())
    with pytest.raises(ConfigError, match="does not exist"):
        ReplayBackend.from_spec(f"{tmp_path / 'nope.jsonl'}#alpha", BackendOptions())
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    with pytest.raises(ConfigError, match="not valid JSON"):
        ReplayBackend.from_spec(f"{bad}#alpha", BackendOptions())


def test_file_is_indexed_once_and_reindexed_when_changed(tmp_path: Path) -> None:
    f = _write(tmp_path / "t.jsonl", ROWS)
    first = load_transcripts(f)
    assert load_transcripts(f) is first
    _write(f, [*ROWS, {"model": "gamma", "prompt": "p", "output": "o"}])
    assert "gamma" in load_transcripts(f).answers


async def test_replay_misses_are_never_cached(tmp_path: Path) -> None:
    from distillscope.cache import ResponseCache

    backend = ReplayBackend.from_spec(f"{_write(tmp_path / 't.jsonl', ROWS)}#alpha", BackendOptions())
    cache = ResponseCache(tmp_path / "c.sqlite")
    model = Model(backend, cache=cache)
    await model.generate(GenerateRequest.chat("Never asked"))
    await model.generate(GenerateRequest.chat("What is 2+2?"))
    assert cache.stats().entries == 1
