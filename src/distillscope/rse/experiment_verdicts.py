"""Verdict rows of a run: the named-suspect test of every (target, reference) pair against the null panel.

Shared by `distillscope run` (summary.py) and `distillscope rse score`, both through rse/scoring.py, so both read
the same numbers. Each reference is a named suspect; the null panel stands for "models known not to descend from
it"; Holm corrects across the references of one target only (:mod:`distillscope.rse.suspect`). A row keeps
the keys the report reads: ``degree``/``lo``/``hi`` are the effect and its bootstrap interval in null-panel
standard deviations, ``null_values`` the null models' own scores in the same units, ``caveat`` warns about a
tested verdict's null panel (fewer null models than advised), and ``reason`` says why
a verdict is inconclusive (no null panel, too few usable null models, degenerate panel, not significant).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from distillscope.rse.fingerprint import Excess, lineage_prompt_sims
from distillscope.rse.suspect import (
    NO_NULL_PANEL,
    SuspectVerdict,
    null_scores,
    panel_misfits,
    panel_problems,
    run_suspect_tests,
    withhold,
)

WORD_MEASURE = "word similarity"


@dataclass(frozen=True)
class VerdictSettings:
    """Test level, seed and bootstrap size of the verdicts."""

    alpha: float = 0.05
    seed: int = 0
    n_boot: int = 200


def usable_null(texts: Mapping[str, Sequence[str]], null_panel: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """The null models that can calibrate, and the dropped ones with why (near-constant answers, refusals)."""
    dropped = panel_problems({m: texts[m] for m in null_panel})
    return [m for m in null_panel if m not in dropped], dropped


def text_verdicts(
    texts: Mapping[str, Sequence[str]],
    targets: Sequence[str],
    references: Sequence[str],
    null_panel: Sequence[str],
    settings: VerdictSettings | None = None,
) -> list[dict[str, Any]]:
    """Verdict rows from the models' answers (aligned by prompt): each target's word similarity to each reference
    against the null panel's, withheld ("inconclusive") for a target unlike its null panel.

    The similarity is not taken as an excess over the other models, as `bench lineage` does over its candidates:
    here those would be the null models themselves, whose baselines then hold their own panel siblings and the
    target's none, which made the test liberal (BENCHMARKS.md, "Verdicts in an experiment's structure")."""
    cfg = settings or VerdictSettings()
    null, dropped = usable_null(texts, null_panel)
    if not null_panel:
        return suspect_rows({}, targets, references, null, cfg, dropped=dropped)
    sims = lineage_prompt_sims(texts, [*targets, *null], [*references, *null], ("word",))["word"]
    excess = {"word": Excess(sims.queries, tuple(references), sims.values[:, :, : len(references)].astype(float))}
    unlike = panel_misfits(sims, targets, null, cfg.alpha)
    return suspect_rows(excess, targets, references, null, cfg, dropped=dropped, withheld=unlike)


def score_verdicts(
    scores: Mapping[str, np.ndarray],
    target: str,
    reference: str,
    null_panel: Sequence[str],
    settings: VerdictSettings | None = None,
    *,
    measure: str = "LLM-judge similarity",
) -> dict[str, Any]:
    """The same test on per-prompt scores towards one reference (e.g. LLM-judge means), one array per model."""
    models = (target, *null_panel)
    values = np.stack([np.asarray(scores[m], dtype=float) for m in models], axis=1)[:, :, None]
    excess = {"score": Excess(models, (reference,), values)}
    return suspect_rows(excess, [target], [reference], null_panel, settings, measure=measure)[0]


def suspect_rows(
    excess: Mapping[str, Excess],
    targets: Sequence[str],
    references: Sequence[str],
    null: Sequence[str],
    settings: VerdictSettings | None = None,
    *,
    dropped: Mapping[str, str] | None = None,
    measure: str = WORD_MEASURE,
    withheld: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Summary rows of every (target, reference) pair; an empty ``excess`` means no null panel was given. Both
    paths test one signal (weight 1). A target in ``withheld`` keeps its numbers, but its verdicts are
    "inconclusive" with the reason given there."""
    cfg = settings or VerdictSettings()
    weights = dict.fromkeys(excess, 1.0)
    rng = np.random.default_rng(cfg.seed)
    rows = []
    for target in targets:
        if not excess:
            rows += [_row_without_test(target, ref, cfg.alpha, NO_NULL_PANEL) for ref in references]
            continue
        null_for = {ref: [m for m in null if m != target] for ref in references}
        tested = run_suspect_tests(
            excess, target, references, null_for, rng, alpha=cfg.alpha, weights=weights, n_boot=cfg.n_boot
        )
        why = (withheld or {}).get(target)
        if why:
            tested = withhold(tested, why)
        rows += [_row(v, excess, cfg.alpha, weights, dict(dropped or {}), measure) for v in tested]
    return rows


def _row_without_test(target: str, reference: str, alpha: float, reason: str) -> dict[str, Any]:
    return {
        "target": target,
        "reference": reference,
        "alpha": alpha,
        "verdict": "inconclusive",
        "degree": None,
        "lo": None,
        "hi": None,
        "p_value": None,
        "p_adjusted": None,
        "reason": reason,
        "caveat": "",
        "n_null": 0,
        "null_models": [],
        "null_values": [],
        "observed": None,
        "evidence": [f"inconclusive: {reason}"],
    }


def _row(
    v: SuspectVerdict,
    excess: Mapping[str, Excess],
    alpha: float,
    weights: Mapping[str, float] | None,
    dropped: dict[str, str],
    measure: str,
) -> dict[str, Any]:
    """One summary row; the reason names the dropped null models when the panel could not calibrate."""
    e = v.effect
    why_dropped = ", ".join(f"{m} ({why})" for m, why in dropped.items())
    reason = v.reason
    if reason and dropped and e is None:
        reason = f"{reason}; dropped from the null panel: {why_dropped}"
    evidence = []
    if e is not None:
        evidence.append(
            f"{measure} to {v.suspect} lies {e.estimate:+.2f} null-panel SDs from the null models' mean "
            f"({', '.join(v.null_models)}; 95% bootstrap CI over prompts [{e.low:.2f}, {e.high:.2f}]; "
            f"t prediction p = {v.p_value:.3g}, Holm-adjusted p = {v.p_adjusted:.3g})"
        )
    if dropped and e is not None:
        evidence.append(f"dropped from the null panel: {why_dropped}")
    if v.caveat:
        evidence.append(f"caveat: {v.caveat}")
    if reason:
        evidence.append(f"inconclusive: {reason}")
    values = null_scores(excess, v.target, v.suspect, v.null_models, weights) if e is not None else np.array([])
    return {
        "target": v.target,
        "reference": v.suspect,
        "alpha": alpha,
        "verdict": v.verdict,
        "degree": None if e is None else e.estimate,
        "lo": None if e is None else e.low,
        "hi": None if e is None else e.high,
        "p_value": v.p_value,
        "p_adjusted": v.p_adjusted,
        "reason": reason,
        "caveat": v.caveat,
        "n_null": len(v.null_models),
        "null_models": list(v.null_models),
        "null_values": [round(float(x), 4) for x in values],
        "observed": None if e is None else e.estimate,
        "evidence": evidence,
    }
