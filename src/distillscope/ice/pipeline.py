"""The ICE pipeline: fuzz the first target, then replay a template pool on every target.

Both `distillscope run` (through `stages.ice_fuzz`/`stages.ice_replay`) and `distillscope ice run`/`ice replay`
build an `IceJob` and call these functions, so the two front ends share one orchestrator and one set of
defaults (`config.IceSettings`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distillscope.config import IceSettings
from distillscope.ice.campaign import write_scores
from distillscope.ice.evaluate import EvalOptions, IceTarget, replay
from distillscope.ice.fuzzer import FuzzBudget, FuzzConfig, Fuzzer, FuzzResult
from distillscope.ice.mutators import build_mutators
from distillscope.ice.questions import Question, load_questions
from distillscope.ice.records import IceRecord
from distillscope.ice.selectors import make_selector
from distillscope.ice.templates import Template, load_templates
from distillscope.model import Model
from distillscope.progress import ProgressSink
from distillscope.rundir import RunDir, append_jsonl, write_json_atomic
from distillscope.types import GenerateParams

MUTATOR_TEMPERATURE = 0.7  # GPTFuzz's: mutants must differ from their parent


@dataclass(frozen=True, kw_only=True)
class IceJob:
    """One ICE job: settings, seed, the targets (the first is fuzzed), the mutator model (None: rules only)."""

    settings: IceSettings
    seed: int
    targets: Sequence[IceTarget]
    mutator: Model | None = None


def fuzz_config(settings: IceSettings, seed: int) -> FuzzConfig:
    """The fuzzer's settings from the ICE settings."""
    budget = FuzzBudget(
        max_target_queries=settings.max_queries,
        max_mutator_calls=settings.max_mutator_calls,
        max_judge_calls=settings.max_judge_calls,
        max_iterations=settings.max_iterations,
        max_time_s=settings.max_time_s,
        max_cost_usd=settings.max_cost_usd,
    )
    return FuzzConfig(
        budget=budget,
        questions_per_iteration=settings.questions_per_iteration,
        system_prompt=settings.system_prompt,
        target_params=target_params(settings),
        keep_unsuccessful=settings.keep_unsuccessful,
        append_if_missing=settings.append_if_missing,
        seed=seed,
    )


def target_params(settings: IceSettings) -> GenerateParams:
    """Target answers are greedy, so a replay of the same template gives the same answer."""
    return GenerateParams(temperature=0.0, max_tokens=settings.max_tokens)


def mutator_params(settings: IceSettings) -> GenerateParams:
    return GenerateParams(temperature=MUTATOR_TEMPERATURE, max_tokens=settings.mutator_max_tokens)


def eval_options(settings: IceSettings) -> EvalOptions:
    return EvalOptions(settings.system_prompt, target_params(settings), settings.append_if_missing)


async def fuzz_first_target(
    job: IceJob, root: Path, *, resume: bool, progress: ProgressSink | None = None
) -> tuple[FuzzResult, dict[str, Any]]:
    """Fuzz the first target in `root` (checkpointed; `resume` continues it); write and return its scores.json."""
    s, target = job.settings, job.targets[0]
    mutators = build_mutators(job.mutator, mutator_params(s))
    fuzzer = Fuzzer(target, mutators, make_selector(s.selector), fuzz_config(s, job.seed), progress)
    result = await fuzzer.run(load_templates(s.templates), load_questions(s.questions), root, resume=resume)
    return result, write_scores(RunDir(root), {target.name: result.records})


async def replay_templates(
    job: IceJob, templates: Sequence[Template], root: Path, on_query: Callable[[], None] | None = None
) -> dict[str, Any]:
    """Every template x every question on every target; write records, templates and scores into `root`."""
    questions: list[Question] = load_questions(job.settings.questions)
    by_target = await replay(templates, questions, job.targets, eval_options(job.settings), on_query)
    return write_replay(root, templates, by_target)


def write_replay(
    run_dir: Path, templates: Sequence[Template], by_target: Mapping[str, Sequence[IceRecord]]
) -> dict[str, Any]:
    """Write records.jsonl (all targets), templates.json and scores.json into a run directory."""
    run = RunDir(run_dir)
    run.root.mkdir(parents=True, exist_ok=True)
    run.records.unlink(missing_ok=True)
    append_jsonl(run.records, [r.model_dump() for rows in by_target.values() for r in rows])
    write_json_atomic(run.templates, [t.to_dict() for t in templates])
    return write_scores(run, by_target)
