"""The Backend protocol: one async method. Retry, cache, limits and accounting live in `Model`."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from distillscope.types import Completion, GenerateRequest


@runtime_checkable
class Backend(Protocol):
    """Something that turns a request into a completion.

    `identity` names everything about the backend that changes its answers (provider, endpoint, model,
    weights hash) and enters the cache key; it must never contain a secret.
    Raise `BackendError` (retryable or not) on failure; the facade turns it into an error Completion.
    """

    @property
    def identity(self) -> str: ...

    async def generate(self, request: GenerateRequest) -> Completion: ...


@runtime_checkable
class HoldsSecrets(Protocol):
    """A backend that holds secrets (an API key): the `Model` facade scrubs them from every answer it stores
    or returns, so a server that echoes the key cannot get it into the cache, the records or the terminal."""

    @property
    def secrets(self) -> tuple[str, ...]: ...
