"""The Backend protocol: one async method. Retry, cache, limits and accounting live in `Model`."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

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


@runtime_checkable
class Hosted(Protocol):
    """A backend that runs elsewhere (a Ray actor): the `Model` facade awaits `start()` before each call, outside
    its timeout and concurrency limit (it returns at once when running; it may wait for a GPU), and `release()`
    frees what it holds once a stage is done with the model (the next `start()` takes it again)."""

    async def start(self) -> None: ...

    async def release(self) -> None: ...


class BackendOptions(BaseModel):
    """Options that do not fit in a spec string. Secrets are named by env var, never given inline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str | None = Field(None, description="endpoint of an OpenAI-compatible server")
    api_key_env: str | None = Field(None, description="NAME of the environment variable that holds the API key")
    # Provider-specific options, typed (an unknown key is refused instead of being silently ignored):
    http_timeout_s: float = Field(600.0, gt=0, description="openai: HTTP client timeout per request, seconds")
    n_parallel: int = Field(4, ge=1, description="embedded: parallel generation slots of the loaded model")
    n_threads: int | None = Field(None, ge=1, description="embedded: CPU threads; None = the runtime's choice")
    tensor_parallel_size: int = Field(1, ge=1, description="vllm: GPUs one engine spans")
    gpu_memory_utilization: float | None = Field(None, gt=0, le=1, description="vllm: share of GPU memory to use")
    max_model_len: int | None = Field(None, ge=1, description="vllm: context length; None = the model's")
