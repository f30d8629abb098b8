"""What the batch executor needs of a provider: the `BatchApi` protocol, and which backends can batch at all.

`openai:` (OpenAI's Batch API) and `anthropic:` (Message Batches) specs can; each provider's adapter lives in
its own module. An adapter raises `BackendError`: retryable when the provider may have acted (5xx, 429, a lost
connection), not retryable when it answered with a refusal (4xx), which the journal records as `rejected`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Any, Protocol, TypeVar, runtime_checkable

from distillscope.backends.http_util import scrub
from distillscope.errors import BackendError
from distillscope.execution.batch_journal import Chunk
from distillscope.types import Completion, GenerateRequest

T = TypeVar("T")
BATCH_PROVIDERS = ("openai", "anthropic")  # spec prefixes whose backends implement `Batchable`
NO_BATCH_API = "no_batch_api"  # error kind of a 404/405: the endpoint (vLLM, a local server) has no batch routes
CLOCK_SKEW_S = 300.0  # a batch created up to this long before its intent's timestamp still counts as a candidate


@runtime_checkable
class Batchable(Protocol):
    """A backend whose provider has a batch API: it builds the request body and reads a result like a reply."""

    batch_provider: str

    @property
    def identity(self) -> str: ...

    @property
    def secrets(self) -> tuple[str, ...]: ...

    def client(self) -> Any: ...

    def batch_params(self, request: GenerateRequest) -> dict[str, Any]: ...

    def batch_completion(self, body: Any) -> Completion: ...


class BatchApi(Protocol):
    """One provider's batch endpoints, for one backend (its model and endpoint)."""

    provider: str
    max_requests: int
    max_bytes: int

    def line(self, custom_id: str, request: GenerateRequest) -> dict[str, Any]: ...

    async def create(self, lines: list[dict[str, Any]], chunk: Chunk) -> str: ...

    async def ended(self, batch_id: str) -> bool: ...

    async def results(self, batch_id: str) -> dict[str, Completion]: ...

    async def candidates(self, chunk: Chunk, exclude: set[str]) -> list[str]: ...


def line_bytes(line: dict[str, Any]) -> int:
    """Size of one request as it travels (a JSONL line, or one element of a JSON array)."""
    return len(json.dumps(line, ensure_ascii=False).encode()) + 1


def split_chunks(lines: list[dict[str, Any]], max_requests: int, max_bytes: int) -> list[list[dict[str, Any]]]:
    """Consecutive chunks within a provider's limits on requests and bytes per batch."""
    chunks: list[list[dict[str, Any]]] = []
    size = 0
    for line in lines:
        n = line_bytes(line)
        if not chunks or len(chunks[-1]) >= max_requests or size + n > max_bytes:
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += n
    return chunks


async def guarded(sdk: Any, what: str, call: Awaitable[T], secrets: tuple[str, ...]) -> T:
    """Await an SDK call; its errors become BackendError (retryable unless the provider answered with a 4xx)."""
    try:
        return await call
    except sdk.APIStatusError as exc:
        status = int(exc.status_code)
        message = _clean(f"{what}: HTTP {status}: {exc.message}", secrets)
        kind = NO_BATCH_API if status in (404, 405) else "batch"
        raise BackendError(message, retryable=status >= 500 or status == 429, kind=kind) from exc
    except sdk.APIConnectionError as exc:  # includes timeouts: the provider may have acted
        raise BackendError(_clean(f"{what}: {exc}", secrets), retryable=True, kind="connection") from exc


def _clean(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = scrub(text, secret)
    return scrub(text, None)
