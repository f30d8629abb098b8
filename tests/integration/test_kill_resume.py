"""SIGKILL a real run mid-stage, resume it, and compare with an uninterrupted run (real embedded model)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from distillscope.cache import ResponseCache
from distillscope.runner import spent

pytestmark = pytest.mark.slow


def _config(tmp_path: Path, out: Path) -> Path:
    cfg = {
        "name": "kill",
        "output_dir": str(out),
        "targets": [{"name": "smol", "spec": "embedded:smollm2-135m", "max_concurrency": 1}],
        "references": [{"name": "ref", "spec": "scripted:I am a reference answer about this question."}],
        "ice": {"mutator": "rules", "max_queries": 10, "questions_per_iteration": 5, "max_tokens": 24, "paired": False},
        "rse": {"prompt_sets": [{"spec": "builtin", "sample": 2}], "max_tokens": 24},
    }
    path = tmp_path / f"{out.name}.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def _env(home: Path) -> dict[str, str]:
    models = Path(os.environ["DISTILLSCOPE_HOME"]) / "models"
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "models").exists():
        (home / "models").symlink_to(models.resolve(), target_is_directory=True)
    return {**os.environ, "DISTILLSCOPE_HOME": str(home)}


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "distillscope.cli.main", *args]


def _records(run: Path) -> tuple[set[tuple[Any, ...]], list[tuple[Any, ...]]]:
    rse = {
        (r["model"], r["prompt_set"], r["prompt_id"], r["response"])
        for r in map(json.loads, (run / "rse" / "responses.jsonl").read_text().splitlines())
    }
    ice = [
        (r["template_id"], r["question_id"], r["response"], r["loose"], r["strict"])
        for r in map(json.loads, (run / "ice" / "records.jsonl").read_text().splitlines())
    ]
    return rse, ice


def test_killed_run_resumes_to_the_same_records_without_repeating_calls(tmp_path: Path) -> None:
    clean_home, killed_home = tmp_path / "home-clean", tmp_path / "home-killed"
    clean_run, killed_run = tmp_path / "clean", tmp_path / "killed"

    done = subprocess.run(
        _cli("run", str(_config(tmp_path, clean_run)), "--no-report"),
        env=_env(clean_home),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr

    proc = subprocess.Popen(
        _cli("run", str(_config(tmp_path, killed_run)), "--no-report"),
        env=_env(killed_home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    responses = killed_run / "rse" / "responses.jsonl"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        manifest = killed_run / "manifest.json"
        if (
            responses.exists()
            and responses.read_text().count('"model": "smol"') >= 2
            and manifest.exists()
            and spent(json.loads(manifest.read_text()))[0] > 0
        ):
            break  # some real calls finished and their usage was checkpointed; others are still to come
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert json.loads((killed_run / "manifest.json").read_text())["status"] == "running"  # died mid-stage
    finished_before_kill = len(ResponseCache(killed_home / "responses.sqlite").call_log())
    assert finished_before_kill >= 2
    checkpointed = spent(json.loads((killed_run / "manifest.json").read_text()))[0]
    assert checkpointed <= finished_before_kill  # usage is checkpointed every few seconds, never over-counted

    resumed = subprocess.run(
        _cli("resume", str(killed_run), "--no-report"),
        env=_env(killed_home),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr

    assert _records(killed_run) == _records(clean_run)
    log = ResponseCache(killed_home / "responses.sqlite").call_log()
    keys = [k for k, _ in log]
    assert len(keys) == len(set(keys)), "a finished call was made twice"
    clean_keys = {k for k, _ in ResponseCache(clean_home / "responses.sqlite").call_log()}
    assert set(keys) == clean_keys
    recorded = spent(json.loads((killed_run / "manifest.json").read_text()))[0]
    # every call of the resumed process is in the manifest, plus what the killed one had checkpointed
    assert recorded == checkpointed + (len(keys) - finished_before_kill)
