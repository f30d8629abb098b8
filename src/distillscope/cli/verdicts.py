"""The verdict table printed at the end of `run`, `resume` and `demo`, read from the run's typed summary."""

from __future__ import annotations

from pathlib import Path

from distillscope.report.tables import load_summary
from distillscope.rundir import RunDir
from distillscope.summary_model import IceRate, Summary, VerdictRow

HEADER = ("target", "reference", "verdict", "p (Holm)", "effect [95% CI]", "ICE loose", "ICE strict")


def _rate(r: IceRate | None) -> str:
    return "-" if r is None else f"{r.rate:.1%}"


def _effect(v: VerdictRow) -> str:
    if v.degree is None or v.lo is None or v.hi is None:
        return "-"
    return f"{v.degree:+.2f} SD [{v.lo:.2f}, {v.hi:.2f}]"


def _p(v: VerdictRow) -> str:
    p = v.p_adjusted if v.p_adjusted is not None else v.p_value
    return "-" if p is None else f"{p:.3g}"


def verdict_rows(summary: Summary) -> tuple[list[tuple[str, ...]], list[str]]:
    """Table rows (header first) and the notes below it: why a verdict is inconclusive, and a tested verdict's
    caveat."""
    ice = summary.ice.by_model if summary.ice else {}
    rows: list[tuple[str, ...]] = [HEADER]
    notes: list[str] = []
    for v in summary.verdicts:
        m = ice.get(v.target)
        ice_cells = (_rate(m.loose), _rate(m.strict)) if m else ("-", "-")
        rows.append((v.target, v.reference, v.verdict, _p(v), _effect(v), *ice_cells))
        if v.reason:
            notes.append(f"inconclusive, {v.target} vs {v.reference}: {v.reason}")
        if v.caveat:
            notes.append(f"caveat, {v.target} vs {v.reference}: {v.caveat}")
    if not summary.verdicts:  # ICE only: one row per model
        rows += [(name, "-", "-", "-", "-", _rate(m.loose), _rate(m.strict)) for name, m in ice.items()]
    return rows, notes


def verdict_table(run_dir: Path) -> list[str]:
    """Lines of the run's verdict table (columns aligned, never wrapped); empty when there is nothing to show."""
    if not RunDir(run_dir).summary.is_file():
        return []
    rows, notes = verdict_rows(load_summary(run_dir))  # validated as the report reads it
    if len(rows) == 1:
        return []
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return ["verdicts:", *lines, *(f"  {note}" for note in notes)]
