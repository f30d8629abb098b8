"""Offline report of a run directory: `build_report(run_dir)` writes report.html, report.md, scores.csv, figures/."""

from distillscope.report.render import ReportFiles, build_report

__all__ = ["ReportFiles", "build_report"]
