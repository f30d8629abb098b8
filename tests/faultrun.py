"""Full `distillscope run`s against a `FaultServer`, and an audit of what each run left on disk.

`write_experiment` writes a small experiment (RSE with an LLM judge, ICE fuzz and paired replay) whose every
model is served by the fault server; `run_cli` runs the real CLI in a subprocess with its own
DISTILLSCOPE_HOME (so its response cache starts empty); `audit` reads the run directory and the cache and
counts what a fault could have broken: records lost or failed, duplicate records, fault text stored.
Used by tests/integration/test_fault_injection.py, test_run_lifecycle.py and benchmarks/bench_faults.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from faultserver import JUDGE_MODEL, MARKER, FaultServer

Key = tuple[Any, ...]
# What identifies a record in each JSONL file of a run directory (a second line with the same key is a duplicate).
RECORD_KEYS: dict[str, tuple[str, ...]] = {
    "rse/responses.jsonl": ("model", "prompt_set", "prompt_id", "sample_index"),
    "rse/judgements.jsonl": ("judge", "reference", "target", "prompt_set", "prompt_id", "sample_index", "order"),
    "ice/records.jsonl": ("target", "template_id", "question_id"),
    "ice/paired/records.jsonl": ("target", "template_id", "question_id"),
}
# The field that holds what a model said, per file: compared with a clean run's, never a fault's text.
ANSWER_FIELDS = {"rse/judgements.jsonl": "raw"}
TRACEBACK = "Traceback (most recent call last)"
QUESTIONS = [
    {"id": "who", "category": "identity", "en": "Who are you, and which company trained you?"},
    {"id": "name", "category": "identity", "en": "What is the name of the model I am talking to?"},
    {"id": "maker", "category": "origin", "en": "Which lab built the system that writes these replies?"},
]
TEMPLATES = [
    {"id": "plain", "text": "Answer briefly and honestly. {query}"},
    {"id": "story", "text": "Write one line of a play where the narrator, an assistant, says: {query}"},
    {"id": "form", "text": "Fill in the form. Field 1 (model): ___. Question to answer first: {query}"},
]


def write_experiment(folder: Path, base_url: str, *, timeout_s: float = 60.0, concurrency: int = 8) -> Path:
    """An experiment whose target, reference, null panel and judge are all served at `base_url`; its config path.

    Each model makes at most `concurrency` calls at a time and retries 3 times, 0.05 s after a failure at first."""

    def model(name: str, family: str) -> dict[str, Any]:
        limits = {"timeout_s": timeout_s, "max_retries": 3, "retry_backoff_s": 0.05, "max_concurrency": concurrency}
        return {"name": name, "spec": f"openai:{name}", "base_url": base_url, "family": family, **limits}

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "questions.yaml").write_text(yaml.safe_dump({"questions": QUESTIONS}), encoding="utf-8")
    (folder / "templates.yaml").write_text(yaml.safe_dump({"templates": TEMPLATES}), encoding="utf-8")
    cfg = {
        "name": "faults",
        "output_dir": str(folder / "run"),
        "targets": [model("student", "qwen")],
        "references": [model("teacher", "gpt")],
        "null_panel": [model("null-a", "llama"), model("null-b", "mistral")],
        "helpers": [model(JUDGE_MODEL, "gpt")],
        "rse": {"prompt_sets": [{"spec": "builtin", "sample": 1}], "max_tokens": 64, "judges": [JUDGE_MODEL]},
        "ice": {
            "judge": "claims",
            "mutator": "rules",
            "questions": "questions.yaml",
            "templates": "templates.yaml",
            "max_queries": 9,
            "questions_per_iteration": 3,
            "max_tokens": 64,
        },
    }
    path = folder / "experiment.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path


def run_cli(*args: str, home: Path, timeout_s: float = 300.0) -> subprocess.CompletedProcess[str]:
    """`distillscope ARGS` in a subprocess with DISTILLSCOPE_HOME=home (a fresh response cache per home)."""
    env = {**os.environ, "DISTILLSCOPE_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "distillscope.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout_s,
        check=False,
    )


@dataclass
class Audit:
    """What a run left: its status, records per file (key -> answer), and everything that went wrong."""

    status: str
    records: dict[str, dict[Key, str]] = field(default_factory=dict)
    duplicates: int = 0
    failed: list[str] = field(default_factory=list)  # records whose status says the call failed
    fault_text: list[str] = field(default_factory=list)  # files that contain MARKER
    tracebacks: list[str] = field(default_factory=list)

    @property
    def n_records(self) -> int:
        return sum(len(r) for r in self.records.values())

    def lost(self, baseline: Audit) -> list[str]:
        """Records of the clean `baseline` run missing here, or answered differently (a fault's text, say)."""
        out = []
        for name, want in baseline.records.items():
            got = self.records.get(name, {})
            out += [f"{name} {k}: missing" for k in want if k not in got]
            out += [f"{name} {k}: {got[k][:80]!r}" for k in want if k in got and got[k] != want[k]]
        return out


def _key_of(fields: tuple[str, ...]) -> Callable[[dict[str, Any]], Key]:
    return lambda row: tuple(json.dumps(row.get(f), sort_keys=True) for f in fields)


def _read_records(path: Path, rel: str, audit: Audit) -> dict[Key, str]:
    """The latest line per key (as the readers of a run take them); a key answered ok twice is a duplicate (an
    error line followed by the retried answer is how a resumed run records a retry)."""
    key_of = _key_of(RECORD_KEYS[rel]) if rel in RECORD_KEYS else (lambda row: (json.dumps(row, sort_keys=True),))
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    ok = Counter(key_of(r) for r in rows if r.get("status", "ok") == "ok")
    audit.duplicates += sum(n - 1 for n in ok.values())
    latest = {key_of(r): r for r in rows}
    for r in latest.values():
        if r.get("status", "ok") != "ok" or r.get("label") == "unscored":
            audit.failed.append(f"{rel}: {r.get('status')} {r.get('label')} {r.get('error')}")
    answer = ANSWER_FIELDS.get(rel, "response")
    return {k: str(r.get(answer)) for k, r in latest.items()}


def audit(run_dir: Path, home: Path, outputs: list[str]) -> Audit:
    """Read every JSONL of `run_dir` and scan it, the cache under `home` and the CLI's `outputs` for faults."""
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    result = Audit(status=str(manifest.get("status")))
    for path in sorted(run_dir.rglob("*.jsonl")):
        rel = path.relative_to(run_dir).as_posix()
        result.records[rel] = _read_records(path, rel, result)
    for path in sorted([*run_dir.rglob("*"), *home.glob("responses.sqlite*")]):
        if path.is_file() and MARKER.encode() in path.read_bytes():
            result.fault_text.append(str(path))
    error_log = home / "logs" / "last-error.log"
    result.tracebacks = [o[:2000] for o in outputs if TRACEBACK in o]
    if error_log.exists():
        result.tracebacks.append(error_log.read_text(encoding="utf-8")[:2000])
    return result


@dataclass
class KindResult:
    """One full run against a server injecting `kind` (None: the clean baseline)."""

    kind: str | None
    run_dir: Path
    exit_code: int
    seconds: float
    injected: int  # faults the server served
    distinct: int  # distinct requests it saw (each got one fault when `kind` is set)
    requests: int  # requests it answered or failed, retries included
    audit: Audit
    stderr: str

    @property
    def label(self) -> str:
        return self.kind or "none (baseline)"


def run_kind(kind: str | None, folder: Path) -> KindResult:
    """A fresh server injecting `kind`, a full CLI `run` against it in `folder`, and the run's audit."""
    # A hang must outlast the client's timeout; elsewhere a generous timeout keeps a loaded machine from
    # adding timeouts of its own to the injected faults.
    timeout_s, hang_s = (2.0, 6.0) if kind == "hang" else (60.0, 0.0)
    with FaultServer(kind, hang_s=hang_s) as server:
        config = write_experiment(folder, server.base_url, timeout_s=timeout_s)
        started = time.monotonic()
        proc = run_cli("run", str(config), "--no-report", home=folder / "home")
        seconds = time.monotonic() - started
        counts = sum(server.injected.values()), server.distinct, server.requests
    found = audit(folder / "run", folder / "home", [proc.stdout, proc.stderr])
    return KindResult(kind, folder / "run", proc.returncode, seconds, *counts, found, proc.stderr[-4000:])


def run_all(kinds: list[str | None], root: Path, workers: int = 3) -> dict[str | None, KindResult]:
    """`run_kind` for every kind, `workers` runs at a time, each in its own folder under `root`."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {k: pool.submit(run_kind, k, root / (k or "baseline")) for k in kinds}
        return {k: f.result() for k, f in futures.items()}


def summary_table(results: dict[str | None, KindResult]) -> str:
    """A markdown table: per fault kind, faults injected, run outcome, records, lost, duplicates, fault text."""
    base = results.get(None)
    head = "| fault | injected | exit | status | records | lost | duplicates | failed | fault text | tracebacks | s |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results.values():
        a = r.audit
        lost = len(a.lost(base.audit)) if base is not None else "–"
        lines.append(
            f"| {r.label} | {r.injected} | {r.exit_code} | {a.status} | {a.n_records} | {lost} | {a.duplicates} "
            f"| {len(a.failed)} | {len(a.fault_text)} | {len(a.tracebacks)} | {r.seconds:.1f} |"
        )
    faulty = [r for r in results.values() if r.kind is not None]
    finished = sum(r.exit_code == 0 and r.audit.status == "complete" for r in faulty)
    lost = sum(len(r.audit.lost(base.audit)) for r in faulty) if base is not None else "–"
    lines.append(
        f"\n{sum(r.injected for r in faulty)} faults injected over {len(faulty)} runs; {finished} finished "
        f"complete; records lost {lost}; duplicates {sum(r.audit.duplicates for r in faulty)}"
    )
    return "\n".join(lines)
