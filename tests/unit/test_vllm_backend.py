"""The `vllm:` backend without vLLM: spec and identity rules, the missing-extra error, sampling arguments, and the
micro-batching of concurrent requests into one engine call (with a stand-in engine module, since vLLM needs a
GPU; the real engine is checked on a GPU machine, see BENCHMARKS.md)."""

from __future__ import annotations

import asyncio
import sys
import types
from pathlib import Path
from typing import Any, ClassVar

import pytest

from distillscope.backends.base import BackendOptions
from distillscope.backends.vllm import VllmBackend, parse_vllm_spec, sampling_kwargs
from distillscope.config import ModelEntry, placement_of
from distillscope.errors import ConfigError, MissingDependencyError
from distillscope.registry import resolve_backend
from distillscope.types import GenerateParams, GenerateRequest, Message


def test_hub_model_identity_is_model_at_revision() -> None:
    assert parse_vllm_spec("Qwen/Qwen2.5-7B-Instruct@a09a354").identity == "vllm:Qwen/Qwen2.5-7B-Instruct@a09a354"


def test_hub_model_without_revision_is_refused() -> None:
    with pytest.raises(ConfigError, match="names no revision"):
        parse_vllm_spec("Qwen/Qwen2.5-7B-Instruct")


def test_local_directory_identity_follows_its_files(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"layers": 2}')
    first = parse_vllm_spec(str(tmp_path)).identity
    assert first == parse_vllm_spec(str(tmp_path)).identity  # stable, no URL or temporary name in it
    (tmp_path / "config.json").write_text('{"layers": 3}')
    assert parse_vllm_spec(str(tmp_path)).identity != first


def test_missing_vllm_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)  # import vllm -> ImportError, also where it is installed
    with pytest.raises(MissingDependencyError, match=r"distillscope\[vllm\]"):
        resolve_backend("vllm:Qwen/Qwen2.5-7B-Instruct@a09a354")


def test_vllm_models_default_to_ray_placement() -> None:
    entry = ModelEntry(name="q", spec="vllm:Qwen/Qwen2.5-7B-Instruct@a09a354", num_gpus=1)
    assert placement_of(entry, "ray") == "ray"
    assert placement_of(entry, "local") == "local"


def test_sampling_is_greedy_at_zero_and_seeded_per_sample_otherwise() -> None:
    msgs = (Message.user("hi"),)
    greedy = sampling_kwargs(GenerateRequest(msgs, GenerateParams(max_tokens=8)))
    assert greedy == {"temperature": 0.0, "max_tokens": 8, "n": 1}
    hot = GenerateRequest(msgs, GenerateParams(temperature=0.7, seed=10, stop=("\n",)), sample_index=3)
    assert sampling_kwargs(hot)["seed"] == 13
    assert sampling_kwargs(hot)["stop"] == ["\n"]


class _StandInLLM:
    """Records the batches it is given; answers each conversation with its last message reversed."""

    batches: ClassVar[list[int]] = []

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs

    def chat(self, conversations: list[list[dict[str, str]]], sampling_params: Any, use_tqdm: bool) -> list[Any]:
        _StandInLLM.batches.append(len(conversations))
        outs = []
        for conv in conversations:
            best = types.SimpleNamespace(text=conv[-1]["content"][::-1], finish_reason="stop", token_ids=[1, 2])
            outs.append(types.SimpleNamespace(outputs=[best], prompt_token_ids=[1, 2, 3]))
        return outs


async def test_concurrent_requests_share_one_engine_call(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("vllm")
    fake.LLM = _StandInLLM  # type: ignore[attr-defined]
    fake.SamplingParams = dict  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vllm", fake)
    _StandInLLM.batches = []
    backend = VllmBackend.from_spec("org/m@rev1", BackendOptions())
    answers = await asyncio.gather(*(backend.generate(GenerateRequest((Message.user(f"q{i}"),))) for i in range(20)))
    assert [a.text for a in answers] == [f"q{i}"[::-1] for i in range(20)]  # in order, each its own answer
    assert _StandInLLM.batches == [20]
    assert answers[0].usage.prompt_tokens == 3 and answers[0].model == "vllm:org/m@rev1"
    assert backend._llm.kwargs["revision"] == "rev1"
