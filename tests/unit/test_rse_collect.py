"""Response collection: records appended, resume skips finished work, errors retried, reasoning kept apart."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from distillscope.backends.scripted import ScriptedBackend
from distillscope.cache import ResponseCache
from distillscope.errors import BackendError, ConfigError
from distillscope.model import Model, ModelLimits
from distillscope.prompts import load_prompt_set
from distillscope.rse.collect import collect_responses
from distillscope.rse.store import read_responses
from distillscope.rundir import RunDir
from distillscope.types import GenerateParams, GenerateRequest

PROMPTS = load_prompt_set("builtin:math,instructions").items[:5]


def model(name: str, script: object, cache: ResponseCache | None = None) -> Model:
    backend = ScriptedBackend(script, name=name)  # type: ignore[arg-type]
    return Model(backend, spec=name, cache=cache, limits=ModelLimits(max_retries=0, max_concurrency=3))


def echo(tag: str) -> Callable[[GenerateRequest], str]:
    return lambda r: f"{tag} answer {r.sample_index}: {r.prompt[:20]}"


async def test_collect_two_models_then_resume_without_new_calls(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    a, b = model("scripted:a", echo("A")), model("scripted:b", echo("B"))
    summary = await collect_responses([a, b], PROMPTS, run, samples_per_prompt=2)
    assert [s.ok for s in summary.models] == [10, 10]
    assert len(a.backend.calls) == 10 and len(b.backend.calls) == 10  # type: ignore[attr-defined]
    records = read_responses(run)
    assert len(records) == 20 and len({r.key for r in records}) == 20
    assert {r.sample_index for r in records} == {0, 1}
    manifest = json.loads(run.manifest.read_text())
    assert manifest["models"] == ["scripted:a", "scripted:b"] and manifest["n_prompts"] == 5
    # Fresh Model objects, same run directory: nothing is called again.
    a2, b2 = model("scripted:a", echo("A")), model("scripted:b", echo("B"))
    again = await collect_responses([a2, b2], PROMPTS, run, samples_per_prompt=2)
    assert len(a2.backend.calls) == 0 and len(b2.backend.calls) == 0  # type: ignore[attr-defined]
    assert [s.skipped for s in again.models] == [10, 10]
    assert len(run.responses.read_text().splitlines()) == 20


async def test_errors_recorded_then_retried_on_resume(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    failing = model("scripted:f", lambda r: BackendError("boom", retryable=False) if "book" in r.prompt else "fine")
    s = await collect_responses([failing], PROMPTS, run)
    errors = [r for r in read_responses(run) if not r.ok]
    assert s.errors == len(errors) >= 1 and errors[0].status == "error" and "boom" in (errors[0].error or "")
    fixed = model("scripted:f", lambda r: "now fine")
    s2 = await collect_responses([fixed], PROMPTS, run)
    assert len(fixed.backend.calls) == len(errors) and s2.errors == 0  # type: ignore[attr-defined]
    assert all(r.ok for r in read_responses(run))


async def test_interrupted_run_resumes_from_cache_and_torn_line(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache.sqlite")
    run = RunDir(tmp_path / "run")
    first = model("scripted:c", echo("C"), cache)
    await collect_responses([first], PROMPTS, run)
    # Simulate a crash: drop the last two records and leave a torn line.
    lines = run.responses.read_text().splitlines()
    run.responses.write_text("\n".join(lines[:3]) + "\n" + lines[3][:15])
    second = model("scripted:c", echo("C"), cache)
    await collect_responses([second], PROMPTS, run)
    assert len(second.backend.calls) == 0  # type: ignore[attr-defined]
    assert second.stats.cache_hits == 2
    assert len(read_responses(run)) == 5 and all(r.ok for r in read_responses(run))


async def test_reasoning_kept_apart_and_seed_varies_per_sample(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    seen: list[GenerateRequest] = []

    def script(r: GenerateRequest) -> str:
        seen.append(r)
        return "<think>let me think</think>The answer."

    m = model("scripted:r", script)
    params = GenerateParams(seed=10, temperature=0.7)
    await collect_responses([m], PROMPTS[:1], run, params=params, samples_per_prompt=3)
    rec = read_responses(run)[0]
    assert rec.response == "The answer." and rec.reasoning == "let me think"
    assert sorted(r.params.seed or 0 for r in seen) == [10, 11, 12]


async def test_changed_params_and_empty_inputs_refused(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    p = model("scripted:p", echo("P"))
    await collect_responses([p], PROMPTS[:1], run, params=GenerateParams(max_tokens=10))
    with pytest.raises(ConfigError, match="new --out"):
        await collect_responses([p], PROMPTS[:1], run, params=GenerateParams(max_tokens=20))
    with pytest.raises(ConfigError, match="--models"):
        await collect_responses([], PROMPTS, run)


async def test_export_for_attribution_uses_ok_first_samples(tmp_path: Path) -> None:
    from distillscope.rse.store import export_responses

    run = RunDir(tmp_path / "run")
    await collect_responses(
        [model("scripted:e", echo("E"))], PROMPTS[:2], run, samples_per_prompt=2, params=GenerateParams(temperature=0.5)
    )
    rows = [json.loads(x) for x in export_responses(run, tmp_path / "x.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and set(rows[0]) == {"model", "instruction", "output"}
    assert rows[0]["instruction"] == PROMPTS[0].text and rows[0]["output"].startswith("E answer 0")
