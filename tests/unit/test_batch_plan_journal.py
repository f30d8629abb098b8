"""The batch executor's offline parts: `plan` prices and notes, the journal's chunk rounds, chunking within limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from distillscope.config import parse_config
from distillscope.execution.batch_api import line_bytes, split_chunks
from distillscope.execution.batch_budget import BatchBudget
from distillscope.execution.batch_journal import BatchJournal, chunk_sha
from distillscope.model import Budget
from distillscope.plan import plan_experiment


def _plan(executor: str) -> dict[tuple[str, str], dict[str, Any]]:
    def model(name: str, spec: str, family: str) -> dict[str, str]:
        return {"name": name, "spec": spec, "family": family, "base_url": "http://127.0.0.1:9/v1"}

    cfg = parse_config(
        {
            "targets": [model("pupil", "openai:gpt-4o-mini", "gpt")],
            "references": [model("teacher", "anthropic:claude-3-5-haiku", "claude")],
            "null_panel": [{"name": "local", "spec": "scripted:I am Mistral.", "family": "mistral"}],
            "rse": {"prompt_sets": [{"spec": "builtin", "sample": 3}], "judges": ["pupil"]},
            "ice": {"max_queries": 4, "questions_per_iteration": 2},
            "execution": {"executor": executor},
        }
    )
    return {(r["stage"], r["model"]): r for r in plan_experiment(cfg, check_cache=False)["rows"]}


def test_plan_prices_the_batched_calls_of_batch_capable_models_at_half_and_says_what_stays_interactive() -> None:
    local, batch = _plan("local"), _plan("batch")
    for key in [("rse.collect", "pupil"), ("rse.collect", "teacher"), ("rse.judge", "pupil"), ("ice.replay", "pupil")]:
        assert batch[key]["cost_usd"] == pytest.approx(local[key]["cost_usd"] / 2, abs=1e-4) and local[key]["cost_usd"]
        assert "batch API: half price" in batch[key]["note"]
    assert batch[("ice.fuzz", "pupil")]["cost_usd"] == local[("ice.fuzz", "pupil")]["cost_usd"]
    assert "ice.fuzz stays interactive" in batch[("ice.fuzz", "pupil")]["note"]
    assert "scripted: has no batch API" in batch[("rse.collect", "local")]["note"]
    assert not any("batch" in r["note"] for r in local.values())


def test_the_same_requests_journaled_again_get_the_next_round(tmp_path: Path) -> None:
    journal = BatchJournal.open(tmp_path / "batches.jsonl")
    ids = ["b" * 64, "a" * 64]
    first = journal.intent(provider="openai", identity="openai:m@http://x", model="m", custom_ids=ids)
    journal.created(first, "batch_1")
    journal.collected(first, ok=1, failed=1)
    second = journal.intent(provider="openai", identity="openai:m@http://x", model="m", custom_ids=ids[::-1])

    reread = BatchJournal.open(tmp_path / "batches.jsonl")
    assert first.sha == second.sha == chunk_sha(ids) and (first.round, second.round) == (0, 1)
    assert second.metadata() != first.metadata()
    assert [(c.state, c.batch_id) for c in reread.chunks.values()] == [("collected", "batch_1"), ("intent", None)]
    assert [c.chunk for c in reread.in_flight()] == [second.chunk]
    assert reread.chunks[second.chunk].custom_ids == sorted(ids)


def test_chunks_respect_the_request_and_byte_limits() -> None:
    lines = [{"custom_id": f"{i:064x}", "body": "x" * 100} for i in range(10)]
    assert [len(c) for c in split_chunks(lines, 4, 10**6)] == [4, 4, 2]
    size = line_bytes(lines[0])
    by_bytes = split_chunks(lines, 100, 3 * size + 1)
    assert [len(c) for c in by_bytes] == [3, 3, 3, 1]
    assert [x["custom_id"] for c in by_bytes for x in c] == [x["custom_id"] for x in lines]


def test_the_budget_at_submission_counts_what_is_spent_and_what_batches_in_flight_will_cost() -> None:
    spend = Budget(max_calls=10, max_usd=1.0, calls=4, cost_usd=0.5)
    budget = BatchBudget(spend)
    assert budget.fit([0.125] * 8) == 4  # $0.50 left, 6 calls left: 4 requests at $0.125
    budget.reserve(4, 0.25)
    assert budget.fit([0.05] * 5) == 2  # 2 calls left under max_calls (4 spent + 4 reserved of 10)
    budget.release(4, 0.25)
    assert budget.fit([0.05] * 5) == 5
    assert BatchBudget(None).fit([100.0] * 3) == 3
    assert "max_calls 10, max_usd $1.00" in str(budget.exceeded(3)) and "3 more" in str(budget.exceeded(3))
