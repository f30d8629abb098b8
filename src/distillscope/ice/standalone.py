"""`distillscope ice run` / `ice replay` without an experiment config: bare target specs and a run directory.

Only the glue lives here (targets from specs, the run directory's config.json); the work is done by the same
pipeline functions the experiment's stages call (`ice.pipeline`), with the same `IceSettings` defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distillscope.cache import ResponseCache
from distillscope.config import IceSettings
from distillscope.errors import ConfigError
from distillscope.ice.evaluate import IceTarget
from distillscope.ice.fuzzer import FuzzResult
from distillscope.ice.judge_factory import make_judge
from distillscope.ice.pipeline import IceJob, fuzz_config, fuzz_first_target, mutator_params, replay_templates
from distillscope.ice.questions import load_questions
from distillscope.ice.templates import load_templates
from distillscope.identity.registry import family_for_target
from distillscope.model import ModelPool
from distillscope.progress import ProgressSink, StageProgress
from distillscope.rundir import RunDir, write_json_atomic


@dataclass(frozen=True, kw_only=True)
class StandaloneRun:
    """Target specs (the first is fuzzed), a fact for an unknown family, the settings and seed, the cache switch."""

    specs: Sequence[str]
    settings: IceSettings
    seed: int = 0
    fact: str | None = None
    use_cache: bool = True


@dataclass
class IceRunResult:
    """What `run_ice` produced: the fuzz result, its scores, and paired scores when several targets were given."""

    fuzz: FuzzResult
    scores: dict[str, Any]
    paired: dict[str, Any] | None = None


def build_job(spec: StandaloneRun, *, with_mutator: bool) -> IceJob:
    """Families first (an unknown family without a fact fails before any model loads), then the models."""
    if not spec.specs:
        raise ConfigError("no target given; pass --target SPEC")
    families = [family_for_target(s, fact=spec.fact) for s in spec.specs]
    pool = ModelPool([], cache=ResponseCache() if spec.use_cache else None)
    judge = make_judge(spec.settings.judge, models=pool.get)
    targets = [
        IceTarget(pool.get(s), fam, judge, spec.settings.judge) for s, fam in zip(spec.specs, families, strict=True)
    ]
    mutator = pool.get(spec.settings.mutator) if with_mutator and spec.settings.mutator != "rules" else None
    return IceJob(settings=spec.settings, seed=spec.seed, targets=targets, mutator=mutator)


async def run_ice(
    spec: StandaloneRun, out: Path, *, resume: bool, progress: ProgressSink | None = None
) -> IceRunResult:
    """Fuzz the first target into `out`, then replay the final pool on every target (paired) into `out/paired`."""
    job = build_job(spec, with_mutator=True)
    run = RunDir(out)
    if run.campaign.is_file() and not resume:
        raise ConfigError(f"{run.root} already holds a campaign; pass --resume to continue it or choose another --out")
    run.root.mkdir(parents=True, exist_ok=True)
    write_json_atomic(run.config, _config_dict(spec))
    result, scores = await fuzz_first_target(job, run.root, resume=resume, progress=progress)
    paired = None
    if len(job.targets) > 1:
        pool = result.final_templates()
        bar = StageProgress("ice.replay", progress)
        bar.plan(len(pool) * len(load_questions(spec.settings.questions)) * len(job.targets))
        paired = await replay_templates(job, pool, run.paired.root, bar.advance)
    return IceRunResult(result, scores, paired)


async def run_replay(spec: StandaloneRun, out: Path, on_query: Callable[[], None] | None = None) -> dict[str, Any]:
    """Apply the settings' template set x question set to every target; write the run directory; return scores."""
    job = build_job(spec, with_mutator=False)
    scores = await replay_templates(job, load_templates(spec.settings.templates), out, on_query)
    s = spec.settings
    config = {"mode": "replay", "targets": list(spec.specs), "templates": s.templates, "questions": s.questions}
    write_json_atomic(RunDir(out).config, {**config, "judge": s.judge, "fact": spec.fact})
    return scores


def _config_dict(spec: StandaloneRun) -> dict[str, Any]:
    s = spec.settings
    return {
        "targets": list(spec.specs),
        "mutator": s.mutator,
        "judge": s.judge,
        "fact": spec.fact,
        "questions": s.questions,
        "templates": s.templates,
        "selector": s.selector,
        "mutator_params": mutator_params(s).to_dict(),
        "fuzz": fuzz_config(s, spec.seed).summary(),
    }
