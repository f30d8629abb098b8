"""openai: backend without a server: configuration, identity, Retry-After parsing, secret scrubbing."""

from __future__ import annotations

import asyncio
import email.utils

import pytest

from distillscope.backends.http_util import parse_retry_after, public_url, scrub
from distillscope.backends.openai_compat import DEFAULT_BASE_URL, OpenAICompatBackend
from distillscope.errors import ConfigError
from distillscope.registry import BackendOptions, resolve_backend


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def test_missing_key_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        resolve_backend("openai:gpt-4o-mini")
    with pytest.raises(ConfigError, match="MY_VENDOR_KEY"):
        resolve_backend("openai:x", BackendOptions(base_url="https://api.example.com/v1", api_key_env="MY_VENDOR_KEY"))


def test_local_endpoint_needs_no_key() -> None:
    for url in ("http://127.0.0.1:8011/v1", "http://localhost:9/v1"):
        backend = resolve_backend("openai:m", BackendOptions(base_url=url))
        assert isinstance(backend, OpenAICompatBackend)


def test_base_url_from_options_then_env_then_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-abcdefghijkl")
    assert OpenAICompatBackend.from_spec("m", BackendOptions()).base_url == DEFAULT_BASE_URL
    monkeypatch.setenv("OPENAI_BASE_URL", "https://proxy.example.com/v1")
    assert OpenAICompatBackend.from_spec("m", BackendOptions()).base_url == "https://proxy.example.com/v1"
    opts = BackendOptions(base_url="https://other.example.com/v1/")
    assert OpenAICompatBackend.from_spec("m", opts).base_url == "https://other.example.com/v1"


def test_identity_has_model_and_endpoint_but_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("K", "sk-secret-value-123456")
    opts = BackendOptions(base_url="https://user:pw@api.example.com:8443/v1/?token=zzz", api_key_env="K")
    ident = OpenAICompatBackend.from_spec("gpt-4o-mini", opts).identity
    assert ident == "openai:gpt-4o-mini@https://api.example.com:8443/v1"
    assert public_url("http://127.0.0.1:8011/v1/") == "http://127.0.0.1:8011/v1"


def test_retry_after_parsing() -> None:
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "1.5", "retry-after-ms": "250"}) == 0.25
    when = email.utils.formatdate(1_000_030, usegmt=True)
    assert parse_retry_after({"retry-after": when}, now=1_000_000) == pytest.approx(30.0)
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None and parse_retry_after(None) is None
    assert parse_retry_after({"retry-after": "-4"}) == 0.0


def test_scrub_removes_the_key_and_key_like_tokens() -> None:
    secret = "abc-DEF-not-sk-prefixed-999"
    text = f"bad key {secret}; header Bearer tok123; also sk-proj-AAAABBBBCCCC"
    out = scrub(text, secret)
    assert secret not in out and "tok123" not in out and "sk-proj-AAAABBBBCCCC" not in out
    assert out.startswith("bad key ***")


def test_each_event_loop_gets_its_own_client_even_when_python_reuses_the_loop_id() -> None:
    """A finished loop's client (its httpx pool belongs to that closed loop) is never handed to a later loop.

    Loops started one after another by asyncio.run often get the id() of the previous, freed one; a client cache
    keyed by id(loop) then returned a client whose pool was bound to a closed loop ("Event loop is closed")."""
    backend = OpenAICompatBackend("m", base_url="http://127.0.0.1:9/v1", api_key="x")
    seen: list[tuple[int, object]] = []

    async def take() -> None:
        client = backend.client()
        assert backend.client() is client  # one client per loop
        seen.append((id(asyncio.get_running_loop()), client))

    for _ in range(40):
        asyncio.run(take())
    loop_ids = [loop_id for loop_id, _ in seen]
    assert len(set(loop_ids)) < len(loop_ids)  # ids were reused, so the case was exercised
    clients = [client for _, client in seen]
    assert len({id(c) for c in clients}) == len(clients)  # every loop had a new client


def test_a_pool_closes_the_clients_its_models_opened_on_this_loop() -> None:
    """The runner closes them before its loop ends; otherwise the garbage collector closes them later on a loop that
    has ended, and asyncio logs "Task exception was never retrieved ... Event loop is closed"."""
    from distillscope.config import ModelEntry
    from distillscope.model import ModelPool

    entries = [ModelEntry(name=n, spec=f"openai:{n}", base_url="http://127.0.0.1:9/v1") for n in ("a", "b")]
    pool = ModelPool(entries, prices={})

    async def open_then_close() -> list[object]:
        backends = [pool.get(e.name).backend for e in entries]
        clients = [b.client() for b in backends]  # type: ignore[attr-defined]
        await pool.aclose()
        assert all(b._client is None for b in backends)  # type: ignore[attr-defined]
        return clients

    clients = asyncio.run(open_then_close())
    assert all(c.is_closed() for c in clients)  # type: ignore[attr-defined]
