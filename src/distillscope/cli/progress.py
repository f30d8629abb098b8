"""The terminal side of `ProgressEvent`: rich bars on a terminal, plain lines (never redrawn) otherwise.

Plain lines are for logs, CI and `nohup`: one when a stage starts, one every 10% of it (or every 15 seconds
when the size is unknown or progress is slow), and one when it finishes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from distillscope.progress import ProgressEvent, ProgressSink


def _count(e: ProgressEvent) -> str:
    return f"{e.done}/{e.total}" if e.total is not None else str(e.done)


@dataclass
class _Seen:
    tenth: int = 0  # tenths of the stage printed so far
    started: float = field(default_factory=time.monotonic)
    printed: float = field(default_factory=time.monotonic)


class PlainProgress:
    """Progress as plain lines through `write` (one call per line)."""

    EVERY_S = 15.0

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write
        self._seen: dict[str, _Seen] = {}

    def __call__(self, e: ProgressEvent) -> None:
        seen = self._seen.get(e.stage)
        if seen is None:
            seen = self._seen[e.stage] = _Seen(tenth=10 * e.done // e.total if e.total else 0)
            self.write(f"{e.stage}: started, {_count(e)} done")
        if e.finished:
            planned = f" of {e.total} planned" if e.total is not None and e.total != e.done else ""
            self.write(f"{e.stage}: finished, {e.done}{planned} in {time.monotonic() - seen.started:.0f}s{_tail(e)}")
            return
        tenth = 10 * e.done // e.total if e.total else 0
        now = time.monotonic()
        if tenth > seen.tenth or now - seen.printed >= self.EVERY_S:
            seen.tenth, seen.printed = max(tenth, seen.tenth), now
            pct = f" ({100 * e.done // e.total}%)" if e.total else ""
            self.write(f"{e.stage}: {_count(e)}{pct}{_tail(e)}")


def _tail(e: ProgressEvent) -> str:
    return f" · {e.note}" if e.note else ""


class BarProgress:
    """Progress as one rich bar per stage; a finished stage's bar is full."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, e: ProgressEvent) -> None:
        if e.stage not in self._tasks:
            self._tasks[e.stage] = self.bar.add_task(e.stage, total=e.total, info="")
        total = e.done if e.finished else e.total
        self.bar.update(self._tasks[e.stage], completed=e.done, total=total, info=escape(e.note))


class _Closing:
    """For commands whose stages run one after the other and report no end: a stage is shown finished when the
    next one starts, and `close` finishes the last."""

    def __init__(self, sink: ProgressSink) -> None:
        self.sink = sink
        self.last: dict[str, ProgressEvent] = {}

    def __call__(self, e: ProgressEvent) -> None:
        if e.stage not in self.last:
            self.close()
        self.last[e.stage] = e
        self.sink(e)

    def close(self) -> None:
        for e in list(self.last.values()):
            if not e.finished:
                self(replace(e, finished=True))


@contextmanager
def progress_display(console: Console, *, finish_on_exit: bool = False) -> Iterator[ProgressSink]:
    """A progress sink drawing on `console`: bars when it is a terminal, plain lines otherwise. With
    `finish_on_exit` (commands whose stages run in turn and report no end), a stage is shown finished when the
    next starts, and the last when the block ends without an error."""
    with _display(console) as sink:
        if not finish_on_exit:
            yield sink
            return
        closing = _Closing(sink)
        yield closing
        closing.close()


@contextmanager
def _display(console: Console) -> Iterator[ProgressSink]:
    if not console.is_terminal:
        yield PlainProgress(lambda line: print(line, file=console.file, flush=True))
        return
    with Progress(
        TextColumn("{task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("[dim]{task.fields[info]}"),
        console=console,
        transient=False,
    ) as bar:
        yield BarProgress(bar)
