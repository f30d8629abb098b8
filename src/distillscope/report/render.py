"""Build the report of a run directory: report.html (self-contained), report.md, scores.csv, figures/*.png|svg.

The report reads only `summary.json` of the run, so it can be rebuilt offline; the same summary gives
byte-identical files (fixed rcParams, no "now" timestamps, sorted iteration).
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import distillscope.report.figures as F
import distillscope.report.markup as markup
import distillscope.report.tables as T
from distillscope.report.markup import Block, FigureBlock, Note, Section
from distillscope.report.plotdata import MapPoint
from distillscope.rundir import RunDir
from distillscope.summary_model import IceRates, IceSection, JudgeScores, SetScores, Summary

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

RESPONSIBLE_USE = (
    "These verdicts are statistical evidence, not proof. 'Consistent with distillation' means the target's "
    "answers resemble the reference's more than unrelated models' answers do, beyond chance at the stated α; "
    "shared training data, public benchmarks or a common base model can produce the same signal. "
    "Read the intervals, the null panel and the judge diagnostics before drawing conclusions, and do not "
    "present a verdict as a finding of wrongdoing."
)


@dataclass(frozen=True, kw_only=True)
class ReportFiles:
    """Paths written by `build_report`, and the notes of sections that were skipped."""

    out_dir: Path
    html: Path
    markdown: Path
    csv: Path
    figures: tuple[Path, ...]
    skipped: tuple[str, ...]


# ---------------------------------------------------------------- data for the distillation map


def _xy(value: float | None, lo: float | None, hi: float | None) -> tuple[float, float, float] | None:
    if value is None:
        return None
    v = float(value)
    return v, v if lo is None else float(lo), v if hi is None else float(hi)


def map_points(summary: Summary) -> tuple[list[MapPoint], str]:
    """Points of the ICE x RSE map: x = RSE similarity to the reference (else degree), y = ICE strict."""
    ice, rse = summary.ice, summary.rse
    roles = T.model_roles(summary)
    verdict_of = {v.target: v.verdict for v in T.headline_verdicts(summary)}
    strict = {
        n: None if m.strict is None else _xy(m.strict.rate, m.strict.lo, m.strict.hi)
        for n, m in (ice.by_model.items() if ice else [])
    }
    if rse is not None and rse.similarity:
        xs = {n: _xy(m.overall.mean, m.overall.lo, m.overall.hi) for n, m in rse.similarity.items()}
        label = f"RSE similarity to {rse.reference} ({rse.signal})"
    else:
        xs = {v.target: _xy(v.degree, v.lo, v.hi) for v in T.headline_verdicts(summary)}
        label = "distillation degree (null-panel SDs)"
    points = []
    for name in sorted(set(xs) & set(strict)):
        x, y = xs[name], strict[name]
        if x is None or y is None:
            continue
        points.append(
            MapPoint(
                name=name,
                role=roles.get(name, ""),
                verdict=verdict_of.get(name),
                x=x[0],
                x_lo=x[1],
                x_hi=x[2],
                y=y[0],
                y_lo=y[1],
                y_hi=y[2],
            )
        )
    return points, label


# ---------------------------------------------------------------- figure plan

FigureMaker = Callable[[], "Figure"]


def _figure_specs(summary: Summary) -> dict[str, tuple[str, str, FigureMaker | None, str]]:
    """key -> (title, caption, maker or None, note when skipped)."""
    return {**_ice_specs(summary), **_rse_specs(summary), **_verdict_specs(summary), **_run_specs(summary)}


def _judge_skip(summary: Summary) -> str:
    judge = T.judge_block(summary)
    unusable = judge.unusable if judge else None
    return f"Skipped: {unusable}" if unusable else "Skipped: no LLM judge ran in this run"


def _ice_specs(summary: Summary) -> dict[str, tuple[str, str, FigureMaker | None, str]]:
    """The distillation map and the ICE figures."""
    ice = summary.ice
    points, x_label = map_points(summary)
    return {
        "distillation_map": (
            "Distillation map",
            "Each marker is a model: x is " + x_label + ", y its ICE strict rate; bars are 95% "
            "intervals both ways. Colour is the verdict for targets (grey: not a target), shape the role. Models in "
            "the upper right both answer like the reference and claim another developer's identity; the null panel "
            "shows where unrelated models sit.",
            (lambda: F.distillation_map(points, x_label)) if points else None,
            "Skipped: the map needs both ICE strict rates and RSE scores for at least one model.",
        ),
        "ice_scores": (
            "ICE scores per model",
            "Bars: share of identity answers judged loose (contradicts the model's own "
            "identity), strict (claims another developer) and hard (does so although the prompt named no developer); "
            "whiskers are 95% intervals. Higher bars mean the model more often presents another model's identity.",
            (lambda: F.ice_scores(ice)) if ice and ice.by_model else None,
            "Skipped: this run has no ICE results.",
        ),
        "ice_breakdown": (
            "ICE per question category and language",
            "Loose ICE rate split by identity-question category (left) "
            "and by question language (right), one bar per model, 95% whiskers. Look for groups where a model departs "
            "from its overall rate; small groups have wide intervals.",
            (lambda: F.ice_breakdown(ice)) if ice and ice.by_model else None,
            "Skipped: this run has no ICE results.",
        ),
    }


def _rse_specs(summary: Summary) -> dict[str, tuple[str, str, FigureMaker | None, str]]:
    """The RSE figures: similarity, judge scores, the matrix, attribution and the null panel."""
    rse, judge = summary.rse, T.judge_block(summary)
    matrix = rse.matrix if rse else None
    ref = rse.reference if rse else "the reference"
    similarity = rse.similarity if rse else {}
    scores = judge.scores if judge else {}
    judge_skip = _judge_skip(summary)
    return {
        "rse_similarity": (
            "RSE similarity per prompt set",
            f"Each cell is the mean similarity of a model's answers to {ref}'s on "
            "one prompt set; the last column pools all sets. Brighter means more similar. Compare a target's row "
            "with the null-panel rows: similarity every model shares is generic assistant style, not distillation.",
            (lambda: F.rse_heatmap(similarity, ref)) if similarity else None,
            "Skipped: this run has no RSE results.",
        ),
        "rse_judge": (
            "LLM-judge scores per prompt set",
            f"As above, with LLM-judge scores of resemblance to {ref} (1 = unlike, 5 = indistinguishable).",
            (lambda: F.rse_heatmap(scores, ref, "judge score")) if scores else None,
            judge_skip + " (judge-free similarity only).",
        ),
        "rse_aspects": (
            "LLM-judge scores per aspect",
            "Judge scores for response style, logical structure and content detail; "
            "a model distilled from the reference tends to score high on all three, not only on content.",
            (lambda: F.rse_aspects(scores)) if scores else None,
            judge_skip + ".",
        ),
        "similarity_matrix": (
            "Similarity matrix of all models",
            "Cell (row, column): similarity of the row model's answers to the "
            "column model's. The tree on top joins the most similar models first; a student and its teacher tend "
            "to join early.",
            (lambda: F.plot_similarity_matrix(matrix)) if matrix and matrix.models else None,
            "Skipped: this run has no similarity matrix.",
        ),
    }


def _verdict_specs(summary: Summary) -> dict[str, tuple[str, str, FigureMaker | None, str]]:
    """Teacher attribution and the null panel behind the verdicts."""
    attribution = summary.rse.attribution if summary.rse else {}
    verdicts = [v for v in T.verdicts(summary) if v.null_values and v.observed is not None]
    return {
        "attribution": (
            "Teacher attribution per target",
            "Probability that each candidate taught the target, and that none of them did (grey); the most "
            "probable answer is highlighted. Probabilities of the candidates and 'none' sum to 1; a family's "
            "probability is shared among its members.",
            (lambda: F.attribution(attribution)) if attribution else None,
            "Skipped: this run has no teacher attribution.",
        ),
        "null_panel": (
            "Null-panel calibration",
            "Histogram: the degree of each null-panel model (known not to descend from the "
            "reference), in null-panel standard deviations: what unrelated models reach. Red line: the observed "
            "degree of the target. The further right of the histogram the line lies, the smaller the p-value.",
            (lambda: F.plot_null_panel(verdicts)) if verdicts else None,
            "Skipped: no verdict carries null-panel values.",
        ),
    }


def _run_specs(summary: Summary) -> dict[str, tuple[str, str, FigureMaker | None, str]]:
    """Judge diagnostics and cost."""
    judge = T.judge_block(summary)
    diag = judge.diagnostics if judge else None
    judge_skip = _judge_skip(summary)
    stages = summary.cost.by_stage if summary.cost else {}
    return {
        "judge_diagnostics": (
            "Judge diagnostics",
            "Order-swap inconsistency (position bias), absolute correlation of score with "
            "answer length (verbosity bias) and parse-failure rate should be low; agreement between judges should "
            "be high. Treat LLM-judge scores with caution when a red bar is long.",
            (lambda: F.judge_diagnostics(diag)) if diag is not None else None,
            judge_skip + ".",
        ),
        "cost": (
            "Cost and calls per stage",
            "Left: backend calls per stage (answered and failed) and answers served from "
            "the local cache. Right: spend in USD per stage (local models cost nothing).",
            (lambda: F.cost(stages)) if stages else None,
            "Skipped: this run recorded no cost data.",
        ),
    }


def _sections(summary: Summary, make: Callable[[str], Block]) -> list[Section]:
    layout: Sequence[tuple[str, str, Sequence[str | T.Table | None]]] = (
        ("map", "Distillation map", ["distillation_map"]),
        (
            "ice",
            "Identity consistency (ICE)",
            [
                "ice_scores",
                T.ice_table(summary),
                T.ice_location_table(summary),
                "ice_breakdown",
                T.ice_template_table(summary),
            ],
        ),
        (
            "rse",
            "Response similarity (RSE)",
            [
                "rse_similarity",
                T.rse_table(summary),
                "rse_judge",
                T.rse_table(summary, "judge"),
                "rse_aspects",
                T.aspect_table(summary),
                "similarity_matrix",
                "attribution",
                T.attribution_table(summary),
                "null_panel",
            ],
        ),
        ("diagnostics", "Judge diagnostics", ["judge_diagnostics", T.diagnostics_table(summary)]),
        ("cost", "Cost", ["cost", T.cost_table(summary)]),
    )
    out = []
    for anchor, title, items in layout:
        blocks = [make(i) if isinstance(i, str) else i for i in items if i is not None]
        out.append(Section(anchor, title, tuple(blocks)))
    return out


# ---------------------------------------------------------------- CSV (long format)


def _cell(x: float | int | str | None) -> str:
    return "" if x is None else (f"{x:.6g}" if isinstance(x, float) else str(x))


def _csv_row(
    section_name: str,
    model: str,
    group: str,
    metric: str,
    value: float | int | str | None,
    ci: tuple[float | None, float | None, int | None] = (None, None, None),
) -> tuple[str, ...]:
    lo, hi, n = ci
    return (section_name, model, group, metric, _cell(value), _cell(lo), _cell(hi), _cell(n))


def _ice_csv(ice: IceSection) -> list[tuple[str, ...]]:
    rows = []
    for name, m in sorted(ice.by_model.items()):
        groups: list[tuple[str, IceRates]] = [("all", m)]
        groups += [(f"category:{c}", v) for c, v in sorted(m.by_category.items())]
        groups += [(f"language:{lang}", v) for lang, v in sorted(m.by_language.items())]
        for group, block in groups:
            for level in T.LEVELS:
                r = T.ice_level(block, level)
                if r is None:
                    rows.append(_csv_row("ice", name, group, level, T.NOT_MEASURED))
                else:
                    rows.append(_csv_row("ice", name, group, level, r.rate, (r.lo, r.hi, block.n)))
    return rows


def _rse_csv(block: Mapping[str, SetScores], metric: str) -> list[tuple[str, ...]]:
    rows = []
    for name, m in sorted(block.items()):
        o = m.overall
        rows.append(_csv_row("rse", name, "all", metric, o.mean, (o.lo, o.hi, o.n)))
        rows += [
            _csv_row("rse", name, f"set:{s}", metric, v.mean, (v.lo, v.hi, v.n)) for s, v in sorted(m.by_set.items())
        ]
        aspects = m.aspects if isinstance(m, JudgeScores) else {}
        rows += [_csv_row("rse", name, "all", f"aspect:{a}", x) for a, x in sorted(aspects.items())]
    return rows


def score_rows(summary: Summary) -> list[tuple[str, ...]]:
    """Every score of the run in long format (see CSV_HEADER), sorted by construction."""
    rows: list[tuple[str, ...]] = []
    if summary.ice:
        rows += _ice_csv(summary.ice)
    if summary.rse:
        rows += _rse_csv(summary.rse.similarity, "similarity")
    judge = T.judge_block(summary)
    if judge:
        rows += _rse_csv(judge.scores, "judge_score")
    for v in T.verdicts(summary):
        target, group = v.target, f"reference:{v.reference}"
        rows.append(_csv_row("verdict", target, group, "degree", v.degree, (v.lo, v.hi, len(v.null_values))))
        rows.append(_csv_row("verdict", target, group, "p_value", v.p_value))
        rows.append(_csv_row("verdict", target, group, "p_adjusted", v.p_adjusted))
        rows.append(_csv_row("verdict", target, group, f"verdict:{v.verdict}", 1))
    return rows


# ---------------------------------------------------------------- writing


def _write(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)


def _write_csv(path: Path, summary: Summary) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(T.CSV_HEADER)
    writer.writerows(score_rows(summary))
    _write(path, buf.getvalue())


def build_report(run_dir: Path, out_dir: Path | None = None) -> ReportFiles:
    """Rebuild the report of `run_dir` (default output: `run_dir/report`); raise ConfigError on a bad summary."""
    summary = T.load_summary(Path(run_dir))
    out = Path(out_dir) if out_dir is not None else RunDir(Path(run_dir)).report
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    specs = _figure_specs(summary)
    written: list[Path] = []
    skipped: list[str] = []

    def make(key: str) -> Block:
        title, caption, maker, note = specs[key]
        if maker is None:
            skipped.append(f"{key}: {note}")
            return Note(note)
        with F.style():
            fig = maker()
        written.extend(F.save_figure(fig, fig_dir / key))
        return FigureBlock(key, title, caption, fig_dir / f"{key}.png")

    sections = _sections(summary, make)
    files = ReportFiles(
        out_dir=out,
        html=out / "report.html",
        markdown=out / "report.md",
        csv=out / "scores.csv",
        figures=tuple(written),
        skipped=tuple(skipped),
    )
    _write(files.html, markup.to_html(summary, sections, RESPONSIBLE_USE))
    _write(files.markdown, markup.to_markdown(summary, sections, RESPONSIBLE_USE, out))
    _write_csv(files.csv, summary)
    log.info("report written to %s (%d figures, %d skipped)", out, len(written) // 2, len(skipped))
    return files
