"""LLM-judge results of an RSE run in the report's shape: means with intervals, aspects, diagnostics."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from distillscope.stats import mean_interval


def _length_correlation(run_dir: Path, pairs: list[Any]) -> float | None:
    """Spearman correlation of judge score with the target answer's length (a known judge bias)."""
    from scipy.stats import spearmanr

    from distillscope.rse.store import read_responses
    from distillscope.rundir import RunDir

    lengths = {
        (r.model, r.prompt_set, r.prompt_id, r.sample_index): len(r.response) for r in read_responses(RunDir(run_dir))
    }
    xs = [(lengths.get((p.target, p.prompt_set, p.prompt_id, p.sample_index)), p.overall) for p in pairs]
    xs = [(a, b) for a, b in xs if a is not None]
    if len(xs) < 3 or len({b for _, b in xs}) < 2:
        return None
    rho = spearmanr([a for a, _ in xs], [b for _, b in xs]).statistic
    return None if math.isnan(rho) else float(rho)


def summarise_judgements(run_dir: Path, reference: str, seed: int = 0) -> dict[str, Any] | None:
    """None when no judge ran on this reference; `unusable` says why when it ran but scored nothing."""
    from distillscope.rse.agreement import order_consistency, pair_scores, panel_agreement
    from distillscope.rse.llm_judge import load_judgements
    from distillscope.rundir import RunDir

    ran = [j for j in load_judgements(RunDir(run_dir)) if j.reference == reference]
    if not ran:
        return None
    js = [j for j in ran if j.status == "ok"]
    pairs = pair_scores(js)
    if not pairs:
        unscored = sum(j.label == "unscored" for j in js)
        return {
            "judges": sorted({j.judge for j in ran}),
            "scores": {},
            "diagnostics": None,
            "unusable": f"the LLM judge produced nothing usable: {unscored} of {len(ran)} replies could not be "
            f"scored and {len(ran) - len(js)} calls failed",
        }
    rng = np.random.default_rng(seed)
    by_target: dict[str, list[Any]] = defaultdict(list)
    for p in pairs:
        by_target[p.target].append(p)
    scores = {}
    for target, ps in sorted(by_target.items()):
        sets = sorted({p.prompt_set for p in ps})
        scores[target] = {
            "overall": mean_interval([p.overall for p in ps], rng),
            "by_set": {s: mean_interval([p.overall for p in ps if p.prompt_set == s], rng) for s in sets},
            "aspects": {a: float(np.mean([getattr(p, a) for p in ps])) for a in ("style", "logic", "content")},
        }
    orders = [o for o in order_consistency(js) if o.n_pairs]
    agreement = panel_agreement(js)
    return {
        "judges": sorted({j.judge for j in js}),
        "scores": scores,
        "diagnostics": {
            "order_inconsistency": float(np.mean([o.rate for o in orders])) if orders else None,
            "length_correlation": _length_correlation(run_dir, pairs),
            "parse_failures": sum(j.label == "unscored" for j in js),
            "n_judgements": len(js),
            "agreement": None if math.isnan(agreement.alpha) else agreement.alpha,
            "agreement_metric": None if math.isnan(agreement.alpha) else "Krippendorff's alpha (ordinal)",
        },
    }
