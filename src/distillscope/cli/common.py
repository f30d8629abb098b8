"""Helpers shared by CLI modules: the console, JSON output, running coroutines."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from typing import Any, TypeVar

from rich.console import Console

T = TypeVar("T")

console = Console()
err_console = Console(stderr=True)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a library coroutine from a synchronous command."""
    return asyncio.run(coro)


def print_json(obj: Any) -> None:
    """Machine-readable output: plain JSON on stdout, nothing else."""
    print(json.dumps(obj, indent=2, ensure_ascii=False, default=str))
