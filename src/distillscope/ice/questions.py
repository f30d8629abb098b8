"""Identity questions: the built-in bilingual bank and loaders for the paper's CSV and our YAML/JSON/JSONL.

A question has a stable id, a category (team, cooperation, industry, technology, geography or unknown)
and a language ("en" or "zh", detected from CJK characters when a file does not say).
"""

from __future__ import annotations

import csv
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from distillscope.errors import ConfigError
from distillscope.ice.templates import read_structured

CATEGORIES: tuple[str, ...] = ("team", "cooperation", "industry", "technology", "geography")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

# METHOD §2.2: inferred categories of the paper's 25 English questions, by row (the 25 Chinese repeat them).
_PAPER_CATEGORIES: tuple[str, ...] = (
    ("team",) * 5 + ("industry",) * 6 + ("technology",) * 5 + ("geography",) * 4 + ("cooperation",) * 5
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Question:
    """One identity question. `pair_id` links a question to its translation (same id without language)."""

    id: str
    text: str
    category: str
    language: str
    pair_id: str

    def to_dict(self) -> dict[str, str]:
        return {
            "id": self.id,
            "text": self.text,
            "category": self.category,
            "language": self.language,
            "pair_id": self.pair_id,
        }


def detect_language(text: str) -> str:
    """'zh' when the text contains CJK ideographs, otherwise 'en'."""
    return "zh" if _CJK.search(text) else "en"


def load_questions(source: str | Path = "builtin") -> list[Question]:
    """Questions from "builtin", a paper-style CSV (`query` column), or our YAML/JSON/JSONL format."""
    if str(source) == "builtin":
        return load_builtin_questions()
    path = Path(source)
    if not path.is_file():
        raise ConfigError(f"question file {path} does not exist; pass --questions builtin or an existing file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        questions = _load_csv(path)
    elif suffix in (".yaml", ".yml", ".json", ".jsonl"):
        questions = _parse_bank(read_structured(path, "question"), str(path))
    else:
        raise ConfigError(f"question file {path}: unknown format {suffix!r}; use .csv, .yaml, .json or .jsonl")
    if not questions:
        raise ConfigError(f"question file {path} holds no questions; add at least one or use --questions builtin")
    _check_unique(questions, str(path))
    return questions


def load_builtin_questions() -> list[Question]:
    """The project's own 50 bilingual question pairs (100 questions), in file order, English first."""
    text = resources.files("distillscope").joinpath("data/ice/questions.yaml").read_text(encoding="utf-8")
    return _parse_bank(yaml.safe_load(text), "builtin questions")


def sample_questions(questions: Sequence[Question], k: int | None, rng: random.Random) -> list[Question]:
    """`k` questions drawn without replacement (all of them, in order, when k is None or >= len)."""
    if k is None or k >= len(questions):
        return list(questions)
    return rng.sample(list(questions), k)


def _parse_bank(raw: Any, where: str) -> list[Question]:
    """Our format: {questions: [{id, category, en, zh} | {id, category, text, language?}]}."""
    rows = raw.get("questions") if isinstance(raw, dict) else raw
    if rows is None:
        return []
    if not isinstance(rows, list):
        raise ConfigError(f"{where}: expected a list of questions under 'questions'")
    out: list[Question] = []
    for n, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ConfigError(f"{where}: question #{n} is not a mapping; give id, category and en/zh or text")
        out.extend(_bank_row(row, n, where))
    return out


def _bank_row(row: dict[str, Any], n: int, where: str) -> list[Question]:
    pair_id = str(row.get("id") or f"q{n:03d}")
    category = str(row.get("category") or "unknown")
    texts = {lang: str(row[lang]).strip() for lang in ("en", "zh") if row.get(lang)}
    if row.get("text"):
        text = str(row["text"]).strip()
        texts[str(row.get("language") or detect_language(text))] = text
    if not texts:
        raise ConfigError(f"{where}: question {pair_id!r} has no text; give 'en', 'zh' or 'text'")
    return [
        Question(id=f"{pair_id}-{lang}", text=t, category=category, language=lang, pair_id=pair_id)
        for lang, t in texts.items()
    ]


def _load_csv(path: Path) -> list[Question]:
    """The paper's CSV: a `query` column; categories by position when there are exactly 50 rows."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or "query" not in reader.fieldnames:
                raise ConfigError(f"question file {path} has no 'query' column; the CSV needs a header 'query'")
            texts = [str(r["query"] or "").strip() for r in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"question file {path} is unreadable ({exc})") from exc
    texts = [t for t in texts if t]
    paper = len(texts) == 50
    out = []
    for i, text in enumerate(texts):
        category = _PAPER_CATEGORIES[i % 25] if paper else "unknown"
        pair = f"paper-{i % 25:02d}" if paper else f"csv-{i:03d}"
        lang = detect_language(text)
        out.append(
            Question(id=f"{pair}-{lang}" if paper else pair, text=text, category=category, language=lang, pair_id=pair)
        )
    return out


def _check_unique(questions: Sequence[Question], where: str) -> None:
    seen: set[str] = set()
    for q in questions:
        if q.id in seen:
            raise ConfigError(f"{where}: question id {q.id!r} appears twice; ids must be unique")
        seen.add(q.id)
