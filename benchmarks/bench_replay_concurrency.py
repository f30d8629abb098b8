"""Paired ICE replay: one template at a time (before issue 14) vs every target and template at once.

    python benchmarks/bench_replay_concurrency.py

A real local OpenAI-compatible server (tests/faultserver.py) answers every request after 50 ms; each target
model allows 8 concurrent calls. Prints one JSON line: calls, seconds for each schedule, the server's peak
number of requests in flight, and the speed-up.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from distillscope.backends.base import BackendOptions
from distillscope.ice.evaluate import EvalOptions, IceTarget, replay
from distillscope.ice.judge_factory import make_judge
from distillscope.ice.questions import Question
from distillscope.ice.templates import make_template
from distillscope.identity import get_family
from distillscope.model import ModelLimits, get_model
from faultserver import FaultServer

N_TARGETS, N_TEMPLATES, N_QUESTIONS, CONCURRENCY, LATENCY_S = 3, 10, 5, 8, 0.05


def _setup(url: str) -> tuple[list[IceTarget], list[Question], list[object]]:
    limits = ModelLimits(max_concurrency=CONCURRENCY, max_retries=0, timeout_s=30)
    judge = make_judge("claims")
    targets = [
        IceTarget(
            get_model(f"openai:t{i}", options=BackendOptions(base_url=url), limits=limits), get_family("qwen"), judge
        )
        for i in range(N_TARGETS)
    ]
    questions = [
        Question(id=f"q{i}", text=f"Question {i}: who made you?", category="team", language="en", pair_id=str(i))
        for i in range(N_QUESTIONS)
    ]
    templates = [make_template(f"t{k}", f"Scene {k}: stay in character. {{query}}") for k in range(N_TEMPLATES)]
    return targets, questions, templates


async def _one_at_a_time(url: str) -> float:
    targets, questions, templates = _setup(url)
    start = time.perf_counter()
    for target in targets:
        for t in templates:
            await replay([t], questions, [target], EvalOptions())  # type: ignore[list-item]
    return time.perf_counter() - start


async def _all_at_once(url: str) -> float:
    targets, questions, templates = _setup(url)
    start = time.perf_counter()
    await replay(templates, questions, targets, EvalOptions())  # type: ignore[arg-type]
    return time.perf_counter() - start


def main() -> None:
    """Time both schedules on fresh servers (no cache) and print the result."""
    with FaultServer(None, delay_s=LATENCY_S) as server:
        before = asyncio.run(_one_at_a_time(server.base_url))
        peak_before = server.max_in_flight
    with FaultServer(None, delay_s=LATENCY_S) as server:
        after = asyncio.run(_all_at_once(server.base_url))
        peak_after = server.max_in_flight
    calls = N_TARGETS * N_TEMPLATES * N_QUESTIONS
    print(
        json.dumps(
            {
                "calls": calls,
                "one_at_a_time_s": round(before, 2),
                "all_at_once_s": round(after, 2),
                "peak_in_flight": [peak_before, peak_after],
                "speedup": round(before / after, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
