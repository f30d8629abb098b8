"""Prompt-weighted word excess for the named-suspect test, under leave-one-student-out (session 7; rejected).

    python benchmarks/bench_lineage_prompt_weights.py --data ../shared/data/lineage

The default test averages S's per-prompt word excess towards the suspect T over all prompts and compares it with
the same average of the null models (students whose documented lineage excludes T, S left out). Here prompts on
which the null models agree (small variance of their excess towards T) weigh more:

- ``ivar``: weight 1 / (v_p + lambda * median v), v_p the null models' variance on prompt p;
- ``z``: the mean over prompts of (x_p - null mean_p) / sqrt(v_p + lambda * median v).

Each null model's own score uses weights computed without it (leave-one-out), so the null models are not scored
in-sample while S is out of sample. The p-value is the default's t prediction test. ``base`` (uniform weights)
reproduces the default test's numbers. Prints one JSON object per variant.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

import numpy as np
from sklearn.metrics import roc_auc_score

from distillscope.bench.lineage_cv import _null
from distillscope.bench.lineage_data import LineageData, add_data_arguments, prepare_from_arguments
from distillscope.rse.suspect import prediction_pvalue

Statistic = Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]]  # (x_S, X_null) -> S's, the nulls' scores


def uniform(x: np.ndarray, null: np.ndarray) -> tuple[float, np.ndarray]:
    """The default: the plain mean over prompts."""
    return float(x.mean()), null.mean(axis=1)


def _leave_one_out(null: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per prompt: the null's mean and variance, and each null model's leave-one-out mean and variance."""
    n = null.shape[0]
    s1, s2 = null.sum(axis=0), (null**2).sum(axis=0)
    mean, var = s1 / n, np.maximum((s2 - s1**2 / n) / (n - 1), 0.0)
    r1, r2 = s1[None] - null, s2[None] - null**2
    loo_mean = r1 / (n - 1)
    loo_var = np.maximum((r2 - r1**2 / (n - 1)) / (n - 2), 0.0)
    return mean, var, loo_mean, loo_var


def weighted(lam: float, mode: str) -> Statistic:
    """The ``ivar`` or ``z`` statistic of the module docstring with shrinkage ``lam``."""

    def stat(x: np.ndarray, null: np.ndarray) -> tuple[float, np.ndarray]:
        mean, var, loo_mean, loo_var = _leave_one_out(null)
        shrunk = var + lam * np.median(var)
        loo_shrunk = loo_var + lam * np.median(loo_var, axis=1, keepdims=True)
        if mode == "ivar":
            w, loo_w = 1.0 / shrunk, 1.0 / loo_shrunk
            return float((w * x).sum() / w.sum()), (loo_w * null).sum(axis=1) / loo_w.sum(axis=1)
        return float(((x - mean) / np.sqrt(shrunk)).mean()), ((null - loo_mean) / np.sqrt(loo_shrunk)).mean(axis=1)

    return stat


def evaluate(data: LineageData, stat: Statistic) -> dict[str, float]:
    """Recall, false-positive rate and pair AUROC of one statistic at alpha = 0.05 (leave-one-student-out nulls)."""
    word = data.excess["word"]
    values = word.values
    qi, ci = {q: i for i, q in enumerate(word.queries)}, {c: i for i, c in enumerate(word.candidates)}
    hits = {0: 0, 1: 0}
    totals = {0: 0, 1: 0}
    ys, ps = [], []
    for (s, t), y in data.labels.items():
        null = _null(data, data.students, t, s)
        totals[y] += 1
        if len(null) < 3:
            continue
        x = values[:, qi[s], ci[t]]
        xs = np.stack([values[:, qi[m], ci[t]] for m in null])
        ok = ~np.isnan(x) & ~np.isnan(xs).any(axis=0)
        score, null_scores = stat(x[ok], xs[:, ok])
        p = prediction_pvalue(score, null_scores)
        hits[y] += int(p < 0.05 and score > float(null_scores.mean()))
        ys.append(y)
        ps.append(-p)
    return {
        "recall": round(hits[1] / totals[1], 3),
        "fpr": round(hits[0] / totals[0], 3),
        "false_positives": hits[0],
        "pair_auroc": round(float(roc_auc_score(ys, ps)), 3),
    }


def main() -> None:
    """Compute the word excess once and print one row per statistic."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    args = parser.parse_args()
    data = prepare_from_arguments(args, ("word",))
    variants: dict[str, Statistic] = {"base": uniform}
    for lam in (0.25, 1.0):
        variants[f"ivar, lambda {lam}"] = weighted(lam, "ivar")
        variants[f"z, lambda {lam}"] = weighted(lam, "z")
    for name, stat in variants.items():
        row = evaluate(data, stat)
        print(json.dumps({"statistic": name, **row}), flush=True)


if __name__ == "__main__":
    main()
