"""The provider batch executor (issue 14, item 3) against a real local stub of OpenAI's and Anthropic's APIs.

A small experiment whose target, null model and judge are `openai:` models and whose reference is an
`anthropic:` model, all served by `BatchStub`, runs interactively and with `executor: batch`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from batchstub import BatchStub, anthropic_message
from distillscope.backends.anthropic import AnthropicBackend
from distillscope.backends.base import BackendOptions
from distillscope.cache import cache_key
from distillscope.config import BudgetSettings, ExecutionSettings, ExperimentConfig, load_config, load_run_config
from distillscope.errors import ConfigError
from distillscope.execution.batch_collector import BatchCollector
from distillscope.execution.batch_journal import BatchJournal
from distillscope.model import Model
from distillscope.rundir import read_jsonl, read_manifest
from distillscope.runner import RunOutcome, run_experiment
from distillscope.runstatus import run_status
from distillscope.types import GenerateRequest
from faultserver import JUDGE_MODEL

SECRET = "sk-batchtest-0123456789abcdef"  # a key the stub ignores; it must never reach a run's files
QUESTIONS = [
    {"id": "who", "category": "identity", "en": "Who are you, and which company trained you?"},
    {"id": "maker", "category": "origin", "en": "Which lab built the system that writes these replies?"},
]
TEMPLATES = [
    {"id": "plain", "text": "Answer briefly and honestly. {query}"},
    {"id": "story", "text": "Write one line of a play where the narrator, an assistant, says: {query}"},
]
STAGES = ("rse.collect", "rse.judge", "ice.fuzz", "ice.replay")
VOLATILE = {"latency_s", "cost_usd", "cached", "created", "time", "attempts", "idx"}


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[BatchStub]:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    monkeypatch.setenv("DISTILLSCOPE_HOME", os.environ["DISTILLSCOPE_HOME"])  # restored after `run_in` moves it
    with BatchStub() as server:
        yield server


def write_config(folder: Path, stub: BatchStub, execution: dict[str, Any] | None = None) -> Path:
    """The experiment: target and null model and judge on the stub's OpenAI API, the reference on its Anthropic API."""

    def model(name: str, provider: str, family: str) -> dict[str, Any]:
        url = stub.openai_url if provider == "openai" else stub.anthropic_url
        return {"name": name, "spec": f"{provider}:{name}", "base_url": url, "family": family, "max_retries": 0}

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "questions.yaml").write_text(yaml.safe_dump({"questions": QUESTIONS}), encoding="utf-8")
    (folder / "templates.yaml").write_text(yaml.safe_dump({"templates": TEMPLATES}), encoding="utf-8")
    cfg = {
        "name": "batch",
        "output_dir": str(folder / "run"),
        "targets": [model("pupil", "openai", "qwen")],
        "references": [model("teacher", "anthropic", "gpt")],
        "null_panel": [model("null-a", "openai", "llama")],
        "helpers": [model(JUDGE_MODEL, "openai", "gpt")],
        "rse": {"prompt_sets": [{"spec": "builtin", "sample": 2}], "max_tokens": 64, "judges": [JUDGE_MODEL]},
        "ice": {
            "judge": "claims",
            "mutator": "rules",
            "questions": "questions.yaml",
            "templates": "templates.yaml",
            "max_queries": 4,
            "questions_per_iteration": 2,
            "max_tokens": 64,
        },
        "prices": {name: {"input": 2.0, "output": 6.0} for name in ("pupil", "teacher", "null-a", JUDGE_MODEL)},
        "execution": execution or {},
    }
    path = folder / "experiment.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path


async def run_in(home: Path, cfg: ExperimentConfig, run_dir: Path | None = None, resume: bool = False) -> RunOutcome:
    """A run (or resume) with its own response cache in `home` (the `stub` fixture restores the variable)."""
    os.environ["DISTILLSCOPE_HOME"] = str(home)
    return await run_experiment(cfg, run_dir, resume=resume)


def records(run: Path) -> dict[str, list[str]]:
    """Every record file of a run, without timings and costs, as sorted canonical JSON lines."""
    out = {}
    for rel in ("rse/responses.jsonl", "rse/judgements.jsonl", "ice/records.jsonl", "ice/paired/records.jsonl"):
        rows = [{k: v for k, v in r.items() if k not in VOLATILE} for r in read_jsonl(run / rel)]
        out[rel] = sorted(json.dumps(r, sort_keys=True) for r in rows)
    return out


def journal(run: Path) -> list[dict[str, Any]]:
    return journal_lines(run / "batches.jsonl")


def stage_costs(run: Path) -> dict[str, float]:
    manifest = read_manifest(run)
    assert manifest is not None
    return {name: float(manifest["stages"][name]["cost_usd"]) for name in STAGES}


async def test_a_batch_run_records_what_an_interactive_run_does_at_half_the_price(
    tmp_path: Path, stub: BatchStub
) -> None:
    local = await run_in(tmp_path / "home-local", load_config(write_config(tmp_path / "local", stub)))
    assert local.status == "complete", local.message
    interactive_before = sum(stub.interactive.values())
    stub.interactive.clear()
    settings = {"executor": "batch", "wait": True, "poll_interval_s": 0.01}
    batch = await run_in(tmp_path / "home-batch", load_config(write_config(tmp_path / "batch", stub, settings)))

    assert batch.status == "complete", batch.message
    assert records(batch.run_dir) == records(local.run_dir)
    assert all(records(batch.run_dir).values())
    local_cost, batch_cost = stage_costs(local.run_dir), stage_costs(batch.run_dir)
    for stage in ("rse.collect", "rse.judge", "ice.replay"):
        assert batch_cost[stage] == pytest.approx(local_cost[stage] / 2) and batch_cost[stage] > 0
    assert batch_cost["ice.fuzz"] == pytest.approx(local_cost["ice.fuzz"]) and batch_cost["ice.fuzz"] > 0
    # Only the fuzz loop (on the first target) called interactively; everything else went in batches.
    assert set(stub.interactive) == {"pupil"} and 0 < stub.interactive["pupil"] < interactive_before
    assert {b.provider for b in stub.created} == {"openai", "anthropic"}
    assert set(stub.creations_per_chunk().values()) == {1}
    events = [(line["event"], line["chunk"]) for line in journal(batch.run_dir)]
    chunks = {chunk for _, chunk in events}
    assert len(chunks) == len(stub.created)
    assert all([e for e, c in events if c == chunk] == ["intent", "created", "collected"] for chunk in chunks)
    assert SECRET not in (batch.run_dir / "batches.jsonl").read_text()


async def test_failed_requests_of_a_batch_are_resubmitted_on_resume_and_only_they(
    tmp_path: Path, stub: BatchStub
) -> None:
    failed: set[str] = set()
    seen: list[str] = []

    def fail_some(custom_id: str, body: dict[str, Any]) -> bool:
        # Chosen by the prompt, which is the same in every run: a custom_id is a cache key, and the key holds the
        # stub's URL, whose port changes from run to run (choosing by the id failed none of the teacher's few
        # requests in about one run in ten).
        if body["model"] != "teacher":
            return False
        seen.append(custom_id)
        if zlib.crc32(json.dumps(body["messages"], sort_keys=True).encode()) % 2 == 0:
            failed.add(custom_id)
            return True
        return False

    stub.fail = fail_some
    settings = {"executor": "batch", "wait": True, "poll_interval_s": 0.01}
    cfg = load_config(write_config(tmp_path, stub, settings))
    first = await run_in(tmp_path / "home", cfg)
    errors = [r for r in read_jsonl(first.run_dir / "rse/responses.jsonl") if r["status"] == "error"]
    assert failed and len(failed) < len(seen) and len(errors) == len(failed)
    assert all("the stub failed this request" in r["error"] for r in errors)
    before = len(stub.created)

    stub.fail = None
    again = await run_in(tmp_path / "home", load_run_config(first.run_dir), first.run_dir, resume=True)

    assert again.status == "complete", again.message
    resubmitted = [b for b in stub.created[before:] if b.provider == "anthropic"]
    assert len(resubmitted) == 1 and set(resubmitted[0].custom_ids) == failed
    latest = {(r["model"], r["prompt_id"]): r["status"] for r in read_jsonl(first.run_dir / "rse/responses.jsonl")}
    assert set(latest.values()) == {"ok"}


def _cli(*args: str, home: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "DISTILLSCOPE_HOME": str(home), "COLUMNS": "200"}
    command = [sys.executable, "-m", "distillscope.cli.main", *args, "--no-report"]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_a_kill_between_create_and_journal_line_creates_no_duplicate_batch(
    tmp_path: Path, stub: BatchStub, provider: str
) -> None:
    config = write_config(tmp_path, stub)
    proc = _cli("run", str(config), "--executor", "batch", "--wait", home=tmp_path / "home")
    killed: list[str] = []

    def kill_client(p: str) -> None:  # the provider has created the batch; its id never reaches the journal
        if p == provider and not killed:
            killed.append(p)
            os.kill(proc.pid, signal.SIGKILL)

    stub.on_create = kill_client
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL and killed
    run_dir = tmp_path / "run"
    orphan = [line for line in journal(run_dir) if line["event"] == "intent"][-1]
    assert not any(line["event"] == "created" and line["chunk"] == orphan["chunk"] for line in journal(run_dir))
    stub.on_create = None

    cfg = load_run_config(run_dir).model_copy(update={"execution": load_config(config).execution})
    cfg.execution.executor, cfg.execution.wait, cfg.execution.poll_interval_s = "batch", True, 0.01
    resumed = await run_in(tmp_path / "home", cfg, run_dir, resume=True)

    assert resumed.status == "complete", resumed.message
    assert set(stub.creations_per_chunk().values()) == {1}
    recovered = [line for line in journal(run_dir) if line.get("recovered")]
    assert [line["chunk"] for line in recovered] == [orphan["chunk"]]


async def test_without_wait_the_run_stops_waiting_and_each_resume_collects(tmp_path: Path, stub: BatchStub) -> None:
    stub.ends_after_polls = 2  # the poll right after the create finds the batch still running
    config = write_config(tmp_path, stub)
    proc = _cli("run", str(config), "--executor", "batch", home=tmp_path / "home")
    _, err = proc.communicate(timeout=120)
    run_dir = tmp_path / "run"
    n = len(stub.created)
    assert proc.returncode == 3, err
    requests = sum(len(b.custom_ids) for b in stub.created)
    assert f"waiting: {n} batches submitted ({requests} requests); `distillscope resume {run_dir}` collects them" in err
    manifest = read_manifest(run_dir)
    assert manifest is not None and manifest["status"] == "waiting"
    pending = f"provider batches: {n} submitted and not yet collected ({requests} requests)"
    assert run_status(run_dir, load_run_config(run_dir))[-1].line() == pending  # what `resume` prints first

    statuses = []
    for _ in range(4):
        cfg = load_run_config(run_dir)
        cfg.execution.executor, cfg.execution.poll_interval_s = "batch", 0.01
        outcome = await run_in(tmp_path / "home", cfg, run_dir, resume=True)
        statuses.append(outcome.status)
        if outcome.status == "complete":
            break
    assert statuses == ["waiting", "waiting", "complete"]
    assert set(stub.creations_per_chunk().values()) == {1}
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["run"]["status"] == "complete" and summary["verdicts"]


@pytest.mark.parametrize("lookalikes", [0, 1, 2])
async def test_an_unconfirmed_intent_is_adopted_resubmitted_or_refused_but_never_duplicated(
    tmp_path: Path, stub: BatchStub, lookalikes: int
) -> None:
    """An intent without `created` (a kill mid-create) and `lookalikes` Anthropic batches of its size made since:
    none means it was never created (submit it), one is it (wait on it), two cannot be told apart (stop, submit
    nothing)."""
    backend = AnthropicBackend.from_spec("teacher", BackendOptions(base_url=stub.anthropic_url))
    model = Model(backend, spec="teacher")
    requests = [GenerateRequest.chat(f"Question {i}: who made you?") for i in range(3)]
    keys = [cache_key(backend.identity, r) for r in requests]
    journal = BatchJournal.open(tmp_path / "batches.jsonl")
    orphan = journal.intent(provider="anthropic", identity=backend.identity, model="teacher", custom_ids=keys)
    results = [{"custom_id": cache_key(backend.identity, r), "result": _succeeded(r)} for r in requests]
    for _ in range(lookalikes):
        stub.new_batch("anthropic", keys, {}).results = results  # what the killed create left at the provider
    model.batcher = BatchCollector(BatchJournal.open(journal.path), ExecutionSettings(wait=True, poll_interval_s=0.01))
    model.batcher.active = True

    try:
        if lookalikes == 2:
            with pytest.raises(ConfigError, match=f"chunk {orphan.chunk} .* 2 batches at anthropic could be it"):
                await model.generate(requests[0])
            assert len(stub.created) == 2
            return
        answers = await model.generate_many(requests)
    finally:  # as the runner does: stop following batches, then close the HTTP client before the loop ends
        await model.batcher.aclose()
        await backend.aclose()

    assert all(c.ok for c in answers) and len(stub.created) == 1
    events = [line["event"] for line in journal_lines(journal.path)]
    assert events == (
        ["intent", "created", "collected"] if lookalikes else ["intent", "lost", "intent", "created", "collected"]
    )


def _succeeded(request: GenerateRequest) -> dict[str, Any]:
    message = anthropic_message({"model": "teacher", "messages": request.to_dict()["messages"]})
    return {"type": "succeeded", "message": message}


def journal_lines(path: Path) -> list[dict[str, Any]]:
    return list(read_jsonl(path))


@pytest.mark.parametrize("status", [400, 503])
async def test_a_refused_create_is_journaled_rejected_and_an_unanswered_one_is_looked_up_before_resubmitting(
    tmp_path: Path, stub: BatchStub, status: int
) -> None:
    """A 4xx means no batch exists (`rejected`); after a 5xx the batch may exist, so resume first looks for it
    (here: finds none, journals it `lost`) and only then submits the requests again, once."""
    stub.refuse_create["anthropic"] = status
    settings = {"executor": "batch", "wait": True, "poll_interval_s": 0.01}
    first = await run_in(tmp_path / "home", load_config(write_config(tmp_path, stub, settings)))
    teacher = [r for r in read_jsonl(first.run_dir / "rse/responses.jsonl") if r["model"] == "teacher"]
    assert first.status == "failed" and teacher and all(r["status"] == "error" for r in teacher)
    assert not stub.batches("anthropic")
    settled = [line["event"] for line in journal(first.run_dir) if line["event"] in ("rejected", "lost")]
    assert settled == (["rejected"] if status == 400 else [])

    del stub.refuse_create["anthropic"]
    again = await run_in(tmp_path / "home", load_run_config(first.run_dir), first.run_dir, resume=True)

    assert again.status == "complete", again.message
    assert len(stub.batches("anthropic")) == 1 and set(stub.creations_per_chunk().values()) == {1}
    settled = [line["event"] for line in journal(first.run_dir) if line["event"] in ("rejected", "lost")]
    assert settled == (["rejected"] if status == 400 else ["lost"])


async def test_an_endpoint_without_a_batch_api_is_called_interactively(tmp_path: Path, stub: BatchStub) -> None:
    stub.refuse_create["openai"] = 404  # as a vLLM or llama.cpp server answers POST /v1/batches
    settings = {"executor": "batch", "wait": True, "poll_interval_s": 0.01}
    outcome = await run_in(tmp_path / "home", load_config(write_config(tmp_path, stub, settings)))

    assert outcome.status == "complete", outcome.message
    assert all(r["status"] == "ok" for r in read_jsonl(outcome.run_dir / "rse/responses.jsonl"))
    assert {b.provider for b in stub.created} == {"anthropic"}
    assert {"pupil", "null-a", JUDGE_MODEL} <= set(stub.interactive) and "teacher" not in stub.interactive
    rejected = [line for line in journal(outcome.run_dir) if line["event"] == "rejected"]
    assert rejected and all("HTTP 404" in line["error"] for line in rejected)


async def test_a_batch_the_provider_no_longer_knows_is_journaled_lost_and_its_requests_submitted_again(
    tmp_path: Path, stub: BatchStub
) -> None:
    stub.ends_after_polls = 2
    settings = {"executor": "batch", "wait": False, "poll_interval_s": 0.01}
    first = await run_in(tmp_path / "home", load_config(write_config(tmp_path, stub, settings)))
    assert first.status == "waiting"
    gone = stub.batches("anthropic")[0]
    stub.forgotten.add(gone.id)  # deleted at the provider (or an id that never was)

    second = await run_in(tmp_path / "home", load_run_config(first.run_dir), first.run_dir, resume=True)
    assert second.status == "failed"  # every answer of the reference failed; the others were collected
    lost = [line for line in journal(first.run_dir) if line["event"] == "lost"]
    intents = {line["chunk"]: line for line in journal(first.run_dir) if line["event"] == "intent"}
    assert len(lost) == 1 and tuple(intents[lost[0]["chunk"]]["custom_ids"]) == gone.custom_ids

    cfg = load_run_config(first.run_dir)
    cfg.execution.wait = True
    third = await run_in(tmp_path / "home", cfg, first.run_dir, resume=True)
    assert third.status == "complete", third.message
    again = [b for b in stub.created if b.provider == "anthropic" and b.id != gone.id]
    assert [b.custom_ids for b in again] == [gone.custom_ids]


async def test_batches_are_cut_to_what_the_cost_budget_leaves_then_resume_submits_the_rest(
    tmp_path: Path, stub: BatchStub
) -> None:
    settings = {"executor": "batch", "wait": True, "poll_interval_s": 0.01}
    cfg = load_config(write_config(tmp_path, stub, settings)).model_copy(
        update={"budget": BudgetSettings(max_usd=0.002)}
    )
    first = await run_in(tmp_path / "home", cfg)

    assert first.status == "stopped" and "leaves no room to submit" in first.message
    submitted = sum(len(b.custom_ids) for b in stub.created)
    assert 0 < submitted < 3 * 6  # of the 3 models x 6 prompts the stage asked for, only what fits was sent
    manifest = read_manifest(first.run_dir)  # the submitted batches were collected: their cost is recorded
    assert manifest is not None and manifest["stages"]["rse.collect"]["calls"] == submitted
    assert 0 < manifest["cost_usd"] <= 0.002

    os.environ["DISTILLSCOPE_HOME"] = str(tmp_path / "home")
    again = await run_experiment(cfg, first.run_dir, resume=True, budget_override=(None, 1.0))
    assert again.status == "complete", again.message
    assert Counter(cid for b in stub.created for cid in b.custom_ids).most_common(1)[0][1] == 1  # none sent twice
