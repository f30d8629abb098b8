"""The SQLite response cache shared by processes: concurrent writers, and a writer killed mid-run."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from distillscope.cache import ResponseCache, cache_key
from distillscope.types import GenerateRequest

SRC = Path(__file__).resolve().parents[2] / "src"

# A child process: answers prompts "<tag>-<i>" through Model(ScriptedBackend) into the cache at argv[1],
# printing "done <i>" after each completion has been stored.
_WRITER = """
import asyncio, sys
from distillscope.backends.scripted import ScriptedBackend
from distillscope.cache import ResponseCache
from distillscope.model import Model, ModelLimits
from distillscope.types import GenerateRequest

path, tag, n, delay = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
model = Model(ScriptedBackend(lambda r: "answer to " + r.prompt, delay_s=delay), cache=ResponseCache(path),
              limits=ModelLimits(max_concurrency=4))
reqs = [GenerateRequest.chat(f"{tag}-{i}") for i in range(n)]
def report(c):
    print("done", c.text.rsplit("-", 1)[1], flush=True)
asyncio.run(model.generate_many(reqs, progress=report))
"""


def _writer(path: Path, tag: str, n: int, delay: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    cmd = [sys.executable, "-c", _WRITER, str(path), tag, str(n), str(delay)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)


def _key(prompt: str) -> str:
    return cache_key("scripted", GenerateRequest.chat(prompt))


def test_two_processes_write_the_same_cache_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    procs = [_writer(path, "shared", 150, 0.0), _writer(path, "shared", 150, 0.0), _writer(path, "own", 100, 0.0)]
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0 and out.count("done") in (100, 150)
    cache = ResponseCache(path)
    assert cache.stats().entries == 250
    hit = cache.get(_key("shared-149"))
    assert hit is not None and hit.text == "answer to shared-149" and hit.cached
    assert cache.get(_key("own-99")) is not None


def test_a_killed_writer_loses_only_in_flight_calls(tmp_path: Path) -> None:
    path = tmp_path / "killed.sqlite"
    proc = _writer(path, "k", 10_000, 0.005)
    assert proc.stdout is not None
    done = [int(proc.stdout.readline().split()[1]) for _ in range(40)]
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    done += [int(line.split()[1]) for line in proc.stdout.read().splitlines() if line.startswith("done")]
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    cache = ResponseCache(path)
    assert all(_key(f"k-{i}") in cache for i in done)  # every reported completion survived
    assert len(done) <= cache.stats().entries <= len(done) + 4  # at most the 4 calls in flight are extra
