"""Tests of the calibrated statistics."""

from __future__ import annotations

import numpy as np
import pytest

from distillscope import stats


def test_bootstrap_ci_covers_truth() -> None:
    rng = np.random.default_rng(1)
    covered = 0
    for _ in range(40):
        sample = rng.normal(2.0, 1.0, size=200)
        ci = stats.bootstrap_ci(sample, rng, n_boot=500)
        covered += ci.low <= 2.0 <= ci.high
        assert ci.low < ci.estimate < ci.high
    assert covered >= 34  # ~95% nominal; allow sampling slack


def test_clustered_bootstrap_wider_than_naive_when_prompts_correlated() -> None:
    rng = np.random.default_rng(2)
    prompt_effect = rng.normal(0.0, 1.0, size=50)
    clusters = np.repeat(np.arange(50), 20)
    values = prompt_effect[clusters] + rng.normal(0.0, 0.2, size=clusters.size)
    naive = stats.bootstrap_ci(values, np.random.default_rng(3), n_boot=1000)
    clustered = stats.clustered_bootstrap_ci(values, clusters.tolist(), np.random.default_rng(3), n_boot=1000)
    assert (clustered.high - clustered.low) > 2 * (naive.high - naive.low)


def test_verdicts() -> None:
    strong = stats.Interval(estimate=0.3, low=0.1, high=0.5)
    assert stats.verdict_from(strong, 0.001, 0.05) == stats.VERDICT_CONSISTENT
    assert stats.verdict_from(stats.Interval(-0.1, -0.3, 0.1), 0.9, 0.05) == stats.VERDICT_NONE
    mid = stats.Interval(estimate=0.1, low=-0.05, high=0.25)
    assert stats.verdict_from(mid, 0.2, 0.05) == stats.VERDICT_INCONCLUSIVE
    with pytest.raises(ValueError):
        stats.verdict_from(mid, 0.2, 1.5)


def test_holm_and_auroc_and_wilson() -> None:
    assert stats.holm_adjust([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert stats.auroc([3.0], [1.0, 2.0, 3.0]) == pytest.approx(5 / 6)
    low, high = stats.wilson_interval(5, 10)
    assert 0.2 < low < 0.5 < high < 0.8
    assert stats.wilson_interval(0, 0) == (0.0, 1.0)
