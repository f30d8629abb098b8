"""Helpers shared by CLI modules: the console, JSON output, running coroutines."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from distillscope.errors import DistillscopeError

T = TypeVar("T")

console = Console()
err_console = Console(stderr=True)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a library coroutine from a synchronous command."""
    return asyncio.run(coro)


def print_json(obj: Any) -> None:
    """Machine-readable output: plain JSON on stdout, nothing else."""
    print(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


def one_line(text: str) -> str:
    """`text` with every run of whitespace, newlines included, collapsed to one space."""
    return " ".join(text.split())


def print_error(message: str) -> None:
    """`error: MESSAGE` on stderr as one line: never wrapped, and brackets (`distillscope[embed]`) kept literal."""
    err_console.print(Text.assemble(("error:", "red"), " ", message), soft_wrap=True, highlight=False)


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Typed errors become one line on stderr and exit code 2 (also when a command is invoked directly)."""
    try:
        yield
    except DistillscopeError as exc:
        print_error(one_line(str(exc)))
        raise typer.Exit(2) from None
