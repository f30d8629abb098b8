"""Cache-hit throughput: `Model.generate` answered from the SQLite response cache (no backend call).

Fills a fresh cache with N answers through Model(ScriptedBackend), then replays the same N requests
R times through a new Model on the same file. Prints one JSON line with hits/s through `Model` and raw
`ResponseCache.get` lookups/s.

    python benchmarks/bench_cache_hits.py --entries 2000 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path


async def run(entries: int, rounds: int, tmp: Path) -> dict[str, float | int]:
    """Fill the cache, then measure hits through Model and raw lookups."""
    from distillscope.backends.scripted import ScriptedBackend
    from distillscope.cache import ResponseCache, cache_key
    from distillscope.model import Model
    from distillscope.types import GenerateParams, GenerateRequest

    path = tmp / "bench.sqlite"
    params = GenerateParams(max_tokens=256)
    reqs = [
        GenerateRequest.chat(f"question {i} " + "x" * 200, system="be brief", params=params) for i in range(entries)
    ]
    answer = "a realistic answer of a few hundred characters. " * 8
    await Model(ScriptedBackend((answer,)), cache=ResponseCache(path)).generate_many(reqs)

    backend = ScriptedBackend((answer,))
    model = Model(backend, cache=ResponseCache(path))
    start = time.perf_counter()
    for _ in range(rounds):
        out = await model.generate_many(reqs)
    model_elapsed = time.perf_counter() - start
    assert not backend.calls and all(c.cached for c in out)

    cache = ResponseCache(path)
    keys = [cache_key("scripted", r) for r in reqs]
    start = time.perf_counter()
    for _ in range(rounds):
        for k in keys:
            cache.get(k)
    raw_elapsed = time.perf_counter() - start
    return {
        "bench": "cache_hits",
        "entries": entries,
        "rounds": rounds,
        "model_hits_per_s": round(entries * rounds / model_elapsed),
        "raw_get_per_s": round(entries * rounds / raw_elapsed),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(asyncio.run(run(args.entries, args.rounds, Path(tmp)))))


if __name__ == "__main__":
    main()
