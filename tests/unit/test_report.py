"""Report building from a run directory: files, self-containment, determinism, partial runs, bad summaries."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from distillscope.errors import ConfigError
from distillscope.report import ReportFiles, build_report
from distillscope.summary_model import Summary
from report_example import EXAMPLE_RUN_NAME, example_summary, write_example_run

ALL_FIGURES = {
    "distillation_map", "ice_scores", "ice_breakdown", "rse_similarity", "rse_judge", "rse_aspects",
    "similarity_matrix", "attribution", "null_panel", "judge_diagnostics", "cost",
}  # fmt: skip
ACCUSING = ("stole", "stolen", "theft", "copied", "plagiar", "guilty", "cheat", "illegal")


def _write_summary(run_dir: Path, summary: dict[str, Any]) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return run_dir


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> ReportFiles:
    run = write_example_run(tmp_path_factory.mktemp("full") / "run")
    return build_report(run)


def _figure_stems(files: ReportFiles) -> set[str]:
    return {p.stem for p in (files.out_dir / "figures").iterdir()}


def test_every_file_is_written(full: ReportFiles) -> None:
    for path in (full.html, full.markdown, full.csv):
        assert path.is_file() and path.stat().st_size > 0
    assert full.out_dir == full.html.parent and full.out_dir.name == "report"
    assert _figure_stems(full) == ALL_FIGURES
    assert {p.suffix for p in full.figures} == {".png", ".svg"} and len(full.figures) == 2 * len(ALL_FIGURES)
    assert full.skipped == ()
    for png in (p for p in full.figures if p.suffix == ".png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_html_is_self_contained(full: ReportFiles) -> None:
    page = full.html.read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"<link\b|@import|<iframe\b", page)
    srcs = re.findall(r'\bsrc="([^"]*)"', page)
    assert len(srcs) == len(ALL_FIGURES)
    assert all(s.startswith("data:image/png;base64,") for s in srcs)
    assert 'id="render-check"' in page


def test_answer_comes_first_and_names_every_target(full: ReportFiles) -> None:
    page = full.html.read_text(encoding="utf-8")
    answer, first_figure = page.index("Answer, per target"), page.index("<figure")
    assert answer < first_figure
    assert page.index("Responsible use.") < first_figure
    head = page[answer:first_figure]
    for target in ("student-a-7b", "student-b-13b", "student-c-3b"):
        assert f"<b>{target}</b>" in head
    assert "consistent with distillation from teacher-4o" in head
    assert "no evidence of distillation from teacher-4o" in head
    assert "distillation from teacher-4o is inconclusive" in head
    assert "95% CI" in head and "p = " in head


def test_wording_never_accuses(full: ReportFiles) -> None:
    for path in (full.html, full.markdown):
        text = path.read_text(encoding="utf-8").lower()
        assert not [w for w in ACCUSING if w in text]
        assert "statistical evidence, not proof" in text


def test_rebuild_is_byte_identical(full: ReportFiles, tmp_path: Path) -> None:
    again = build_report(full.out_dir.parent, tmp_path / "again")
    first = sorted(p.relative_to(full.out_dir) for p in full.out_dir.rglob("*") if p.is_file())
    second = sorted(p.relative_to(again.out_dir) for p in again.out_dir.rglob("*") if p.is_file())
    assert first == second
    differing = [str(rel) for rel in first if (full.out_dir / rel).read_bytes() != (again.out_dir / rel).read_bytes()]
    assert differing == []


def test_figure_files_carry_no_timestamps(full: ReportFiles) -> None:
    svg = (full.out_dir / "figures" / "cost.svg").read_text(encoding="utf-8")
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg
    assert b"Software" not in (full.out_dir / "figures" / "cost.png").read_bytes()


def test_markdown_links_existing_figures(full: ReportFiles) -> None:
    text = full.markdown.read_text(encoding="utf-8")
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(links) == len(ALL_FIGURES)
    assert all((full.out_dir / link).is_file() for link in links)
    assert text.startswith(f"# distillscope report — {EXAMPLE_RUN_NAME}")


def test_scores_csv_covers_every_model(full: ReportFiles) -> None:
    with full.csv.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and list(rows[0]) == ["section", "model", "group", "metric", "value", "lo", "hi", "n"]
    ice_models = {r["model"] for r in rows if r["section"] == "ice" and r["group"] == "all"}
    assert len(ice_models) == 7
    strict = next(r for r in rows if r["model"] == "student-a-7b" and r["group"] == "all" and r["metric"] == "strict")
    assert float(strict["lo"]) <= float(strict["value"]) <= float(strict["hi"])
    verdict_rows = [r for r in rows if r["section"] == "verdict" and r["metric"].startswith("verdict:")]
    assert len(verdict_rows) == 3


def test_ice_only_run(tmp_path: Path) -> None:
    run = write_example_run(tmp_path / "run", rse=False)
    files = build_report(run)
    assert _figure_stems(files) == {"ice_scores", "ice_breakdown", "cost"}
    page = files.html.read_text(encoding="utf-8")
    assert "Skipped: this run has no RSE results." in page
    assert "Skipped: the map needs both ICE strict rates and RSE scores" in page
    assert "no RSE distillation degree was measured" in page


def test_rse_only_run_without_judge(tmp_path: Path) -> None:
    run = write_example_run(tmp_path / "run", ice=False, judge=False)
    files = build_report(run, tmp_path / "out")
    assert _figure_stems(files) == {"rse_similarity", "similarity_matrix", "attribution", "null_panel", "cost"}
    assert any(s.startswith("judge_diagnostics:") for s in files.skipped)
    page = files.html.read_text(encoding="utf-8")
    assert "Skipped: this run has no ICE results." in page
    assert "Skipped: no LLM judge ran in this run." in page


def test_minimal_summary_without_optional_sections(tmp_path: Path) -> None:
    summary = {"schema_version": 1, "run": {"name": "bare", "started": "2025-01-01T00:00:00Z", "finished": None,
               "status": "partial"}, "models": []}  # fmt: skip
    files = build_report(_write_summary(tmp_path / "run", summary))
    assert files.figures == ()
    page = files.html.read_text(encoding="utf-8")
    assert "This run produced no verdicts" in page and "<b>partial</b>" in page and "not finished" in page


def test_untrusted_text_is_escaped(tmp_path: Path) -> None:
    summary = example_summary(rse=False)
    summary["ice"]["by_model"]["student-a-7b"]["top_templates"][0]["text"] = "<img src=x onerror=alert(1)> {query}"
    files = build_report(_write_summary(tmp_path / "run", summary))
    page = files.html.read_text(encoding="utf-8")
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_headline_picks_the_strongest_verdict_per_target() -> None:
    from distillscope.report.tables import headline_verdicts, verdict_sentence

    summary = Summary.model_validate({"schema_version": 1, "run": {"name": "r", "status": "complete"}, "models": [],
        "verdicts": [
        {"target": "s", "reference": "r1", "alpha": 0.05, "verdict": "no evidence", "degree": 0.0, "lo": -0.1,
         "hi": 0.1},
        {"target": "s", "reference": "r2", "alpha": 0.05, "verdict": "consistent with distillation", "degree": 0.3,
         "lo": 0.2, "hi": 0.4, "p_value": 0.0004, "ice_strict": None},
        {"target": "t", "reference": "r1", "alpha": 0.05, "verdict": "inconclusive", "degree": None},
    ]})  # fmt: skip
    heads = headline_verdicts(summary)
    assert [(v.target, v.reference) for v in heads] == [("s", "r2"), ("t", "r1")]
    assert "consistent with distillation from r2" in verdict_sentence(heads[0])
    assert "p < 0.001)" in verdict_sentence(heads[0])
    assert "inconclusive" in verdict_sentence(heads[1]) and "no RSE distillation degree" in verdict_sentence(heads[1])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema_version": None}, "no integer schema_version"),
        ({"schema_version": "1"}, "no integer schema_version"),
        ({"schema_version": 2}, "pip install -U 'distillscope>=9.9.0'"),
        ({"schema_version": 0}, "invalid schema_version 0"),
        ({"run": None}, "lacks the 'run' or 'models' block"),
    ],
)
def test_malformed_summary_names_the_fix(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    summary = example_summary(ice=False, rse=False)
    summary["run"]["distillscope_version"] = "9.9.0"
    summary.update(change)
    if change.get("schema_version", 1) is None:
        del summary["schema_version"]
    with pytest.raises(ConfigError, match=re.escape(message)):
        build_report(_write_summary(tmp_path / "run", summary))


def test_missing_or_broken_summary_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"summary\.json not found"):
        build_report(tmp_path)
    (tmp_path / "summary.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid JSON"):
        build_report(tmp_path)


def test_importing_the_report_package_does_not_load_matplotlib() -> None:
    code = "import sys, distillscope.report; print('matplotlib' in sys.modules, 'scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_unmeasured_ice_levels_and_claim_locations(tmp_path: Path) -> None:
    summary = example_summary(rse=False)
    name, model = sorted(summary["ice"]["by_model"].items())[0]
    model["strict"] = model["hard"] = None  # e.g. an import that kept the file's loose labels only
    model["by_location"] = {
        "answer": {"loose": 5, "strict": 3, "hard": 1},
        "reasoning": {"loose": 2, "strict": 1, "hard": 0},
    }
    files = build_report(_write_summary(tmp_path / "run", summary))
    page = files.markdown.read_text(encoding="utf-8")
    assert "not measured" in page and "ICE contradictions by where the claim was found" in page
    assert re.search(rf"\|\s*{re.escape(name)}\s*\|\s*reasoning\s*\|\s*2\s*\|\s*1\s*\|\s*0\s*\|", page)
    rows = list(csv.DictReader(files.csv.open(encoding="utf-8")))
    strict = [r for r in rows if r["section"] == "ice" and r["model"] == name and r["metric"] == "strict"]
    assert strict and all(r["value"] == "not measured" for r in strict if r["group"] == "all")
