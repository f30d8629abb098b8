"""Dry run of an experiment: calls per stage and model, estimated tokens and USD, what is already cached.

Works offline: nothing is sent; a prompt file that is not there (or empty) is estimated from its sample size.
The plan is compared with the config's budget: the cap that will stop the run first is named.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from distillscope.config import ExperimentConfig, IceSettings, ModelEntry, PromptSetEntry, placement_of
from distillscope.errors import DistillscopeError
from distillscope.execution.batch_api import BATCH_PROVIDERS
from distillscope.execution.batch_collector import BATCH_STAGES
from distillscope.inputs import read_input
from distillscope.pricing import Price, batch_price, price_for_spec

if TYPE_CHECKING:
    from distillscope.prompts.items import PromptItem

CHARS_PER_TOKEN = 4.0  # rough average for English prose; estimates only
OUTPUT_FILL = 0.6  # answers use about this share of max_tokens on average (an estimate, stated in the output)


@dataclass(kw_only=True)
class PlanRow:
    """One stage x model line of the plan."""

    stage: str
    model: str
    calls: int
    cached: int | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    note: str = ""


def _row(
    cfg: ExperimentConfig,
    stage: str,
    name: str,
    calls: int,
    in_tok: float,
    out_tok: float,
    cached: int | None = None,
    note: str = "",
) -> PlanRow:
    entry = cfg.model(name)
    price, batch_note = _price(cfg, stage, entry)
    note = "; ".join(n for n in (note, batch_note) if n)
    p_tok, c_tok = int(calls * in_tok), int(calls * out_tok)
    cost = None if price is None else round(price.cost(p_tok, c_tok), 4)
    if price is None:
        note = (note + "; " if note else "") + "no price known: add it under `prices:`"
    if cfg.execution.executor == "ray":
        note = (note + "; " if note else "") + placement_note(cfg, entry)
    return PlanRow(
        stage=stage,
        model=name,
        calls=calls,
        cached=cached,
        prompt_tokens=p_tok,
        completion_tokens=c_tok,
        cost_usd=cost,
        note=note,
    )


def _price(cfg: ExperimentConfig, stage: str, entry: ModelEntry) -> tuple[Price | None, str]:
    """The price a stage pays for a model's calls, and a note when the batch executor changes it."""
    price = price_for_spec(entry.spec, cfg.price_table())
    if cfg.execution.executor != "batch":
        return price, ""
    if stage.startswith("ice.fuzz"):
        return price, "batch executor: ice.fuzz stays interactive (the fuzz loop needs one round per iteration)"
    if stage not in BATCH_STAGES:
        return price, "batch executor: the replay's share of these calls goes in batches (estimated at full price)"
    if entry.spec.partition(":")[0] not in BATCH_PROVIDERS:
        return price, f"batch executor: {entry.spec.partition(':')[0]}: has no batch API; called interactively"
    return (None if price is None else batch_price(price)), "batch API: half price, results within 24 h"


def placement_note(cfg: ExperimentConfig, entry: ModelEntry) -> str:
    """Where a model runs under the ray executor, in one line."""
    if placement_of(entry, cfg.execution.executor) == "local":
        return f"{entry.name} runs on the driver"
    extra = "".join(f", {k}={v:g}" for k, v in sorted(entry.resources.items()))
    each = f"num_cpus={entry.num_cpus:g}, num_gpus={entry.num_gpus:g}{extra}"
    return f"{entry.name} runs in {entry.replicas} Ray actor(s), each {each}"


def _set_items(entry: PromptSetEntry) -> tuple[PromptItem, ...]:
    from distillscope.prompts.loaders import load_prompt_set

    return load_prompt_set(entry.spec, sample=entry.sample).items


def _prompt_counts(cfg: ExperimentConfig) -> tuple[int, float, str]:
    """Number of RSE prompts, mean prompt tokens, and a note about estimated sets."""
    total, chars, notes = 0, 0.0, []
    for entry in cfg.rse.prompt_sets:
        items, problem = read_input(f"prompt set {entry.spec}", entry.spec, partial(_set_items, entry))
        if items is not None:
            total += len(items)
            chars += sum(len(i.text) for i in items)
        else:
            n = entry.sample or 0
            total += n
            chars += n * 600
            notes.append(f"{problem} (estimated from sample={n})")
    return total, (chars / total / CHARS_PER_TOKEN if total else 0.0), "; ".join(notes)


def _cached_count(cfg: ExperimentConfig, entry: ModelEntry) -> int | None:
    """How many of this model's RSE collect calls the response cache already holds (None: unknown)."""
    from distillscope.cache import ResponseCache, cache_key
    from distillscope.prompts.loaders import load_prompt_set
    from distillscope.registry import BackendOptions, resolve_backend
    from distillscope.types import GenerateParams, GenerateRequest

    try:
        backend = resolve_backend(entry.spec, BackendOptions(base_url=entry.base_url, api_key_env=entry.api_key_env))
        items = [i for e in cfg.rse.prompt_sets for i in load_prompt_set(e.spec, sample=e.sample).items]
    except DistillscopeError:
        return None
    cache = ResponseCache()
    params = GenerateParams(temperature=cfg.rse.temperature, max_tokens=cfg.rse.max_tokens)
    keys = [
        cache_key(backend.identity, GenerateRequest(i.request_messages(), params, s))
        for i in items
        for s in range(cfg.rse.samples_per_prompt)
    ]
    return sum(k in cache for k in keys)


def plan_experiment(cfg: ExperimentConfig, *, check_cache: bool = True) -> dict[str, Any]:
    """Calls, tokens and cost per stage and model, with totals; no network access."""
    rows: list[PlanRow] = []
    if cfg.rse.enabled:
        n, p_tok, note = _prompt_counts(cfg)
        calls = n * cfg.rse.samples_per_prompt
        for m in (*cfg.targets, *cfg.references, *cfg.null_panel):
            cached = _cached_count(cfg, m) if check_cache else None
            rows.append(
                _row(cfg, "rse.collect", m.name, calls, p_tok + 20, cfg.rse.max_tokens * OUTPUT_FILL, cached, note)
            )
        pairs = calls * (len(cfg.targets) + len(cfg.null_panel)) * len(cfg.references)
        orders = 2 if cfg.rse.both_orders else 1
        judge_in = p_tok + 2 * cfg.rse.max_tokens * OUTPUT_FILL + 450
        rows += [_row(cfg, "rse.judge", j, pairs * orders, judge_in, 120) for j in cfg.rse.judges]
    if cfg.ice.enabled:
        rows += _ice_rows(cfg)
    return {**_totals(rows), "budget": budget_check(cfg, rows)}


def _ice_inputs(cfg: ExperimentConfig) -> tuple[int, int, list[str]]:
    """Questions and seed templates the ICE stages read (a file that cannot be read is estimated, with a note)."""
    from distillscope.ice.questions import load_questions
    from distillscope.ice.templates import load_templates

    ice, notes, counts = cfg.ice, [], []
    for what, spec, load, builtin in (
        ("ice.questions", ice.questions, load_questions, "builtin"),
        ("ice.templates", ice.templates, load_templates, "builtin"),
    ):
        items, problem = read_input(f"{what} {spec}", spec, partial(load, spec))
        if items is None:
            items = load(builtin)
            notes.append(f"{problem} (estimated as the {len(items)} builtin ones)")
        counts.append(len(items))
    return counts[0], counts[1], notes


def _fuzz_size(ice: IceSettings, per_iter: int) -> tuple[int, int, str]:
    """Target queries and iterations of the fuzz campaign: the first of its caps to be reached decides."""
    known = [ice.max_queries] if ice.max_queries else []
    if ice.max_iterations:
        known.append(ice.max_iterations * per_iter)
    if ice.max_mutator_calls and ice.mutator != "rules":  # one mutator call per iteration
        known.append(ice.max_mutator_calls * per_iter)
    queries = min(known) if known else 20 * per_iter
    note = "" if known else "the fuzz has no cap here; estimated at 20 iterations"
    return queries, math.ceil(queries / per_iter), note


def _ice_rows(cfg: ExperimentConfig) -> list[PlanRow]:
    from distillscope.stages import ice_models

    ice = cfg.ice
    n_q, n_seeds, notes = _ice_inputs(cfg)
    per_iter = min(ice.questions_per_iteration or n_q, n_q)
    queries, iterations, fuzz_note = _fuzz_size(ice, per_iter)
    out_tok = ice.max_tokens * OUTPUT_FILL
    note = "; ".join([*notes, fuzz_note] if fuzz_note else notes)
    rows = [_row(cfg, "ice.fuzz", cfg.targets[0].name, queries, 350, out_tok, note=note)]
    if ice.mutator != "rules":
        mutations = min(iterations, ice.max_mutator_calls or iterations)
        rows.append(_row(cfg, "ice.fuzz (mutator)", ice.mutator, mutations, 700, 400 * OUTPUT_FILL))
    replayed = ice_models(cfg) if len(ice_models(cfg)) > 1 else []
    pool = max(iterations, n_seeds)  # the successful mutants, or every seed template when none succeeds
    pool_note = (
        f"replay pool: the fuzz's successful mutants (at most {iterations}), or all {n_seeds} seed templates "
        f"when none succeeds (the fallback), planned at the larger: {pool} templates x {n_q} questions"
    )
    rows += [_row(cfg, "ice.replay", m.name, pool * n_q, 350, out_tok, note=pool_note) for m in replayed]
    judge_kind, _, judge_model = ice.judge.partition(":")
    if judge_kind in ("llm", "ensemble"):
        share = 1.0 if judge_kind == "llm" else 0.2
        judged = queries + pool * n_q * len(replayed)  # every answer of the fuzz and of the replay
        note = "" if judge_kind == "llm" else "ensemble: about 20% of answers reach the LLM (estimate)"
        rows.append(_row(cfg, "ice.judge", judge_model, int(judged * share), out_tok + 400, 150, note=note))
    return rows


def budget_check(cfg: ExperimentConfig, rows: list[PlanRow]) -> dict[str, Any]:
    """The run's caps against the plan: which cap stops the run first, in which stage, and a warning line."""
    needed = [r.calls - (r.cached or 0) for r in rows]
    costs = [r.cost_usd or 0.0 for r in rows]
    caps = []
    for name, cap, per_row in (("max_calls", cfg.budget.max_calls, needed), ("max_usd", cfg.budget.max_usd, costs)):
        if cap is not None and sum(per_row) > cap:
            used, stage = 0.0, rows[-1].stage
            for row, x in zip(rows, per_row, strict=True):
                used += x
                if used > cap:
                    stage = row.stage
                    break
            caps.append((cap / sum(per_row), name, cap, stage))
    out: dict[str, Any] = {
        **cfg.budget.model_dump(),
        "calls_needed": sum(needed),
        "stops_at": None,
        "stop_stage": None,
        "warning": "",
    }
    if not caps:
        return out
    share, name, cap, stage = min(caps)
    need = f"{sum(needed):,} uncached calls" if name == "max_calls" else f"${sum(costs):.2f}"
    shown = f"{cap:,}" if name == "max_calls" else f"${cap:.2f}"
    out.update(stops_at=f"budget.{name}", stop_stage=stage)
    flag = "--" + name.replace("_", "-")
    out["warning"] = (
        f"budget.{name} ({shown}) is below the estimated {need}: the run will stop in {stage}, about "
        f"{share:.0%} of the way; raise it, or continue later with `distillscope resume RUN_DIR {flag} N`"
    )
    return out


def _totals(rows: list[PlanRow]) -> dict[str, Any]:
    known = [r.cost_usd for r in rows if r.cost_usd is not None]
    return {
        "rows": [asdict(r) for r in rows],
        "total_calls": sum(r.calls for r in rows),
        "total_prompt_tokens": sum(r.prompt_tokens for r in rows),
        "total_completion_tokens": sum(r.completion_tokens for r in rows),
        "total_cost_usd": round(sum(known), 2),
        "cost_complete": len(known) == len(rows),
        "assumptions": f"{CHARS_PER_TOKEN:g} characters per token; answers fill {OUTPUT_FILL:.0%} of max_tokens",
    }
