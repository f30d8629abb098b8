"""Embedded generation speed: completion tokens/s through `Model` vs raw xllamacpp on the same loaded model.

Both paths share one process-wide xllamacpp server. Rounds alternate raw/Model so background load hits
both alike; every round runs the same prompts at the given concurrency (1 = one request at a time).
Prints one JSON line: {"bench": "embedded_tps", "raw_tps", "model_tps", "ratio", ...}.

    python benchmarks/bench_embedded_tps.py --model smollm2-135m --prompts 4 --max-tokens 64 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

PROMPTS = [
    "Explain in two sentences why the sky is blue.",
    "Write a short poem about a lighthouse.",
    "List three uses of a paperclip.",
    "Describe the taste of an apple to someone who never had one.",
    "What should I pack for a weekend hike?",
    "Summarise the plot of a heist film you invent.",
    "Give me advice on learning to cook.",
    "Why do cats purr?",
]


def raw_round(server: Any, bodies: list[dict[str, Any]], concurrency: int) -> tuple[int, float]:
    """(completion tokens, seconds) of direct handle_chat_completions calls."""
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        out = list(pool.map(server.handle_chat_completions, bodies))
    elapsed = time.perf_counter() - start
    return sum(int(r["usage"]["completion_tokens"]) for r in out), elapsed


async def model_round(name: str, reqs: list[Any], concurrency: int) -> tuple[int, float]:
    """(completion tokens, seconds) through Model over the embedded backend (no cache)."""
    from distillscope.model import ModelLimits, get_model

    model = get_model(f"embedded:{name}", limits=ModelLimits(max_concurrency=concurrency))
    start = time.perf_counter()
    out = await model.generate_many(reqs)
    elapsed = time.perf_counter() - start
    assert all(c.ok for c in out)
    return sum(c.usage.completion_tokens for c in out), elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--prompts", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from distillscope.backends.embedded import chat_payload, load
    from distillscope.types import GenerateParams, GenerateRequest

    params = GenerateParams(max_tokens=args.max_tokens)
    reqs = [GenerateRequest.chat(p, params=params) for p in (PROMPTS * 4)[: args.prompts]]
    bodies = [chat_payload(r) for r in reqs]
    server = load(args.model).server
    raw_round(server, bodies[:1], 1)  # warm-up
    raw, model = [], []
    for _ in range(args.rounds):
        tokens, secs = raw_round(server, bodies, args.concurrency)
        raw.append(tokens / secs)
        tokens, secs = asyncio.run(model_round(args.model, reqs, args.concurrency))
        model.append(tokens / secs)
    result = {
        "bench": "embedded_tps",
        "model": args.model,
        "prompts": args.prompts,
        "max_tokens": args.max_tokens,
        "concurrency": args.concurrency,
        "raw_tps": round(statistics.median(raw), 1),
        "model_tps": round(statistics.median(model), 1),
        "ratio": round(statistics.median(model) / statistics.median(raw), 3),
        "raw_rounds": [round(x, 1) for x in raw],
        "model_rounds": [round(x, 1) for x in model],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
