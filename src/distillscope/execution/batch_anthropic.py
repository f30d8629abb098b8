"""Anthropic's Message Batches: `messages.batches.create(requests=[{custom_id, params}])`.

A Message Batch has no metadata, so resume finds a batch whose `created` line a kill prevented by its creation
time (after the intent's) and request count, and, once it has ended, by the custom ids of its results."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from distillscope.execution.batch_api import CLOCK_SKEW_S, Batchable, guarded
from distillscope.execution.batch_journal import Chunk
from distillscope.types import Completion, GenerateRequest

T = TypeVar("T")


class AnthropicBatches:
    """Message Batches behind one `anthropic:` backend."""

    provider = "anthropic"
    max_requests = 100_000
    max_bytes = 256 * 1024 * 1024

    def __init__(self, backend: Batchable) -> None:
        import anthropic

        self.backend, self._sdk = backend, anthropic

    def _guard(self, what: str, call: Awaitable[T]) -> Awaitable[T]:
        return guarded(self._sdk, f"{self.backend.identity}: {what}", call, self.backend.secrets)

    def line(self, custom_id: str, request: GenerateRequest) -> dict[str, Any]:
        return {"custom_id": custom_id, "params": self.backend.batch_params(request)}

    async def create(self, lines: list[dict[str, Any]], chunk: Chunk) -> str:
        batch = await self._guard("batch create", self.backend.client().messages.batches.create(requests=lines))
        return str(batch.id)

    async def ended(self, batch_id: str) -> bool:
        batch = await self._guard("batch status", self.backend.client().messages.batches.retrieve(batch_id))
        return bool(batch.processing_status == "ended")

    async def results(self, batch_id: str) -> dict[str, Completion]:
        """Every result of an ended batch (they come unordered; keyed by custom_id)."""
        return await self._guard("batch results", self._results(batch_id))

    async def _results(self, batch_id: str) -> dict[str, Completion]:
        out = {}
        async for row in await self.backend.client().messages.batches.results(batch_id):
            out[str(row.custom_id)] = self._result(row.result)
        return out

    def _result(self, result: Any) -> Completion:
        if result.type == "succeeded":
            return self.backend.batch_completion(result.message)
        if result.type == "errored":
            error = getattr(result.error, "error", None)
            detail = f"{getattr(error, 'type', 'error')}: {getattr(error, 'message', '')}"
            return Completion.failure(f"{self.backend.identity}: batch request errored ({detail})", "batch")
        return Completion.failure(f"{self.backend.identity}: batch request {result.type}", "batch")

    async def candidates(self, chunk: Chunk, exclude: set[str]) -> list[str]:
        """Batches created since the intent with its request count; ended ones only when their ids match."""
        return await self._guard("batch list", self._matching(chunk, exclude))

    async def _matching(self, chunk: Chunk, exclude: set[str]) -> list[str]:
        found = []
        async for batch in self.backend.client().messages.batches.list(limit=100):
            if batch.created_at.timestamp() < chunk.time - CLOCK_SKEW_S:
                break
            counts = batch.request_counts
            total = counts.processing + counts.succeeded + counts.errored + counts.canceled + counts.expired
            if batch.id in exclude or total != chunk.n:
                continue
            if batch.processing_status != "ended" or set(await self._results(batch.id)) == set(chunk.custom_ids):
                found.append(str(batch.id))
        return found
