"""`RemoteBackend`: the driver's side of a model whose backend runs in Ray actors (`ray_host.BackendHost`).

It implements the `Backend` protocol, so the model keeps its `Model` facade on the driver: the cache (one writer),
budget, rate limit, retries and accounting stay there. Requests are micro-batched (all those made in one turn of
the event loop, at most `MAX_BATCH`) into one actor call, whose answers stream back one by one as they finish;
`replicas: k` gives k actors used round-robin. A lost
actor or node fails only what it had in flight, as a retryable `worker_lost` error: the facade retries it on a
fresh actor. `identity` is fetched once from the first actor, so cache keys equal those of a local run.

Actors hold scarce resources (a GPU), so they are let go when not needed: `release()` ends them (the run does it
after every stage; the next call starts them again), and `ActorBroker` ends idle ones while another model's actor
waits for resources, which lets 50 models pass through fewer GPUs within one stage.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import Any

from distillscope.backends.base import BackendOptions
from distillscope.config import ModelEntry
from distillscope.errors import BackendError, DistillscopeError
from distillscope.execution.ray_host import BackendHost, WireError
from distillscope.execution.ray_support import require_ray, worker_lost_errors
from distillscope.types import Completion, GenerateRequest

log = logging.getLogger(__name__)

MAX_BATCH = 64  # requests per actor call
PIPELINE = 2  # requests on their way per request running (see `driver_concurrency`)
EVICT_AFTER_S = 1.0  # a model waiting this long for actors the cluster has no room for ends others' idle actors
EVICT_ANYWAY_S = 10.0  # ... and after this long even when the room seems free (it may be split across nodes)

Pending = tuple[GenerateRequest, "asyncio.Future[Completion]"]


class ActorBroker:
    """The remote backends of one model pool, so that a model waiting for resources can free idle actors."""

    def __init__(self) -> None:
        self.backends: list[RemoteBackend] = []

    def evict_idle(self, waiting: RemoteBackend) -> None:
        for b in self.backends:
            if b is not waiting and b.idle_for() >= EVICT_AFTER_S:
                log.info("%s: releasing idle actors while %s waits for resources", b.name, waiting.name)
                b.release_now()


class RemoteBackend:
    """A model's backend in `entry.replicas` Ray actors, with the entry's `num_cpus`, `num_gpus` and `resources`."""

    def __init__(self, entry: ModelEntry, options: BackendOptions, broker: ActorBroker) -> None:
        self._ray = require_ray()
        self._lost = worker_lost_errors()
        self.name, self.spec, self.options, self.broker = entry.name, entry.spec, options, broker
        per_replica = max(1, -(-entry.max_concurrency // entry.replicas))
        self._host = _host_class().options(**_actor_options(entry, per_replica))
        self._concurrency = per_replica
        # Calls the driver lets be on their way: twice what the actors run at once, so that the next requests wait
        # in an actor (not one Ray round trip away) when a call ends. The backend still sees `max_concurrency`.
        self.driver_concurrency = PIPELINE * entry.max_concurrency
        self._demand = {"CPU": entry.num_cpus, "GPU": entry.num_gpus, **entry.resources}
        self._actors: list[Any | None] = [None] * entry.replicas
        self._identity: str | None = None
        self._secrets: tuple[str, ...] = ()
        self._queue: list[Pending] = []
        self._flush_scheduled = False
        self._next = 0
        self._in_flight = 0  # calls queued or sent, and callers waiting in start(): never evicted while > 0
        self._last_used = time.monotonic()
        self._tasks: set[asyncio.Task[None]] = set()
        self._start_lock: asyncio.Lock | None = None
        broker.backends.append(self)

    @property
    def identity(self) -> str:
        """The hosted backend's identity; known once `start()` ran (the `Model` facade starts before any lookup)."""
        return self._identity or f"{self.spec} (Ray actor not started)"

    @property
    def secrets(self) -> tuple[str, ...]:
        """The hosted backend's secrets (known once started), so the facade scrubs them from answers."""
        return self._secrets

    async def start(self) -> None:
        """Start the actors that are not running and learn the identity; returns at once when all run.

        Outside the facade's timeout and concurrency limit: waiting for a GPU is not a slow call."""
        self._last_used = time.monotonic()
        if self._running():
            return
        self._start_lock = self._start_lock or asyncio.Lock()
        self._in_flight += 1
        try:
            async with self._start_lock:
                if not self._running():
                    await self._start_actors()
        finally:
            self._in_flight -= 1

    def _running(self) -> bool:
        return self._identity is not None and all(a is not None for a in self._actors)

    async def _start_actors(self) -> None:
        refs = [self._actor(i).describe.remote() for i in range(len(self._actors))]
        described = await self._wait_started(refs)
        if self._identity is None:
            self._identity, self._secrets = described[0]
            log.info("%s: %d Ray actor(s) serve %s", self.name, len(self._actors), self._identity)

    async def generate(self, request: GenerateRequest) -> Completion:
        """Queue the request for the next micro-batch and wait for its answer."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Completion] = loop.create_future()
        self._in_flight += 1
        try:
            self._queue.append((request, future))
            if len(self._queue) >= MAX_BATCH:
                self._flush()
            elif not self._flush_scheduled:
                self._flush_scheduled = True
                loop.call_soon(self._flush)
            return await future
        finally:
            self._in_flight -= 1
            self._last_used = time.monotonic()

    @property
    def live_actors(self) -> int:
        """How many of this model's actors are started (or starting)."""
        return sum(a is not None for a in self._actors)

    def idle_for(self) -> float:
        """Seconds since the last call ended, while actors run and none is in flight; 0 otherwise."""
        if self._in_flight or all(a is None for a in self._actors):
            return 0.0
        return time.monotonic() - self._last_used

    def release_now(self) -> None:
        """End this model's actors (calls in flight fail as `worker_lost`); the next call starts new ones."""
        for i, actor in enumerate(self._actors):
            if actor is not None:
                self._ray.kill(actor, no_restart=True)
                self._actors[i] = None

    async def release(self) -> None:
        self.release_now()

    async def node_ids(self) -> list[str]:
        """The nodes the running actors are on."""
        return [await a.node_id.remote() for a in self._actors if a is not None]

    def _actor(self, i: int) -> Any:
        actor = self._actors[i]
        if actor is None:
            actor = self._actors[i] = self._host.remote(self.spec, self.options, self._concurrency)
        return actor

    async def _wait_started(self, refs: list[Any]) -> list[tuple[str, tuple[str, ...]]]:
        futures = [asyncio.wrap_future(r.future()) for r in refs]
        waited = 0.0
        while True:
            _, pending = await asyncio.wait(futures, timeout=EVICT_AFTER_S)
            if not pending:
                break
            waited += EVICT_AFTER_S
            if waited >= EVICT_ANYWAY_S or not self._fits(self._ray.available_resources()):
                self.broker.evict_idle(self)
        try:
            return [f.result() for f in futures]
        except self._lost as exc:
            self.release_now()
            raise DistillscopeError(f"model {self.name}: its Ray actor did not start: {_cause(exc)}") from None

    def _fits(self, available: dict[str, float]) -> bool:
        """Whether the cluster has room for one more of this model's actors (a slow start is then no shortage)."""
        return all(available.get(k, 0.0) >= v for k, v in self._demand.items() if v > 0)

    def _flush(self) -> None:
        self._flush_scheduled = False
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            slot, self._next = self._next, (self._next + 1) % len(self._actors)
            task = asyncio.get_running_loop().create_task(self._send(slot, batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send(self, slot: int, batch: list[Pending]) -> None:
        """One actor call for the batch; each answer is handed to its caller as soon as it streams back."""
        actor = self._actor(slot)
        try:
            async for ref in actor.generate_stream.remote([r for r, _ in batch]):
                for i, result in await ref:
                    _settle_one(batch[i][1], result.error() if isinstance(result, WireError) else result)
        except self._lost as exc:
            if self._actors[slot] is actor:  # the next call on this slot starts a fresh actor
                self._actors[slot] = None
            log.info("%s: Ray worker lost with requests in flight: %s", self.name, _cause(exc))
            err = BackendError(f"Ray worker lost: {_cause(exc)}", retryable=True, kind="worker_lost")
            for _, future in batch:
                _settle_one(future, err)
        except Exception as exc:  # a bug in the backend: raised to the caller, as it would be in one process
            for _, future in batch:
                _settle_one(future, exc)


@functools.cache
def _host_class() -> Any:
    """`BackendHost` as a Ray actor class, made once per process (Ray exports each made class to the cluster)."""
    return require_ray().remote(BackendHost)


def _settle_one(future: asyncio.Future[Completion], outcome: Completion | BaseException) -> None:
    if future.done():  # answered already, or the caller gave up (a timeout)
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


def _actor_options(entry: ModelEntry, concurrency: int) -> dict[str, Any]:
    options: dict[str, Any] = {
        "num_cpus": entry.num_cpus,
        "num_gpus": entry.num_gpus,
        # Ray's limit counts open calls, not requests: a batch's call stays open until its last answer has gone,
        # so leave room for the next batches (the actor's own semaphore keeps to the model's limit).
        "max_concurrency": 2 * concurrency + 4,
        "max_restarts": 0,  # a lost actor is replaced by the driver, which knows what it had in flight
    }
    if entry.resources:
        options["resources"] = dict(entry.resources)
    if entry.replicas > 1:
        options["scheduling_strategy"] = "SPREAD"  # replicas on different nodes where there is room
    return options


def _cause(exc: BaseException) -> str:
    """The gist of a Ray error: its last meaningful line (Ray's messages hold whole tracebacks)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line.split(":", 1)[0]]
    return (errors or lines or [type(exc).__name__])[-1][:300]
