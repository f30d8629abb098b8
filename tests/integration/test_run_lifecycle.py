"""A run directory has one writer and ends cleanly, tested with real processes against a slow local HTTP
server: a second `resume` is refused while a `run` holds the lock, a stale lock is taken over, and SIGINT/SIGTERM
mark the run interrupted and say how to resume it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from distillscope.runlock import LOCK_NAME, read_holder
from faultrun import audit, write_experiment
from faultserver import FaultServer


@pytest.fixture
def slow_server() -> Iterator[str]:
    """Base URL of an OpenAI-compatible server (a thread of this process) that takes 0.4 s per answer."""
    with FaultServer(None, delay_s=0.4) as server:
        yield server.base_url


def ds_popen(*args: str, home: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "DISTILLSCOPE_HOME": str(home), "COLUMNS": "160", "SLOW_KEY": "sk-slow-test-key"}
    return subprocess.Popen(
        [sys.executable, "-m", "distillscope.cli.main", *args],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def slow_config(tmp_path: Path, base_url: str) -> Path:
    """RSE only: one target behind the slow server (one call at a time) and a scripted reference."""
    cfg = {
        "name": "locked",
        "output_dir": str(tmp_path / "run"),
        "targets": [
            {
                "name": "slow",
                "spec": "openai:slow",
                "base_url": base_url,
                "api_key_env": "SLOW_KEY",
                "max_concurrency": 1,
            }
        ],
        "references": [{"name": "teacher", "spec": "scripted:A reference answer."}],
        "ice": {"enabled": False},
        "rse": {"prompt_sets": [{"spec": "builtin", "sample": 4}]},
    }
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def wait_for_lock(run: Path, pid: int, timeout_s: float = 60.0) -> None:
    """Wait until process `pid` holds the run directory's lock and has written the manifest (a run dir)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        holder = read_holder(run / LOCK_NAME)
        if holder is not None and holder.pid == pid and (run / "manifest.json").exists():
            return
        time.sleep(0.05)
    pytest.fail(f"process {pid} never took the lock of {run}")


def response_keys(run: Path) -> list[tuple[str, str, str, int]]:
    rows = map(json.loads, (run / "rse" / "responses.jsonl").read_text().splitlines())
    return [(r["model"], r["prompt_set"], r["prompt_id"], r.get("sample", 0)) for r in rows]


def refused(run: Path, holder: int, home: Path) -> None:
    """`resume` of `run` is refused with one line naming the process `holder`, exit 2."""
    second = ds_popen("resume", str(run), "--no-report", home=home)
    _, err = second.communicate(timeout=120)
    assert second.returncode == 2, err
    assert len(err.strip().splitlines()) == 1 and f"pid {holder}" in err and "in use" in err


def test_second_writer_is_refused_while_a_run_holds_the_directory(tmp_path: Path) -> None:
    """A full experiment (RSE with a judge, ICE fuzz and paired replay) on a slow server, one call at a time per
    model: `resume` is refused during RSE and again during ICE, the run finishes, and no JSONL has a duplicate."""
    home, run = tmp_path / "home", tmp_path / "run"
    with FaultServer(None, delay_s=0.3) as server:
        config = write_experiment(tmp_path, server.base_url, concurrency=1)
        first = ds_popen("run", str(config), "--no-report", home=home)
        wait_for_lock(run, first.pid)
        refused(run, first.pid, home)
        wait_for_lines(run / "ice" / "records.jsonl", 1)
        refused(run, first.pid, home)
        _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    found = audit(run, home, [err])
    assert found.status == "complete" and found.duplicates == 0 and found.failed == []
    counts = {name: len(records) for name, records in found.records.items()}
    assert counts == {
        "rse/responses.jsonl": 12,
        "rse/judgements.jsonl": 18,
        "ice/records.jsonl": 9,
        "ice/paired/records.jsonl": 27,
    }
    assert not (run / LOCK_NAME).exists()  # released on exit


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path: Path, slow_server: str) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run = tmp_path / "run"
    run.mkdir()
    holder = {"pid": dead.pid, "host": socket.gethostname(), "started": "2026-01-01T00:00:00+00:00"}
    (run / LOCK_NAME).write_text(json.dumps(holder), encoding="utf-8")

    proc = ds_popen("run", str(slow_config(tmp_path, slow_server)), "--no-report", home=tmp_path / "home")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "stale lock" in err and f"pid {dead.pid}" in err
    assert not (run / LOCK_NAME).exists()


def wait_for_lines(path: Path, n: int, timeout_s: float = 120.0) -> None:
    """Wait until the JSONL file at `path` holds `n` lines."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().count("\n") >= n:
            return
        time.sleep(0.05)
    pytest.fail(f"{path} never held {n} lines")


def wait_for_responses(run: Path, n: int, timeout_s: float = 60.0) -> None:
    """Wait until the run has stored `n` answers of the slow model."""
    path, deadline = run / "rse" / "responses.jsonl", time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().count('"model": "slow"') >= n:
            return
        time.sleep(0.05)
    pytest.fail(f"the run never stored {n} answers")


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_ends_the_run_cleanly_and_resume_finishes_it(
    tmp_path: Path, slow_server: str, signum: int, code: int
) -> None:
    home, run = tmp_path / "home", tmp_path / "run"
    proc = ds_popen("run", str(slow_config(tmp_path, slow_server)), "--no-report", home=home)
    wait_for_lock(run, proc.pid)
    wait_for_responses(run, 2)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    line = [ln for ln in err.splitlines() if "interrupted" in ln]
    assert len(line) == 1 and f"distillscope resume {run}" in line[0]
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["stages"]["rse.collect"]["done"] is False
    assert not (run / LOCK_NAME).exists()

    resumed = ds_popen("resume", str(run), "--no-report", home=home)
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    keys = response_keys(run)
    assert len(keys) == len(set(keys)) and {k[0] for k in keys} == {"slow", "teacher"}
    assert json.loads((run / "manifest.json").read_text())["status"] == "complete"
