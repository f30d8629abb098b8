"""Logging for the CLI: rich handler, and a filter that redacts secrets from every log record."""

from __future__ import annotations

import logging
import os
import re

_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)", re.IGNORECASE)


def secret_values() -> list[str]:
    """Values of environment variables whose names look secret (at least 8 characters long)."""
    return [v for k, v in os.environ.items() if _SECRET_NAME.search(k) and len(v) >= 8]


def redact(text: str, secrets: list[str] | None = None) -> str:
    """Replace every known secret value in `text` with `***`."""
    for value in secrets if secrets is not None else secret_values():
        text = text.replace(value, "***")
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with secrets replaced; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


def configure_logging(debug: bool = False) -> None:
    """Warnings (or everything with --debug) to stderr through rich, secrets redacted."""
    from rich.console import Console
    from rich.logging import RichHandler

    handler = RichHandler(console=Console(stderr=True), show_path=debug, rich_tracebacks=debug)
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
    for noisy in ("httpx", "httpcore", "openai"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if debug else logging.WARNING)
