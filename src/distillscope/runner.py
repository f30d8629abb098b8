"""An experiment = targets x (ICE, RSE) -> a run directory that a report can be rebuilt from, offline.

Stages, each resumable (finished calls are cached and finished records are skipped):
  rse.collect  every model answers the prompt sets            -> rse/responses.jsonl
  rse.judge    LLM judges rate (reference, model) pairs        -> rse/judgements.jsonl
  ice.fuzz     GPTFuzz campaign on the first target            -> ice/records.jsonl, tree.json, campaign.json
  ice.replay   final template pool on every target + null      -> ice/paired/records.jsonl
Then `summary.json` (scores, intervals, verdicts) is written, also when a budget stopped the run early.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from distillscope import __version__
from distillscope.cache import ResponseCache
from distillscope.config import ExperimentConfig
from distillscope.errors import BudgetExceededError, ConfigError
from distillscope.execution.batch_collector import BATCH_STAGES, BatchCollector, BatchesPending
from distillscope.execution.batch_journal import BatchJournal
from distillscope.execution.ray_support import ray_models, ray_session
from distillscope.model import Budget, ModelPool, ModelStats
from distillscope.progress import ProgressEvent, ProgressSink
from distillscope.rundir import RUN_SCHEMA_VERSION, RunDir, read_manifest, write_json_atomic
from distillscope.runlock import run_lock

if TYPE_CHECKING:
    from distillscope.stages import StageContext

log = logging.getLogger(__name__)


@dataclass
class RunOutcome:
    """How a run ended and where its files are."""

    run_dir: Path
    # complete | stopped (a budget) | waiting (on provider batches) | failed (stage health); interrupted raises
    status: str
    message: str = ""
    stage_stats: dict[str, dict[str, float | int]] = field(default_factory=dict)


def _diff(after: ModelStats, before: ModelStats) -> dict[str, float | int]:
    a, b = after.as_dict(), before.as_dict()
    return {k: a[k] - b[k] for k in a}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def prepare_run_dir(cfg: ExperimentConfig, run_dir: Path, *, resume: bool) -> dict[str, Any]:
    """Create (or check, when resuming) the run directory; save the config; return the manifest."""
    manifest = read_manifest(run_dir) if resume else None
    if manifest is None:
        if RunDir(run_dir).manifest.exists() and not resume:
            raise ConfigError(f"{run_dir} holds a run; `distillscope resume {run_dir}` or set another output_dir")
        run_dir.mkdir(parents=True, exist_ok=True)
        RunDir(run_dir).config_yaml.write_text(yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False), "utf-8")
        manifest = {
            "schema_version": RUN_SCHEMA_VERSION,
            "distillscope_version": __version__,
            "name": cfg.name,
            "config_hash": cfg.config_hash(),
            "seed": cfg.seed,
            "started": _now(),
            "finished": None,
            "status": "running",
            "stages": {},
            "models": {},
            "prompt_sets": {},
            "cost_usd": 0.0,
        }
    elif manifest.get("config_hash") != cfg.config_hash():
        raise ConfigError(f"{run_dir}/config.yaml changed since the run started; restore it or start a new run")
    manifest["status"] = "running"
    write_json_atomic(RunDir(run_dir).manifest, manifest)
    return manifest


async def run_experiment(
    cfg: ExperimentConfig,
    run_dir: Path | None = None,
    *,
    resume: bool = False,
    progress: ProgressSink | None = None,
    use_cache: bool = True,
    budget_override: tuple[int | None, float | None] = (None, None),
    fail_on_errors: bool = False,
) -> RunOutcome:
    """Run (or resume) every stage of an experiment and write `summary.json`; the report is built separately.

    Budgets cap the whole run: calls and spend of earlier processes (from the manifest) count, cache hits are
    free; `budget_override` replaces the caps for a resumed run without editing the saved config. A stage whose
    calls failed too much (any failed, with `fail_on_errors`) ends the run `failed` (see `stage_failure`). Stage usage
    is checkpointed into the manifest every few seconds, so a killed process loses at most that much of it."""
    from distillscope.stages import ice_family, ice_models

    for entry in ice_models(cfg):  # fail before any call when an identity is unknown
        ice_family(entry)
    run_dir = Path(run_dir or cfg.run_dir())
    with run_lock(run_dir):
        return await _run_locked(
            cfg,
            run_dir,
            resume=resume,
            progress=progress,
            use_cache=use_cache,
            budget_override=budget_override,
            fail_on_errors=fail_on_errors,
        )


async def _run_locked(
    cfg: ExperimentConfig,
    run_dir: Path,
    *,
    resume: bool,
    progress: ProgressSink | None,
    use_cache: bool,
    budget_override: tuple[int | None, float | None],
    fail_on_errors: bool,
) -> RunOutcome:
    """The body of `run_experiment`, run while this process holds the run directory's lock."""
    from distillscope.stages import StageContext

    manifest = prepare_run_dir(cfg, run_dir, resume=resume)
    pool = ModelPool.for_config(cfg, ResponseCache() if use_cache else None, _budget(cfg, manifest, budget_override))
    pool.batcher = batch_collector(cfg, run_dir, pool.budget)
    outcome = RunOutcome(run_dir, "complete")
    tally = _StageTally(manifest, run_dir, pool)
    reporter = _Reporter(progress, pool, tally)
    ctx = StageContext(cfg=cfg, run_dir=run_dir, pool=pool, progress=reporter)
    try:
        with ray_session(cfg.execution, needed=bool(ray_models(cfg))):
            await _run_stages(ctx, outcome, tally, reporter, fail_on_errors=fail_on_errors)
    except BudgetExceededError as exc:
        if pool.batcher is not None:
            await pool.batcher.drain()  # what was submitted is paid for: collect it before stopping
        outcome.status, outcome.message = "stopped", f"{exc}; then `distillscope resume {run_dir}`"
        tally.record(done=False)
    except BatchesPending:
        n, requests = pool.batcher.in_flight() if pool.batcher else (0, 0)
        outcome.status = "waiting"
        outcome.message = f"{n} batches submitted ({requests} requests); `distillscope resume {run_dir}` collects them"
        tally.record(done=False)
    except asyncio.CancelledError:  # SIGINT/SIGTERM at the CLI edge: record where the run stopped, then go on
        tally.record(done=False)
        manifest["status"] = "interrupted"
        _save(manifest, run_dir, pool)
        raise
    finally:
        if pool.batcher is not None:
            await pool.batcher.aclose()
        await pool.aclose()
    _finish(cfg, manifest, outcome, pool)
    return outcome


def batch_collector(cfg: ExperimentConfig, run_dir: Path, budget: Budget | None) -> BatchCollector | None:
    """The run's provider batch executor under `executor: batch` (its journal is `run_dir/batches.jsonl`)."""
    if cfg.execution.executor != "batch":
        return None
    return BatchCollector(BatchJournal.open(RunDir(run_dir).batches), cfg.execution, budget=budget)


async def _run_stages(
    ctx: StageContext, outcome: RunOutcome, tally: _StageTally, reporter: _Reporter, *, fail_on_errors: bool
) -> None:
    """Run the config's stages in order until one fails. When a stage ends, the Ray actors of the models that no
    later stage calls are released (all of them when the run stops): their GPUs go to other models and users."""
    from distillscope.stages import stage_list, stage_models

    stages = stage_list(ctx.cfg)
    try:
        for i, (name, stage) in enumerate(stages):
            tally.start(name)
            if ctx.pool.batcher is not None:
                ctx.pool.batcher.active = name in BATCH_STAGES
            log.info("stage %s started", name, extra={"stage": name})
            try:
                info = await stage(ctx)
            finally:
                later = set().union(*(stage_models(ctx.cfg, n) for n, _ in stages[i + 1 :]))
                await ctx.pool.release_all(keep=later)
            failure = stage_failure(name, tally.stats(), tally.dead_models(), fail_on_errors=fail_on_errors)
            if failure is not None:
                outcome.status = "failed"
                outcome.message = f"{failure}; fix it, then `distillscope resume {ctx.run_dir}`"
                tally.record(info, done=False)
                return
            outcome.stage_stats[name] = tally.finish(info)
            reporter.finished(name)
    finally:
        await ctx.pool.release_all()


def _budget(cfg: ExperimentConfig, manifest: dict[str, Any], override: tuple[int | None, float | None]) -> Budget:
    """The run's budget: the caps (a CLI override first), and what earlier runs of this directory spent."""
    calls, cost = spent(manifest)
    return Budget(
        max_calls=override[0] or cfg.budget.max_calls,
        max_usd=override[1] or cfg.budget.max_usd,
        calls=calls,
        cost_usd=cost,
    )


def _finish(cfg: ExperimentConfig, manifest: dict[str, Any], outcome: RunOutcome, pool: ModelPool) -> None:
    """Record how the run ended in its manifest, then write summary.json."""
    from distillscope.summary import write_summary

    manifest["status"] = outcome.status
    manifest["finished"] = _now() if outcome.status == "complete" else None
    manifest["failure"] = outcome.message if outcome.status == "failed" else None
    _save(manifest, outcome.run_dir, pool)
    write_summary(outcome.run_dir, cfg)


class _Reporter:
    """Passes the stages' progress events on with the run's usage so far, checkpoints the manifest on each,
    and closes every finished stage with a `finished` event (logged too, with its counts)."""

    def __init__(self, sink: ProgressSink | None, pool: ModelPool, tally: _StageTally) -> None:
        self.sink, self.pool, self.tally = sink, pool, tally
        self.last: dict[str, ProgressEvent] = {}

    def __call__(self, event: ProgressEvent) -> None:
        self.last[event.stage] = event
        if self.sink is not None:
            u = self.pool.totals()
            usage = f"calls {u.calls} · cached {u.cache_hits} · errors {u.errors} · ${u.cost_usd:.2f}"
            self.sink(replace(event, note=f"{event.note} · {usage}" if event.note else usage))
        self.tally.checkpoint()

    def finished(self, stage: str) -> None:
        event = replace(self.last.get(stage) or ProgressEvent(stage=stage, done=0, total=0), finished=True)
        log.info("stage %s finished", stage, extra={"stage": stage, "done": event.done, "total": event.total})
        self(event)


def stage_failure(
    name: str, stats: dict[str, float | int], dead: list[str], *, fail_on_errors: bool = False
) -> str | None:
    """Why a finished stage makes the run fail, or None when it is healthy.

    A stage fails when a model in it answered nothing (`dead`: every call failed, e.g. an unreachable endpoint),
    when more than half of the answers it asked for in this process failed (after retries), or with
    `fail_on_errors` when any did. Answers served from the cache count as asked for and never failed."""
    failed, asked = int(stats.get("errors", 0)), int(stats.get("calls", 0)) + int(stats.get("cache_hits", 0))
    if failed == 0 or (not fail_on_errors and not dead and failed * 2 <= asked):
        return None
    which = f"; no answer at all from {', '.join(dead)}" if dead else ""
    return f"stage {name}: {failed} of {asked} calls failed{which} (the records' error field says why)"


def spent(manifest: dict[str, Any]) -> tuple[int, float]:
    """Backend calls and USD recorded in a run's manifest, over every stage and process."""
    stages = manifest.get("stages", {}).values()
    return int(sum(s.get("calls", 0) for s in stages)), float(sum(s.get("cost_usd", 0.0) for s in stages))


class _StageTally:
    """Usage of the running stage, added to what earlier processes recorded for it and saved to the manifest."""

    SAVE_EVERY_S = 2.0

    def __init__(self, manifest: dict[str, Any], run_dir: Path, pool: ModelPool) -> None:
        self.manifest, self.run_dir, self.pool = manifest, run_dir, pool
        self.name: str | None = None
        self._base: dict[str, Any] | None = None
        self._before = ModelStats()
        self._before_models: dict[str, ModelStats] = {}
        self._t0 = self._saved = time.monotonic()

    def start(self, name: str) -> None:
        self.name, self._base = name, self.manifest["stages"].get(name)
        self._before, self._t0 = self.pool.totals(), time.monotonic()
        self._before_models = self.pool.per_model()

    def dead_models(self) -> list[str]:
        """Models that answered nothing in the running stage: every one of their calls in it failed."""
        dead = []
        for name, now in sorted(self.pool.per_model().items()):
            d = _diff(now, self._before_models.get(name, ModelStats()))
            if d["errors"] and d["errors"] == d["calls"] + d["cache_hits"]:
                dead.append(name)
        return dead

    def stats(self) -> dict[str, float | int]:
        return {**_diff(self.pool.totals(), self._before), "seconds": round(time.monotonic() - self._t0, 2)}

    def record(self, info: dict[str, Any] | None = None, *, done: bool) -> dict[str, float | int]:
        stats = self.stats()
        if self.name is not None:
            old = {k: v for k, v in (self._base or {}).items() if k in stats}
            self.manifest["stages"][self.name] = {
                **(self._base or {}),
                **_add(old, stats),
                **(info or {}),
                "done": done,
            }
            _save(self.manifest, self.run_dir, self.pool)
            self._saved = time.monotonic()
        return stats

    def checkpoint(self) -> None:
        if self.name is not None and time.monotonic() - self._saved >= self.SAVE_EVERY_S:
            self.record(done=False)

    def finish(self, info: dict[str, Any]) -> dict[str, float | int]:
        stats = self.record(info, done=True)
        self.name = None
        return stats


def _add(old: dict[str, Any] | None, new: dict[str, float | int]) -> dict[str, float | int]:
    """Usage of a stage summed over the processes that ran it (a resumed stage adds its share)."""
    return {k: (old or {}).get(k, 0) + v for k, v in new.items()}


def _save(manifest: dict[str, Any], run_dir: Path, pool: ModelPool) -> None:
    manifest["models"].update(pool.identities())
    manifest["cost_usd"] = round(spent(manifest)[1], 6)
    write_json_atomic(RunDir(run_dir).manifest, manifest)
