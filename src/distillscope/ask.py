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
    params: GenerateParams | None = None,
    options: BackendOptions | None = None,
    use_cache: bool = True,
    limits: ModelLimits | None = None,
) -> Completion:
    """Ask `spec` one question through the Model facade (cached unless `use_cache` is False).

    Default parameters: greedy, 256 tokens."""
    model = get_model(spec, options=options, cache=ResponseCache() if use_cache else None, limits=limits)
    params = params or GenerateParams(temperature=0.0, max_tokens=256)
    return await model.generate(GenerateRequest.chat(prompt, system=system, params=params))
