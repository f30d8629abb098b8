"""The stages of an experiment run. Each takes the shared context and returns facts for the manifest."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distillscope.config import ExperimentConfig, ModelEntry
from distillscope.progress import ProgressSink, StageProgress
from distillscope.types import GenerateParams

if TYPE_CHECKING:
    from distillscope.ice.fuzzer import FuzzResult
    from distillscope.ice.pipeline import IceJob
    from distillscope.identity.registry import Family
    from distillscope.model import ModelPool
    from distillscope.prompts.items import PromptItem


@dataclass(kw_only=True)
class StageContext:
    """What every stage sees: the config, the run directory, the model pool, progress, and earlier results."""

    cfg: ExperimentConfig
    run_dir: Path
    pool: ModelPool
    progress: ProgressSink | None = None
    fuzz: FuzzResult | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def counter(self, stage: str) -> StageProgress:
        """A counter of the stage's finished calls that reports to the run's progress display."""
        return StageProgress(stage, self.progress)


Stage = Callable[[StageContext], Awaitable[dict[str, Any]]]


def rse_prompts(cfg: ExperimentConfig) -> list[PromptItem]:
    """Every configured prompt set, each sampled with the experiment seed."""
    from distillscope.prompts.loaders import load_prompt_set

    items: list[PromptItem] = []
    for entry in cfg.rse.prompt_sets:
        items.extend(load_prompt_set(entry.spec, sample=entry.sample, rng=random.Random(cfg.seed)).items)
    return items


def compared_models(cfg: ExperimentConfig) -> list[ModelEntry]:
    """Targets, references and null panel: the models whose answers are compared."""
    return [*cfg.targets, *cfg.references, *cfg.null_panel]


async def rse_collect(ctx: StageContext) -> dict[str, Any]:
    from distillscope.rse.collect import collect_responses
    from distillscope.rundir import RunDir

    prompts = rse_prompts(ctx.cfg)
    models = [ctx.pool.get(m.name) for m in compared_models(ctx.cfg)]
    params = GenerateParams(temperature=ctx.cfg.rse.temperature, max_tokens=ctx.cfg.rse.max_tokens)
    bar, total = ctx.counter("rse.collect"), len(prompts) * len(models) * ctx.cfg.rse.samples_per_prompt
    summary = await collect_responses(
        models,
        prompts,
        RunDir(ctx.run_dir).rse,
        params=params,
        samples_per_prompt=ctx.cfg.rse.samples_per_prompt,
        progress=lambda _r: bar.advance(),
        planned=lambda left: bar.plan(total, total - left),
        manifest=False,  # the experiment's manifest.json is the run's one manifest
    )
    return {"prompt_hash": summary.prompt_hash, "n_prompts": summary.n_prompts, "errors_left": summary.errors}


async def rse_judge(ctx: StageContext) -> dict[str, Any]:
    from distillscope.rse.llm_judge import build_pair_tasks, judge_run
    from distillscope.rse.store import read_responses
    from distillscope.rundir import RunDir

    judges = [ctx.pool.get(j) for j in ctx.cfg.rse.judges]
    compared = [m.name for m in (*ctx.cfg.targets, *ctx.cfg.null_panel)]
    per_pair = len(judges) * (2 if ctx.cfg.rse.both_orders else 1)
    responses = read_responses(RunDir(ctx.run_dir).rse)
    sizes = [len(build_pair_tasks(responses, r.name, compared)) * per_pair for r in ctx.cfg.references]
    bar = ctx.counter("rse.judge")
    bar.plan(sum(sizes))
    warnings: list[str] = []
    for ref, size in zip(ctx.cfg.references, sizes, strict=True):
        s = await judge_run(
            RunDir(ctx.run_dir).rse,
            ref.name,
            judges,
            targets=compared,
            both_orders=ctx.cfg.rse.both_orders,
            progress=lambda _j: bar.advance(),
            planned=_judged_before(bar, size),
        )
        warnings += s.warnings
    return {"warnings": warnings}


def _judged_before(bar: StageProgress, size: int) -> Callable[[int], None]:
    """Told how many of `size` judge calls are left, counts the others as done (by an earlier run)."""
    return lambda left: bar.advance(size - left)


def ice_family(entry: ModelEntry) -> Family:
    """The true identity of a model: its config `family`/`fact`, else the registry's match for its spec or name."""
    from dataclasses import replace

    from distillscope.errors import ConfigError
    from distillscope.identity.registry import family_for_target, get_family, resolve_family

    if entry.family:
        family = get_family(entry.family)
        return replace(family, fact=entry.fact) if entry.fact else family
    name = entry.spec.partition(":")[2] or entry.name
    if resolve_family(name) is None and resolve_family(entry.name) is not None:
        name = entry.name
    try:
        return family_for_target(name, fact=entry.fact)
    except ConfigError:
        raise ConfigError(
            f"model {entry.name!r}: its identity family is unknown; set `family:` (e.g. qwen, "
            "deepseek) or `fact:` (its true identity in one line) for it in the config"
        ) from None


def ice_models(cfg: ExperimentConfig) -> list[ModelEntry]:
    """The models ICE asks about their identity: the first target, and with paired replay all targets and nulls."""
    if not cfg.ice.enabled:
        return []
    return [*cfg.targets, *cfg.null_panel] if cfg.ice.paired else cfg.targets[:1]


def ice_job(ctx: StageContext, entries: list[ModelEntry], *, with_mutator: bool = False) -> IceJob:
    """The ICE job of these models: each with its true identity and the configured judge."""
    from distillscope.ice.evaluate import IceTarget
    from distillscope.ice.judge_factory import make_judge
    from distillscope.ice.pipeline import IceJob

    ice = ctx.cfg.ice
    judge = make_judge(ice.judge, models=ctx.pool.get)
    targets = [IceTarget(ctx.pool.get(e.name), ice_family(e), judge, ice.judge) for e in entries]
    mutator = ctx.pool.get(ice.mutator) if with_mutator and ice.mutator != "rules" else None
    return IceJob(settings=ice, seed=ctx.cfg.seed, targets=targets, mutator=mutator)


async def ice_fuzz(ctx: StageContext) -> dict[str, Any]:
    from distillscope.ice.pipeline import fuzz_first_target
    from distillscope.rundir import RunDir

    job = ice_job(ctx, ctx.cfg.targets[:1], with_mutator=True)
    result, _ = await fuzz_first_target(job, RunDir(ctx.run_dir).ice.root, resume=True, progress=ctx.progress)
    ctx.fuzz = result
    return {"stop_reason": result.stop_reason, "counters": result.counters.as_dict()}


async def ice_replay(ctx: StageContext) -> dict[str, Any]:
    from distillscope.ice.pipeline import replay_templates
    from distillscope.ice.questions import load_questions
    from distillscope.rundir import RunDir

    assert ctx.fuzz is not None, "ice.fuzz runs before ice.replay"
    pool = ctx.fuzz.final_templates()
    job = ice_job(ctx, ice_models(ctx.cfg))
    n_questions = len(load_questions(ctx.cfg.ice.questions))
    bar = ctx.counter("ice.replay")
    bar.plan(len(pool) * n_questions * len(job.targets))
    await replay_templates(job, pool, RunDir(ctx.run_dir).ice.paired.root, bar.advance)
    return {"templates": len(pool), "questions": n_questions, "targets": [t.name for t in job.targets]}


def stage_models(cfg: ExperimentConfig, stage: str) -> set[str]:
    """Names (or bare specs) of the models `stage` calls: the runner releases the Ray actors of the others."""
    from distillscope.config import parse_judge_spec

    ice_judge = {m for m in (parse_judge_spec(cfg.ice.judge).model,) if m}
    mutator = set() if cfg.ice.mutator == "rules" else {cfg.ice.mutator}
    uses = {
        "rse.collect": {m.name for m in compared_models(cfg)},
        "rse.judge": set(cfg.rse.judges),
        "ice.fuzz": {cfg.targets[0].name} | ice_judge | mutator,
        "ice.replay": {m.name for m in ice_models(cfg)} | ice_judge,
    }
    return uses.get(stage, set())


def stage_list(cfg: ExperimentConfig) -> list[tuple[str, Stage]]:
    """The stages this config needs, in order."""
    stages: list[tuple[str, Stage]] = []
    if cfg.rse.enabled:
        stages.append(("rse.collect", rse_collect))
        if cfg.rse.judges:
            stages.append(("rse.judge", rse_judge))
    if cfg.ice.enabled:
        stages.append(("ice.fuzz", ice_fuzz))
        if len(ice_models(cfg)) > 1:
            stages.append(("ice.replay", ice_replay))
    return stages
