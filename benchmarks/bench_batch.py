"""The provider batch executor against a local stub of OpenAI's Batch API and Anthropic's Message Batches.

For each provider, N distinct requests go through one `Model` twice, into fresh caches: interactively (the
model's concurrency limit in flight) and through the batch executor (`wait`, polling every 10 ms). Reported:
wall time of each, batches created, duplicate batches, the cost ratio (batch / interactive, price table
`gpt-4o-mini` / `claude-3-5-haiku`), and that every answer came back and was cached.

    python benchmarks/bench_batch.py [--requests 2000] [--json]

The stub answers at once, so the times measure distillscope's own overhead (journal, upload, parsing, cache
writes) and not a provider's queue, which takes minutes to hours.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the batch stub: a test helper

from batchstub import BatchStub
from distillscope.backends.base import BackendOptions
from distillscope.cache import ResponseCache
from distillscope.config import ExecutionSettings
from distillscope.execution.batch_collector import BatchCollector
from distillscope.execution.batch_journal import BatchJournal
from distillscope.model import Model, ModelLimits
from distillscope.pricing import load_price_table, price_for_spec
from distillscope.registry import resolve_backend
from distillscope.types import GenerateParams, GenerateRequest, Message

MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-3-5-haiku-20241022"}


def _requests(n: int) -> list[GenerateRequest]:
    params = GenerateParams(max_tokens=64)
    return [GenerateRequest((Message.user(f"Question {i}: who trained you?"),), params) for i in range(n)]


def _model(provider: str, url: str, cache: ResponseCache) -> Model:
    spec = f"{provider}:{MODELS[provider]}"
    backend = resolve_backend(spec, BackendOptions(base_url=url))
    price = price_for_spec(spec, load_price_table())
    return Model(backend, spec=spec, cache=cache, limits=ModelLimits(max_concurrency=64, max_retries=0), price=price)


async def _one(provider: str, url: str, folder: Path, n: int, batch: bool) -> dict[str, Any]:
    cache = ResponseCache(folder / f"{provider}-{batch}.sqlite")
    model = _model(provider, url, cache)
    if batch:
        journal = BatchJournal.open(folder / f"{provider}-batches.jsonl")
        model.batcher = BatchCollector(journal, ExecutionSettings(wait=True, poll_interval_s=0.01))
        model.batcher.active = True
    start = time.perf_counter()
    answers = await model.generate_many(_requests(n))
    wall = time.perf_counter() - start
    return {
        "wall_s": round(wall, 3),
        "ok": sum(a.ok for a in answers),
        "cached": cache.stats().entries,
        "cost_usd": model.stats.cost_usd,
    }


async def run(n: int) -> dict[str, Any]:
    out: dict[str, Any] = {"requests": n}
    with tempfile.TemporaryDirectory() as tmp, BatchStub() as stub:
        for provider in MODELS:
            url = stub.openai_url if provider == "openai" else stub.anthropic_url
            inter = await _one(provider, url, Path(tmp), n, batch=False)
            before = len(stub.batches(provider))
            batch = await _one(provider, url, Path(tmp), n, batch=True)
            created = stub.batches(provider)[before:]
            chunks = [b.custom_ids for b in created]
            out[provider] = {
                "interactive_s": inter["wall_s"],
                "batch_s": batch["wall_s"],
                "answered": [inter["ok"], batch["ok"]],
                "cached": [inter["cached"], batch["cached"]],
                "batches_created": len(created),
                "duplicate_batches": len(chunks) - len(set(chunks)),
                "cost_ratio": round(batch["cost_usd"] / inter["cost_usd"], 4) if inter["cost_usd"] else None,
            }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = ap.parse_args()
    result = asyncio.run(run(args.requests))
    if args.json:
        print(json.dumps(result))
        return
    for provider in MODELS:
        r = result[provider]
        print(
            f"{provider:9s} interactive {r['interactive_s']:.2f} s · batch {r['batch_s']:.2f} s · "
            f"{r['batches_created']} batch(es), {r['duplicate_batches']} duplicate · cost ratio {r['cost_ratio']} · "
            f"answered {r['answered']} · cached {r['cached']}"
        )


if __name__ == "__main__":
    main()
