"""One progress event for every stage of every command: how much of a stage is done, out of how much.

Counts are absolute, not increments: `done` includes what earlier processes finished (a resumed stage starts
where the last one stopped), so a display never needs to know whether a run was resumed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class ProgressEvent:
    """`done` of `total` units (calls, usually) of `stage`; `total` None when not known yet."""

    stage: str
    done: int
    total: int | None = None
    note: str = ""
    finished: bool = False  # the stage ended normally (the last event of a stage)


ProgressSink = Callable[[ProgressEvent], None]


class StageProgress:
    """Counts the finished units of one stage and sends a `ProgressEvent` to `sink` on every change."""

    def __init__(self, stage: str, sink: ProgressSink | None, total: int | None = None, done: int = 0) -> None:
        self.stage, self.sink, self.total, self.done = stage, sink, total, done

    def plan(self, total: int | None, done: int = 0) -> None:
        """The stage's size, and how much of it earlier runs already finished."""
        self.total, self.done = total, done
        self._emit()

    def advance(self, n: int = 1, note: str = "") -> None:
        self.done += n
        self._emit(note)

    def _emit(self, note: str = "") -> None:
        if self.sink is not None:
            self.sink(ProgressEvent(stage=self.stage, done=self.done, total=self.total, note=note))
