"""Report figures. Each function takes parts of a summary and returns a matplotlib Figure.

matplotlib is imported inside functions (Agg canvas, no pyplot global state) so `import distillscope`
stays fast. Call them inside `style()` and save with `save_figure` for byte-identical PNG and SVG files.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from distillscope.report.plotdata import Bar, MapPoint, Series, rate_bar
from distillscope.summary_model import (
    Attribution,
    IceRate,
    IceRates,
    IceSection,
    JudgeDiagnostics,
    JudgeScores,
    Matrix,
    SetScores,
    StageCost,
    VerdictRow,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

LEVELS = ("loose", "strict", "hard")
LEVEL_COLORS = {"loose": "#9ecae1", "strict": "#3182bd", "hard": "#08519c"}
# Okabe-Ito: distinguishable for colour-blind readers.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
ROLE_MARKERS = {"target": "o", "reference": "*", "null": "s"}
ROLE_LABELS = {"target": "target", "reference": "reference", "null": "null panel"}
VERDICT_COLORS = {"consistent with distillation": "#D55E00", "inconclusive": "#E69F00", "no evidence": "#0072B2"}
RC: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.labelsize": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.axisbelow": True,
    "legend.frameon": False,
    "legend.fontsize": 8.0,
    "figure.dpi": 100.0,
    "savefig.dpi": 144.0,
    "svg.hashsalt": "distillscope-report",
    "svg.fonttype": "path",
    "path.simplify": True,
    "image.cmap": "viridis",
}


@contextmanager
def style() -> Iterator[None]:
    """Fixed rcParams (fonts, sizes, SVG hash salt) for reproducible figures."""
    import matplotlib

    with matplotlib.rc_context(cast(Any, RC)):
        yield


def new_figure(width: float, height: float) -> Figure:
    """A Figure bound to the Agg canvas, independent of pyplot."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, stem: Path) -> tuple[Path, Path]:
    """Write `stem`.png and `stem`.svg without dates or software stamps; return both paths."""
    png, svg = stem.with_suffix(".png"), stem.with_suffix(".svg")
    with style():
        fig.savefig(png, format="png", metadata={"Software": None})
        fig.set_layout_engine("none")  # keep the layout just computed: same look, half the work
        fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    return png, svg


def _color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _err(rate: float, lo: float, hi: float) -> tuple[float, float]:
    return max(0.0, rate - lo), max(0.0, hi - rate)


def _grouped_bars(ax: Axes, labels: Sequence[str], series: Sequence[Series]) -> None:
    """Bars per label, one series per (name, colour, bars), with interval whiskers."""
    width = 0.8 / max(1, len(series))
    for j, (name, color, blocks) in enumerate(series):
        xs = [i + (j - (len(series) - 1) / 2) * width for i in range(len(labels))]
        # A missing value (e.g. an ICE level that was not measured) draws no bar, not a zero-height one.
        vals = [math.nan if b.value is None else float(b.value) for b in blocks]
        errs = [
            _err(v, v if b.lo is None else b.lo, v if b.hi is None else b.hi) for v, b in zip(vals, blocks, strict=True)
        ]
        ax.bar(xs, vals, width=width * 0.92, color=color, label=name)
        if not any(b.lo is not None or b.hi is not None for b in blocks):
            continue  # point scores without intervals: no whiskers
        ax.errorbar(
            xs,
            vals,
            yerr=list(zip(*errs, strict=True)) if errs else None,
            fmt="none",
            ecolor="#333333",
            elinewidth=0.8,
            capsize=2,
        )
    ax.set_xticks(range(len(labels)), labels, rotation=20, ha="right")


def _level(rates: IceRates | None, level: str) -> IceRate | None:
    rate: IceRate | None = None if rates is None else getattr(rates, level)
    return rate


def ice_scores(ice: IceSection) -> Figure:
    """Loose / strict / hard ICE rates per model with 95% intervals (the paper's Figure 2 layout)."""
    by_model = ice.by_model
    names = sorted(by_model)
    fig = new_figure(max(6.0, 1.0 + 0.9 * len(names)), 3.6)
    ax = fig.add_subplot()
    series = [(lv, LEVEL_COLORS[lv], [rate_bar(_level(by_model[n], lv)) for n in names]) for lv in LEVELS]
    _grouped_bars(ax, names, series)
    ax.set_ylabel("share of identity answers")
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter("{x:.0%}")
    ax.set_title("Identity consistency (ICE): contradictions per model")
    ax.legend(ncols=3, loc="upper right")
    return fig


def ice_breakdown(ice: IceSection, level: str = "loose") -> Figure:
    """One ICE rate per question category (left) and per language (right), one bar per model."""
    by_model = ice.by_model
    names = sorted(by_model)
    fig = new_figure(10.0, 3.6)
    axes = fig.subplots(1, 2, width_ratios=[3, 1.6], sharey=True)
    for ax, key, title in zip(axes, ("by_category", "by_language"), ("question category", "language"), strict=True):
        split: dict[str, dict[str, IceRates]] = {n: getattr(by_model[n], key) for n in names}
        groups = sorted({g for n in names for g in split[n]})
        series = [
            (n, _color(i), [rate_bar(_level(split[n].get(g), level)) for g in groups]) for i, n in enumerate(names)
        ]
        _grouped_bars(ax, groups, series)
        ax.set_title(f"ICE {level} rate by {title}")
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter("{x:.0%}")
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return fig


def _heatmap(
    ax: Axes,
    values: list[list[float]],
    rows: Sequence[str],
    cols: Sequence[str],
    fmt: str,
    vmin: float | None = None,
    vmax: float | None = None,
) -> Any:
    import numpy as np

    arr = np.array(values, dtype=float)
    image = ax.imshow(arr, cmap="viridis", aspect="auto", vmin=vmin, vmax=vmax)
    ax.set_xticks(range(len(cols)), cols, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.grid(False)
    lo, hi = np.nanmin(arr) if arr.size else 0.0, np.nanmax(arr) if arr.size else 1.0
    mid = (lo + hi) / 2
    for (i, j), v in np.ndenumerate(arr):
        if not np.isnan(v):
            ax.text(j, i, format(v, fmt), ha="center", va="center", fontsize=7.5, color="black" if v > mid else "white")
    return image


def rse_heatmap(block: Mapping[str, SetScores], reference: str, label: str = "similarity") -> Figure:
    """Model x prompt-set heatmap of RSE scores to the reference, with an overall column (Table 3 layout)."""
    names = sorted(block)
    sets = sorted({s for m in block.values() for s in m.by_set})
    values = [
        [float(block[n].by_set[s].mean) if s in block[n].by_set else float("nan") for s in sets]
        + [float(block[n].overall.mean)]
        for n in names
    ]
    fig = new_figure(max(5.0, 2.5 + 1.1 * (len(sets) + 1)), 1.2 + 0.38 * len(names))
    ax = fig.add_subplot()
    image = _heatmap(ax, values, names, [*sets, "overall"], ".2f")
    fig.colorbar(image, ax=ax, label=label, shrink=0.9)
    ax.set_title(f"RSE {label} to {reference} per prompt set")
    return fig


def rse_aspects(scores: Mapping[str, JudgeScores]) -> Figure:
    """LLM-judge scores per aspect (style, logic, content) for each model."""
    names = sorted(scores)
    aspects = sorted({a for m in scores.values() for a in m.aspects})
    fig = new_figure(max(6.0, 1.0 + 0.9 * len(names)), 3.4)
    ax = fig.add_subplot()
    series = [(a, _color(i), [Bar(scores[n].aspects.get(a, 0.0)) for n in names]) for i, a in enumerate(aspects)]
    _grouped_bars(ax, names, series)
    ax.set_ylim(1, 5)
    ax.set_ylabel("judge score (1–5)")
    ax.set_title("LLM-judge similarity per aspect")
    ax.legend(ncols=len(aspects), loc="upper right")
    return fig


def distillation_map(points: Sequence[MapPoint], x_label: str) -> Figure:
    """ICE strict (y) against RSE similarity or degree (x), with intervals both ways, one marker per model."""
    fig = new_figure(7.0, 4.6)
    ax = fig.add_subplot()
    by_height = sorted(points, key=lambda q: (q.y, q.name))
    for rank, p in enumerate(by_height):
        color = VERDICT_COLORS.get(str(p.verdict), "#7f7f7f")
        ax.errorbar(
            [p.x],
            [p.y],
            xerr=[[p.x - p.x_lo], [p.x_hi - p.x]],
            yerr=[[p.y - p.y_lo], [p.y_hi - p.y]],
            fmt=ROLE_MARKERS.get(p.role, "o"),
            color=color,
            ecolor=color,
            elinewidth=0.9,
            capsize=2,
            markersize=8,
        )
        ax.annotate(p.name, (p.x, p.y), textcoords="offset points", xytext=(6, 5 if rank % 2 else -11), fontsize=8)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=c, marker="o", ls="", label=v) for v, c in VERDICT_COLORS.items()]
    handles += [Line2D([], [], color="#7f7f7f", marker=m, ls="", label=ROLE_LABELS[r]) for r, m in ROLE_MARKERS.items()]
    ax.legend(handles=handles, loc="upper left", ncols=2)
    ax.set_xlabel(x_label)
    ax.set_ylabel("ICE strict rate")
    ax.yaxis.set_major_formatter("{x:.0%}")
    ax.set_title("Distillation map: response similarity vs identity contradictions")
    return fig


def plot_similarity_matrix(matrix: Matrix) -> Figure:
    """All-model similarity heatmap ordered by average-linkage clustering, with its dendrogram on top."""
    import numpy as np
    from scipy.cluster.hierarchy import dendrogram, linkage
    from scipy.spatial.distance import squareform

    names = list(matrix.models)
    arr = np.array(matrix.values, dtype=float).reshape(len(names), len(names))
    sym = (arr + arr.T) / 2
    sym = np.where(np.isnan(sym), np.nanmean(sym), sym)
    dist = np.nanmax(sym) - sym
    np.fill_diagonal(dist, 0.0)
    fig = new_figure(max(6.0, 2.5 + 0.6 * len(names)), max(5.5, 2.5 + 0.55 * len(names)))
    top, main = fig.subplots(2, 1, height_ratios=[1, 4])
    order = list(range(len(names)))
    if len(names) > 2:
        tree = dendrogram(
            linkage(squareform(dist, checks=False), method="average"),
            ax=top,
            no_labels=True,
            color_threshold=0,
            above_threshold_color="#555555",
        )
        order = [int(i) for i in tree["leaves"]]
        top.set_xlim(0, 10 * len(names))
    top.axis("off")
    top.set_title("Pairwise similarity, clustered (average linkage)")
    ordered = [names[i] for i in order]
    shown = arr[np.ix_(order, order)].copy()
    np.fill_diagonal(shown, np.nan)  # self-similarity would flatten the colour scale
    image = _heatmap(main, shown.tolist(), ordered, ordered, ".2f")
    main.set_xlabel("compared with")
    fig.colorbar(image, ax=main, label="similarity", shrink=0.8)
    return fig


def attribution(attribution_block: Mapping[str, Attribution]) -> Figure:
    """Attribution probability of each candidate teacher and of "none of these", one panel per target."""
    targets = sorted(attribution_block)
    fig = new_figure(max(6.0, 3.3 * len(targets)), 3.4)
    axes = fig.subplots(1, len(targets), sharex=True, squeeze=False)[0]
    for ax, target in zip(axes, targets, strict=True):
        block = attribution_block[target]
        rows = [(c.candidate, c.probability) for c in block.candidates]
        rows.append(("none of these", block.families.get("none", 0.0)))
        rows = sorted(rows, key=lambda r: (-r[1], r[0]))[::-1]
        ys = list(range(len(rows)))
        colors = [
            "#D55E00" if i == len(rows) - 1 else "#999999" if name == "none of these" else "#0072B2"
            for i, (name, _) in enumerate(rows)
        ]
        ax.barh(ys, [p for _, p in rows], color=colors)
        ax.set_yticks(ys, [name for name, _ in rows])
        ax.set_xlim(0, 1)
        ax.set_title(f"{target}: likely teachers")
        ax.set_xlabel("attribution probability")
    return fig


def plot_null_panel(verdicts: Sequence[VerdictRow]) -> Figure:
    """Per verdict, the null-panel distribution (histogram) with the observed degree marked."""
    usable = [v for v in verdicts if v.null_values and v.observed is not None]
    fig = new_figure(max(6.0, 3.2 * len(usable)), 3.2)
    axes = fig.subplots(1, len(usable), squeeze=False)[0]
    for ax, v in zip(axes, usable, strict=True):
        nulls = [float(x) for x in v.null_values]
        ax.hist(nulls, bins=min(20, max(5, len(nulls) // 3)), color="#9ecae1", edgecolor="white", label="null panel")
        observed = float(v.observed or 0.0)
        ax.axvline(observed, color="#D55E00", lw=2, label=f"observed {observed:.3f}")
        low, high = min([*nulls, observed]), max([*nulls, observed])
        pad = 0.08 * (high - low or 1.0)
        ax.set_xlim(low - pad, high + pad)
        ax.margins(y=0.3)  # headroom for the legend
        p = v.p_value
        ax.set_title(f"{v.target} vs {v.reference}" + ("" if p is None else f" (p = {max(float(p), 0.001):.3f})"))
        ax.set_xlabel("degree (null-panel SDs)")
        ax.legend(loc="upper left", frameon=True, framealpha=0.9, edgecolor="white")
    axes[0].set_ylabel("count")
    return fig


def judge_diagnostics(diag: JudgeDiagnostics) -> Figure:
    """Judge health checks as bars on a 0–1 scale: lower is better except agreement."""
    n = max(1, diag.n_judgements or 0)
    items = [
        ("order-swap inconsistency", diag.order_inconsistency or 0.0, "#D55E00"),
        ("|length correlation|", abs(diag.length_correlation or 0.0), "#D55E00"),
        ("parse-failure rate", (diag.parse_failures or 0) / n, "#D55E00"),
    ]
    if diag.agreement is not None:
        items.append((f"agreement ({diag.agreement_metric or 'judges'})", diag.agreement, "#009E73"))
    fig = new_figure(7.0, 0.9 + 0.5 * len(items))
    ax = fig.add_subplot()
    ys = list(range(len(items)))[::-1]
    ax.barh(ys, [v for _, v, _ in items], color=[c for _, _, c in items])
    for y, (_, v, _) in zip(ys, items, strict=True):
        ax.text(v + 0.01, y, f"{v:.3f}", va="center", fontsize=8)
    ax.set_yticks(ys, [label for label, _, _ in items])
    ax.set_xlim(0, 1.08)
    ax.set_title("Judge diagnostics (red: lower is better; green: higher is better)")
    return fig


def cost(by_stage: Mapping[str, StageCost]) -> Figure:
    """Backend calls (answered / failed) and cache hits (left) and USD (right) per stage."""
    stages = sorted(by_stage)
    fig = new_figure(9.0, 0.9 + 0.42 * max(3, len(stages)))
    left, right = fig.subplots(1, 2, sharey=True)
    ys = list(range(len(stages)))[::-1]
    hits = [by_stage[s].cache_hits for s in stages]
    errors = [by_stage[s].errors for s in stages]
    # `calls` counts backend calls (errors included); cache hits never reach the backend.
    live = [max(0, by_stage[s].calls - e) for s, e in zip(stages, errors, strict=True)]
    left.barh(ys, live, color="#0072B2", label="answered calls")
    left.barh(ys, errors, left=live, color="#D55E00", label="failed calls")
    left.barh(ys, hits, left=[a + b for a, b in zip(live, errors, strict=True)], color="#56B4E9", label="cache hits")
    left.set_yticks(ys, stages)
    left.set_title("Calls per stage")
    left.legend(loc="lower right")
    right.barh(ys, [by_stage[s].cost_usd for s in stages], color="#009E73")
    right.xaxis.set_major_formatter("${x:,.2f}")
    right.set_title("Cost per stage (USD)")
    return fig
