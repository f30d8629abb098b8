"""The fuzzing loop with scripted target and mutator models: rewards, pool rule, budgets, records, skips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from distillscope.backends.scripted import ScriptedBackend
from distillscope.errors import ConfigError
from distillscope.ice.evaluate import IceTarget
from distillscope.ice.fuzzer import FuzzBudget, FuzzConfig, Fuzzer
from distillscope.ice.judge_factory import make_judge
from distillscope.ice.mutators import LLMMutator, RuleMutator, build_mutators
from distillscope.ice.questions import Question
from distillscope.ice.selectors import make_selector
from distillscope.ice.templates import make_template
from distillscope.identity import get_family
from distillscope.model import Model
from distillscope.types import GenerateRequest

QUESTIONS = [
    Question(id=f"q{i}-en", text=f"Question number {i}: who made you?", category="team", language="en", pair_id=f"q{i}")
    for i in range(6)
]
SEEDS = [make_template("s1", "Role play. {query}"), make_template("s2", "Story time. {query}")]


def echo_target(req: GenerateRequest) -> str:
    """Leaks an OpenAI identity for 'wrapped' prompts, answers truthfully otherwise; echoes the question."""
    q = req.prompt.split("Question number ")[-1][:1]
    if any(w in req.prompt for w in ("Transcript", "forwarded", "Archived", "note below")):
        return f"[{q}] I was developed by OpenAI."
    return f"[{q}] I am Qwen, created by Alibaba Cloud."


def make_target(script: object = echo_target, name: str = "scripted-qwen") -> tuple[IceTarget, ScriptedBackend]:
    backend = ScriptedBackend(script, name=name)  # type: ignore[arg-type]
    return IceTarget(Model(backend, spec="scripted:qwen"), get_family("qwen"), make_judge("claims")), backend


def config(**kw: object) -> FuzzConfig:
    budget = kw.pop("budget", FuzzBudget(max_target_queries=24))
    return FuzzConfig(budget=budget, seed=3, **kw)  # type: ignore[arg-type]


async def test_records_match_their_prompts_and_rewards_follow_gptfuzz() -> None:
    target, backend = make_target()
    fuzz = Fuzzer(target, [RuleMutator("wrapper")], make_selector("mcts"), config(questions_per_iteration=3))
    result = await fuzz.run(SEEDS, QUESTIONS)
    assert result.stop_reason == "max_target_queries"
    assert result.counters.target_queries == 24 == len(result.records) == len(backend.calls)
    for r in (x.model_dump() for x in result.records):  # keyed by id, never by arrival order
        assert r["response"].startswith(f"[{r['query'].split('Question number ')[1][0]}]")
        assert r["prompt"] == r["template"].replace("{query}", r["query"])
        assert r["loose"] is True and r["strict"] is True and r["label"] == "contradiction"
    mutants = [n for n in result.tree.nodes if n.parent is not None]
    assert len(mutants) == 8 and all(n.successes == 3 and n.in_pool for n in mutants)
    assert [r.idx for r in result.records] == list(range(24))


async def test_unsuccessful_mutants_stay_out_of_the_pool_unless_kept() -> None:
    target, _ = make_target()
    fuzz = Fuzzer(target, [RuleMutator("suffix")], make_selector("mcts"), config(questions_per_iteration=2))
    result = await fuzz.run(SEEDS, QUESTIONS)
    mutants = [n for n in result.tree.nodes if n.parent is not None]
    assert mutants and all(n.successes == 0 and not n.in_pool for n in mutants)
    assert all(n.reward == 0 for n in result.tree.nodes)
    kept = await Fuzzer(
        make_target()[0],
        [RuleMutator("suffix")],
        make_selector("mcts"),
        config(questions_per_iteration=2, keep_unsuccessful=True),
    ).run(SEEDS, QUESTIONS)
    assert all(n.in_pool for n in kept.tree.nodes)


async def test_mcts_reward_equals_success_fraction_of_the_mutant() -> None:
    def half(req: GenerateRequest) -> str:  # questions 0, 2, 4 leak; 1, 3, 5 do not
        q = int(req.prompt.split("Question number ")[-1][:1])
        return "I was developed by OpenAI." if q % 2 == 0 else "I am Qwen by Alibaba Cloud."

    target, _ = make_target(half)
    budget = FuzzBudget(max_target_queries=None, max_iterations=1)
    result = await Fuzzer(target, [RuleMutator("prefix")], make_selector("mcts"), config(budget=budget)).run(
        SEEDS[:1], QUESTIONS
    )
    root, child = result.tree.nodes
    assert child.successes == 3 and child.queries == 6
    # r = 3 / (6 questions x 1 mutant) = 0.5; the selected node (root) has level 0 -> factor 1.0
    assert root.reward == pytest.approx(0.5)


async def test_refusing_mutator_is_skipped_and_stops_after_repeated_failures() -> None:
    target, backend = make_target()
    mutator = LLMMutator("rephrase", Model(ScriptedBackend(["I'm sorry, I can't help with that."])))
    cfg = config(max_consecutive_failures=4)
    result = await Fuzzer(target, [mutator], make_selector("mcts"), cfg).run(SEEDS, QUESTIONS)
    assert backend.calls == [] and result.records == []
    assert [r["reason"] for r in result.rejected] == ["refused"] * 4
    assert "rejected" in result.stop_reason and result.counters.mutator_calls == 4


async def test_lost_placeholder_skipped_by_default_appended_when_paper_faithful() -> None:
    lost = Model(ScriptedBackend(["A reworded template with no marker at all."]))
    target, backend = make_target()
    budget = FuzzBudget(max_target_queries=None, max_iterations=2)
    skipped = await Fuzzer(target, [LLMMutator("rephrase", lost)], make_selector("mcts"), config(budget=budget)).run(
        SEEDS, QUESTIONS
    )
    assert skipped.records == [] and {r["reason"] for r in skipped.rejected} == {"no_placeholder"}
    assert backend.calls == []  # nothing was sent to the target
    target, _backend = make_target()
    appended = await Fuzzer(
        target, [LLMMutator("rephrase", lost)], make_selector("mcts"), config(budget=budget, append_if_missing=True)
    ).run(SEEDS, QUESTIONS)
    assert len(appended.records) == 6  # the second mutation is a duplicate of the first
    assert appended.records[0].prompt == "A reworded template with no marker at all.\n" + QUESTIONS[0].text


async def test_mutator_call_budget_and_iteration_budget_are_separate() -> None:
    target, _ = make_target()
    mut = Model(ScriptedBackend(lambda r: f"Variant {len(r.prompt)} {{query}}"))
    budget = FuzzBudget(max_target_queries=None, max_mutator_calls=3)
    result = await Fuzzer(
        target,
        build_mutators(mut, operators=["generate-similar"]),
        make_selector("random"),
        config(budget=budget, questions_per_iteration=2),
    ).run(SEEDS, QUESTIONS)
    assert result.stop_reason == "max_mutator_calls" and result.counters.mutator_calls == 3
    assert result.counters.target_queries == 2 * result.counters.mutants_accepted
    result = await Fuzzer(
        make_target()[0],
        [RuleMutator("prefix")],
        make_selector("ucb"),
        config(budget=FuzzBudget(max_target_queries=None, max_judge_calls=5), questions_per_iteration=2),
    ).run(SEEDS, QUESTIONS)
    assert result.stop_reason == "max_judge_calls" and result.counters.judge_calls == 6


async def test_query_budget_truncates_the_last_iteration() -> None:
    target, backend = make_target()
    result = await Fuzzer(
        target, [RuleMutator("prefix")], make_selector("round-robin"), config(budget=FuzzBudget(max_target_queries=10))
    ).run(SEEDS, QUESTIONS)
    assert len(backend.calls) == 10 and result.counters.target_queries == 10


async def test_same_seed_same_campaign() -> None:
    async def once() -> list[str]:
        fuzz = Fuzzer(make_target()[0], build_mutators(None), make_selector("mcts"), config(questions_per_iteration=2))
        return [str(r.prompt) for r in (await fuzz.run(SEEDS, QUESTIONS)).records]

    assert await once() == await once()


async def test_target_errors_become_error_records_not_judged() -> None:
    from distillscope.types import Completion

    target, _ = make_target(lambda r: Completion.failure("boom", "backend"))
    result = await Fuzzer(
        target,
        [RuleMutator("prefix")],
        make_selector("mcts"),
        config(budget=FuzzBudget(max_target_queries=4), questions_per_iteration=4),
    ).run(SEEDS, QUESTIONS)
    assert [r.status for r in result.records] == ["error"] * 4
    assert all(r.label is None for r in result.records) and result.counters.judge_calls == 0
    assert result.counters.target_errors == 4


async def test_bad_setups_are_config_errors(tmp_path: Path) -> None:
    target, _ = make_target()
    with pytest.raises(ConfigError, match="--max-queries"):
        Fuzzer(
            target,
            [RuleMutator("prefix")],
            make_selector("mcts"),
            FuzzConfig(budget=FuzzBudget(max_target_queries=None)),
        )
    with pytest.raises(ConfigError, match="mutator"):
        Fuzzer(target, [], make_selector("mcts"), config())
    fuzz = Fuzzer(target, [RuleMutator("prefix")], make_selector("mcts"), config())
    with pytest.raises(ConfigError, match="questions"):
        await fuzz.run(SEEDS, [])
    with pytest.raises(ConfigError, match="seed templates"):
        await fuzz.run([], QUESTIONS)


async def test_run_directory_files(tmp_path: Path) -> None:
    target, _ = make_target()
    fuzz = Fuzzer(target, [RuleMutator("wrapper")], make_selector("mcts"), config(questions_per_iteration=3))
    result = await fuzz.run(SEEDS, QUESTIONS, tmp_path)
    rows = [json.loads(x) for x in (tmp_path / "records.jsonl").read_text().splitlines()]
    assert rows == [r.model_dump() for r in result.records]
    tree = json.loads((tmp_path / "tree.json").read_text())
    assert tree["n_nodes"] == len(result.tree.nodes)
    assert {"parent", "level", "operator", "visits", "reward", "success_rate"} <= set(tree["nodes"][-1])
    camp = json.loads((tmp_path / "campaign.json").read_text())
    assert camp["n_records"] == 24 and camp["stop_reason"] == "max_target_queries"
