"""The batch executor: cache misses of batch-capable models go to the provider's batch API instead of one call each.

In a batch stage (`BATCH_STAGES`) `Model.generate` hands a cache miss to `BatchCollector.submit`, which queues it
under its cache key (the batch request's `custom_id`) and waits. Once no new request has come for `idle_s` (the
stage has asked for everything it can), the queue is cut into chunks within the provider's limits and each chunk
is journaled (intent, fsynced), created, journaled again (created). Then each batch is followed: with `wait`, polled
every `poll_interval_s` until it ends, its results handed to the model's sink (price, accounting, cache for the
successes), journaled (collected), and the waiting requests answered; without `wait` the requests fail with
`BatchesPending` and the run stops `waiting`. A later process finds journaled batches still in flight and waits on
them instead of submitting their requests again; an intent without its `created` line is first looked up at the
provider (the create may have happened before a kill).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from distillscope.config import ExecutionSettings
from distillscope.errors import BackendError, ConfigError
from distillscope.execution.batch_api import NO_BATCH_API, Batchable, BatchApi, split_chunks
from distillscope.execution.batch_budget import BatchBudget, Spend
from distillscope.execution.batch_journal import BatchJournal, Chunk
from distillscope.types import Completion, GenerateRequest

log = logging.getLogger(__name__)

BATCH_STAGES = ("rse.collect", "rse.judge", "ice.replay")  # ice.fuzz needs one round per iteration: interactive
IDLE_S = 0.2  # a stage that asked nothing new for this long has queued all it can before it needs answers
POLL_RETRIES = 5  # consecutive failed status polls before the waiting requests fail (the batch stays journaled)

Sink = Callable[[str, Completion], Completion]  # the model's handler of one result: price, account, cache


def api_for(backend: Batchable) -> BatchApi:
    """The batch adapter of a batch-capable backend."""
    if backend.batch_provider == "anthropic":
        from distillscope.execution.batch_anthropic import AnthropicBatches

        return AnthropicBatches(backend)
    from distillscope.execution.batch_openai import OpenAIBatches

    return OpenAIBatches(backend)


class BatchesPending(Exception):
    """Requests wait on batches that have not ended, and the executor does not wait: the run stops `waiting`."""


class NoBatchApi(Exception):
    """The model's endpoint has no batch API (it answered a create with 404/405): call it interactively."""


@dataclass(eq=False)
class _Group:
    """The requests of one backend (model and endpoint): its adapter, its result sink and its queue."""

    backend: Batchable
    api: BatchApi
    sink: Sink
    model: str
    pending: dict[str, GenerateRequest] = field(default_factory=dict)
    estimates: dict[str, float] = field(default_factory=dict)  # queued key -> cost bound (USD, batch price)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    reconciled: bool = False
    failure: Exception | None = None  # why the journal's unconfirmed intents of this model could not be settled
    interactive: bool = False  # the endpoint has no batch API: its calls go the interactive way


class BatchCollector:
    """One run's batch executor. `active` is set by the runner for the stages that batch."""

    def __init__(
        self, journal: BatchJournal, settings: ExecutionSettings, *, budget: Spend | None = None, idle_s: float = IDLE_S
    ) -> None:
        self.journal, self.settings, self.idle_s = journal, settings, idle_s
        self.budget = BatchBudget(budget)
        self._reserved: dict[str, tuple[int, float]] = {}  # chunk -> (calls, USD) reserved until it is collected
        self.active = False
        self._groups: dict[str, _Group] = {}
        self._waiters: dict[str, list[asyncio.Future[Completion]]] = {}
        self._done: dict[str, Completion] = {}  # results handed out by this process
        self._inflight: dict[str, Chunk] = {cid: c for c in journal.in_flight() for cid in c.custom_ids}
        self._tasks: dict[str, asyncio.Task[None]] = {}  # one follower per chunk, and the flusher
        self._pended: set[str] = set()  # chunks left running without `wait`
        self._last = 0.0

    @staticmethod
    def accepts(backend: object) -> bool:
        """True for backends whose provider has a batch API (`openai:`, `anthropic:`)."""
        return isinstance(backend, Batchable)

    async def submit(
        self, backend: object, model: str, key: str, request: GenerateRequest, sink: Sink, estimate_usd: float = 0.0
    ) -> Completion:
        """The answer to `request` (cache key `key`) through a batch; failures come back as error Completions.
        `estimate_usd` bounds its cost (prompt and max_tokens at the batch price), for the budget at submission."""
        if not isinstance(backend, Batchable):
            raise TypeError(f"{type(backend).__name__} has no batch API")
        group = await self._group(backend, model, sink)
        if group.interactive:
            raise NoBatchApi(model)
        if key in self._done:
            return self._done[key]
        chunk = self._inflight.get(key)
        if chunk is not None and chunk.chunk in self._pended:
            raise BatchesPending(chunk.chunk)
        future: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        waiters = self._waiters.setdefault(key, [])
        waiters.append(future)
        if chunk is not None:
            self._start(chunk.chunk, partial(self._follow, chunk))
        elif len(waiters) == 1:
            group.pending[key], group.estimates[key] = request, estimate_usd
            self._last = asyncio.get_running_loop().time()
            self._start("flush", self._flush_when_idle)
        return await future

    def in_flight(self) -> tuple[int, int]:
        """Batches submitted and not yet collected, and their requests (for the `waiting` message)."""
        chunks = [c for c in self.journal.in_flight() if c.batch_id]
        return len(chunks), sum(c.n for c in chunks)

    async def drain(self) -> None:
        """Wait for the batches being followed, so that a run its budget stops still collects (and records the
        cost of) what it has submitted: with `wait` until they end, without it one poll each."""
        await self._flushed()  # the queue's last chunks are being created: they are paid for too
        followers = [t for name, t in self._tasks.items() if name != "flush" and not t.done()]
        if followers:
            await asyncio.wait(followers)

    async def aclose(self) -> None:
        """Stop following batches (they stay journaled; a resumed run picks them up)."""
        tasks = [t for t in self._tasks.values() if not t.done()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _start(self, name: str, factory: Callable[[], Coroutine[Any, Any, None]]) -> None:
        task = self._tasks.get(name)
        if task is None or task.done():
            self._tasks[name] = task = asyncio.ensure_future(factory())
            task.add_done_callback(self._crashed)

    def _crashed(self, task: asyncio.Task[None]) -> None:
        """An unexpected error in the flusher or a follower reaches every waiting request (none waits forever)."""
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        for futures in self._waiters.values():
            for future in futures:
                if not future.done():
                    future.set_exception(exc)  # type: ignore[arg-type]
        self._waiters.clear()

    async def _group(self, backend: Batchable, model: str, sink: Sink) -> _Group:
        group = self._groups.get(backend.identity)
        if group is None:
            group = self._groups[backend.identity] = _Group(backend, api_for(backend), sink, model)
        group.sink = sink
        async with group.lock:
            if group.failure is not None:  # looked up once: every request of the model gets the same error
                raise group.failure
            if not group.reconciled:
                try:
                    for chunk in self.journal.in_flight():
                        if chunk.identity == backend.identity and chunk.state == "intent":
                            await self._reconcile(group, chunk)
                except (BackendError, ConfigError) as exc:
                    group.failure = exc
                    raise
                group.reconciled = True
        return group

    async def _reconcile(self, group: _Group, chunk: Chunk) -> None:
        """An intent without `created`: find the batch a kill may have left uncounted, or know there is none."""
        found = await group.api.candidates(chunk, self.journal.known_batch_ids())
        if len(found) == 1:
            log.info(
                "batch %s of chunk %s found at %s (created before the run stopped)",
                found[0],
                chunk.chunk,
                chunk.provider,
            )
            self.journal.created(chunk, found[0], recovered=True)
        elif not found:
            log.info(
                "chunk %s was never created at %s; its requests will be submitted again", chunk.chunk, chunk.provider
            )
            self.journal.lost(chunk)
            for cid in chunk.custom_ids:
                self._inflight.pop(cid, None)
        else:
            raise ConfigError(_ambiguous(self.journal, chunk, found))

    async def _flush_when_idle(self) -> None:
        loop = asyncio.get_running_loop()
        while any(g.pending for g in self._groups.values()):
            wait = self._last + self.idle_s - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            for group in list(self._groups.values()):
                queued, group.pending = group.pending, {}
                if queued:
                    await self._submit_chunks(group, queued)

    async def _submit_chunks(self, group: _Group, queued: dict[str, GenerateRequest]) -> None:
        lines = [group.api.line(key, queued[key]) for key in sorted(queued)]
        for part in split_chunks(lines, group.api.max_requests, group.api.max_bytes):
            ids = [str(line["custom_id"]) for line in part]
            estimates = [group.estimates.pop(cid, 0.0) for cid in ids]
            if group.interactive:  # an earlier chunk found no batch API at this endpoint
                self._fail_waiters(ids, NoBatchApi(group.model))
                continue
            fits = self.budget.fit(estimates)
            if fits < len(ids):
                self._fail_waiters(ids[fits:], self.budget.exceeded(len(ids) - fits))
                part, ids, estimates = part[:fits], ids[:fits], estimates[:fits]
            if not ids:
                continue
            chunk = self.journal.intent(
                provider=group.api.provider, identity=group.backend.identity, model=group.model, custom_ids=ids
            )
            self._reserved[chunk.chunk] = (len(ids), sum(estimates))
            self.budget.reserve(*self._reserved[chunk.chunk])
            for cid in ids:
                self._inflight[cid] = chunk
            try:
                batch_id = await group.api.create(part, chunk)
            except BackendError as exc:
                self._create_failed(group, chunk, exc)
                continue
            except Exception as exc:  # an SDK surprise: whether the batch exists is unknown, as after a lost reply
                error = BackendError(f"{group.backend.identity}: batch create: {type(exc).__name__}", retryable=True)
                self._create_failed(group, chunk, error)
                continue
            self.journal.created(chunk, batch_id)
            log.info("submitted batch %s: %d requests of %s", batch_id, len(ids), group.model)
            self._start(chunk.chunk, partial(self._follow, chunk))

    def _create_failed(self, group: _Group, chunk: Chunk, exc: BackendError) -> None:
        """A refused create (4xx) is journaled `rejected`; after any other failure the batch may exist, so its
        requests are not submitted again by this process, and resume looks for it first."""
        self.budget.release(*self._reserved.pop(chunk.chunk, (0, 0.0)))
        if exc.kind == NO_BATCH_API:
            self._no_batch_api(group, chunk, exc)
            return
        if exc.retryable:
            message = f"{exc}; the batch may exist: `distillscope resume` looks for it before submitting again"
        else:
            message = str(exc)
            self.journal.rejected(chunk, message)
            for cid in chunk.custom_ids:
                self._inflight.pop(cid, None)
        log.warning("batch of %d requests of %s not submitted: %s", chunk.n, group.model, message)
        for cid in chunk.custom_ids:
            self._answer(cid, group.sink(cid, Completion.failure(message, "batch")))

    def _no_batch_api(self, group: _Group, chunk: Chunk, exc: BackendError) -> None:
        """An endpoint without batch routes (vLLM, a local server): its requests go back to the interactive path."""
        self.journal.rejected(chunk, str(exc))
        group.interactive = True
        log.warning("%s: %s; its calls go interactively", group.model, exc)
        for cid in chunk.custom_ids:
            self._inflight.pop(cid, None)
        self._fail_waiters(chunk.custom_ids, NoBatchApi(group.model))

    async def _follow(self, chunk: Chunk) -> None:
        group, batch_id = self._groups[chunk.identity], str(chunk.batch_id)
        try:
            while not await self._ended(group, batch_id):
                if not self.settings.wait:
                    await self._flushed()  # stop the run only once every queued request has been submitted
                    self._pend(chunk)
                    return
                await asyncio.sleep(self.settings.poll_interval_s)
            results = await group.api.results(batch_id)
        except BackendError as exc:
            self._follow_failed(group, chunk, exc)
            return
        self._collect(group, chunk, results)

    def _follow_failed(self, group: _Group, chunk: Chunk, exc: BackendError) -> None:
        """Polling or fetching failed. A batch the provider does not know (404) is journaled `lost`, so that a
        resumed run submits its requests again; any other batch stays in flight for a resumed run to poll."""
        if exc.kind == NO_BATCH_API:
            self.journal.lost(chunk)
            for cid in chunk.custom_ids:
                self._inflight.pop(cid, None)
            why = f"{exc}; resume submits these requests again"
        else:
            why = f"{exc}; resume to collect it"
        for cid in chunk.custom_ids:
            self._answer(cid, group.sink(cid, Completion.failure(why, "batch")))

    async def _flushed(self) -> None:
        flusher = self._tasks.get("flush")
        if flusher is not None and not flusher.done():
            await asyncio.wait({flusher})

    async def _ended(self, group: _Group, batch_id: str) -> bool:
        for attempt in range(1, POLL_RETRIES + 1):
            try:
                return await group.api.ended(batch_id)
            except BackendError as exc:
                if not exc.retryable or attempt == POLL_RETRIES:
                    raise
                log.warning("polling batch %s failed (%s); again in %gs", batch_id, exc, self.settings.poll_interval_s)
                await asyncio.sleep(self.settings.poll_interval_s)
        raise AssertionError("unreachable")

    def _collect(self, group: _Group, chunk: Chunk, results: dict[str, Completion]) -> None:
        """Hand every result to the sink (successes are cached there), journal the batch collected, answer."""
        missing = Completion.failure(
            f"{group.backend.identity}: batch {chunk.batch_id} ended without this result", "batch"
        )
        done = {cid: group.sink(cid, results.get(cid) or missing) for cid in chunk.custom_ids}
        ok = sum(c.ok for c in done.values())
        self.budget.release(*self._reserved.pop(chunk.chunk, (0, 0.0)))  # the sink has counted the real cost
        self.journal.collected(chunk, ok=ok, failed=len(done) - ok)
        log.info("collected batch %s: %d ok, %d failed", chunk.batch_id, ok, len(done) - ok)
        for cid, completion in done.items():
            self._inflight.pop(cid, None)
            self._answer(cid, completion)

    def _answer(self, cid: str, completion: Completion) -> None:
        self._done[cid] = completion
        for future in self._waiters.pop(cid, []):
            if not future.done():
                future.set_result(completion)

    def _pend(self, chunk: Chunk) -> None:
        self._pended.add(chunk.chunk)
        self._fail_waiters(chunk.custom_ids, BatchesPending(chunk.chunk))

    def _fail_waiters(self, custom_ids: list[str], exc: Exception) -> None:
        for cid in custom_ids:
            for future in self._waiters.pop(cid, []):
                if not future.done():
                    future.set_exception(exc)


def _ambiguous(journal: BatchJournal, chunk: Chunk, found: list[str]) -> str:
    """The error for an intent that several batches at the provider could belong to (nothing is resubmitted)."""
    return (
        f"{journal.path}: chunk {chunk.chunk} ({chunk.n} requests of {chunk.model}) was being submitted when the run "
        f"stopped, and {len(found)} batches at {chunk.provider} could be it ({', '.join(found)}); check them in the "
        f'provider\'s console: if one is this run\'s, append {{"event": "created", "chunk": "{chunk.chunk}", '
        f'"batch_id": "ID"}} to the journal, else {{"event": "lost", "chunk": "{chunk.chunk}"}}; then resume'
    )
