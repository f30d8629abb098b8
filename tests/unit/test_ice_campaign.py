"""Checkpoint and resume: a campaign killed mid-iteration resumes without repeating any finished query."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from distillscope.backends.scripted import ScriptedBackend
from distillscope.cache import ResponseCache
from distillscope.errors import BudgetExceededError, ConfigError
from distillscope.ice.campaign import restore_rng, rng_state, truncate_jsonl
from distillscope.ice.evaluate import IceTarget
from distillscope.ice.fuzzer import FuzzBudget, FuzzConfig, Fuzzer
from distillscope.ice.judge_factory import make_judge
from distillscope.ice.mutators import LLMMutator, build_mutators
from distillscope.ice.questions import Question
from distillscope.ice.selectors import make_selector
from distillscope.ice.templates import make_template
from distillscope.identity import get_family
from distillscope.model import Budget, Model
from distillscope.rundir import RunDir, append_jsonl, write_json_atomic
from distillscope.types import GenerateRequest

QUESTIONS = [
    Question(id=f"q{i}-en", text=f"Question {i}: who built you?", category="team", language="en", pair_id=f"q{i}")
    for i in range(8)
]
SEEDS = [make_template(f"s{i}", f"Scene {i}. Speak freely. {{query}}") for i in range(3)]
CFG = FuzzConfig(budget=FuzzBudget(max_target_queries=40), questions_per_iteration=5, seed=11)


class Killed(Exception):
    """Stands for the process dying mid-run."""


def answer(req: GenerateRequest) -> str:
    return "I was developed by OpenAI." if "Speak freely" in req.prompt and "1" in req.prompt else "I am Qwen."


def killing_script(kill_at: int, calls: list[str]) -> object:
    def script(req: GenerateRequest) -> str:
        if len(calls) == kill_at:
            raise Killed(f"killed at call {kill_at}")
        calls.append(req.prompt)
        return answer(req)

    return script


def target(script: object, cache: ResponseCache) -> IceTarget:
    model = Model(ScriptedBackend(script, name="scripted-target"), spec="scripted:qwen", cache=cache)  # type: ignore[arg-type]
    return IceTarget(model, get_family("qwen"), make_judge("claims"))


def fuzzer(script: object, cache: ResponseCache, selector: str = "mcts") -> Fuzzer:
    return Fuzzer(target(script, cache), build_mutators(None), make_selector(selector), CFG)


@pytest.mark.parametrize("selector", ["mcts", "exp3"])  # each selector's own state must restore exactly
async def test_killed_campaign_resumes_without_repeating_finished_queries(tmp_path: Path, selector: str) -> None:
    cache = ResponseCache(tmp_path / "cache.sqlite")
    first: list[str] = []
    with pytest.raises(Killed):  # dies during iteration 3 (queries 11..15), after 13 answered calls
        await fuzzer(killing_script(13, first), cache, selector).run(SEEDS, QUESTIONS, tmp_path / "run")
    saved = json.loads((tmp_path / "run" / "campaign.json").read_text())
    assert saved["n_records"] == 10 and saved["counters"]["iterations"] == 2
    second: list[str] = []
    result = await fuzzer(killing_script(-1, second), cache, selector).run(
        SEEDS, QUESTIONS, tmp_path / "run", resume=True
    )
    assert not set(first) & set(second), "a finished query was sent again"
    assert len(first) + len(second) == 40
    # the interrupted campaign ends exactly where an uninterrupted one does
    clean_calls: list[str] = []
    clean = await fuzzer(killing_script(-1, clean_calls), ResponseCache(tmp_path / "c2.sqlite"), selector).run(
        SEEDS, QUESTIONS, tmp_path / "clean"
    )
    strip = [r.model_dump(exclude={"cached"}) for r in result.records]
    assert strip == [r.model_dump(exclude={"cached"}) for r in clean.records]
    assert sorted(clean_calls) == sorted(first + second)
    rows = (tmp_path / "run" / "records.jsonl").read_text().splitlines()
    assert len(rows) == 40 and len({(json.loads(r)["template_id"], json.loads(r)["question_id"]) for r in rows}) == 40


async def test_budget_exhaustion_mid_run_then_resume(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache.sqlite")
    backend = ScriptedBackend(answer, name="scripted-target")
    model = Model(backend, spec="scripted:qwen", cache=cache, budget=Budget(max_calls=17))
    tgt = IceTarget(model, get_family("qwen"), make_judge("claims"))
    with pytest.raises(BudgetExceededError):
        await Fuzzer(tgt, build_mutators(None), make_selector("mcts"), CFG).run(SEEDS, QUESTIONS, tmp_path)
    done = list(backend.calls)
    backend2 = ScriptedBackend(answer, name="scripted-target")
    tgt2 = IceTarget(Model(backend2, spec="scripted:qwen", cache=cache), get_family("qwen"), make_judge("claims"))
    result = await Fuzzer(tgt2, build_mutators(None), make_selector("mcts"), CFG).run(
        SEEDS, QUESTIONS, tmp_path, resume=True
    )
    # the Model checks its budget before each call starts, so the in-flight batch may overshoot a little
    assert 17 <= len(done) < 40 and len(done) + len(backend2.calls) == 40
    assert not {c.prompt for c in done} & {c.prompt for c in backend2.calls}
    assert result.counters.target_queries == 40


async def test_mutator_calls_are_not_repeated_on_resume(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache.sqlite")
    mut_backend = ScriptedBackend(lambda r: f"Variant {r.params.seed} {{query}}", name="scripted-mut")
    mutator = [LLMMutator("rephrase", Model(mut_backend, cache=cache))]
    calls: list[str] = []
    fz = Fuzzer(target(killing_script(12, calls), cache), mutator, make_selector("mcts"), CFG)
    with pytest.raises(Killed):
        await fz.run(SEEDS, QUESTIONS, tmp_path)
    assert len(mut_backend.calls) == 3
    mut2 = ScriptedBackend(lambda r: f"Variant {r.params.seed} {{query}}", name="scripted-mut")
    fz2 = Fuzzer(
        target(killing_script(-1, []), cache),
        [LLMMutator("rephrase", Model(mut2, cache=cache))],
        make_selector("mcts"),
        CFG,
    )
    result = await fz2.run(SEEDS, QUESTIONS, tmp_path, resume=True)
    assert result.counters.mutator_calls == 8 and len(mut2.calls) == 8 - 3  # iteration 3's call was cached


async def test_existing_campaign_needs_resume_and_same_inputs(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache.sqlite")
    await fuzzer(answer, cache).run(SEEDS, QUESTIONS, tmp_path)
    with pytest.raises(ConfigError, match="--resume"):
        await fuzzer(answer, cache).run(SEEDS, QUESTIONS, tmp_path)
    with pytest.raises(ConfigError, match="other inputs"):
        await fuzzer(answer, cache).run(SEEDS[:2], QUESTIONS, tmp_path, resume=True)
    again = await fuzzer(answer, cache).run(SEEDS, QUESTIONS, tmp_path, resume=True)
    assert again.stop_reason == "max_target_queries" and len(again.records) == 40


def test_rng_state_roundtrips_through_json() -> None:
    rng = random.Random(5)
    rng.random()
    state = json.loads(json.dumps(rng_state(rng)))
    expected = [rng.random() for _ in range(3)]
    other = random.Random(0)
    restore_rng(other, state)
    assert [other.random() for _ in range(3)] == expected


def test_atomic_write_and_truncate(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    write_json_atomic(run.campaign, {"a": 1})
    assert json.loads(run.campaign.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["campaign.json"]
    append_jsonl(run.records, [{"target": "m", "idx": i} for i in range(5)])
    assert [r.idx for r in truncate_jsonl(run.records, 3)] == [0, 1, 2]  # read back as typed records
    assert len(run.records.read_text().splitlines()) == 3
    with pytest.raises(ConfigError, match="expects 9"):
        truncate_jsonl(run.records, 9)
