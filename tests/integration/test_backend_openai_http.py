"""openai: backend against real HTTP servers on 127.0.0.1: `distillscope serve` and a scripted aiohttp fake."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any

import pytest

from distillscope.backends.openai_compat import OpenAICompatBackend
from distillscope.cache import ResponseCache
from distillscope.errors import BackendError
from distillscope.model import Model, ModelLimits, get_model
from distillscope.registry import BackendOptions
from distillscope.types import GenerateParams, GenerateRequest

SMOLLM_SPEC = "embedded:smollm2-135m"
FAST = ModelLimits(backoff_base_s=0.01, backoff_max_s=0.5, max_retries=3, timeout_s=120)
SECRET = "sk-test-DO-NOT-LEAK-0123456789"


@pytest.fixture(autouse=True)
def _no_ambient_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _model(base_url: str, **kw: object) -> Model:
    return get_model("openai:fake-model", options=BackendOptions(base_url=base_url), limits=FAST, **kw)  # type: ignore[arg-type]


async def test_served_embedded_model_answers_and_caches(served_smollm: str, tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    model = get_model(f"openai:{SMOLLM_SPEC}", options=BackendOptions(base_url=served_smollm), cache=cache, limits=FAST)
    req = GenerateRequest.chat("Who developed you?", params=GenerateParams(max_tokens=32))
    first = await model.generate(req)
    assert first.ok, first.error
    assert first.text.strip()
    assert first.model == SMOLLM_SPEC
    assert 0 < first.usage.completion_tokens <= 32
    second = await model.generate(req)
    assert second.cached and second.text == first.text
    assert model.stats.calls == 1 and model.stats.cache_hits == 1


async def test_served_model_returns_logprobs(served_smollm: str) -> None:
    model = get_model(f"openai:{SMOLLM_SPEC}", options=BackendOptions(base_url=served_smollm), limits=FAST)
    c = await model.generate(GenerateRequest.chat("Say hi.", params=GenerateParams(max_tokens=4, logprobs=True)))
    assert c.ok, c.error
    assert c.logprobs and all("logprob" in t for t in c.logprobs)


async def test_retries_429_and_503_honouring_retry_after(fake_openai: Any) -> None:
    fake_openai.fail_with(429, {"Retry-After": "0.2"})
    fake_openai.fail_with(503, {"retry-after-ms": "50"})
    model = _model(fake_openai.base_url)
    c = await model.generate(GenerateRequest.chat("hello"))
    assert c.ok and c.text == "fake answer to hello"
    assert c.attempts == 3 and model.stats.retries == 2
    assert len(fake_openai.requests) == 3


async def test_status_errors_carry_retryability_and_retry_after(fake_openai: Any) -> None:
    backend = OpenAICompatBackend.from_spec("m", BackendOptions(base_url=fake_openai.base_url))
    fake_openai.fail_with(429, {"Retry-After": "7"})
    fake_openai.fail_with(502)
    fake_openai.fail_with(404)
    expected = [("rate_limit", True, 7.0), ("server", True, None), ("not_found", False, None)]
    for kind, retryable, after in expected:
        with pytest.raises(BackendError) as info:
            await backend.generate(GenerateRequest.chat("x"))
        assert (info.value.kind, info.value.retryable, info.value.retry_after) == (kind, retryable, after)


async def test_bad_request_is_not_retried(fake_openai: Any) -> None:
    fake_openai.fail_with(400)
    model = _model(fake_openai.base_url)
    c = await model.generate(GenerateRequest.chat("x"))
    assert c.status == "error" and c.error_kind == "invalid_request" and c.attempts == 1
    assert len(fake_openai.requests) == 1


async def test_api_key_is_sent_but_never_leaks(
    fake_openai: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("MY_KEY", SECRET)
    echo = {"error": {"message": f"Incorrect API key provided: {SECRET}", "type": "invalid_request_error"}}
    fake_openai.fail_with(401, body=echo)
    opts = BackendOptions(base_url=fake_openai.base_url, api_key_env="MY_KEY")
    model = get_model("openai:fake-model", options=opts, limits=FAST)
    with caplog.at_level(logging.DEBUG):
        c = await model.generate(GenerateRequest.chat("x"))
    assert fake_openai.auth_headers == [f"Bearer {SECRET}"]
    assert c.error_kind == "auth" and c.error and "Incorrect API key" in c.error
    assert SECRET not in c.error and SECRET not in model.identity and SECRET not in caplog.text


async def test_an_echoed_key_never_reaches_answers_or_the_cache(
    fake_openai: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MY_KEY", SECRET)
    fake_openai.answer_with(f"Your key is {SECRET}, keep it safe.", reasoning=f"They sent {SECRET}.")
    cache = ResponseCache(tmp_path / "c.sqlite")
    opts = BackendOptions(base_url=fake_openai.base_url, api_key_env="MY_KEY")
    model = get_model("openai:fake-model", options=opts, limits=FAST, cache=cache)
    req = GenerateRequest.chat("What is my key?")
    first, again = await model.generate(req), await model.generate(req)
    assert first.ok and first.text == "Your key is ***, keep it safe." and first.reasoning == "They sent ***."
    assert again.cached and again.text == first.text
    cache.close()
    assert SECRET.encode() not in b"".join(p.read_bytes() for p in tmp_path.glob("c.sqlite*"))


async def _ds(*args: str, env: dict[str, str]) -> tuple[int, str]:
    """Run the CLI without blocking the event loop that serves the fake server; (exit code, stdout+stderr)."""
    import asyncio
    import os
    import sys

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "distillscope.cli.main",
        *args,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=300)
    return int(proc.returncode or 0), out.decode()


async def test_an_echoed_key_is_not_printed_nor_stored_by_a_run(fake_openai: Any, tmp_path: Path) -> None:
    import yaml

    fake_openai.answer_with(f"Sure. The key you sent is {SECRET}.")
    env = {"DISTILLSCOPE_HOME": str(tmp_path / "home"), "MY_KEY": SECRET}
    code, out = await _ds(
        "ask", "openai:fake-model", "key?", "--base-url", fake_openai.base_url, "--api-key-env", "MY_KEY", env=env
    )
    assert code == 0 and "The key you sent is ***." in out and SECRET not in out
    cfg = {
        "name": "echo",
        "output_dir": str(tmp_path / "run"),
        "ice": {"enabled": False},
        "targets": [
            {"name": "t", "spec": "openai:fake-model", "base_url": fake_openai.base_url, "api_key_env": "MY_KEY"}
        ],
        "references": [{"name": "r", "spec": "scripted:A reference answer."}],
        "rse": {"prompt_sets": [{"spec": "builtin", "sample": 2}]},
    }
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    code, out = await _ds("run", str(tmp_path / "exp.yaml"), env=env)
    assert code == 0, out
    assert SECRET not in out
    stored = [p for p in (*(tmp_path / "run").rglob("*"), *(tmp_path / "home").glob("*.sqlite*")) if p.is_file()]
    assert "***" in (tmp_path / "run" / "rse" / "responses.jsonl").read_text()
    assert not [p for p in stored if SECRET.encode() in p.read_bytes()]


async def test_unreachable_server_is_a_connection_error_naming_the_url() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    model = get_model("openai:m", options=BackendOptions(base_url=url), limits=ModelLimits(max_retries=0))
    c = await model.generate(GenerateRequest.chat("x"))
    assert c.status == "error" and c.error_kind == "connection"
    assert c.error and url in c.error and "start the server" in c.error


async def test_reasoning_field_and_think_tags_are_split(fake_openai: Any) -> None:
    model = _model(fake_openai.base_url)
    fake_openai.answer_with("Paris.", reasoning="The capital of France is Paris.")
    c = await model.generate(GenerateRequest.chat("capital?"))
    assert (c.text, c.reasoning) == ("Paris.", "The capital of France is Paris.")
    fake_openai.answer_with("<think>count letters</think>Three.")
    c = await model.generate(GenerateRequest.chat("how many?"))
    assert (c.text, c.reasoning) == ("Three.", "count letters")


async def test_request_parameters_and_sample_seeds(fake_openai: Any) -> None:
    model = _model(fake_openai.base_url)
    params = GenerateParams(temperature=0.7, max_tokens=9, top_p=0.5, seed=7, stop=("END",))
    await model.generate(GenerateRequest.chat("a", params=params, sample_index=2))
    await model.generate(GenerateRequest.chat("b"))
    seeded, plain = fake_openai.requests
    assert seeded["seed"] == 9 and seeded["max_tokens"] == 9 and seeded["top_p"] == 0.5 and seeded["stop"] == ["END"]
    assert "seed" not in plain and "stop" not in plain and plain["temperature"] == 0.0


async def test_concurrent_answers_return_to_their_requests(fake_openai: Any) -> None:
    model = get_model(
        "openai:m", options=BackendOptions(base_url=fake_openai.base_url), limits=ModelLimits(max_concurrency=32)
    )
    prompts = [f"prompt number {i}" for i in range(64)]
    out = await model.generate_many([GenerateRequest.chat(p) for p in prompts])
    assert [c.text for c in out] == [f"fake answer to {p}" for p in prompts]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("<html><body>502 Bad Gateway</body></html>", "text/html"),
        ('{"choices": [', "application/json"),
        ('{"id": "x", "object": "chat.completion"}', "application/json"),
        ('"just a string"', "application/json"),
    ],
    ids=["html-200", "invalid-json", "json-without-choices", "json-string"],
)
async def test_malformed_200_replies_are_retried_failures_not_crashes(
    fake_openai: Any, body: str, content_type: str
) -> None:
    backend = OpenAICompatBackend.from_spec("m", BackendOptions(base_url=fake_openai.base_url))
    fake_openai.reply_raw(body, content_type=content_type)
    with pytest.raises(BackendError) as info:
        await backend.generate(GenerateRequest.chat("hi"))
    assert info.value.retryable and info.value.kind in ("bad_response", "empty")
    fake_openai.reply_raw(body, content_type=content_type)
    model = _model(fake_openai.base_url)
    c = await model.generate(GenerateRequest.chat("hi"))  # the malformed reply first, then a real answer
    assert c.ok and c.text == "fake answer to hi"
    assert len(fake_openai.requests) == 3
