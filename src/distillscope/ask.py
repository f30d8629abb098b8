"""One question to one model: what `distillscope ask` runs."""

from __future__ import annotations

from distillscope.cache import ResponseCache
from distillscope.model import ModelLimits, get_model
from distillscope.registry import BackendOptions
from distillscope.types import Completion, GenerateParams, GenerateRequest


async def ask(
    spec: str,
    prompt: str,
    *,
    system: str | None = None,
    temperature: float = 0.0,
    max_tokens: int = 256,
    base_url: str | None = None,
    api_key_env: str | None = None,
    use_cache: bool = True,
    limits: ModelLimits | None = None,
) -> Completion:
    """Ask `spec` one question through the Model facade (cached unless `use_cache` is False)."""
    options = BackendOptions(base_url=base_url, api_key_env=api_key_env)
    model = get_model(spec, options=options, cache=ResponseCache() if use_cache else None, limits=limits)
    params = GenerateParams(temperature=temperature, max_tokens=max_tokens)
    return await model.generate(GenerateRequest.chat(prompt, system=system, params=params))
