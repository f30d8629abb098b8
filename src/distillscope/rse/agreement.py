"""Aggregating LLM-judge verdicts: order consistency, pair scores, panel agreement and the Table-3 means.

- Order inconsistency: share of pairs judged in both orders whose two overall scores differ.
- Pair score: mean overall over the orders that were scored (a pair with none is left out, never 0).
- Panel agreement: Krippendorff's alpha (ordinal) over units = (pair, order), raters = judges, and
  quadratic-weighted Cohen's kappa for each pair of judges.
- Table: mean pair score per (target, prompt set), averaged over judges, and the unweighted mean over sets.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from distillscope.rse.llm_judge import Judgement

log = logging.getLogger(__name__)
AgreementLabel = Literal["ok", "insufficient"]


@dataclass(frozen=True, kw_only=True)
class OrderConsistency:
    """Both-order comparison for one judge."""

    judge: str
    n_pairs: int  # pairs with both orders scored
    n_inconsistent: int
    rate: float  # n_inconsistent / n_pairs (nan when n_pairs == 0)
    mean_abs_diff: float


def order_consistency(judgements: Sequence[Judgement]) -> list[OrderConsistency]:
    """Per judge: how often the overall score changes when the reference moves from A to B."""
    by_pair: dict[tuple[str, ...], dict[str, int]] = defaultdict(dict)
    for j in judgements:
        if j.label == "scored" and j.overall is not None:
            by_pair[tuple(map(str, j.pair_key))][j.order] = j.overall
    out = []
    for judge in sorted({j.judge for j in judgements}):
        diffs = [abs(v["ref_a"] - v["ref_b"]) for k, v in by_pair.items() if k[0] == judge and len(v) == 2]
        n_bad = sum(d > 0 for d in diffs)
        rate = n_bad / len(diffs) if diffs else math.nan
        out.append(
            OrderConsistency(
                judge=judge,
                n_pairs=len(diffs),
                n_inconsistent=n_bad,
                rate=rate,
                mean_abs_diff=float(np.mean(diffs)) if diffs else math.nan,
            )
        )
    return out


@dataclass(frozen=True, kw_only=True)
class PairScore:
    """Mean overall (and aspect) score of one judge on one pair, over its scored orders."""

    judge: str
    reference: str
    target: str
    prompt_set: str
    prompt_id: str
    sample_index: int
    overall: float
    style: float
    logic: float
    content: float
    n_orders: int


def pair_scores(judgements: Sequence[Judgement]) -> list[PairScore]:
    """One score per (judge, pair): the mean over scored orders; unscored-only pairs are dropped."""
    groups: dict[tuple[str, str, str, str, str, int], list[Judgement]] = defaultdict(list)
    for j in judgements:
        if j.label == "scored":
            groups[j.pair_key].append(j)

    def mean(js: list[Judgement], attr: str) -> float:
        return float(np.mean([getattr(j, attr) for j in js]))

    return [
        PairScore(
            judge=key[0],
            reference=key[1],
            target=key[2],
            prompt_set=key[3],
            prompt_id=key[4],
            sample_index=key[5],
            overall=mean(js, "overall"),
            style=mean(js, "style"),
            logic=mean(js, "logic"),
            content=mean(js, "content"),
            n_orders=len(js),
        )
        for key, js in groups.items()
    ]


@dataclass(frozen=True, kw_only=True)
class PanelAgreement:
    """Inter-judge agreement on overall scores."""

    judges: tuple[str, ...]
    label: AgreementLabel
    n_units: int
    alpha: float  # Krippendorff's alpha, ordinal (nan when label == "insufficient")
    kappas: dict[str, float] = field(default_factory=dict)  # "judgeA | judgeB" -> quadratic-weighted kappa


def _units(judgements: Sequence[Judgement]) -> tuple[list[str], np.ndarray]:
    judges = sorted({j.judge for j in judgements})
    units: dict[tuple[str, ...], dict[str, float]] = defaultdict(dict)
    for j in judgements:
        if j.label == "scored" and j.overall is not None:
            units[tuple(map(str, j.key[1:]))][j.judge] = float(j.overall)
    table = np.array([[u.get(name, np.nan) for u in units.values()] for name in judges], dtype=float)
    return judges, table.reshape(len(judges), len(units))


def krippendorff_alpha(
    table: np.ndarray, level: Literal["nominal", "ordinal", "interval", "ratio"] = "ordinal"
) -> float:
    """Krippendorff's alpha of a raters x units table (nan = missing) with the `krippendorff` package."""
    import krippendorff

    return float(krippendorff.alpha(reliability_data=table, level_of_measurement=level, value_domain=[1, 2, 3, 4, 5]))


def cohen_kappa(a: Sequence[float], b: Sequence[float]) -> float:
    """Quadratic-weighted Cohen's kappa of two raters' overall scores on the same units."""
    from sklearn.metrics import cohen_kappa_score

    return float(
        cohen_kappa_score([int(x) for x in a], [int(x) for x in b], weights="quadratic", labels=[1, 2, 3, 4, 5])
    )


def panel_agreement(judgements: Sequence[Judgement]) -> PanelAgreement:
    """Agreement of several judges on the same (pair, order) units; `insufficient` with < 2 judges or
    fewer than 2 units rated by at least two judges, or when every rating is the same value."""
    judges, table = _units(judgements)
    shared = int((np.sum(~np.isnan(table), axis=0) >= 2).sum()) if table.size else 0
    values = table[~np.isnan(table)]
    if len(judges) < 2 or shared < 2 or len(np.unique(values)) < 2:
        return PanelAgreement(judges=tuple(judges), label="insufficient", n_units=shared, alpha=math.nan)
    kappas = {}
    for (i, a), (k, b) in itertools.combinations(enumerate(judges), 2):
        both = ~np.isnan(table[i]) & ~np.isnan(table[k])
        if both.sum() >= 2:
            kappas[f"{a} | {b}"] = cohen_kappa(table[i][both], table[k][both])
    return PanelAgreement(
        judges=tuple(judges), label="ok", n_units=shared, alpha=krippendorff_alpha(table), kappas=kappas
    )


@dataclass(frozen=True, kw_only=True)
class JudgeCell:
    """Mean similarity of one target on one prompt set (averaged over pairs, then over judges)."""

    target: str
    prompt_set: str
    mean: float
    n_pairs: int
    per_judge: dict[str, float]


def judge_table(
    judgements: Sequence[Judgement], reference: str | None = None
) -> tuple[list[JudgeCell], dict[str, float]]:
    """Cells per (target, set) and each target's unweighted mean over sets (the paper's Avg column)."""
    scores = [p for p in pair_scores(judgements) if reference is None or p.reference == reference]
    groups: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for p in scores:
        groups[(p.target, p.prompt_set)][p.judge].append(p.overall)
    cells = []
    for (target, pset), per in sorted(groups.items()):
        per_judge = {judge: float(np.mean(v)) for judge, v in per.items()}
        n = max(len(v) for v in per.values())
        cells.append(
            JudgeCell(
                target=target,
                prompt_set=pset,
                mean=float(np.mean(list(per_judge.values()))),
                n_pairs=n,
                per_judge=per_judge,
            )
        )
    avg: dict[str, list[float]] = defaultdict(list)
    for c in cells:
        avg[c.target].append(c.mean)
    return cells, {t: float(np.mean(v)) for t, v in avg.items()}
