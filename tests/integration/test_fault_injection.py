"""Fault injection: full CLI runs against a real local HTTP server that fails the first attempt of every request.

For each fault kind (HTML with 200, invalid JSON, JSON without choices, a truncated body, 500, 429 with
Retry-After, a connection reset, a hang) a whole `distillscope run` (RSE with an LLM judge, ICE fuzz and
paired replay; every model served by the faulty server) must finish complete, with every record of a clean
run present and answered the same, no fault text in the run directory or the cache, no traceback, and no
duplicate record. The server and the audit are test helpers (tests/faultserver.py, tests/faultrun.py), shared
with benchmarks/bench_faults.py, which prints the same table.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from faultrun import Audit, KindResult, audit, run_all, run_cli, summary_table, write_experiment
from faultserver import FAULT_KINDS, MARKER, FaultServer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str | None, KindResult]:
    """A clean baseline run and one run per fault kind (three at a time: each is a CLI process)."""
    results = run_all([None, *FAULT_KINDS], tmp_path_factory.mktemp("faults"), workers=3)
    print("\n" + summary_table(results))
    return results


def test_the_clean_run_has_every_record_it_should(runs: dict[str | None, KindResult]) -> None:
    base = runs[None]
    assert base.exit_code == 0 and base.injected == 0, base.stderr
    counts = {name: len(recs) for name, recs in base.audit.records.items()}
    prompts = counts["rse/responses.jsonl"] // 4
    assert prompts >= 3
    assert counts == {
        "rse/responses.jsonl": 4 * prompts,  # target, reference and two null models answer every prompt
        "rse/judgements.jsonl": 2 * 3 * prompts,  # target and null models vs the reference, both orders
        "ice/records.jsonl": 9,  # max_queries
        "ice/paired/records.jsonl": 3 * 3 * 3,  # 3 templates x 3 questions x (target + 2 null models)
    }
    assert base.audit.failed == [] and base.audit.duplicates == 0


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_a_run_survives_the_fault_on_every_first_attempt(runs: dict[str | None, KindResult], kind: str) -> None:
    run, base = runs[kind], runs[None]
    assert run.exit_code == 0 and run.audit.status == "complete", run.stderr
    assert run.injected == run.distinct == base.distinct  # every distinct request of the run failed once
    assert run.audit.lost(base.audit) == []  # every record present, with the clean run's answer
    assert run.audit.n_records == base.audit.n_records
    assert run.audit.failed == [] and run.audit.duplicates == 0
    assert run.audit.fault_text == [] and run.audit.tracebacks == []


def test_the_audit_finds_a_stored_fault_a_duplicate_and_a_lost_record(
    runs: dict[str | None, KindResult], tmp_path: Path
) -> None:
    """The checks above can fail: a copy of the clean run with one answer replaced by fault text, one record
    repeated and one dropped is caught on each count."""
    source = runs[None].audit
    run, home = tmp_path / "run", tmp_path / "home"
    shutil.copytree(runs[None].run_dir, run)
    home.mkdir()
    path = run / "rse" / "responses.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows[0]["response"] = f"<html><body>{MARKER} Bad Gateway</body></html>"
    rows = [*rows[:-1], rows[1]]  # the last record lost, the second one written twice
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    found: Audit = audit(run, home, ["Traceback (most recent call last):\n  ..."])
    assert found.fault_text == [str(path)] and found.duplicates == 1 and len(found.tracebacks) == 1
    lost = found.lost(source)
    assert len(lost) == 2 and sum("missing" in x for x in lost) == 1


def test_a_fault_that_outlasts_the_retries_is_a_failed_call_and_a_resume_completes_the_run(
    runs: dict[str | None, KindResult], tmp_path: Path
) -> None:
    """One null model gets an HTML page on every attempt: its calls are recorded as failed (never as answers),
    the run fails at rse.collect (exit 4); once the server heals, `resume` completes it, as the clean run."""
    home, run = tmp_path / "home", tmp_path / "run"
    with FaultServer("html") as server:
        server.always.add("null-b")
        failed = run_cli("run", str(write_experiment(tmp_path, server.base_url)), "--no-report", home=home)
        rows = [json.loads(line) for line in (run / "rse" / "responses.jsonl").read_text().splitlines()]
        server.always.clear()
        resumed = run_cli("resume", str(run), "--no-report", home=home)
    assert failed.returncode == 4 and "stage rse.collect" in failed.stderr and "null-b" in failed.stderr
    null_b = [r for r in rows if r["model"] == "null-b"]
    assert len(null_b) == 3 and {(r["status"], r["error_kind"], r["response"]) for r in null_b} == {
        ("error", "bad_response", "")
    }
    assert resumed.returncode == 0, resumed.stderr
    found = audit(run, home, [failed.stdout, failed.stderr, resumed.stdout, resumed.stderr])
    assert found.status == "complete" and found.lost(runs[None].audit) == []
    assert found.duplicates == 0 and found.failed == [] and found.fault_text == [] and found.tracebacks == []
