"""Model specs (`provider:name`) resolved to backends. Backends are imported lazily."""

from __future__ import annotations

import importlib

from distillscope.backends.base import Backend, BackendOptions
from distillscope.errors import ConfigError

__all__ = ["PROVIDERS", "BackendOptions", "parse_spec", "resolve_backend"]

# provider prefix -> (module, class, one-line description)
PROVIDERS: dict[str, tuple[str, str, str]] = {
    "openai": (
        "distillscope.backends.openai_compat",
        "OpenAICompatBackend",
        "any OpenAI-compatible endpoint (OpenAI, vLLM, SGLang, llama.cpp, Ollama, DeepSeek, ...)",
    ),
    "anthropic": (
        "distillscope.backends.anthropic",
        "AnthropicBackend",
        "Anthropic's Messages API (extra [anthropic])",
    ),
    "embedded": ("distillscope.backends.embedded", "EmbeddedBackend", "small real models run in-process by xllamacpp"),
    "replay": ("distillscope.backends.replay", "ReplayBackend", "answers recorded in a transcript file"),
    "hf": ("distillscope.backends.hf", "HFBackend", "a local transformers checkpoint (extra [hf])"),
    "vllm": (
        "distillscope.backends.vllm",
        "VllmBackend",
        "vLLM's offline engine, MODEL@REVISION (extra [vllm], a GPU)",
    ),
    "scripted": ("distillscope.backends.scripted", "ScriptedBackend", "canned answers, for tests"),
}


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
