"""Dry run of an experiment: calls per stage and model, estimated tokens and USD, what is already cached.

Works offline: nothing is sent; a prompt file that is not there is estimated from its sample size.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from distillscope.config import ExperimentConfig, ModelEntry
from distillscope.errors import DistillscopeError
from distillscope.pricing import price_for_spec

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
    price = price_for_spec(entry.spec, cfg.price_table())
    p_tok, c_tok = int(calls * in_tok), int(calls * out_tok)
    cost = None if price is None else round(price.cost(p_tok, c_tok), 4)
    if price is None:
        note = (note + "; " if note else "") + "no price known: add it under `prices:`"
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


def _prompt_counts(cfg: ExperimentConfig) -> tuple[int, float, str]:
    """Number of RSE prompts, mean prompt tokens, and a note about estimated sets."""
    from distillscope.prompts.loaders import load_prompt_set

    total, chars, notes = 0, 0.0, []
    for entry in cfg.rse.prompt_sets:
        try:
            items = load_prompt_set(entry.spec, sample=entry.sample).items
            total += len(items)
            chars += sum(len(i.text) for i in items)
        except DistillscopeError:
            n = entry.sample or 0
            total += n
            chars += n * 600
            notes.append(f"{entry.spec}: file not readable here, estimated from sample={n}")
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
    return _totals(rows)


def _ice_rows(cfg: ExperimentConfig) -> list[PlanRow]:
    from distillscope.ice.questions import load_questions

    ice = cfg.ice
    n_q = len(load_questions(ice.questions)) if ice.questions == "builtin" else 50
    per_iter = min(ice.questions_per_iteration or n_q, n_q)
    queries = ice.max_queries or (ice.max_iterations or 20) * per_iter
    iterations = math.ceil(queries / per_iter)
    out_tok = ice.max_tokens * OUTPUT_FILL
    rows = [_row(cfg, "ice.fuzz", cfg.targets[0].name, queries, 350, out_tok)]
    if ice.mutator != "rules":
        rows.append(_row(cfg, "ice.fuzz (mutator)", ice.mutator, iterations, 700, 400 * OUTPUT_FILL))
    judge_kind, _, judge_model = ice.judge.partition(":")
    if judge_kind in ("llm", "ensemble"):
        share = 1.0 if judge_kind == "llm" else 0.2
        note = "" if judge_kind == "llm" else "ensemble: about 20% of answers reach the LLM (estimate)"
        rows.append(_row(cfg, "ice.judge", judge_model, int(queries * share), out_tok + 400, 150, note=note))
    if ice.paired:
        for m in (*cfg.targets, *cfg.null_panel):
            rows.append(
                _row(
                    cfg,
                    "ice.replay",
                    m.name,
                    iterations * n_q,
                    350,
                    out_tok,
                    note="pool size estimated as one template per iteration",
                )
            )
    return rows


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
