"""What `summary.py` writes is what the report reads: a scripted experiment run in-process through
`run_experiment`, then `build_report`; every section, table and figure of the report is present in report.html."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from distillscope.config import parse_config
from distillscope.report import build_report
from distillscope.runner import run_experiment
from distillscope.summary_model import Summary

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
JUDGE_REPLY = '{"style": 2, "logic": 1, "content": 1, "overall": 4, "reason": "alike in tone"}'
SECTIONS = ("verdicts", "map", "ice", "rse", "diagnostics", "cost")
TABLES = (
    "verdicts", "ice", "ice_locations", "ice_templates", "rse_similarity", "rse_judge", "rse_aspects", "attribution",
    "judge_diagnostics", "cost",
)  # fmt: skip
FIGURES = (
    "distillation_map", "ice_scores", "ice_breakdown", "rse_similarity", "rse_judge", "rse_aspects",
    "similarity_matrix", "attribution", "judge_diagnostics", "cost",
)  # fmt: skip


def test_a_scripted_run_renders_every_report_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISTILLSCOPE_HOME", str(tmp_path / "home"))
    run_dir = tmp_path / "run"
    cfg = parse_config(
        {
            "name": "report-check",
            "output_dir": str(run_dir),
            "targets": [{"name": "student", "spec": "scripted:I am ChatGPT, made by OpenAI.", "family": "qwen"}],
            "references": [{"name": "teacher", "spec": "scripted:"}],
            "null_panel": [{"name": n, "spec": "scripted:", "family": n} for n in ("mistral", "llama", "gemma")],
            "helpers": [{"name": "judge", "spec": f"scripted:{JUDGE_REPLY}"}],
            "ice": {
                "max_queries": 10,
                "questions_per_iteration": 3,
                "questions": str(GOLDEN / "questions.csv"),
                "templates": str(GOLDEN / "templates.csv"),
            },
            "rse": {"prompt_sets": [{"spec": "builtin", "sample": 10}], "judges": ["judge"]},
        }
    )
    outcome = asyncio.run(run_experiment(cfg, run_dir))
    assert outcome.status == "complete", outcome.message
    summary = Summary.model_validate_json((run_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary.ice is not None and summary.rse is not None and summary.rse.judge is not None
    files = build_report(run_dir)
    page = files.html.read_text(encoding="utf-8")
    assert [s for s in SECTIONS if f'<h2 id="{s}">' not in page] == []
    assert [t for t in TABLES if f'<h3 id="t-{t}">' not in page] == []
    assert [f for f in FIGURES if f'<figure id="f-{f}">' not in page] == []
    # Scripted null models answer alike, so no verdict has a null distribution to draw: the note says so.
    assert files.skipped == ("null_panel: Skipped: no verdict carries null-panel values.",)
    assert "Skipped: no verdict carries null-panel values." in page
