"""Collect responses of several models to a prompt set into an RSE run directory (resumable).

Each finished call is appended to `responses.jsonl` at once. A re-run skips every (model, set, prompt,
sample) already answered with status "ok" and retries error records; the response cache makes any call
that finished but was not yet written free.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from distillscope import __version__
from distillscope.errors import ConfigError
from distillscope.model import Model
from distillscope.prompts.items import PromptItem
from distillscope.prompts.loaders import prompt_set_hash
from distillscope.rse.store import ResponseRecord, append_response, read_manifest, read_responses, update_manifest
from distillscope.rundir import RunDir
from distillscope.types import Completion, GenerateParams, GenerateRequest

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class ModelCollectStats:
    """What one collect call did for one model."""

    model: str
    requested: int = 0
    skipped: int = 0
    ok: int = 0
    errors: int = 0
    backend_calls: int = 0
    cache_hits: int = 0


@dataclass(kw_only=True)
class CollectSummary:
    """Per-model counts of a collect call and where the records are."""

    run_dir: str
    prompt_hash: str
    n_prompts: int
    samples_per_prompt: int
    models: list[ModelCollectStats] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(m.errors for m in self.models)


def make_record(model: str, item: PromptItem, sample_index: int, c: Completion) -> ResponseRecord:
    """The response record of one completion (reasoning trace kept apart from the answer)."""
    return ResponseRecord(
        model=model,
        prompt_set=item.set,
        prompt_id=item.id,
        sample_index=sample_index,
        prompt=item.text,
        response=c.text,
        status=c.status,
        reasoning=c.reasoning,
        category=item.category,
        error=c.error,
        error_kind=c.error_kind,
        finish_reason=c.finish_reason,
        prompt_tokens=c.usage.prompt_tokens,
        completion_tokens=c.usage.completion_tokens,
        latency_s=c.latency_s,
        cost_usd=c.cost_usd,
        cached=c.cached,
    )


def _sample_params(params: GenerateParams, sample_index: int) -> GenerateParams:
    # A fixed seed would make every sample identical; shift it by the sample index instead.
    if params.seed is None or sample_index == 0:
        return params
    return replace(params, seed=params.seed + sample_index)


def _record_collection(
    run: RunDir, models: Sequence[Model], prompts: Sequence[PromptItem], samples: int, params: GenerateParams
) -> str:
    """Check the folder was collected with the same params, note what is collected in its manifest; the hash."""
    old = read_manifest(run).get("params")
    new = params.to_dict()
    if old is not None and old != new:
        raise ConfigError(
            f"{run.root} was collected with params {old}, not {new}; use the same settings or a new --out folder"
        )
    prompt_hash = prompt_set_hash(prompts)
    update_manifest(
        run,
        {
            "models": [m.spec for m in models],
            "prompt_sets": sorted({p.set for p in prompts}),
            "prompt_hash": prompt_hash,
            "n_prompts": len(prompts),
            "samples_per_prompt": samples,
            "params": new,
            "distillscope_version": __version__,
        },
    )
    return prompt_hash


def _check_inputs(models: Sequence[Model], prompts: Sequence[PromptItem], samples: int, params: GenerateParams) -> None:
    if not models or not prompts:
        raise ConfigError("nothing to collect: give at least one model (--models) and one prompt (--prompts)")
    if samples < 1:
        raise ConfigError(f"--samples-per-prompt must be at least 1, got {samples}")
    if samples > 1 and params.temperature == 0:
        log.warning("%d samples per prompt at temperature 0 will mostly repeat; set --temperature > 0", samples)


async def collect_responses(
    models: Sequence[Model],
    prompts: Sequence[PromptItem],
    run: RunDir,
    *,
    params: GenerateParams | None = None,
    samples_per_prompt: int = 1,
    progress: Callable[[ResponseRecord], None] | None = None,
    planned: Callable[[int], None] | None = None,
    manifest: bool = True,
) -> CollectSummary:
    """Answer every prompt `samples_per_prompt` times with every model; append records to `run`.

    `planned` is told how many calls remain after resume; `progress` sees each record as it is written.
    `manifest`: keep the folder's own manifest.json (a standalone `rse collect`); an experiment has one manifest,
    its own, and passes False."""
    params = params or GenerateParams()
    _check_inputs(models, prompts, samples_per_prompt, params)
    run.ensure()
    if manifest:
        prompt_hash = _record_collection(run, models, prompts, samples_per_prompt, params)
    else:
        prompt_hash = prompt_set_hash(prompts)
    done = {r.key for r in read_responses(run) if r.ok}
    summary = CollectSummary(
        run_dir=str(run.root), prompt_hash=prompt_hash, n_prompts=len(prompts), samples_per_prompt=samples_per_prompt
    )
    jobs = []
    for model in models:
        stats = ModelCollectStats(model=model.spec)
        summary.models.append(stats)
        calls0, hits0 = model.stats.calls, model.stats.cache_hits
        todo = [
            (item, s)
            for item in prompts
            for s in range(samples_per_prompt)
            if (model.spec, item.set, item.id, s) not in done
        ]
        stats.requested = len(prompts) * samples_per_prompt
        stats.skipped = stats.requested - len(todo)
        jobs.append(_collect_model(model, todo, run, params, stats, progress, (calls0, hits0)))
    if planned is not None:
        planned(sum(m.requested - m.skipped for m in summary.models))
    await asyncio.gather(*jobs)
    return summary


async def _collect_model(
    model: Model,
    todo: list[tuple[PromptItem, int]],
    run: RunDir,
    params: GenerateParams,
    stats: ModelCollectStats,
    progress: Callable[[ResponseRecord], None] | None,
    start_counts: tuple[int, int],
) -> None:
    async def one(item: PromptItem, sample: int) -> None:
        request = GenerateRequest(item.request_messages(), _sample_params(params, sample), sample)
        completion = await model.generate(request)
        record = make_record(model.spec, item, sample, completion)
        append_response(run, record)  # keyed by (model, set, id, sample): arrival order does not matter
        if record.ok:
            stats.ok += 1
        else:
            stats.errors += 1
        if progress is not None:
            progress(record)

    await asyncio.gather(*(one(item, s) for item, s in todo))
    stats.backend_calls = model.stats.calls - start_counts[0]
    stats.cache_hits = model.stats.cache_hits - start_counts[1]
    if stats.errors:
        log.warning("%s: %d of %d calls failed; re-run to retry them", model.spec, stats.errors, len(todo))
