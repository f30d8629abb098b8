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


def test_permutation_pvalues_detect_real_shift_only() -> None:
    rng = np.random.default_rng(4)
    panel = rng.normal(0.0, 1.0, size=(300, 6))
    shifted = rng.normal(0.5, 1.0, size=300)
    same = rng.normal(0.0, 1.0, size=300)
    assert stats.label_permutation_pvalue(shifted, panel, rng, n_perm=999) < 0.01
    assert stats.label_permutation_pvalue(same, panel, rng, n_perm=999) > 0.05
    assert stats.sign_flip_pvalue(shifted - panel.mean(axis=1), rng, n_perm=999) < 0.01
    assert stats.sign_flip_pvalue(same - panel.mean(axis=1), rng, n_perm=999) > 0.05


def test_model_outlier_requires_exceeding_panel_spread() -> None:
    panel = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 0.8])
    assert stats.model_outlier_pvalue(1.2, panel) > 0.2
    assert stats.model_outlier_pvalue(6.0, panel) < 0.01
    assert stats.model_outlier_pvalue(6.0, np.array([1.0])) == 1.0


def test_null_panel_test_and_verdicts() -> None:
    rng = np.random.default_rng(5)
    panel = rng.normal(0.0, 1.0, size=(400, 8)) + np.linspace(-0.1, 0.1, 8)
    strong = stats.null_panel_test(rng.normal(1.0, 1.0, size=400), panel, rng, n_boot=500, n_perm=500)
    assert strong.excess.low > 0 and strong.p_value < 0.01
    assert stats.verdict_from(strong.excess, strong.p_value, 0.05) == stats.VERDICT_CONSISTENT
    weak = stats.null_panel_test(rng.normal(-0.2, 1.0, size=400), panel, rng, n_boot=500, n_perm=500)
    assert stats.verdict_from(weak.excess, weak.p_value, 0.05) == stats.VERDICT_NONE
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
