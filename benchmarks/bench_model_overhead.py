"""Requests/s that `Model` sustains against a fast local OpenAI-compatible server, vs a bare AsyncOpenAI loop.

The server (aiohttp, canned chat completion, no work) runs in a separate process. Both clients run N
requests at concurrency C in back-to-back pairs (order alternating); the headline is the median of the
per-pair ratios, which cancels most background load on a shared machine.
Prints one JSON line: {"bench": "model_overhead", "bare_rps", "model_rps", "ratio_median_of_pairs", ...}.

    python benchmarks/bench_model_overhead.py --requests 500 --concurrency 32 --rounds 8
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CANNED = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "bench-model",
    "system_fingerprint": "fp_bench",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
}


def run_server(port: int) -> None:
    """Serve the canned completion on 127.0.0.1:port until killed."""
    from aiohttp import web

    body = json.dumps(CANNED)

    async def chat(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text=body, content_type="application/json")

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/health", health)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_server() -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return proc, f"http://127.0.0.1:{port}/v1"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("benchmark server did not start")


async def bare_round(base_url: str, n: int, conc: int) -> float:
    """Requests/s of a plain AsyncOpenAI client with a semaphore."""
    import openai

    client = openai.AsyncOpenAI(api_key="sk-bench", base_url=base_url, max_retries=0)
    sem = asyncio.Semaphore(conc)

    async def one(i: int) -> str:
        async with sem:
            r = await client.chat.completions.create(
                model="bench-model",
                messages=[{"role": "user", "content": f"prompt {i}"}],
                temperature=0.0,
                max_tokens=8,
            )
            return r.choices[0].message.content or ""

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    elapsed = time.perf_counter() - start
    await client.close()
    return n / elapsed


async def model_round(base_url: str, n: int, conc: int) -> float:
    """Requests/s of distillscope's Model over the openai: backend (no cache: every call hits the server)."""
    from distillscope.model import ModelLimits, get_model
    from distillscope.registry import BackendOptions
    from distillscope.types import GenerateParams, GenerateRequest

    model = get_model(
        "openai:bench-model", options=BackendOptions(base_url=base_url), limits=ModelLimits(max_concurrency=conc)
    )
    params = GenerateParams(max_tokens=8)
    reqs = [GenerateRequest.chat(f"prompt {i}", params=params) for i in range(n)]
    start = time.perf_counter()
    out = await model.generate_many(reqs)
    elapsed = time.perf_counter() - start
    assert all(c.ok for c in out), next(c.error for c in out if not c.ok)
    await model.backend.aclose()  # type: ignore[attr-defined]
    return n / elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=8)
    args = ap.parse_args()
    if args.serve:
        run_server(args.serve)
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    os.environ.pop("OPENAI_BASE_URL", None)
    proc, url = _start_server()
    try:
        asyncio.run(bare_round(url, 200, args.concurrency))  # warm-up
        bare, model = [], []
        for i in range(args.rounds):  # back-to-back pairs, alternating which goes first, see the same load
            if i % 2:
                model.append(asyncio.run(model_round(url, args.requests, args.concurrency)))
            bare.append(asyncio.run(bare_round(url, args.requests, args.concurrency)))
            if not i % 2:
                model.append(asyncio.run(model_round(url, args.requests, args.concurrency)))
    finally:
        proc.terminate()
        proc.wait()
    result = {
        "bench": "model_overhead",
        "requests": args.requests,
        "concurrency": args.concurrency,
        "bare_rps": round(max(bare), 1),
        "model_rps": round(max(model), 1),
        "ratio_best": round(max(model) / max(bare), 3),
        "ratio_median_of_pairs": round(statistics.median(m / b for m, b in zip(model, bare, strict=True)), 3),
        "bare_rounds": [round(x, 1) for x in bare],
        "model_rounds": [round(x, 1) for x in model],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
