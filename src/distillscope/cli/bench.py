"""`distillscope bench ...`: validation benchmarks on recorded data."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from distillscope.cli.common import console, one_line_errors, print_json, run

if TYPE_CHECKING:
    from distillscope.bench.ice_cv import IceJudgeCv
    from distillscope.bench.lineage import LineageBenchResult

app = typer.Typer(
    help="Validation benchmarks on recorded data (identity-judge agreement, lineage).", no_args_is_help=True
)


@app.callback()
def _group() -> None:
    """Validation benchmarks on recorded data."""


@app.command("ice-judge")
def ice_judge(
    data: Annotated[Path, typer.Option("--data", help="Labelled ICE JSONL(.gz): target, response, loose, strict.")],
    judge: Annotated[str, typer.Option("--judge", help="claims | regex | llm:<spec> | ensemble:<spec>.")] = "claims",
    cv: Annotated[bool, typer.Option("--cv", help="Leave-one-target-out: every fold, the mean and the worst.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON only.")] = False,
) -> None:
    """Agreement of an identity judge with the paper's loose/strict labels, and per-target rates."""
    from distillscope.bench.ice_cv import run_ice_judge_cv
    from distillscope.bench.ice_judge import run_ice_judge_bench
    from distillscope.ice.judge_factory import make_judge

    with one_line_errors():
        result = run((run_ice_judge_cv if cv else run_ice_judge_bench)(data, make_judge(judge), judge))
    if as_json:
        print_json(result.model_dump())
        return
    for lab in ("strict", "loose"):
        a = getattr(result, lab)
        console.print(f"pooled {lab:6s} P={a.precision:.3f} R={a.recall:.3f} F1={a.f1:.3f} kappa={a.kappa:.3f}")
    console.print(f"judged in {result.judge_cpu_s:.1f} CPU s")
    for name, t in result.targets.items():
        console.print(
            f"{name:28s} loose {t.loose_rate:.3f}/{t.paper_loose_rate:.3f}  strict "
            f"{t.strict_rate:.3f}/{t.paper_strict_rate:.3f}  hard {t.hard_rate:.3f}/{t.paper_hard_rate:.3f}"
        )
    if cv:
        _print_folds(result)  # type: ignore[arg-type]


def _f(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _print_folds(result: IceJudgeCv) -> None:
    """One line per held-out target, then the macro mean and the worst fold."""
    console.print(
        "leave-one-target-out folds"
        + ("" if result.fitted else " (rules only: nothing is fitted, each fold is the held-out target's score)")
    )
    for f in result.folds:
        console.print(
            f"{f.target:28s} strict P={f.strict.precision:.3f} R={f.strict.recall:.3f} F1={_f(f.strict_f1)}"
            f"  loose P={f.loose.precision:.3f} R={f.loose.recall:.3f} F1={_f(f.loose_f1)}"
            f"  strict gap {f.strict_rate_gap:+.3f}"
        )
    console.print(
        f"mean strict F1 {_f(result.mean_strict_f1)}  mean loose F1 {_f(result.mean_loose_f1)}  (folds with "
        f">= {result.min_support} positives: {_f(result.mean_strict_f1_supported)} / "
        f"{_f(result.mean_loose_f1_supported)})"
    )
    for name in ("worst_strict", "worst_loose", "worst_strict_supported", "worst_loose_supported"):
        w = getattr(result, name)
        console.print(f"{name:24s} {w.target or '-'} {_f(w.f1)}")
    console.print(f"max |strict rate gap| {result.max_strict_rate_gap:.3f}")


_OUTPUTS_HELP = "Recorded responses (model/instruction/output JSONL[.gz] or AlpacaEval JSON); repeatable."


@app.command("lineage")
def lineage(  # noqa: PLR0913 (a typer command: one parameter per flag)
    outputs: Annotated[list[Path], typer.Option("--outputs", help=_OUTPUTS_HELP)],
    lineage_csv: Annotated[Path, typer.Option("--lineage", help="lineage.csv: student,teacher,relation,...")],
    families_csv: Annotated[Path, typer.Option("--families", help="families.csv: model,family (the candidates).")],
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level of the verdicts.")] = 0.05,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every random choice.")] = 0,
    cv: Annotated[
        bool,
        typer.Option(
            "--cv", help="Refit inside folds: leave one student out, and one prompt source out; every fold reported."
        ),
    ] = False,
    signals: Annotated[
        str | None,
        typer.Option(
            "--signals",
            help="Attribution evidence: word, frame, skeleton, nearest, classifier (comma-separated) "
            "[default: word,frame,classifier]; the named-suspect test uses the word excess.",
        ),
    ] = None,
    plots: Annotated[Path | None, typer.Option("--plots", help="Write the ROC and calibration PNGs here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON only.")] = False,
) -> None:
    """Attribute students of documented lineage and test their teachers; top-1, AUROC, verdict recall/FPR."""
    from distillscope.bench.lineage import run_lineage_bench
    from distillscope.bench.lineage_cv import FoldSettings
    from distillscope.bench.lineage_plots import write_plots

    chosen = [s.strip() for s in signals.split(",") if s.strip()] if signals else list(FoldSettings.signals)
    with one_line_errors(), console.status("attributing students (about 2 minutes on 2 cores; --cv adds 1)"):
        result = run_lineage_bench(outputs, lineage_csv, families_csv, alpha=alpha, seed=seed, cv=cv, signals=chosen)
        written = write_plots(result, plots, alpha) if plots else []
    if as_json:
        print_json(result.to_dict())
        return
    _print_lineage(result, written)


def _span(interval: list[float] | None) -> str:
    return f" [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else ""


def _print_lineage(result: LineageBenchResult, written: list[Path]) -> None:
    from distillscope.bench.lineage_metrics import FAMILY_FPR

    s, v = result.scores, result.verdict
    console.print(
        f"[{result.scheme}] students {result.n_students}  macro_family_top1 {result.macro_family_top1:.3f}  "
        f"family_top1 {s.family_top1:.3f}  exact_top1 {s.exact_top1:.3f}  auroc {s.auroc:.3f}  "
        f"brier {result.calibration['brier']:.3f}  ece {result.calibration['ece']:.3f}",
        markup=False,
    )
    console.print(
        f"verdicts at alpha {v.alpha}: recall {v.recall:.3f} ({v.n_pos} pairs)  fpr {v.fpr:.3f} "
        f"({v.n_neg} pairs)  pair AUROC {v.auroc:.3f}",
        markup=False,
    )
    if v.fpr_by_suspect_family:
        rates = "  ".join(
            f"{f} {r:.3f}{_span(result.intervals.get(FAMILY_FPR + f))}" for f, r in v.fpr_by_suspect_family.items()
        )
        console.print(f"fpr per suspect family (95% interval, students resampled): {rates}", markup=False)
    if v.null_models:
        n = v.null_models
        console.print(
            f"null models per positive test: median {n['median']:g} (min {n['min']:g}, max {n['max']:g}); "
            f"{v.n_pos_untested} of {v.n_pos} positive pairs untested (too few null models, counted as missed)",
            markup=False,
        )
    headline = [k for k in result.intervals if not k.startswith(FAMILY_FPR)]  # the family ones are said above
    if headline:
        spans = "  ".join(f"{k}{_span(result.intervals[k])}" for k in headline)
        console.print(f"95% intervals, students resampled: {spans}", markup=False)
    for fold in result.folds:  # the prompt-source folds; the student folds are the lines per student below
        if fold["scheme"] != "leave-one-source-out":
            continue
        fv = fold["verdict"]
        console.print(
            f"  fold {fold['held_out']:14s} prompts {fold['n_prompts']:4d}  macro_top1 "
            f"{fold['macro_family_top1']:.3f}  auroc {fold['auroc']:.3f}  recall {fv['recall']:.3f}  "
            f"fpr {fv['fpr']:.3f}",
            markup=False,
        )
    for name, o in result.students.items():
        rank = "-" if o.rank is None else str(o.rank)
        console.print(
            f"{name:36s} teacher {o.teacher or '-':28s} predicted {o.predicted:28s} rank {rank:3s} {o.verdict}",
            markup=False,
        )
    for path in written:
        console.print(f"wrote {path}", markup=False)
