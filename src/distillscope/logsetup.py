"""Logging for the CLI: stderr (rich on a terminal, plain lines otherwise), an optional JSON-lines log file,
and filters that redact secrets and keep other libraries' debug noise out."""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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


class OwnDebugOnly(logging.Filter):
    """Lets other libraries' records through from WARNING up only (no matplotlib, httpx or PIL debug noise)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name.split(".")[0] == "distillscope"


NOISY = ("httpx", "httpcore", "openai", "matplotlib", "PIL", "urllib3", "asyncio", "filelock", "fsspec")
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the record's extra fields, and the
    exception's traceback when there is one; every string redacted."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(debug: bool = False, log_file: Path | None = None) -> None:
    """Warnings (everything with --debug) to stderr, and with `log_file` INFO and up (DEBUG with --debug) as
    JSON lines appended to it. Secrets are redacted and other libraries speak from WARNING up only.

    stderr gets rich's handler on a terminal and plain unwrapped lines otherwise (logs stay one line each)."""
    import sys

    from rich.console import Console
    from rich.logging import RichHandler

    stderr_handler: logging.Handler
    if sys.stderr.isatty():
        stderr_handler = RichHandler(console=Console(stderr=True), show_path=debug, rich_tracebacks=debug)
    else:
        stderr_handler = logging.StreamHandler(sys.stderr)
        stderr_handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    stderr_handler.setLevel(logging.DEBUG if debug else logging.WARNING)
    handlers: list[logging.Handler] = [stderr_handler]
    if log_file is not None:
        try:
            log_file.parent.mkdir(parents=True, exist_ok=True)
            file_handler = logging.FileHandler(log_file, encoding="utf-8")
        except OSError as exc:
            from distillscope.errors import ConfigError

            why = f"cannot write the log file {log_file}: {exc.strerror}"
            raise ConfigError(f"{why}; choose another --log-file") from None
        file_handler.setFormatter(JsonLinesFormatter())
        file_handler.setLevel(logging.DEBUG if debug else logging.INFO)
        handlers.append(file_handler)
    for handler in handlers:
        handler.addFilter(RedactingFilter())
        handler.addFilter(OwnDebugOnly())
    root = logging.getLogger()
    root.handlers[:] = handlers
    root.setLevel(min(h.level for h in handlers))
    for noisy in NOISY:  # spares the cost of building records the filter would drop
        logging.getLogger(noisy).setLevel(logging.WARNING)
