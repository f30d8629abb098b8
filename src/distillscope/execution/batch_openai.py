"""OpenAI's Batch API: a JSONL input file (`files.create(purpose="batch")`), then `batches.create`.

The batch's metadata carries the chunk's sha and round, so resume finds a batch whose `created` line a kill
prevented. Results come in an output file (successes) and an error file (failures), both keyed by custom_id."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Any, TypeVar

from distillscope.execution.batch_api import CLOCK_SKEW_S, Batchable, guarded
from distillscope.execution.batch_journal import Chunk
from distillscope.types import Completion, GenerateRequest

T = TypeVar("T")

ENDPOINT = "/v1/chat/completions"
ENDED = frozenset({"completed", "failed", "expired", "cancelled"})


class OpenAIBatches:
    """The Batch API behind one `openai:` backend."""

    provider = "openai"
    max_requests = 50_000
    max_bytes = 200 * 1024 * 1024

    def __init__(self, backend: Batchable) -> None:
        import openai

        self.backend, self._sdk = backend, openai

    def _guard(self, what: str, call: Awaitable[T]) -> Awaitable[T]:
        return guarded(self._sdk, f"{self.backend.identity}: {what}", call, self.backend.secrets)

    def line(self, custom_id: str, request: GenerateRequest) -> dict[str, Any]:
        body = self.backend.batch_params(request)
        return {"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": body}

    async def create(self, lines: list[dict[str, Any]], chunk: Chunk) -> str:
        client = self.backend.client()
        data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()
        upload = await self._guard(
            "batch input upload", client.files.create(file=("batch.jsonl", data), purpose="batch")
        )
        batch = await self._guard(
            "batch create",
            client.batches.create(
                input_file_id=upload.id, endpoint=ENDPOINT, completion_window="24h", metadata=chunk.metadata()
            ),
        )
        return str(batch.id)

    async def ended(self, batch_id: str) -> bool:
        batch = await self._guard("batch status", self.backend.client().batches.retrieve(batch_id))
        return batch.status in ENDED

    async def results(self, batch_id: str) -> dict[str, Completion]:
        """Every result of an ended batch; requests it has none for are left out (the collector fails them)."""
        batch = await self._guard("batch status", self.backend.client().batches.retrieve(batch_id))
        out: dict[str, Completion] = {}
        for file_id in (batch.output_file_id, batch.error_file_id):
            if file_id:
                out |= self._read(await self._download(file_id))
        return out

    async def _download(self, file_id: str) -> str:
        content = await self._guard("batch results download", self.backend.client().files.content(file_id))
        return str(content.text)

    def _read(self, text: str) -> dict[str, Completion]:
        out = {}
        for raw in text.splitlines():
            if raw.strip():
                row = json.loads(raw)
                out[str(row["custom_id"])] = self._result(row)
        return out

    def _result(self, row: dict[str, Any]) -> Completion:
        response, error = row.get("response") or {}, row.get("error")
        if error is None and response.get("status_code") == 200:
            return self.backend.batch_completion(response["body"])
        detail = error or (response.get("body") or {}).get("error") or {}
        message = detail.get("message", "failed") if isinstance(detail, dict) else str(detail)
        status = response.get("status_code")
        return Completion.failure(f"{self.backend.identity}: batch request failed (HTTP {status}): {message}", "batch")

    async def candidates(self, chunk: Chunk, exclude: set[str]) -> list[str]:
        """Batches whose metadata names this chunk and round (newest first, back to the intent's time)."""
        return await self._guard("batch list", self._matching(chunk, exclude))

    async def _matching(self, chunk: Chunk, exclude: set[str]) -> list[str]:
        found, wanted = [], chunk.metadata().items()
        async for batch in self.backend.client().batches.list(limit=100):
            if batch.created_at < chunk.time - CLOCK_SKEW_S:
                break
            if batch.id not in exclude and wanted <= (batch.metadata or {}).items():
                found.append(str(batch.id))
        return found
