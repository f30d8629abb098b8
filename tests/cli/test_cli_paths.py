"""Relative paths in a config are taken from the config file's folder and saved absolute in the run directory,
so `run` and `resume` work from any working directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml


def ds(*args: str, home: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DISTILLSCOPE_HOME": str(home), "COLUMNS": "160"}
    return subprocess.run(
        [sys.executable, "-m", "distillscope.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
        check=False,
    )


def test_relative_paths_follow_the_config_file_and_resume_works_elsewhere(tmp_path: Path) -> None:
    project, elsewhere, other = tmp_path / "project", tmp_path / "elsewhere", tmp_path / "other"
    for d in (project / "data", elsewhere, other):
        d.mkdir(parents=True)
    (project / "data" / "questions.csv").write_text("query\nWho made you?\nWhat is your name?\n", encoding="utf-8")
    prompts = [{"prompt": f"Explain topic {i} briefly."} for i in range(3)]
    (project / "data" / "prompts.jsonl").write_text("".join(json.dumps(p) + "\n" for p in prompts), "utf-8")
    cfg = {
        "name": "paths",
        "output_dir": str(tmp_path / "run"),
        "targets": [{"name": "student", "spec": "scripted:I am ChatGPT, made by OpenAI.", "family": "qwen"}],
        "references": [{"name": "teacher", "spec": "scripted:As an AI developed by OpenAI, here it is."}],
        "ice": {"max_queries": 6, "questions_per_iteration": 2, "questions": "data/questions.csv", "paired": False},
        "rse": {"prompt_sets": [{"spec": "jsonl:data/prompts.jsonl#prompt"}]},
        "budget": {"max_calls": 4},
    }
    (project / "exp.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    home, run = tmp_path / "home", tmp_path / "run"

    first = ds("run", str(project / "exp.yaml"), "--no-report", home=home, cwd=elsewhere)
    assert first.returncode == 3, first.stderr  # stopped by the call budget, to be resumed
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["ice"]["questions"] == str(project / "data" / "questions.csv")
    assert saved["rse"]["prompt_sets"][0]["spec"] == f"jsonl:{project / 'data' / 'prompts.jsonl'}#prompt"

    resumed = ds("resume", str(run), "--no-report", "--max-calls", "1000", home=home, cwd=other)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((run / "manifest.json").read_text())["status"] == "complete"
    rows = (run / "ice" / "records.jsonl").read_text().splitlines()
    assert {json.loads(r)["question_id"] for r in rows} and len(rows) == 6


def test_validate_rejects_empty_prompt_and_question_files(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_text("", encoding="utf-8")
    (tmp_path / "empty.csv").write_text("query\n", encoding="utf-8")
    cfg = {
        "name": "empty",
        "targets": [{"name": "student", "spec": "scripted:Hi.", "family": "qwen"}],
        "references": [{"name": "teacher", "spec": "scripted:Hello."}],
        "ice": {"questions": "empty.csv"},
        "rse": {"prompt_sets": [{"spec": "jsonl:empty.jsonl#prompt"}]},
    }
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    proc = ds("validate", str(tmp_path / "exp.yaml"), "--offline", home=tmp_path / "home", cwd=tmp_path)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "empty.jsonl" in proc.stderr and "empty.csv" in proc.stderr and "ok" not in proc.stdout

    cfg["ice"], cfg["rse"] = {"questions": "builtin"}, {"prompt_sets": [{"spec": "builtin", "sample": 1}]}
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    assert ds("validate", str(tmp_path / "exp.yaml"), "--offline", home=tmp_path / "home", cwd=tmp_path).returncode == 0
