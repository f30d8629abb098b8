"""Helpers shared by CLI modules: the console, JSON output, running coroutines."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from distillscope.errors import DistillscopeError

T = TypeVar("T")

# soft_wrap: a long line stays one line (a terminal wraps it for the eye; a pipe or a log keeps it whole)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a library coroutine from a synchronous command."""
    return asyncio.run(coro)


class Interrupted(Exception):
    """SIGINT or SIGTERM cancelled a command's coroutine; `signum` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """128 + the signal number, the shell's convention: 130 for SIGINT, 143 for SIGTERM."""
        return 128 + self.signum


def run_interruptible(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro`; SIGINT and SIGTERM cancel it (so it can record where it stopped) and raise `Interrupted`."""

    async def main() -> T:
        loop, task = asyncio.get_running_loop(), asyncio.current_task()
        assert task is not None
        received: list[int] = []

        def stop(signum: int) -> None:
            received.append(signum)
            task.cancel()

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop, signum)
        try:
            return await coro
        except asyncio.CancelledError:
            if received:
                raise Interrupted(received[0]) from None
            raise
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)

    return asyncio.run(main())


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
