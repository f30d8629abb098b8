"""The Ray actor that hosts one model's backend on a worker.

It builds the backend there with `resolve_backend` (so weights load on the worker's CPU/GPU) and answers lists
of requests: the driver sends micro-batches, one Ray call each, because a Ray call per request costs more than
a short HTTP request (see reference notes); answers stream back as they finish. Backend failures come back as
`WireError` values, not exceptions, so that `retryable`, `retry_after` and `kind` survive the trip and Ray logs
no traceback for an ordinary API error.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from distillscope.backends.base import BackendOptions, HoldsSecrets
from distillscope.errors import BackendError
from distillscope.registry import resolve_backend
from distillscope.types import Completion, GenerateRequest


@dataclass(frozen=True, slots=True)
class WireError:
    """A `BackendError` as a plain value (its keyword fields do not survive pickling as an exception)."""

    message: str
    retryable: bool
    retry_after: float | None
    kind: str

    @staticmethod
    def of(exc: BackendError) -> WireError:
        return WireError(str(exc), exc.retryable, exc.retry_after, exc.kind)

    def error(self) -> BackendError:
        return BackendError(self.message, retryable=self.retryable, retry_after=self.retry_after, kind=self.kind)


class BackendHost:
    """One replica of a model: its backend, and at most `concurrency` of its calls at a time."""

    def __init__(self, spec: str, options: BackendOptions, concurrency: int) -> None:
        self.backend = resolve_backend(spec, options)
        self._concurrency = concurrency
        self._semaphore: asyncio.Semaphore | None = None

    async def describe(self) -> tuple[str, tuple[str, ...]]:
        """The backend's identity and its secrets (an API key), which the driver's facade scrubs from answers."""
        secrets = self.backend.secrets if isinstance(self.backend, HoldsSecrets) else ()
        return self.backend.identity, tuple(secrets)

    async def node_id(self) -> str:
        """The Ray node this replica runs on (for tests and logs)."""
        import ray

        return str(ray.get_runtime_context().get_node_id())

    async def generate_stream(
        self, requests: list[GenerateRequest]
    ) -> AsyncIterator[list[tuple[int, Completion | WireError]]]:
        """Answer every request concurrently (within this replica's limit), yielding the (index, result) pairs that
        are ready each time some end: a slow answer holds back no other, and answers that end together travel
        together (a Ray streaming generator: each item costs a round trip)."""
        pending = {asyncio.ensure_future(self._indexed(i, r)) for i, r in enumerate(requests)}
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            yield [task.result() for task in done]

    async def _indexed(self, i: int, request: GenerateRequest) -> tuple[int, Completion | WireError]:
        return i, await self._one(request)

    async def _one(self, request: GenerateRequest) -> Completion | WireError:
        if self._semaphore is None:  # made on the actor's event loop
            self._semaphore = asyncio.Semaphore(self._concurrency)
        async with self._semaphore:
            try:
                return await self.backend.generate(request)
            except BackendError as exc:
                return WireError.of(exc)
