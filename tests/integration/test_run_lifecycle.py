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

SLOW_SERVER = r"""
import json, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class H(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        time.sleep(float(sys.argv[1]))
        text = "slow answer to " + body["messages"][-1]["content"]
        reply = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "slow",
                            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                         "finish_reason": "stop"}],
                            "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


@pytest.fixture
def slow_server() -> Iterator[str]:
    """Base URL of an OpenAI-compatible stdlib server (a subprocess) that takes 0.4 s per answer."""
    proc = subprocess.Popen([sys.executable, "-c", SLOW_SERVER, "0.4"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


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


def test_second_writer_is_refused_while_a_run_holds_the_directory(tmp_path: Path, slow_server: str) -> None:
    home, run = tmp_path / "home", tmp_path / "run"
    first = ds_popen("run", str(slow_config(tmp_path, slow_server)), "--no-report", home=home)
    wait_for_lock(run, first.pid)

    second = ds_popen("resume", str(run), "--no-report", home=home)
    _, err = second.communicate(timeout=120)
    assert second.returncode == 2, err
    assert len(err.strip().splitlines()) == 1 and f"pid {first.pid}" in err and "in use" in err

    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    keys = response_keys(run)
    assert len(keys) == len(set(keys)) and {k[0] for k in keys} == {"slow", "teacher"}
    assert json.loads((run / "manifest.json").read_text())["status"] == "complete"
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
