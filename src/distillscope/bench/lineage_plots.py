"""Figures of the lineage benchmark: the named-suspect ROC and the attribution reliability diagram."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from distillscope.report.figures import new_figure, save_figure, style


def roc_points(pairs: Sequence[tuple[int, float]]) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates of every threshold on (label, score) pairs, score high = positive."""
    labels = np.array([lab for lab, _ in pairs], dtype=float)
    scores = np.array([s for _, s in pairs], dtype=float)
    order = np.argsort(-scores, kind="stable")
    tp = np.concatenate([[0.0], np.cumsum(labels[order])])
    fp = np.concatenate([[0.0], np.cumsum(1.0 - labels[order])])
    return fp / max(fp[-1], 1.0), tp / max(tp[-1], 1.0)


def write_plots(result: Any, out_dir: Path, alpha: float) -> list[Path]:
    """``lineage_roc.png`` (pairs ranked by -log10 p) and ``lineage_calibration.png`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with style():
        fig = new_figure(4.2, 4.0)
        ax = fig.add_subplot()
        fpr, tpr = roc_points(result.pair_scores)
        v = result.verdict
        ax.plot(fpr, tpr, color="#1f77b4", label=f"named-suspect test (AUROC {v.auroc:.3f})")
        ax.plot([0, 1], [0, 1], color="#999999", linestyle=":", linewidth=1)
        ax.scatter([v.fpr], [v.recall], color="#d62728", zorder=3, label=f"alpha = {alpha}: recall {v.recall:.2f}")
        ax.set(xlabel="false-positive rate", ylabel="recall", title=f"Verdicts, {result.scheme}")
        ax.legend(loc="lower right", fontsize=7)
        roc = save_figure(fig, out_dir / "lineage_roc")[0]
        fig = new_figure(4.2, 4.0)
        ax = fig.add_subplot()
        bins = result.calibration["bins"]
        ax.plot([0, 1], [0, 1], color="#999999", linestyle=":", linewidth=1)
        ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o", color="#2ca02c")
        for b in bins:
            ax.annotate(
                str(b["n"]), (b["confidence"], b["accuracy"]), fontsize=6, xytext=(3, 3), textcoords="offset points"
            )
        cal = result.calibration
        ax.set(
            xlabel="top-family probability",
            ylabel="share correct",
            xlim=(0, 1),
            ylim=(0, 1.05),
            title=f"Attribution, Brier {cal['brier']:.3f}, ECE {cal['ece']:.3f}",
        )
        rel = save_figure(fig, out_dir / "lineage_calibration")[0]
    return [roc, rel]
