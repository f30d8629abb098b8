"""The fuzzer on real embedded models (smollm2 target, qwen2.5-0.5b mutator) through the real Model facade
and the real SQLite cache: a rerun of the same campaign is answered entirely from the cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from distillscope.cache import ResponseCache
from distillscope.ice.evaluate import IceTarget
from distillscope.ice.fuzzer import FuzzBudget, FuzzConfig, Fuzzer
from distillscope.ice.judge_factory import make_judge
from distillscope.ice.mutators import LLMMutator
from distillscope.ice.questions import load_builtin_questions
from distillscope.ice.selectors import make_selector
from distillscope.ice.templates import load_builtin_templates
from distillscope.identity import family_for_target
from distillscope.model import get_model
from distillscope.types import GenerateParams

pytestmark = pytest.mark.slow


def build(cache: ResponseCache) -> tuple[Fuzzer, IceTarget]:
    spec = "embedded:smollm2-135m"
    target = IceTarget(get_model(spec, cache=cache), family_for_target(spec), make_judge("claims"))
    mutator = LLMMutator(
        "shorten", get_model("embedded:qwen2.5-0.5b", cache=cache), GenerateParams(temperature=0.7, max_tokens=160)
    )
    cfg = FuzzConfig(
        budget=FuzzBudget(max_target_queries=None, max_iterations=2),
        questions_per_iteration=2,
        target_params=GenerateParams(temperature=0.0, max_tokens=32),
        append_if_missing=True,
        keep_unsuccessful=True,
        seed=1,
    )
    return Fuzzer(target, [mutator], make_selector("mcts"), cfg), target


async def test_embedded_campaign_and_cached_rerun(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache.sqlite")
    seeds, questions = load_builtin_templates()[:3], load_builtin_questions()
    fuzz, _target = build(cache)
    result = await fuzz.run(seeds, questions, tmp_path / "a")
    assert result.counters.iterations == 2 and result.counters.mutator_calls == 2
    assert result.counters.mutants_accepted + result.counters.mutants_rejected == 2
    assert len(result.records) == 2 * result.counters.mutants_accepted
    for r in result.records:
        assert r.status == "ok" and r.response.strip() and r.label in ("contradiction", "consistent")
    for rej in result.rejected:  # typed reasons, raw output kept
        assert rej["reason"] in ("refused", "no_placeholder", "empty", "duplicate", "error")
    assert (tmp_path / "a" / "tree.json").is_file()
    fuzz2, target2 = build(cache)
    again = await fuzz2.run(seeds, questions, tmp_path / "b")
    assert [r.prompt for r in again.records] == [r.prompt for r in result.records]
    assert [r.response for r in again.records] == [r.response for r in result.records]
    assert target2.model.stats.calls == 0  # every target query came from the cache
