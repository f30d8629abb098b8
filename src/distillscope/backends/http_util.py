"""Helpers shared by the HTTP API backends (openai:, anthropic:): local endpoints, safe URLs, key scrubbing and
Retry-After parsing. No backend imports another; they share this module instead."""

from __future__ import annotations

import email.utils
import re
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

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
