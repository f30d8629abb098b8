"""The input files of a config (prompt sets, ICE questions and templates): which file a spec reads, and how many
items it holds, or why none (an empty file is said to be empty, not unreadable)."""

from __future__ import annotations

from collections.abc import Callable, Sized
from pathlib import Path
from typing import TypeVar

from distillscope.errors import DistillscopeError

S = TypeVar("S", bound=Sized)
EMPTY_CHECK_BYTES = 4096  # larger files are not read twice: their loader says whether they hold items


def input_path(spec: str) -> Path | None:
    """The file a prompt, question or template spec reads (`KIND:PATH#FIELD` or a bare path); None for builtin."""
    from distillscope.prompts.loaders import SPEC_KINDS

    kind, sep, rest = spec.partition(":")
    if kind == "builtin":
        return None
    if sep and kind in SPEC_KINDS:
        path_text = rest.partition("#")[0]
        return Path(path_text).expanduser() if path_text else None
    return Path(spec).expanduser()


def is_empty_file(path: Path | None) -> bool:
    """True for an existing file that holds nothing but whitespace."""
    if path is None or not path.is_file():
        return False
    size = path.stat().st_size
    return size == 0 or (size < EMPTY_CHECK_BYTES and not path.read_bytes().strip())


def read_input(what: str, spec: str, load: Callable[[], S]) -> tuple[S | None, str | None]:
    """(what `load()` reads, None), or (None, why not): the file is empty, holds no item, or the loader's
    one-line error."""
    path = input_path(spec)
    if is_empty_file(path):
        return None, f"{what}: {path} is empty; add items or use builtin"
    try:
        items = load()
    except DistillscopeError as exc:
        return None, f"{what}: {exc}"
    return (items, None) if len(items) else (None, f"{what} holds nothing; add items or use builtin")
