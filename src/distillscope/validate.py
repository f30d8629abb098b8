"""Checks for `distillscope validate`: input files are readable and not empty, every model of a config can be
built and answers HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sized
from functools import partial

import httpx

from distillscope.config import ExperimentConfig, ModelEntry
from distillscope.errors import DistillscopeError
from distillscope.inputs import read_input
from distillscope.registry import BackendOptions, resolve_backend

_PROBES = {"openai": "/models", "anthropic": "/v1/models"}  # API models: a GET that any live endpoint answers


async def _check(entry: ModelEntry) -> str | None:
    """None when the model looks usable, else a one-line problem naming the model."""
    try:
        backend = resolve_backend(entry.spec, BackendOptions(base_url=entry.base_url, api_key_env=entry.api_key_env))
    except DistillscopeError as exc:
        return f"{entry.name}: {exc}"
    probe = _PROBES.get(entry.spec.partition(":")[0])
    if probe is None:
        return None
    from distillscope.backends.http_util import public_url

    base = str(getattr(backend, "base_url", "")).rstrip("/")
    try:
        async with httpx.AsyncClient(timeout=10.0) as client:
            await client.get(base + probe)
    except httpx.HTTPError as exc:
        return f"{entry.name}: cannot reach {public_url(base)} ({type(exc).__name__}); check base_url and network"
    return None


def check_signal(cfg: ExperimentConfig) -> str | None:
    """The embedding signal needs the [embed] extra (sentence-transformers and the packaged MiniLM)."""
    if not cfg.rse.enabled or cfg.rse.signal != "embedding":
        return None
    import importlib.util

    from distillscope.rse.embeddings import model_dir

    try:
        if importlib.util.find_spec("sentence_transformers") is None:
            return "rse.signal embedding needs sentence-transformers: pip install 'distillscope[embed]'"
        model_dir()
    except DistillscopeError as exc:
        return f"rse.signal embedding: {exc}"
    return None


def check_null_panel(cfg: ExperimentConfig) -> str | None:
    """A warning, not an error: a null panel too small for the RSE verdicts to be decided, or to be trusted fully."""
    if not cfg.rse.enabled or not cfg.references:
        return None
    from distillscope.rse.suspect import ADVISED_NULL_MODELS, MIN_NULL_MODELS

    n = len(cfg.null_panel)
    advice = f"{ADVISED_NULL_MODELS} or more models known not to descend from the references are advised"
    if n < MIN_NULL_MODELS:
        return f"null_panel has {n} model(s): every RSE verdict will be inconclusive ({advice})"
    if n < ADVISED_NULL_MODELS:
        return f"null_panel has {n} models: the RSE verdicts will carry a caveat ({advice}; README, limits)"
    return None


def check_inputs(cfg: ExperimentConfig) -> list[str]:
    """Problems with the input files a run will read: prompt sets, ICE questions and templates."""
    from distillscope.ice.questions import load_questions
    from distillscope.ice.templates import load_templates
    from distillscope.prompts.loaders import load_spec_items

    loads: list[tuple[str, str, Callable[[], Sized]]] = []
    if cfg.rse.enabled:
        loads += [(f"prompt set {e.spec}", e.spec, partial(load_spec_items, e.spec)) for e in cfg.rse.prompt_sets]
    if cfg.ice.enabled:
        ice = cfg.ice
        loads += [
            (f"ice.questions {ice.questions}", ice.questions, partial(load_questions, ice.questions)),
            (f"ice.templates {ice.templates}", ice.templates, partial(load_templates, ice.templates)),
        ]
    return [p for what, spec, load in loads if (p := read_input(what, spec, load)[1]) is not None]


async def check_endpoints(cfg: ExperimentConfig) -> list[str]:
    """Problems found, one line each (an HTTP status of any kind counts as reachable)."""
    results = await asyncio.gather(*(_check(m) for m in cfg.all_models()))
    return [r for r in results if r]
