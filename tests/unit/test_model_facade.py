"""The Model facade over scripted backends: cache, retries, timeouts, typed errors, reasoning, ordering."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from distillscope.backends.scripted import ScriptedBackend
from distillscope.cache import ResponseCache
from distillscope.errors import BackendError
from distillscope.model import Model, ModelLimits
from distillscope.types import Completion, GenerateParams, GenerateRequest

FAST = ModelLimits(backoff_base_s=0.001, backoff_max_s=0.05, max_retries=2)


def _busy(after: float | None = None) -> BackendError:
    return BackendError("server busy", retryable=True, retry_after=after, kind="rate_limit")


async def test_second_call_is_a_cache_hit_with_no_backend_call(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    backend = ScriptedBackend(["first answer"])
    model = Model(backend, cache=cache)
    req = GenerateRequest.chat("q", params=GenerateParams(max_tokens=8))
    a = await model.generate(req)
    b = await model.generate(req)
    fresh = Model(backend, cache=ResponseCache(tmp_path / "c.sqlite"))  # another process, same file
    c = await fresh.generate(req)
    assert len(backend.calls) == 1
    assert (a.cached, b.cached, c.cached) == (False, True, True) and a.text == b.text == c.text
    assert model.stats.calls == 1 and model.stats.cache_hits == 1


async def test_cache_key_separates_params_and_samples(tmp_path: Path) -> None:
    backend = ScriptedBackend(lambda r: f"{r.params.temperature}/{r.sample_index}")
    model = Model(backend, cache=ResponseCache(tmp_path / "c.sqlite"))
    reqs = [
        GenerateRequest.chat("q"),
        GenerateRequest.chat("q", params=GenerateParams(temperature=0.7)),
        GenerateRequest.chat("q", sample_index=1),
    ]
    assert [c.text for c in await model.generate_many(reqs)] == ["0.0/0", "0.7/0", "0.0/1"]
    assert len(backend.calls) == 3


async def test_retryable_errors_are_retried_then_succeed() -> None:
    model = Model(ScriptedBackend([_busy(0.01), _busy(), "fine"]), limits=FAST)
    c = await model.generate(GenerateRequest.chat("q"))
    assert c.ok and c.text == "fine" and c.attempts == 3 and model.stats.retries == 2


async def test_retry_after_is_a_floor_of_the_backoff() -> None:
    model = Model(ScriptedBackend(), limits=ModelLimits(backoff_base_s=0.001, backoff_max_s=60))
    assert all(model._backoff(1, 2.5) >= 2.5 for _ in range(20))
    capped = Model(ScriptedBackend(), limits=ModelLimits(backoff_base_s=0.001, backoff_max_s=1.0))
    assert capped._backoff(1, 3600) == 1.0


async def test_exhausted_retries_and_fatal_errors_become_error_completions(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    always_busy = Model(ScriptedBackend([_busy()]), limits=FAST, cache=cache)
    c = await always_busy.generate(GenerateRequest.chat("q"))
    assert (c.status, c.error_kind, c.attempts, c.text) == ("error", "rate_limit", 3, "")
    fatal = ScriptedBackend([BackendError("bad request", kind="invalid_request")])
    d = await Model(fatal, limits=FAST, cache=cache).generate(GenerateRequest.chat("q"))
    assert (d.status, d.error_kind, d.attempts) == ("error", "invalid_request", 1)
    assert d.error == "bad request"
    assert cache.stats().entries == 0  # errors are never cached
    assert always_busy.stats.errors == 1


async def test_a_hung_backend_times_out() -> None:
    model = Model(ScriptedBackend(["late"], delay_s=5.0), limits=ModelLimits(timeout_s=0.05, max_retries=0))
    c = await model.generate(GenerateRequest.chat("q"))
    assert c.status == "error" and c.error_kind == "timeout"


async def test_reasoning_is_split_before_caching(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    model = Model(ScriptedBackend(["<think>2+2 is 4</think>\nFour."]), cache=cache)
    req = GenerateRequest.chat("q")
    a = await model.generate(req)
    b = await model.generate(req)
    assert (a.text, a.reasoning) == ("Four.", "2+2 is 4") == (b.text, b.reasoning)
    given = Completion(text="<think>kept</think>x", reasoning="from the API")
    c = await Model(ScriptedBackend([given])).generate(req)
    assert c.reasoning == "from the API"


class _Jittery:
    """Answers 'echo:PROMPT' after a random delay; tracks the most calls in flight at once."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.in_flight = 0
        self.peak = 0

    @property
    def identity(self) -> str:
        return "jittery"

    async def generate(self, request: GenerateRequest) -> Completion:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await asyncio.sleep(self.rng.random() * 0.01)
        self.in_flight -= 1
        return Completion(text=f"echo:{request.prompt}")


async def test_concurrent_answers_return_to_their_own_requests() -> None:
    backend = _Jittery(random.Random(7))
    model = Model(backend, limits=ModelLimits(max_concurrency=6))
    prompts = [f"Repeat exactly: WORD_{i}" for i in range(120)]
    seen: list[str] = []
    out = await model.generate_many([GenerateRequest.chat(p) for p in prompts], progress=lambda c: seen.append(c.text))
    assert [c.text for c in out] == [f"echo:{p}" for p in prompts]
    assert sorted(seen) == sorted(c.text for c in out)
    assert 1 < backend.peak <= 6
