"""Prompt-set loaders: ArenaHard, ShareGPT, MT-Bench, Numina and generic JSONL/CSV/Parquet files (also .gz).

Every loader returns `PromptItem`s; `load_prompt_set(spec)` turns a spec string such as `arenahard:PATH`
or `jsonl:PATH#field` into a `PromptSet`. Malformed or empty input raises a `ConfigError` naming the fix.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import logging
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distillscope.errors import ConfigError
from distillscope.prompts.builtin import builtin_prompts
from distillscope.prompts.items import PromptItem
from distillscope.types import Message

log = logging.getLogger(__name__)

# Fields tried, in order, when a generic file names no field.
_TEXT_FIELDS = ("prompt", "text", "question", "instruction", "problem", "query", "input")
_ID_FIELDS = ("id", "question_id", "uid", "idx")


@dataclass(frozen=True)
class PromptSet:
    """An ordered collection of prompts, named by the spec that produced it."""

    spec: str
    items: tuple[PromptItem, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[PromptItem]:
        return iter(self.items)

    @property
    def set_names(self) -> list[str]:
        """Distinct `set` values, in first-seen order."""
        return list(dict.fromkeys(i.set for i in self.items))

    @property
    def content_hash(self) -> str:
        """sha256 of the ids, sets and messages sent: two sets with equal hashes send the same prompts."""
        return prompt_set_hash(self.items)


def prompt_set_hash(items: Iterable[PromptItem]) -> str:
    """Content hash of prompts for run manifests (order matters)."""
    payload = [[i.set, i.id, [[m.role, m.content] for m in i.request_messages()]] for i in items]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


def sample_prompts(items: Sequence[PromptItem], n: int | None, rng: random.Random) -> list[PromptItem]:
    """`n` prompts chosen by `rng` (all when n is None or too large), kept in source order."""
    if n is None or n >= len(items):
        return list(items)
    if n <= 0:
        raise ConfigError(f"--sample must be a positive number, got {n}")
    chosen = sorted(rng.sample(range(len(items)), n))
    return [items[i] for i in chosen]


# ----------------------------------------------------------------------------------------------- reading files
def _open_text(path: Path) -> str:
    if not path.is_file():
        raise ConfigError(f"prompt file {path} does not exist; check the path in the prompt spec")
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except OSError as exc:
            raise ConfigError(f"{path} is not a valid gzip file ({exc}); recompress it or drop .gz") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text; convert it to UTF-8") from exc


def read_records(path: Path) -> list[dict[str, Any]]:
    """Objects of a JSONL file or of a JSON array file (.gz allowed)."""
    text = _open_text(path).strip()
    if text.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: invalid JSON ({exc.msg} at line {exc.lineno}); fix the file") from exc
        rows = list(data)
    else:
        rows = []
        # split on "\n" only: str.splitlines() also breaks at U+2028 etc. inside JSON strings
        for n, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{path}:{n}: invalid JSON line ({exc.msg}); write one JSON object per line") from exc
    bad = [i for i, r in enumerate(rows) if not isinstance(r, dict)]
    if bad:
        raise ConfigError(f"{path}: record {bad[0] + 1} is not a JSON object; write one object per prompt")
    return rows


def _read_csv(path: Path) -> list[dict[str, Any]]:
    return list(csv.DictReader(io.StringIO(_open_text(path))))


def _read_parquet(path: Path) -> list[dict[str, Any]]:
    import pandas as pd

    if not path.is_file():
        raise ConfigError(f"prompt file {path} does not exist; check the path in the prompt spec")
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    try:
        frame = pd.read_parquet(io.BytesIO(raw))
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise ConfigError(f"{path} is not a readable Parquet file ({exc}); check the file or use jsonl:/csv:") from exc
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict(orient="records")]


# ----------------------------------------------------------------------------------------------- field helpers
def _record_id(row: dict[str, Any], index: int) -> str:
    for key in _ID_FIELDS:
        if row.get(key) not in (None, ""):
            return str(row[key])
    return str(index)


def _content(value: Any) -> str:
    """A turn as text: a string, or an object with `content`/`value`/`text`."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in ("content", "value", "text"):
            if isinstance(value.get(key), str):
                return str(value[key])
    return ""


def _turns(row: dict[str, Any]) -> tuple[str, ...]:
    raw = row.get("turns")
    if not isinstance(raw, list):
        return ()
    return tuple(t for t in (_content(x) for x in raw) if t.strip())


def _category(row: dict[str, Any]) -> str | None:
    value = row.get("category") or row.get("cluster") or row.get("source")
    return str(value) if value not in (None, "") else None


def _finish(items: list[PromptItem], path: Path, fix: str) -> list[PromptItem]:
    """Make ids unique and refuse an empty result with a message that names the fix."""
    if not items:
        raise ConfigError(f"{path} holds no usable prompt; {fix}")
    seen: dict[str, int] = {}
    out = []
    for item in items:
        n = seen.get(item.id, 0)
        seen[item.id] = n + 1
        out.append(
            item
            if n == 0
            else PromptItem(
                id=f"{item.id}#{n + 1}",
                set=item.set,
                text=item.text,
                category=item.category,
                turns=item.turns,
                messages=item.messages,
            )
        )
    if len(out) != len(seen):
        log.warning("%s: %d duplicate ids were made unique with a #N suffix", path, len(out) - len(seen))
    return out


# ----------------------------------------------------------------------------------------------- loaders
def load_arenahard(path: Path, set_name: str = "arenahard") -> list[PromptItem]:
    """Arena-Hard `question.jsonl`: `prompt`, or `turns` (strings or {"content": ...}); first turn sent."""
    items = []
    for i, row in enumerate(read_records(path)):
        turns = _turns(row)
        text = str(row.get("prompt") or (turns[0] if turns else ""))
        if text.strip():
            category = str(row["cluster"]) if row.get("cluster") else _category(row)
            items.append(
                PromptItem(id=_record_id(row, i), set=set_name, text=text, category=category, turns=turns or (text,))
            )
    return _finish(items, path, "ArenaHard files need a `prompt` or `turns` field per line")


def load_mtbench(path: Path, set_name: str = "mtbench") -> list[PromptItem]:
    """MT-Bench `question.jsonl`: `turns`; the first turn is sent, every turn is kept in `turns`."""
    items = []
    for i, row in enumerate(read_records(path)):
        turns = _turns(row)
        if turns:
            items.append(
                PromptItem(id=_record_id(row, i), set=set_name, text=turns[0], category=_category(row), turns=turns)
            )
    return _finish(items, path, "MT-Bench files need a non-empty `turns` list per line")


def _conversation(row: dict[str, Any]) -> list[Message]:
    role_of = {
        "human": "user",
        "user": "user",
        "gpt": "assistant",
        "assistant": "assistant",
        "chatgpt": "assistant",
        "bard": "assistant",
        "bing": "assistant",
        "system": "system",
    }
    msgs = []
    for turn in row.get("conversations") or []:
        if not isinstance(turn, dict):
            continue
        role = role_of.get(str(turn.get("from") or turn.get("role") or "").lower())
        text = _content(turn)
        if role and text.strip():
            msgs.append(Message(role, text))  # type: ignore[arg-type]
    return msgs


def _sharegpt_item(row: dict[str, Any], index: int, set_name: str, multi_turn: bool) -> PromptItem | None:
    if "conversations" not in row:
        text = str(row.get("prompt") or "")
        return (
            PromptItem(id=_record_id(row, index), set=set_name, text=text, category=_category(row), turns=(text,))
            if text.strip()
            else None
        )
    msgs = _conversation(row)
    users = [m for m in msgs if m.role == "user"]
    if not users:
        return None
    turns = tuple(m.content for m in users)
    if not multi_turn:
        return PromptItem(
            id=_record_id(row, index), set=set_name, text=users[0].content, category=_category(row), turns=turns
        )
    # Send the dialogue up to and including its last user turn (the recorded replies become the history).
    last = max(i for i, m in enumerate(msgs) if m.role == "user")
    return PromptItem(
        id=_record_id(row, index),
        set=set_name,
        text=users[-1].content,
        category=_category(row),
        turns=turns,
        messages=tuple(msgs[: last + 1]),
    )


def load_sharegpt(path: Path, set_name: str = "sharegpt", *, multi_turn: bool = False) -> list[PromptItem]:
    """ShareGPT JSON/JSONL (`conversations` with `from`/`value`, or a plain `prompt`); first human turn
    by default, the whole dialogue up to its last human turn with `multi_turn`."""
    rows = read_records(path)
    items = [it for i, row in enumerate(rows) if (it := _sharegpt_item(row, i, set_name, multi_turn))]
    return _finish(items, path, "ShareGPT files need `conversations` with a human turn (or a `prompt` field)")


def load_numina(path: Path, set_name: str = "numina") -> list[PromptItem]:
    """NuminaMath-style JSONL: a `problem` field per line."""
    return load_field(path, "problem", set_name)


def load_field(path: Path, field_name: str | None, set_name: str) -> list[PromptItem]:
    """Generic JSONL/JSON/CSV/Parquet: one prompt per record from `field_name` (or the first known field)."""
    name = path.name.removesuffix(".gz")
    if name.endswith(".csv"):
        rows = _read_csv(path)
    elif name.endswith(".parquet"):
        rows = _read_parquet(path)
    else:
        rows = read_records(path)
    chosen = field_name or next((f for f in _TEXT_FIELDS if rows and f in rows[0]), None)
    if chosen is None or (rows and chosen not in rows[0]):
        have = ", ".join(sorted(rows[0])) if rows else "none"
        raise ConfigError(
            f"{path}: no prompt field {field_name or '(auto)'!r} (fields: {have}); "
            f"name one with SPEC#FIELD, e.g. jsonl:{path}#prompt"
        )
    items = [
        PromptItem(id=_record_id(row, i), set=set_name, text=str(row[chosen]), category=_category(row))
        for i, row in enumerate(rows)
        if isinstance(row.get(chosen), str) and str(row[chosen]).strip()
    ]
    return _finish(items, path, f"every record needs a non-empty text field {chosen!r}")


# ----------------------------------------------------------------------------------------------- specs
SPEC_KINDS = ("builtin", "arenahard", "sharegpt", "mtbench", "numina", "jsonl", "json", "csv", "parquet")
SPEC_HELP = (
    "builtin, builtin:GROUP[,GROUP], arenahard:PATH, sharegpt:PATH[#multi], mtbench:PATH, numina:PATH, "
    "jsonl:PATH#FIELD, csv:PATH#FIELD, parquet:PATH#FIELD"
)


def _load_kind(kind: str, path: Path, frag: str) -> list[PromptItem]:
    if kind == "arenahard":
        return load_arenahard(path)
    if kind == "mtbench":
        return load_mtbench(path)
    if kind == "numina":
        return load_numina(path)
    if kind == "sharegpt":
        if frag not in ("", "multi", "first"):
            raise ConfigError(f"unknown ShareGPT option #{frag}; use sharegpt:PATH or sharegpt:PATH#multi")
        return load_sharegpt(path, multi_turn=frag == "multi")
    stem = path.name.removesuffix(".gz").rsplit(".", 1)[0]
    return load_field(path, frag or None, stem)


def load_spec_items(spec: str) -> list[PromptItem]:
    """All prompts named by one spec (see SPEC_HELP); a bare path is read as a generic file."""
    kind, sep, rest = spec.partition(":")
    if kind == "builtin":
        return builtin_prompts(rest.split(",") if rest else None)
    if not sep or kind not in SPEC_KINDS:
        path = Path(spec)
        if path.is_file():
            return load_field(path, None, path.name.removesuffix(".gz").rsplit(".", 1)[0])
        raise ConfigError(f"prompt spec {spec!r} is neither a known kind nor an existing file; use one of {SPEC_HELP}")
    path_text, _, frag = rest.partition("#")
    if not path_text:
        raise ConfigError(f"prompt spec {spec!r} names no file; write it as {kind}:PATH")
    return _load_kind(kind, Path(path_text).expanduser(), frag)


def load_prompt_set(
    specs: str | Sequence[str], *, sample: int | None = None, rng: random.Random | None = None
) -> PromptSet:
    """Load one or more specs into a PromptSet; `sample` draws that many prompts per set with `rng`.

    Sampling is per set name, so `builtin` with sample=5 keeps 5 prompts of each of its three groups.
    """
    spec_list = [specs] if isinstance(specs, str) else list(specs)
    if not spec_list:
        raise ConfigError(f"no prompt set given; pass --prompts with one of {SPEC_HELP}")
    rng = rng or random.Random(0)
    items: list[PromptItem] = []
    for spec in spec_list:
        loaded = load_spec_items(spec)
        for name in dict.fromkeys(i.set for i in loaded):
            items.extend(sample_prompts([i for i in loaded if i.set == name], sample, rng))
    return PromptSet(" + ".join(spec_list), tuple(items))
