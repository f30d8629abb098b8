"""The Model facade: cache -> budget -> rate limit -> retry -> backend, for every backend alike."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from distillscope.backends.base import Backend, HoldsSecrets, Hosted
from distillscope.cache import ResponseCache, cache_key
from distillscope.config import ExecutionSettings, ExperimentConfig, ModelEntry, placement_of
from distillscope.errors import BackendError, BudgetExceededError
from distillscope.execution.batch_collector import BatchCollector, NoBatchApi
from distillscope.logsetup import redact
from distillscope.pricing import FREE, Price, batch_price, load_price_table, price_for_spec
from distillscope.reasoning import split_reasoning
from distillscope.registry import BackendOptions, resolve_backend
from distillscope.types import Completion, GenerateRequest

if TYPE_CHECKING:
    from distillscope.execution.remote import ActorBroker

log = logging.getLogger(__name__)
BATCH_MAX_TOKENS_GUESS = 4096  # the output bound of a batched request that sets no max_tokens (budget estimate)


@dataclass(frozen=True, kw_only=True)
class ModelLimits:
    """Per-model concurrency, rate, timeout and retry settings. `None` means unlimited."""

    max_concurrency: int = 8
    requests_per_minute: float | None = None
    timeout_s: float | None = 300.0
    max_retries: int = 5
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0


@dataclass(kw_only=True)
class ModelStats:
    """Counters of one Model: backend calls made, cache hits, errors, retries, tokens and cost."""

    calls: int = 0
    cache_hits: int = 0
    errors: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    def as_dict(self) -> dict[str, float | int]:
        return dict(self.__dict__)


@dataclass(kw_only=True)
class Budget:
    """Caps shared by several models of a run; checked before every backend call (not cache hits)."""

    max_calls: int | None = None
    max_usd: float | None = None
    calls: int = 0
    cost_usd: float = 0.0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    def check(self) -> None:
        if self.max_calls is not None and self.calls >= self.max_calls:
            raise BudgetExceededError(
                f"call budget of {self.max_calls} reached; raise max_calls and resume to continue"
            )
        if self.max_usd is not None and self.cost_usd >= self.max_usd:
            raise BudgetExceededError(
                f"cost budget of ${self.max_usd:.2f} reached (${self.cost_usd:.2f} spent); raise max_usd and resume"
            )


class RateLimiter:
    """Spaces call starts evenly so that at most `per_minute` start in any minute."""

    def __init__(self, per_minute: float) -> None:
        self._interval = 60.0 / per_minute
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            now = time.monotonic()
            wait = self._next - now
            self._next = max(now, self._next) + self._interval
        if wait > 0:
            await asyncio.sleep(wait)


class Model:
    """A model behind any backend, with caching, limits, retries and accounting added once."""

    def __init__(
        self,
        backend: Backend,
        *,
        spec: str | None = None,
        cache: ResponseCache | None = None,
        limits: ModelLimits | None = None,
        price: Price | None = None,
        budget: Budget | None = None,
    ) -> None:
        self.backend = backend
        self.spec = spec or backend.identity
        self.cache = cache
        self.limits = limits or ModelLimits()
        self.price = price or FREE
        self.budget = budget
        self.stats = ModelStats()
        self._secrets = _secrets_of(backend)
        self.fingerprints: set[str] = set()  # system fingerprints the API reported (for the run manifest)
        self.rng = random.Random()  # jitter only; never affects outputs
        self._semaphore: asyncio.Semaphore | None = None
        self._limiter = RateLimiter(self.limits.requests_per_minute) if self.limits.requests_per_minute else None
        self.batcher: BatchCollector | None = None  # set by the pool under `--executor batch` for batchable backends
        self._hosted = backend if isinstance(backend, Hosted) else None

    @property
    def identity(self) -> str:
        return self.backend.identity

    async def generate(self, request: GenerateRequest) -> Completion:
        """Answer one request. Backend failures come back as `Completion(status="error")`."""
        if self._hosted is not None:  # a Ray-hosted backend learns its identity (the cache key's) from its actor
            await self._hosted.start()
            self._secrets = _secrets_of(self.backend)
        key = cache_key(self.identity, request) if self.cache is not None else ""
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                self.stats.cache_hits += 1
                return self._scrub(hit)  # also entries stored before answers were scrubbed
        if self.budget is not None:
            self.budget.check()
        if self.batcher is not None and self.batcher.active:
            # No semaphore, rate limit or timeout: the provider schedules a batch, which may take up to 24 h.
            key = key or cache_key(self.identity, request)
            try:
                return await self.batcher.submit(
                    self.backend, self.spec, key, request, self._batch_result, self._batch_estimate(request)
                )
            except NoBatchApi:
                pass  # the endpoint has no batch API (a local vLLM server, say): the call goes the interactive way
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.limits.max_concurrency)
        async with self._semaphore:
            completion = self._scrub(await self._call_with_retries(request))
        self._account(completion)
        if self.cache is not None:
            self.cache.put(key, self.identity, completion)
        return completion

    async def release(self) -> None:
        """Free what a hosted backend holds (its Ray actors); a later call takes it again. No-op otherwise."""
        if self._hosted is not None:
            await self._hosted.release()

    async def generate_many(
        self,
        requests: Sequence[GenerateRequest],
        progress: Callable[[Completion], None] | None = None,
    ) -> list[Completion]:
        """Answer many requests concurrently; results are in input order."""

        async def one(req: GenerateRequest) -> Completion:
            c = await self.generate(req)
            if progress is not None:
                progress(c)
            return c

        return list(await asyncio.gather(*(one(r) for r in requests)))

    async def _call_with_retries(self, request: GenerateRequest) -> Completion:
        attempt = 0
        while True:
            attempt += 1
            if self._limiter is not None:
                await self._limiter.acquire()
            started = time.monotonic()
            try:
                # asyncio.timeout, not wait_for: wait_for wraps every call in an extra Task (hot path)
                async with asyncio.timeout(self.limits.timeout_s):
                    raw = await self.backend.generate(request)
                return self._finish(raw, time.monotonic() - started, attempt)
            except TimeoutError:
                err = BackendError(f"no answer within {self.limits.timeout_s}s", retryable=True, kind="timeout")
            except BackendError as exc:
                err = exc
            if not err.retryable or attempt > self.limits.max_retries:
                log.info("%s: call failed after %d attempt(s): %s", self.spec, attempt, err)
                return Completion.failure(str(err), err.kind, attempts=attempt)
            self.stats.retries += 1
            delay = self._backoff(attempt, err.retry_after)
            log.info("%s: %s; retry %d in %.1fs", self.spec, err, attempt, delay)
            await asyncio.sleep(delay)

    def _scrub(self, c: Completion) -> Completion:
        """`c` with the backend's secrets (its API key) replaced by `***` in the answer, reasoning and error."""
        secrets = self._secrets
        if not secrets:
            return c
        return c.with_(
            text=redact(c.text, secrets),
            error=c.error and redact(c.error, secrets),
            reasoning=c.reasoning and redact(c.reasoning, secrets),
        )

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Jittered exponential backoff; a server's Retry-After is a floor."""
        exp = min(self.limits.backoff_max_s, self.limits.backoff_base_s * 2 ** (attempt - 1))
        delay = float(exp * (0.5 + 0.5 * self.rng.random()))
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.limits.backoff_max_s))
        return delay

    def _batch_estimate(self, request: GenerateRequest) -> float:
        """At most what a batched call costs: its prompt (4 characters a token) and max_tokens, at the batch price."""
        chars = sum(len(m.content) for m in request.messages)
        out = request.params.max_tokens or BATCH_MAX_TOKENS_GUESS
        return batch_price(self.price).cost(chars // 4 + 1, out)

    def _batch_result(self, key: str, raw: Completion) -> Completion:
        """One result of a provider batch, finished like an answer (at the batch price), counted, and cached if ok."""
        completion = self._scrub(self._finish(raw, 0.0, 1, price=batch_price(self.price)))
        self._account(completion)
        if self.cache is not None:
            self.cache.put(key, self.identity, completion)
        return completion

    def _finish(self, raw: Completion, latency: float, attempts: int, *, price: Price | None = None) -> Completion:
        if not raw.ok:
            return raw.with_(latency_s=latency, attempts=attempts)
        text, reasoning = raw.text, raw.reasoning
        if reasoning is None:
            text, reasoning = split_reasoning(text)
        cost = (price or self.price).cost(raw.usage.prompt_tokens, raw.usage.completion_tokens)
        return raw.with_(text=text, reasoning=reasoning, latency_s=latency, attempts=attempts, cost_usd=cost)

    def _account(self, c: Completion) -> None:
        if c.system_fingerprint:
            self.fingerprints.add(c.system_fingerprint)
        self.stats.calls += 1
        self.stats.errors += 0 if c.ok else 1
        self.stats.prompt_tokens += c.usage.prompt_tokens
        self.stats.completion_tokens += c.usage.completion_tokens
        self.stats.cost_usd += c.cost_usd
        if self.budget is not None:
            self.budget.calls += 1
            self.budget.cost_usd += c.cost_usd


def _secrets_of(backend: Backend) -> list[str]:
    return [v for v in backend.secrets if v] if isinstance(backend, HoldsSecrets) else []


def get_model(
    spec: str,
    *,
    options: BackendOptions | None = None,
    cache: ResponseCache | None = None,
    limits: ModelLimits | None = None,
    price: Price | None = None,
    budget: Budget | None = None,
) -> Model:
    """Resolve a spec to a backend and wrap it in a Model; API models get a price from the table."""
    if price is None:
        price = price_for_spec(spec, load_price_table())
    backend = resolve_backend(spec, options)
    return Model(backend, spec=spec, cache=cache, limits=limits, price=price, budget=budget)


def backend_options(e: ModelEntry) -> BackendOptions:
    """The provider options a config entry sets (endpoint, key variable, vLLM engine settings)."""
    return BackendOptions(
        base_url=e.base_url,
        api_key_env=e.api_key_env,
        tensor_parallel_size=e.tensor_parallel_size,
        gpu_memory_utilization=e.gpu_memory_utilization,
        max_model_len=e.max_model_len,
    )


class ModelPool:
    """Builds each model once (shared cache, budget and prices) and tallies usage per model.

    A name of one of `entries` gets that entry's endpoint and limits; anything else is taken as a bare spec."""

    def __init__(
        self,
        entries: Sequence[ModelEntry],
        *,
        prices: dict[str, Price] | None = None,
        cache: ResponseCache | None = None,
        budget: Budget | None = None,
        execution: ExecutionSettings | None = None,
    ) -> None:
        self.entries = {e.name: e for e in entries}
        self.cache, self.budget = cache, budget
        self.execution = execution or ExecutionSettings()
        self._prices = load_price_table() if prices is None else prices
        self._models: dict[str, Model] = {}
        self.batcher: BatchCollector | None = None  # the run's batch executor (`--executor batch`), set by the runner
        self._broker: ActorBroker | None = None  # the Ray-hosted models' shared view (see execution.remote)

    @classmethod
    def for_config(cls, cfg: ExperimentConfig, cache: ResponseCache | None, budget: Budget | None) -> ModelPool:
        """The pool of an experiment: its models, its price table."""
        return cls(cfg.all_models(), prices=cfg.price_table(), cache=cache, budget=budget, execution=cfg.execution)

    def get(self, name_or_spec: str) -> Model:
        entry = self.entries.get(name_or_spec) or ModelEntry(name=name_or_spec, spec=name_or_spec)
        if entry.name not in self._models:
            self._models[entry.name] = self._build(entry)
        return self._models[entry.name]

    def _build(self, e: ModelEntry) -> Model:
        backend = self._backend(e, backend_options(e))
        limits = ModelLimits(
            # A Ray-hosted backend keeps to `max_concurrency` in its actors; the driver may have more on the way
            max_concurrency=getattr(backend, "driver_concurrency", e.max_concurrency),
            requests_per_minute=e.requests_per_minute,
            timeout_s=e.timeout_s,
            max_retries=e.max_retries,
            backoff_base_s=e.retry_backoff_s,
        )
        model = Model(
            backend,
            spec=e.name,
            cache=self.cache,
            limits=limits,
            price=price_for_spec(e.spec, self._prices) or FREE,
            budget=self.budget,
        )
        if self.batcher is not None and self.batcher.accepts(backend):
            model.batcher = self.batcher
        return model

    def _backend(self, e: ModelEntry, options: BackendOptions) -> Backend:
        """The entry's backend: built here, or hosted in Ray actors when the executor places it on ray."""
        if placement_of(e, self.execution.executor) != "ray":
            return resolve_backend(e.spec, options)
        from distillscope.execution.remote import ActorBroker, RemoteBackend

        self._broker = self._broker or ActorBroker()
        return RemoteBackend(e, options, self._broker)

    async def release(self, name: str) -> None:
        """Free what model `name` holds outside this process (its Ray actors); it is taken again when next used."""
        if name in self._models:
            await self._models[name].release()

    async def release_all(self, keep: Collection[str] = ()) -> None:
        """Free the Ray actors of every model but those named in `keep` (the runner does it after each stage)."""
        for name in list(self._models):
            if name not in keep:
                await self.release(name)

    async def aclose(self) -> None:
        """Close the HTTP clients the models opened on the running event loop. The runner calls it last, once the
        batch executor has stopped: a client left open is closed later by the garbage collector, on a loop that has
        ended ("Task exception was never retrieved ... Event loop is closed")."""
        for model in self._models.values():
            close = getattr(model.backend, "aclose", None)
            if close is not None:
                await close()

    def totals(self) -> ModelStats:
        total = ModelStats()
        for m in self._models.values():
            for k, v in m.stats.as_dict().items():
                setattr(total, k, getattr(total, k) + v)
        return total

    def per_model(self) -> dict[str, ModelStats]:
        """A copy of each built model's counters so far."""
        return {name: replace(m.stats) for name, m in self._models.items()}

    def identities(self) -> dict[str, dict[str, Any]]:
        """Backend identity and the system fingerprints seen, per model (for the manifest)."""
        return {
            name: {"identity": m.identity, "system_fingerprints": sorted(m.fingerprints)}
            for name, m in sorted(self._models.items())
        }
