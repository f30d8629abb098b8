"""Scale-out with the Ray executor (issue 14): the same requests, locally and through Ray actors on 1 and 2 nodes.

A latency-bound workload: an OpenAI-compatible aiohttp server (answers as tests/faultserver.py's, in a process
of its own) answers every request after `--latency-ms`; each worker keeps `--per-worker` requests in flight.
- local: one process, the `openai:` backend on the driver;
- ray 1 node: the same backend in one actor on a worker node of a local `ray.cluster_utils.Cluster` (a head and
  two worker nodes);
- ray 2 nodes: two replicas, one per worker node, with twice the calls in flight.
Each mode answers `--requests` new requests into its own empty response cache, `--repeat` times, interleaved (the
median counts; actors are started before the clock starts). Then a rerun of the 2-node mode against its filled
cache (backend calls: should be 0), and a run during which the worker node hosting the model is removed (requests
without an answer: should be 0).

    python benchmarks/bench_scale.py            # a table
    python benchmarks/bench_scale.py --json     # ... and a JSON object on the last line
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the HTTP server: a test helper

from distillscope.cache import ResponseCache
from distillscope.config import ExecutionSettings, ModelEntry
from distillscope.execution.remote import RemoteBackend
from distillscope.model import Model, ModelPool
from distillscope.types import GenerateParams, GenerateRequest

WORKER = {"worker": 1.0}


def serve(conn: Connection, latency_s: float) -> None:
    """The server process: an aiohttp OpenAI-compatible chat server that answers each request after `latency_s`
    (HTTP/1.1 keep-alive, so the client's connections are reused); replies to "count" with requests served."""
    asyncio.run(_serve(conn, latency_s))


async def _serve(conn: Connection, latency_s: float) -> None:
    from aiohttp import web

    from faultserver import answer_for, completion_body

    served = 0

    async def chat(request: web.Request) -> web.Response:
        nonlocal served
        served += 1
        body = await request.json()
        await asyncio.sleep(latency_s)
        return web.json_response(completion_body(body["model"], answer_for(body["model"], body["messages"])))

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    conn.send(f"http://127.0.0.1:{port}/v1")
    while (msg := await asyncio.to_thread(conn.recv)) != "stop":
        conn.send(served if msg == "count" else None)
    await runner.cleanup()


def requests(n: int, tag: str) -> list[GenerateRequest]:
    params = GenerateParams(max_tokens=32)
    return [GenerateRequest.chat(f"[{tag}] request {i}: name one prime above {i}.", params=params) for i in range(n)]


def model(base_url: str, executor: str, cache: ResponseCache, *, concurrency: int, replicas: int = 1) -> Model:
    entry = ModelEntry(
        name="bench",
        spec="openai:bench",
        base_url=base_url,
        max_concurrency=concurrency,
        replicas=replicas,
        placement="ray",
        num_cpus=0,
        resources=WORKER,
        max_retries=5,
        retry_backoff_s=0.05,
    )
    return ModelPool([entry], cache=cache, execution=ExecutionSettings(executor=executor)).get("bench")


async def timed(m: Model, reqs: list[GenerateRequest]) -> float:
    """Seconds to answer `reqs`, the model's actors started and warm (one request each: the HTTP client's import
    and connection are a one-off cost, paid by the local mode before its first timing); every one must succeed."""
    if isinstance(m.backend, RemoteBackend):
        await m.backend.start()
    for i in range(m.backend.live_actors if isinstance(m.backend, RemoteBackend) else 1):
        await m.generate(GenerateRequest.chat(f"warm-up {i} {time.time()}"))  # round-robin: one per replica
    m.stats.calls = 0
    t0 = time.perf_counter()
    answers = await m.generate_many(reqs)
    seconds = time.perf_counter() - t0
    await m.release()
    failed = sum(not c.ok for c in answers)
    if failed:
        raise SystemExit(f"{failed} of {len(reqs)} requests failed: {next(c.error for c in answers if not c.ok)}")
    return seconds


async def modes(base_url: str, tmp: Path, args: argparse.Namespace) -> dict[str, list[float]]:
    """`--repeat` timings per mode, interleaved (machine load drifts), each with new requests and an empty cache."""
    c = args.per_worker
    setups = {"local": ("local", c, 1), "ray_1node": ("ray", c, 1), "ray_2node": ("ray", 2 * c, 2)}
    times: dict[str, list[float]] = {k: [] for k in setups}
    for r in range(args.repeat):
        for label, (executor, concurrency, replicas) in setups.items():
            cache = ResponseCache(tmp / f"{label}-{r}.db")
            m = model(base_url, executor, cache, concurrency=concurrency, replicas=replicas)
            times[label].append(await timed(m, requests(args.requests, f"{label}-{r}")))
    return times


async def rerun_calls(base_url: str, tmp: Path, args: argparse.Namespace, server: Connection) -> tuple[int, int]:
    """Backend calls and server requests of a 2-node rerun against the cache of the last 2-node run."""
    server.send("count")
    before = int(server.recv())
    cache = ResponseCache(tmp / f"ray_2node-{args.repeat - 1}.db")
    m = model(base_url, "ray", cache, concurrency=2 * args.per_worker, replicas=2)
    answers = await m.generate_many(requests(args.requests, f"ray_2node-{args.repeat - 1}"))
    await m.release()
    assert all(c.ok for c in answers)
    server.send("count")
    return m.stats.calls, int(server.recv()) - before


async def node_loss(base_url: str, tmp: Path, args: argparse.Namespace, cluster: Any) -> dict[str, Any]:
    """Requests that end without an answer when the worker node hosting the model is removed a quarter of the way."""
    m = model(base_url, "ray", ResponseCache(tmp / "loss.db"), concurrency=args.per_worker)
    assert isinstance(m.backend, RemoteBackend)
    await m.backend.start()
    reqs = requests(args.requests, "loss")
    run = asyncio.ensure_future(m.generate_many(reqs))
    while m.stats.calls < len(reqs) // 4:
        await asyncio.sleep(0.01)
    (node_id,) = await m.backend.node_ids()
    (node,) = [n for n in cluster.worker_nodes if n.node_id == node_id]
    await asyncio.to_thread(cluster.remove_node, node)
    answers = await run
    await m.release()
    missing = len(reqs) - sum(c.ok for c in answers)
    return {"node_loss_missing": missing, "node_loss_retries": m.stats.retries, "node_loss_calls": m.stats.calls}


def start_cluster() -> tuple[Any, float, float]:
    """A head and two worker nodes (one CPU each); seconds to start them and to connect."""
    import ray
    from ray.cluster_utils import Cluster

    t0 = time.perf_counter()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    for _ in range(2):
        cluster.add_node(num_cpus=1, resources=WORKER)
    cluster.wait_for_nodes()
    t1 = time.perf_counter()
    ray.init(address=cluster.address, log_to_driver=False)
    return cluster, t1 - t0, time.perf_counter() - t1


async def bench(args: argparse.Namespace, base_url: str, server: Connection, cluster: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as folder:
        tmp = Path(folder)
        times = await modes(base_url, tmp, args)
        calls, served = await rerun_calls(base_url, tmp, args, server)
        loss = await node_loss(base_url, tmp, args, cluster)
    med = {k: round(statistics.median(v), 3) for k, v in times.items()}
    return {
        "local_s": med["local"],
        "ray_1node_s": med["ray_1node"],
        "ray_2node_s": med["ray_2node"],
        "rerun_calls": calls,
        "rerun_server_requests": served,
        **loss,
        "ray1_over_local": round(med["ray_1node"] / med["local"], 3),
        "two_node_speedup": round(med["ray_1node"] / med["ray_2node"], 3),
        "runs_s": {k: [round(x, 3) for x in v] for k, v in times.items()},
    }


def report(result: dict[str, Any]) -> None:
    print(f"{result['n_requests']} requests at {result['latency_ms']} ms, {result['per_worker']} in flight per worker")
    print(f"cluster start {result['cluster_start_s']} s, ray.init {result['ray_init_s']} s")
    for key in ("local_s", "ray_1node_s", "ray_2node_s"):
        print(f"  {key:12} {result[key]:7.3f} s  ({result['n_requests'] / result[key]:6.0f} req/s)")
    print(f"ray 1 node / local: {result['ray1_over_local']} (goal <= 1.15)")
    print(f"2 nodes / 1 node throughput: {result['two_node_speedup']} (goal >= 1.6)")
    print(f"rerun backend calls: {result['rerun_calls']} (server saw {result['rerun_server_requests']}; goal 0)")
    print(f"node loss: {result['node_loss_missing']} missing (goal 0), {result['node_loss_retries']} retried")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=480, help="requests per mode and run")
    parser.add_argument("--per-worker", type=int, default=4, help="requests in flight per worker (actor)")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="the server's delay per request")
    parser.add_argument("--repeat", type=int, default=3, help="runs per mode (the median counts)")
    parser.add_argument("--json", action="store_true", help="print a JSON object as the last line")
    args = parser.parse_args()
    ours, theirs = mp.get_context("spawn").Pipe()
    proc = mp.get_context("spawn").Process(target=serve, args=(theirs, args.latency_ms / 1000), daemon=True)
    proc.start()
    base_url = str(ours.recv())
    cluster, cluster_s, init_s = start_cluster()
    try:
        result = asyncio.run(bench(args, base_url, ours, cluster))
    finally:
        import ray

        ray.shutdown()
        cluster.shutdown()
        ours.send("stop")
        proc.join(5)
    result = {
        "n_requests": args.requests,
        "per_worker": args.per_worker,
        "latency_ms": args.latency_ms,
        "repeat": args.repeat,
        "cluster_start_s": round(cluster_s, 2),
        "ray_init_s": round(init_s, 2),
        **result,
    }
    report(result)
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
