"""Embedded models through the real Model facade: real generations from SmolLM2-135M and Qwen2.5-0.5B."""

from __future__ import annotations

from pathlib import Path

import pytest

from distillscope.backends.embedded import embedded_models
from distillscope.cache import ResponseCache
from distillscope.errors import ConfigError
from distillscope.model import ModelLimits, get_model
from distillscope.types import GenerateParams, GenerateRequest

pytestmark = pytest.mark.slow
SHORT = GenerateParams(max_tokens=32)


def _require(name: str) -> None:
    if not any(m.name == name and m.installed for m in embedded_models()):
        pytest.skip(f"embedded:{name} is not installed (see README, Install)")


async def test_smollm_answers_who_developed_you_and_caches(tmp_path: Path) -> None:
    _require("smollm2-135m")
    model = get_model("embedded:smollm2-135m", cache=ResponseCache(tmp_path / "c.sqlite"))
    req = GenerateRequest.chat("Who developed you?", params=SHORT)
    first = await model.generate(req)
    assert first.ok, first.error
    assert first.text.strip() and first.model == "embedded:smollm2-135m"
    assert 0 < first.usage.completion_tokens <= 32 and first.usage.prompt_tokens > 0
    again = await model.generate(req)
    assert again.cached and again.text == first.text
    assert model.stats.calls == 1 and model.stats.cache_hits == 1


async def test_qwen_answers_who_developed_you() -> None:
    _require("qwen2.5-0.5b")
    model = get_model("embedded:qwen2.5-0.5b")
    c = await model.generate(GenerateRequest.chat("Who developed you?", params=SHORT))
    assert c.ok, c.error
    assert any(word in c.text.lower() for word in ("alibaba", "qwen")), c.text


async def test_concurrent_generations_return_to_their_own_requests() -> None:
    _require("qwen2.5-0.5b")
    model = get_model("embedded:qwen2.5-0.5b", limits=ModelLimits(max_concurrency=8))
    words = [f"WORD_{i}" for i in range(8)]
    reqs = [GenerateRequest.chat(f"Repeat exactly: {w}", params=GenerateParams(max_tokens=8)) for w in words]
    out = await model.generate_many(reqs)
    assert all(c.ok for c in out), [c.error for c in out]
    for word, c in zip(words, out, strict=True):
        others = [w for w in words if w != word]
        assert word in c.text and not any(f"{o}" == c.text.strip() for o in others), (word, c.text)


async def test_batched_generation_matches_one_at_a_time() -> None:
    """Sampling is seeded (seed 0 + sample_index) and slots do not share a KV cache, so batching changes nothing."""
    _require("smollm2-135m")
    model = get_model("embedded:smollm2-135m", limits=ModelLimits(max_concurrency=4))
    hot, greedy = GenerateParams(temperature=1.0, max_tokens=12), GenerateParams(max_tokens=12)
    reqs = [
        GenerateRequest.chat("Name a colour.", params=hot, sample_index=0),
        GenerateRequest.chat("Name a colour.", params=hot, sample_index=0),
        GenerateRequest.chat("Name a colour.", params=hot, sample_index=1),
        GenerateRequest.chat("Name a colour number 3.", params=greedy),
    ]
    together = [c.text for c in await model.generate_many(reqs)]
    alone = [(await model.generate(r)).text for r in reqs]
    assert together == alone
    assert together[0] == together[1]


def test_unknown_embedded_model_lists_available_ones() -> None:
    with pytest.raises(ConfigError, match="smollm2-135m"):
        get_model("embedded:no-such-model")
