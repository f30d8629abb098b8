"""What the HTTP API backends (openai:, anthropic:) share: their base class (spec, key, identity, one SDK client per
event loop), local endpoints, safe URLs, key scrubbing and Retry-After parsing. No backend imports another; they
share this module instead."""

from __future__ import annotations

import asyncio
import email.utils
import os
import re
import time
import weakref
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit, urlunsplit

from distillscope.backends.base import BackendOptions
from distillscope.errors import BackendError, ConfigError

_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0"})
_KEYLIKE = re.compile(r"\b(sk-[A-Za-z0-9_\-]{6,}|Bearer\s+\S+)")


def is_local(base_url: str) -> bool:
    """True for endpoints on this machine (127.0.0.1, localhost), which need no real API key."""
    return (urlsplit(base_url).hostname or "") in _LOCAL_HOSTS


def public_url(base_url: str) -> str:
    """The URL without user:password, query or fragment (safe to log and to put in an identity)."""
    parts = urlsplit(base_url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def scrub(text: str, secret: str | None) -> str:
    """Remove the secret (and anything that looks like a bearer token / sk- key) from text."""
    if secret:
        text = text.replace(secret, "***")
    return _KEYLIKE.sub("***", text)


def parse_retry_after(headers: Any, now: float | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `Retry-After` as seconds or an HTTP date; None if absent."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


RETRYABLE_STATUS = frozenset({408, 409, 425, 429})  # and every 5xx
STATUS_KIND = {
    400: "invalid_request",
    401: "auth",
    403: "auth",
    404: "not_found",
    413: "invalid_request",
    422: "invalid_request",
    429: "rate_limit",
    529: "overloaded",  # Anthropic's "overloaded" (retryable, as every 5xx)
}


@dataclass(frozen=True)
class Endpoint:
    """What an HTTP API backend's errors name: its identity, endpoint, model, key and the key's default variable."""

    identity: str
    base_url: str
    model: str
    api_key: str | None
    key_env: str

    def status_error(self, exc: Any) -> BackendError:
        """An SDK's HTTP status error (`status_code`, `message`, `response.headers`) as a BackendError with a hint;
        429, 408, 409, 425 and 5xx are retryable (a server's Retry-After is kept), the rest are not."""
        status = int(exc.status_code)
        retryable = status in RETRYABLE_STATUS or status >= 500
        kind = STATUS_KIND.get(status, "server" if status >= 500 else "http_error")
        hint = {
            "auth": f"; check the key in the environment variable your config names (default {self.key_env})",
            "not_found": f"; check the model name {self.model!r} and base_url",
        }.get(kind, "")
        message = scrub(f"{self.identity}: HTTP {status}: {exc.message}{hint}", self.api_key)
        retry_after = parse_retry_after(exc.response.headers)
        return BackendError(message, retryable=retryable, retry_after=retry_after, kind=kind)

    def bad_response(self, what: str) -> BackendError:
        """A 200 reply that is not what the API returns (an HTML page, JSON of another shape): retried like a 5xx."""
        return BackendError(
            f"{self.identity}: {what}; check base_url {public_url(self.base_url)}", retryable=True, kind="bad_response"
        )


def endpoint_and_key(
    spec: str, base_url: str | None, key_env: str, *, base_url_env: str, default_base_url: str
) -> tuple[str, str]:
    """The base URL (the option, then `$base_url_env`, then the provider's) and the API key from `$key_env`.

    A local endpoint needs no key (a placeholder is used); a remote one without its key is a ConfigError that
    names the variable."""
    url = base_url or os.environ.get(base_url_env) or default_base_url
    key = os.environ.get(key_env, "").strip()
    if key:
        return url, key
    if not is_local(url):
        raise ConfigError(
            f"{spec} needs an API key: set the environment variable {key_env} "
            f"(or name another variable with api_key_env) for {public_url(url)}"
        )
    return url, "sk-no-key-needed-locally"


class ApiBackend:
    """The shape of an HTTP API backend: `SCHEME:MODEL` at a base URL with a key from the environment, an identity
    without the key, and one SDK client per event loop (an httpx pool belongs to the loop that opened it, and
    `asyncio.run` twice needs two clients). Subclasses name their provider and build their SDK's client."""

    SCHEME: ClassVar[str]
    BASE_URL_ENV: ClassVar[str]
    DEFAULT_BASE_URL: ClassVar[str]
    DEFAULT_KEY_ENV: ClassVar[str]

    def __init__(self, model: str, *, base_url: str, api_key: str, timeout_s: float = 600.0) -> None:
        self.model = model
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._timeout = timeout_s
        # The client and the loop it belongs to. A weak reference, not id(loop): a finished loop's id is often
        # reused by the next loop, which would then get a client whose pool belongs to a closed loop.
        self._client: Any = None
        self._client_loop: weakref.ref[asyncio.AbstractEventLoop] | None = None

    @property
    def secrets(self) -> tuple[str, ...]:
        """The API key, for the facade to scrub from answers (never shown)."""
        return (self._api_key,) if self._api_key else ()

    @classmethod
    def from_spec(cls, name: str, options: BackendOptions) -> Self:
        """`SCHEME:MODEL`; base_url from options, `$BASE_URL_ENV` or the provider's; key from the env var named."""
        base_url, key = endpoint_and_key(
            f"{cls.SCHEME}:{name}",
            options.base_url,
            options.api_key_env or cls.DEFAULT_KEY_ENV,
            base_url_env=cls.BASE_URL_ENV,
            default_base_url=cls.DEFAULT_BASE_URL,
        )
        return cls(name, base_url=base_url, api_key=key, timeout_s=options.http_timeout_s)

    @property
    def identity(self) -> str:
        return f"{self.SCHEME}:{self.model}@{public_url(self.base_url)}"

    def _endpoint(self) -> Endpoint:
        return Endpoint(self.identity, self.base_url, self.model, self._api_key, self.DEFAULT_KEY_ENV)

    async def _send(self, sdk: Any, call: Awaitable[Any]) -> Any:
        """Await one SDK call; its exceptions become BackendErrors with retryability and Retry-After (the `openai`
        and `anthropic` SDKs name their exceptions alike)."""
        try:
            return await call
        except sdk.APITimeoutError as exc:
            raise BackendError(f"{self.identity}: request timed out", retryable=True, kind="timeout") from exc
        except sdk.APIConnectionError as exc:
            raise BackendError(
                f"cannot connect to {public_url(self.base_url)} ({scrub(str(exc), self._api_key)}); "
                f"start the server or fix base_url / {self.BASE_URL_ENV}",
                retryable=True,
                kind="connection",
            ) from exc
        except sdk.APIStatusError as exc:
            raise self._endpoint().status_error(exc) from exc
        except (sdk.APIResponseValidationError, ValueError) as exc:  # ValueError: a body that is not JSON
            raise self._endpoint().bad_response(f"unreadable reply ({type(exc).__name__})") from exc

    def _new_client(self) -> Any:
        """The SDK's async client for this endpoint, with the SDK's own retries off (the Model facade retries)."""
        raise NotImplementedError

    def _client_of(self, loop: asyncio.AbstractEventLoop) -> Any:
        """The cached client when it belongs to ``loop``, else None."""
        return self._client if self._client_loop is not None and self._client_loop() is loop else None

    def client(self) -> Any:
        """The SDK client of the running loop (the batch executor sends its files and batches through it too)."""
        loop = asyncio.get_running_loop()
        client = self._client_of(loop)
        if client is None:  # the first call, or a new loop: a finished loop's client is dropped
            client = self._client = self._new_client()
            self._client_loop = weakref.ref(loop)
        return client

    async def aclose(self) -> None:
        """Close the HTTP client of the running loop (call before the loop ends to avoid late-close warnings)."""
        client = self._client_of(asyncio.get_running_loop())
        if client is not None:
            self._client, self._client_loop = None, None
            await client.close()
