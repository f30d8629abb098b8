"""Calibrated statistics: clustered bootstrap intervals, Holm correction, Wilson intervals, verdicts.

Every random choice takes an injected, seeded ``numpy.random.Generator``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

Verdict = Literal["consistent with distillation", "inconclusive", "no evidence"]
VERDICT_CONSISTENT: Verdict = "consistent with distillation"
VERDICT_INCONCLUSIVE: Verdict = "inconclusive"
VERDICT_NONE: Verdict = "no evidence"

Statistic = Callable[[np.ndarray], float]


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided confidence interval."""

    estimate: float
    low: float
    high: float
    level: float = 0.95


def _mean(x: np.ndarray) -> float:
    return float(np.mean(x))


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    rng: np.random.Generator,
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    statistic: Statistic = _mean,
) -> Interval:
    """Percentile bootstrap interval of ``statistic`` over independent units (e.g. one value per prompt)."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        raise ValueError("bootstrap_ci needs at least one value")
    idx = rng.integers(0, arr.size, size=(n_boot, arr.size))
    if statistic is _mean:
        boots = arr[idx].mean(axis=1)
    else:
        boots = np.array([statistic(arr[row]) for row in idx])
    return _percentile_interval(statistic(arr), boots, level)


def clustered_bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    clusters: Sequence[object],
    rng: np.random.Generator,
    *,
    n_boot: int = 2000,
    level: float = 0.95,
) -> Interval:
    """Bootstrap interval of the mean, resampling whole clusters (prompts) rather than single values.

    Values that share a prompt are correlated; resampling prompts keeps that correlation, so the
    interval is honest where a naive bootstrap would be too narrow.
    """
    arr = np.asarray(values, dtype=float)
    labels, inverse = np.unique(np.asarray([str(c) for c in clusters]), return_inverse=True)
    if arr.size == 0 or arr.size != inverse.size:
        raise ValueError("values and clusters must be non-empty and of equal length")
    sums = np.bincount(inverse, weights=arr, minlength=labels.size)
    counts = np.bincount(inverse, minlength=labels.size).astype(float)
    pick = rng.integers(0, labels.size, size=(n_boot, labels.size))
    boots = sums[pick].sum(axis=1) / counts[pick].sum(axis=1)
    return _percentile_interval(float(arr.mean()), boots, level)


def _percentile_interval(estimate: float, boots: np.ndarray, level: float) -> Interval:
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(boots, [tail, 1.0 - tail])
    return Interval(estimate=float(estimate), low=float(low), high=float(high), level=level)


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values (family-wise error control across candidates)."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p)
    m = p.size
    adjusted = np.empty(m)
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[idx]))
        adjusted[idx] = running
    return [float(x) for x in adjusted]


def verdict_from(interval: Interval, p_value: float, alpha: float = 0.05) -> Verdict:
    """Map an excess interval and p-value to a verdict; the wording never accuses.

    consistent: significant at ``alpha`` and the interval excludes zero from above;
    no evidence: the estimate is not above zero; inconclusive: in between.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must lie in (0, 1)")
    if p_value < alpha and interval.low > 0.0:
        return VERDICT_CONSISTENT
    if interval.estimate <= 0.0:
        return VERDICT_NONE
    return VERDICT_INCONCLUSIVE


def auroc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """Area under the ROC curve: P(positive > negative), ties counting one half."""
    pos = np.asarray(positives, dtype=float)
    neg = np.asarray(negatives, dtype=float)
    if pos.size == 0 or neg.size == 0:
        raise ValueError("auroc needs at least one positive and one negative")
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (pos.size * neg.size))


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion k/n; (0, 1) when n is 0."""
    if n <= 0:
        return (0.0, 1.0)
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def mean_interval(values: Sequence[float] | np.ndarray, rng: np.random.Generator) -> dict[str, float | int]:
    """Mean with its 95% bootstrap interval and n, as the run summary stores it."""
    arr = np.asarray(values, dtype=float)
    ci = bootstrap_ci(arr, rng)
    return {"mean": ci.estimate, "lo": ci.low, "hi": ci.high, "n": int(arr.size)}
