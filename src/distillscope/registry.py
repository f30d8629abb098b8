"""Model specs (`provider:name`) resolved to backends. Backends are imported lazily."""

from __future__ import annotations

import importlib

from pydantic import BaseModel, ConfigDict, Field

from distillscope.backends.base import Backend
from distillscope.errors import ConfigError

# provider prefix -> (module, class, one-line description)
PROVIDERS: dict[str, tuple[str, str, str]] = {
    "openai": (
        "distillscope.backends.openai_compat",
        "OpenAICompatBackend",
        "any OpenAI-compatible endpoint (OpenAI, vLLM, SGLang, llama.cpp, Ollama, DeepSeek, ...)",
    ),
    "embedded": ("distillscope.backends.embedded", "EmbeddedBackend", "small real models run in-process by xllamacpp"),
    "replay": ("distillscope.backends.replay", "ReplayBackend", "answers recorded in a transcript file"),
    "hf": ("distillscope.backends.hf", "HFBackend", "a local transformers checkpoint (extra [hf])"),
    "scripted": ("distillscope.backends.scripted", "ScriptedBackend", "canned answers, for tests"),
}


class BackendOptions(BaseModel):
    """Options that do not fit in a spec string. Secrets are named by env var, never given inline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str | None = Field(None, description="endpoint of an OpenAI-compatible server")
    api_key_env: str | None = Field(None, description="NAME of the environment variable that holds the API key")
    # Provider-specific options, typed (an unknown key is refused instead of being silently ignored):
    http_timeout_s: float = Field(600.0, gt=0, description="openai: HTTP client timeout per request, seconds")
    n_parallel: int = Field(4, ge=1, description="embedded: parallel generation slots of the loaded model")
    n_threads: int | None = Field(None, ge=1, description="embedded: CPU threads; None = the runtime's choice")


def parse_spec(spec: str) -> tuple[str, str]:
    """Split `provider:name`; raise a ConfigError naming the fix when malformed."""
    provider, sep, name = spec.partition(":")
    known = ", ".join(f"{p}:" for p in PROVIDERS)
    if not sep or not provider:
        raise ConfigError(f"model spec {spec!r} has no provider prefix; write it as PROVIDER:NAME with one of {known}")
    if provider not in PROVIDERS:
        raise ConfigError(f"unknown provider {provider!r} in model spec {spec!r}; use one of {known}")
    if not name and provider not in ("scripted",):
        raise ConfigError(f"model spec {spec!r} names no model; write it as {provider}:NAME")
    return provider, name


def resolve_backend(spec: str, options: BackendOptions | None = None) -> Backend:
    """Build the backend for a spec such as `openai:gpt-4o-mini` or `embedded:qwen2.5-0.5b`."""
    provider, name = parse_spec(spec)
    module_name, cls_name, _ = PROVIDERS[provider]
    cls = getattr(importlib.import_module(module_name), cls_name)
    backend: Backend = cls.from_spec(name, options or BackendOptions())
    return backend
