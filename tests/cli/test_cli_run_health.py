"""Stage health decides a run's outcome: an unreachable target fails the run (exit 4, resumable), any failure
does with --fail-on-errors, and a judge that scored nothing is reported as such (scripted models, closed port)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml


def ds(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DISTILLSCOPE_HOME": str(home), "COLUMNS": "160", "DEAD_KEY": "sk-dead-endpoint-key"}
    return subprocess.run(
        [sys.executable, "-m", "distillscope.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def closed_port_url() -> str:
    """A base URL on 127.0.0.1 where nothing listens (the port was free a moment ago)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def dead(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "spec": "openai:dead",
        "base_url": closed_port_url(),
        "api_key_env": "DEAD_KEY",
        "max_retries": 0,
    }


def write_config(tmp_path: Path, targets: list[dict[str, Any]], **changes: object) -> Path:
    cfg = {
        "name": "health",
        "output_dir": str(tmp_path / "run"),
        "targets": targets,
        "references": [{"name": "teacher", "spec": "scripted:As an AI developed by OpenAI, here is my answer."}],
        "ice": {"enabled": False},
        "rse": {"prompt_sets": [{"spec": "builtin", "sample": 2}]},
        **changes,
    }
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def test_unreachable_target_fails_the_run_and_it_stays_resumable(tmp_path: Path) -> None:
    home, run = tmp_path / "home", tmp_path / "run"
    proc = ds("run", str(write_config(tmp_path, [dead("student")])), home=home)
    assert proc.returncode == 4, proc.stderr
    assert "failed: stage rse.collect: 6 of 12 calls failed; no answer at all from student" in proc.stderr
    assert f"distillscope resume {run}" in proc.stderr
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["finished"] is None
    assert manifest["stages"]["rse.collect"]["done"] is False
    summary = json.loads((run / "summary.json").read_text())
    assert summary["run"]["status"] == "failed" and "rse.collect" in summary["run"]["failure"]
    assert "Failed run" in (run / "report" / "report.md").read_text()

    again = ds("resume", str(run), "--no-report", home=home)  # still unreachable: fails the same way, no crash
    assert again.returncode == 4 and "Traceback" not in again.stderr, again.stderr
    assert json.loads((run / "manifest.json").read_text())["status"] == "failed"


def test_fail_on_errors_fails_a_run_that_would_pass(tmp_path: Path) -> None:
    """--fail-on-errors changes nothing for a clean run and fails one with a failed call (the threshold itself is
    unit-tested in tests/unit/test_run_health.py)."""
    student = {"name": "student", "spec": "scripted:I am a student answer."}
    cfg = write_config(tmp_path, [student], null_panel=[{"name": "other", "spec": "scripted:Null answer."}])
    ok = ds("run", str(cfg), "--no-report", "--fail-on-errors", home=tmp_path / "home")
    assert ok.returncode == 0, ok.stderr  # nothing failed: --fail-on-errors changes nothing

    cfg = write_config(tmp_path, [student, dead("student-2")], null_panel=[{"name": "other", "spec": "scripted:N."}])
    strict = ds(
        "run", str(cfg), "--no-report", "--fail-on-errors", "--out", str(tmp_path / "run2"), home=tmp_path / "home"
    )
    assert strict.returncode == 4, strict.stderr
    assert json.loads((tmp_path / "run2" / "manifest.json").read_text())["status"] == "failed"


def test_judge_that_scored_nothing_is_reported_as_such(tmp_path: Path) -> None:
    """A judge answering garbage, as the RSE judge and the ICE identity judge: the run goes on to the end; the RSE
    judge is reported unusable and no ICE rate is measured (never 0% of n)."""
    student = {"name": "student", "spec": "scripted:I am a student answer.", "family": "qwen"}
    judge = {"name": "judge", "spec": "scripted:Ignore the rubric; these answers are lovely."}
    rse = {"prompt_sets": [{"spec": "builtin", "sample": 2}], "judges": ["judge"]}
    ice = {"judge": "llm:judge", "max_queries": 6, "questions_per_iteration": 3, "paired": False}
    cfg = write_config(tmp_path, [student], rse=rse, ice=ice, helpers=[judge])
    proc = ds("run", str(cfg), home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    judge_part = summary["rse"]["judge"]
    assert judge_part["scores"] == {} and "nothing usable" in judge_part["unusable"]
    ice_part = summary["ice"]["by_model"]["student"]
    assert ice_part["n"] == ice_part["n_unscored"] == 6
    assert (ice_part["loose"], ice_part["strict"], ice_part["hard"]) == (None, None, None)
    report = (tmp_path / "run" / "report" / "report.md").read_text()
    assert "nothing usable" in report and "no LLM judge ran" not in report
    assert "| student | 6 | 6 | not measured | not measured | not measured |" in report
