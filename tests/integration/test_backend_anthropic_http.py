"""`anthropic:` models through the real anthropic SDK against the local stub of the Messages API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from batchstub import BatchStub, anthropic_message
from distillscope.backends.anthropic import AnthropicBackend
from distillscope.backends.base import BackendOptions
from distillscope.config import parse_config
from distillscope.errors import ConfigError
from distillscope.model import ModelLimits, get_model
from distillscope.types import GenerateParams, GenerateRequest
from distillscope.validate import check_endpoints

KEY = "sk-ant-test-0123456789abcdef"


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[BatchStub]:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    with BatchStub() as server:
        yield server


async def test_a_message_with_a_system_prompt_is_answered_priced_and_identified_without_the_key(
    stub: BatchStub,
) -> None:
    model = get_model("anthropic:claude-3-5-haiku", options=BackendOptions(base_url=stub.anthropic_url))
    request = GenerateRequest.chat("Who trained you?", system="Be brief.", params=GenerateParams(max_tokens=32))

    c = await model.generate(request)

    params = {
        "model": "claude-3-5-haiku",
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "Who trained you?"}],
    }
    expected = anthropic_message(params)
    assert c.ok and c.text == expected["content"][0]["text"] and c.finish_reason == "end_turn"
    assert (c.usage.prompt_tokens, c.usage.completion_tokens) == (11, expected["usage"]["output_tokens"])
    assert c.cost_usd == pytest.approx((11 * 0.80 + c.usage.completion_tokens * 4.00) / 1e6)
    assert model.identity == f"anthropic:claude-3-5-haiku@{stub.url}" and KEY not in model.identity
    assert stub.interactive["claude-3-5-haiku"] == 1


async def test_a_refusal_is_not_retried_and_a_lost_server_is_retryable(stub: BatchStub) -> None:
    limits = ModelLimits(max_retries=2, backoff_base_s=0.01)
    missing = get_model("anthropic:m", options=BackendOptions(base_url=f"{stub.url}/nowhere"), limits=limits)
    c = await missing.generate(GenerateRequest.chat("hello"))
    assert (c.status, c.error_kind, c.attempts) == ("error", "not_found", 1)
    assert c.error is not None and "check the model name 'm'" in c.error and KEY not in c.error

    gone = get_model("anthropic:m", options=BackendOptions(base_url="http://127.0.0.1:9"), limits=limits)
    c = await gone.generate(GenerateRequest.chat("hello"))
    assert (c.status, c.error_kind, c.attempts) == ("error", "connection", 3)


def test_a_remote_endpoint_needs_the_key_and_validate_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="set the environment variable ANTHROPIC_API_KEY"):
        AnthropicBackend.from_spec("claude-3-5-haiku", BackendOptions())
    cfg = parse_config(
        {
            "targets": [{"name": "t", "spec": "anthropic:claude-3-5-haiku", "family": "claude"}],
            "references": [{"name": "r", "spec": "anthropic:claude-3-5-sonnet", "api_key_env": "MY_KEY"}],
        }
    )
    assert cfg.missing_env() == ["ANTHROPIC_API_KEY (for t)", "MY_KEY (for r)"]


async def test_validate_reaches_anthropic_endpoints(stub: BatchStub) -> None:
    cfg = parse_config(
        {
            "targets": [{"name": "up", "spec": "anthropic:a", "base_url": stub.anthropic_url, "family": "claude"}],
            "references": [{"name": "down", "spec": "anthropic:b", "base_url": "http://127.0.0.1:9"}],
        }
    )
    assert await check_endpoints(cfg) == [
        "down: cannot reach http://127.0.0.1:9 (ConnectError); check base_url and network"
    ]
