"""The Ray executor on a local cluster of a head and two worker nodes (`ray.cluster_utils.Cluster`), against a real
HTTP server on 127.0.0.1: replicas spread over the workers, and removing a worker node mid-run loses no request."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from distillscope.config import ExecutionSettings, ModelEntry
from distillscope.execution.remote import RemoteBackend
from distillscope.model import Model, ModelPool
from distillscope.types import GenerateRequest
from faultserver import FaultServer, answer_for

ray = pytest.importorskip("ray")
WORKER = {"worker": 1.0}  # a custom resource only the worker nodes have, one actor's worth each


@pytest.fixture(scope="module")
def cluster(ray_to_myself: None) -> Iterator[Any]:
    from ray.cluster_utils import Cluster

    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    for _ in range(2):
        c.add_node(num_cpus=1, resources=WORKER)
    c.wait_for_nodes()
    ray.init(address=c.address, log_to_driver=False)
    yield c
    ray.shutdown()
    c.shutdown()  # type: ignore[no-untyped-call]


def hosted(server: FaultServer, name: str, **placement: Any) -> Model:
    entry = ModelEntry(
        name=name,
        spec=f"openai:{name}",
        base_url=server.base_url,
        placement="ray",
        resources=WORKER,
        max_retries=3,
        retry_backoff_s=0.05,
        timeout_s=30,
        **placement,
    )
    return ModelPool([entry], execution=ExecutionSettings(executor="ray")).get(name)


def requests(n: int) -> list[GenerateRequest]:
    return [GenerateRequest.chat(f"Question number {i}: what is {i} plus {i}?") for i in range(n)]


def expected(model: str, req: GenerateRequest) -> str:
    return answer_for(model, [{"role": m.role, "content": m.content} for m in req.messages])


def remote(model: Model) -> RemoteBackend:
    assert isinstance(model.backend, RemoteBackend)
    return model.backend


async def test_replicas_spread_over_the_worker_nodes(cluster: Any) -> None:
    with FaultServer(None, delay_s=0.02) as server:
        model = hosted(server, "spread", replicas=2, max_concurrency=8)
        reqs = requests(32)
        answers = await model.generate_many(reqs)
        nodes = await remote(model).node_ids()
        await model.release()
    assert [c.text for c in answers] == [expected("spread", r) for r in reqs]
    workers = {n.node_id for n in cluster.worker_nodes}
    assert len(set(nodes)) == 2 and set(nodes) <= workers  # one replica per worker, none on the head
    assert server.max_in_flight <= 8  # the driver sends more ahead; the actors keep to the model's limit


async def test_removing_a_worker_node_mid_run_loses_no_request(cluster: Any) -> None:
    """The worker hosting the model goes away with calls in flight: they fail as retryable `worker_lost`, the facade
    retries them on a fresh actor on the other worker, and every request ends with its answer."""
    with FaultServer(None, delay_s=0.2) as server:
        model = hosted(server, "lossy", max_concurrency=8)
        reqs = requests(64)
        run = asyncio.ensure_future(model.generate_many(reqs))
        while model.stats.calls < 16:  # a quarter done: about 8 calls are in flight on the node
            await asyncio.sleep(0.05)
        (node_id,) = await remote(model).node_ids()
        (node,) = [n for n in cluster.worker_nodes if n.node_id == node_id]
        await asyncio.to_thread(cluster.remove_node, node)
        answers = await asyncio.wait_for(run, 120)
        (survivor,) = await remote(model).node_ids()
        await model.release()
    assert [c.status for c in answers] == ["ok"] * len(reqs)
    assert [c.text for c in answers] == [expected("lossy", r) for r in reqs]
    assert model.stats.retries >= 1 and survivor != node_id  # the loss happened mid-run, the work moved
