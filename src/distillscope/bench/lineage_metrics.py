"""Metrics of the lineage benchmark: ranking, macro top-1, named-suspect verdicts and calibration."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from distillscope.bench.lineage_data import LineageRow
from distillscope.errors import ConfigError
from distillscope.stats import auroc

FAMILY_FPR = "fpr:"  # prefix of the per-suspect-family false-positive rates among `student_intervals`' keys


@dataclass(frozen=True)
class RankingScores:
    """Ranking quality over students with a known teacher."""

    family_top1: float
    exact_top1: float
    mrr: float
    auroc: float


@dataclass(frozen=True, kw_only=True)
class VerdictScores:
    """Named-suspect verdicts on labelled (student, candidate) pairs at level ``alpha``."""

    alpha: float
    n_pos: int
    n_neg: int
    recall: float
    fpr: float
    auroc: float  # pairs ranked by the test's p-value
    # The false-positive rate of the negatives of each suspect family (session 10: pooled, OpenAI's and Anthropic's
    # rates were hidden by the others'), and the size of the null behind the positives' tests (min, median, max):
    # recall depends on it (BENCHMARKS.md, how many null models a test needs).
    fpr_by_suspect_family: dict[str, float] = field(default_factory=dict)
    null_models: dict[str, float] = field(default_factory=dict)
    n_pos_untested: int = 0  # positives whose null was too small for a test (they count as missed)


class _Test(Protocol):
    @property
    def p_value(self) -> float: ...

    @property
    def consistent(self) -> bool: ...

    @property
    def n_null(self) -> int: ...

    @property
    def tested(self) -> bool: ...


def _ranked(orders: Mapping[str, Sequence[str]], rows: Sequence[LineageRow]) -> list[tuple[LineageRow, list[str]]]:
    return [
        (r, list(orders[r.student]))
        for r in rows
        if r.student in orders and r.has_teacher and r.teacher in orders[r.student]
    ]


def ranking_scores(
    orders: Mapping[str, Sequence[str]], rows: Sequence[LineageRow], families: Mapping[str, str]
) -> RankingScores:
    """Top-1 (family and exact), MRR and mean per-student AUROC of ranked candidate lists."""
    ranked = _ranked(orders, rows)
    if not ranked:
        raise ConfigError("no student with a teacher among the candidates: check lineage.csv and families.csv")
    ranks = np.array([order.index(r.teacher) + 1 for r, order in ranked])
    sizes = np.array([len(order) for _, order in ranked])
    fam = [families.get(order[0], order[0]) == r.teacher_family for r, order in ranked]
    return RankingScores(
        family_top1=float(np.mean(fam)),
        exact_top1=float(np.mean(ranks == 1)),
        mrr=float(np.mean(1.0 / ranks)),
        auroc=float(np.mean(1.0 - (ranks - 1) / np.maximum(sizes - 1, 1))),
    )


def macro_family_top1(
    orders: Mapping[str, Sequence[str]], rows: Sequence[LineageRow], families: Mapping[str, str]
) -> float:
    """Mean over teacher families of the per-family share of students whose top candidate is of that family."""
    per: dict[str, list[bool]] = {}
    for r, order in _ranked(orders, rows):
        per.setdefault(r.teacher_family, []).append(families.get(order[0], order[0]) == r.teacher_family)
    return float(np.mean([np.mean(v) for v in per.values()])) if per else float("nan")


def verdict_scores(
    labels: Mapping[tuple[str, str], int],
    tests: Mapping[str, Mapping[str, _Test]],
    alpha: float = 0.05,
    families: Mapping[str, str] | None = None,
) -> tuple[VerdictScores, list[tuple[int, float]]]:
    """Recall on positives, false-positive rate on negatives (also per suspect family, given ``families``), and the
    pairs as (label, -log10 p)."""
    pairs = [(c, lab, tests[s][c]) for (s, c), lab in labels.items() if s in tests and c in tests[s]]
    pos = [t for _, lab, t in pairs if lab == 1]
    neg = [t for _, lab, t in pairs if lab == 0]
    scored = [(lab, float(-np.log10(max(t.p_value, 1e-300)))) for _, lab, t in pairs]
    area = auroc([v for lab, v in scored if lab], [v for lab, v in scored if not lab]) if pos and neg else float("nan")
    by_family: dict[str, list[bool]] = {}  # the negatives by their suspect's family
    for c, lab, t in pairs:
        if lab == 0 and families is not None:
            by_family.setdefault(families.get(c, c), []).append(t.consistent)
    sizes = [t.n_null for t in pos]
    return VerdictScores(
        alpha=alpha,
        n_pos=len(pos),
        n_neg=len(neg),
        recall=float(np.mean([t.consistent for t in pos])) if pos else float("nan"),
        fpr=float(np.mean([t.consistent for t in neg])) if neg else float("nan"),
        auroc=area,
        fpr_by_suspect_family={f: float(np.mean(v)) for f, v in sorted(by_family.items())},
        null_models={"min": min(sizes), "median": float(np.median(sizes)), "max": max(sizes)} if sizes else {},
        n_pos_untested=sum(not t.tested for t in pos),
    ), scored


def calibration(
    probabilities: Mapping[str, Mapping[str, float]], truths: Mapping[str, str], n_bins: int = 10
) -> dict[str, Any]:
    """Brier score (multi-class, "none" included), top-label ECE and the reliability bins."""
    brier, conf, hit = [], [], []
    for s, probs in probabilities.items():
        truth = truths[s]
        brier.append(sum((p - (k == truth)) ** 2 for k, p in probs.items()) + (0 if truth in probs else 1))
        top = max(probs, key=lambda k: probs[k])
        conf.append(probs[top])
        hit.append(top == truth)
    c, h = np.array(conf), np.array(hit, dtype=float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.digitize(c, edges[1:-1]), 0, n_bins - 1)
    bins = [
        {
            "low": float(edges[b]),
            "high": float(edges[b + 1]),
            "n": int((idx == b).sum()),
            "confidence": float(c[idx == b].mean()),
            "accuracy": float(h[idx == b].mean()),
        }
        for b in range(n_bins)
        if (idx == b).any()
    ]
    ece = float(sum(b["n"] * abs(b["confidence"] - b["accuracy"]) for b in bins) / max(len(c), 1))
    return {"brier": float(np.mean(brier)), "ece": ece, "top_label_accuracy": float(h.mean()), "bins": bins}


@dataclass(frozen=True, kw_only=True)
class StudentContribution:
    """What one student adds to the headline metrics (the unit the student bootstrap resamples)."""

    family: str | None  # documented teacher's family; None when no teacher is among the candidates
    family_hit: bool = False
    auroc: float = float("nan")
    positives: int = 0
    positives_found: int = 0
    negatives: int = 0
    negatives_flagged: int = 0
    # The same two counts per suspect family: a student that resembles one version of a vendor resembles them all,
    # so a family's false positives cluster in few students and its rate is less certain than its pair count says.
    negatives_by_family: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # family -> (negatives, flagged)


def student_contributions(
    orders: Mapping[str, Sequence[str]],
    rows: Sequence[LineageRow],
    families: Mapping[str, str],
    labels: Mapping[tuple[str, str], int],
    tests: Mapping[str, Mapping[str, _Test]],
) -> list[StudentContribution]:
    """Each student's share of macro/family top-1, AUROC, recall and fpr, overall and per suspect family (as the
    metrics above define them)."""
    ranked = {r.student: order for r, order in _ranked(orders, rows)}
    pairs: dict[str, list[tuple[int, _Test, str]]] = {}  # each student's labelled, tested pairs, in one pass
    for (s, c), lab in labels.items():
        if c in tests.get(s, {}):
            pairs.setdefault(s, []).append((lab, tests[s][c], families.get(c, c)))
    out = []
    for r in rows:
        if r.student not in orders:
            continue
        mine = pairs.get(r.student, [])
        pos = [t.consistent for lab, t, _ in mine if lab == 1]
        neg = [t.consistent for lab, t, _ in mine if lab == 0]
        by_family: dict[str, tuple[int, int]] = {}
        for lab, t, fam in mine:
            if lab == 0:
                n, flagged = by_family.get(fam, (0, 0))
                by_family[fam] = (n + 1, flagged + t.consistent)
        order = ranked.get(r.student)  # None: no documented teacher among the candidates (verdict pairs only)
        rank = order.index(r.teacher) + 1 if order is not None else 0
        out.append(
            StudentContribution(
                family=r.teacher_family if order is not None else None,
                family_hit=order is not None and families.get(order[0], order[0]) == r.teacher_family,
                auroc=1.0 - (rank - 1) / max(len(order) - 1, 1) if order is not None else float("nan"),
                positives=len(pos),
                positives_found=sum(pos),
                negatives=len(neg),
                negatives_flagged=sum(neg),
                negatives_by_family=by_family,
            )
        )
    return out


def _mean_of_finite(values: np.ndarray) -> np.ndarray:
    """Column means over the finite entries (NaN where a column has none): the families a resample drew."""
    finite = np.isfinite(values)
    n = finite.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.where(finite, values, 0.0).sum(axis=0) / n, np.nan)


def student_intervals(
    contributions: Sequence[StudentContribution], n_boot: int = 2000, level: float = 0.95, seed: int = 0
) -> dict[str, list[float]]:
    """Percentile intervals of the headline metrics over students resampled with replacement.

    The students are the units that vary between data sets (held-out sets have other students), so this is the
    uncertainty a reader should attach to a benchmark number; pairs of one student are resampled together. The
    false-positive rate of each suspect family is under ``FAMILY_FPR + family``."""
    if not contributions:
        return {}
    c = contributions
    counts = np.stack(
        [
            np.bincount(idx, minlength=len(c))
            for idx in np.random.default_rng(seed).integers(0, len(c), size=(n_boot, len(c)))
        ]
    ).astype(float)  # (n_boot, students): how often each student is drawn
    has = np.array([x.family is not None for x in c], dtype=float)
    hit = np.array([x.family_hit for x in c], dtype=float)
    area = np.nan_to_num(np.array([x.auroc for x in c]))

    def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray((counts @ num) / (counts @ den))

    per_family = []
    for fam in sorted({x.family for x in c if x.family is not None}):
        member = np.array([x.family == fam for x in c], dtype=float)
        per_family.append(ratio(member * hit, member))
    draws = {
        "macro_family_top1": _mean_of_finite(np.stack(per_family)) if per_family else np.full(n_boot, np.nan),
        "family_top1": ratio(has * hit, has),
        "auroc": ratio(has * area, has),
        "recall": ratio(np.array([x.positives_found for x in c], float), np.array([x.positives for x in c], float)),
        "fpr": ratio(np.array([x.negatives_flagged for x in c], float), np.array([x.negatives for x in c], float)),
    }
    for fam in sorted({f for x in c for f in x.negatives_by_family}):
        n, flagged = (np.array([x.negatives_by_family.get(fam, (0, 0))[i] for x in c], float) for i in (0, 1))
        draws[FAMILY_FPR + fam] = ratio(flagged, n)
    tail = (1.0 - level) / 2.0
    out = {}
    for name, values in draws.items():
        finite = values[np.isfinite(values)]
        if finite.size:
            low, high = np.quantile(finite, [tail, 1.0 - tail])
            out[name] = [float(low), float(high)]
    return out
