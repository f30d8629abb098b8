"""The built-in bilingual question bank and the question loaders (paper CSV, YAML, JSON, JSONL)."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from distillscope.errors import ConfigError
from distillscope.ice.questions import (
    CATEGORIES,
    detect_language,
    load_builtin_questions,
    load_questions,
    sample_questions,
)

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def test_builtin_bank_has_50_pairs_in_five_categories_and_two_languages() -> None:
    qs = load_builtin_questions()
    assert len(qs) == 100 and len({q.id for q in qs}) == 100
    pairs = Counter(q.pair_id for q in qs)
    assert len(pairs) == 50 and set(pairs.values()) == {2}
    assert Counter(q.category for q in qs) == {c: 20 for c in CATEGORIES}
    assert Counter(q.language for q in qs) == {"en": 50, "zh": 50}
    for q in qs:  # the tag matches the text, and ids are stable <category>-<nn>-<lang>
        assert detect_language(q.text) == q.language
        assert q.id == f"{q.pair_id}-{q.language}"
    assert qs[0].id == "team-01-en" and qs[1].id == "team-01-zh"
    assert load_questions("builtin") == qs


def test_paper_csv_gets_positional_categories() -> None:
    path = SHARED / "ice" / "paper_identity_questions.csv"
    if not path.exists():
        pytest.skip(f"validation data {path} is absent")
    qs = load_questions(path)
    assert len(qs) == 50
    assert Counter(q.language for q in qs) == {"en": 25, "zh": 25}
    assert [q.category for q in qs[:25]] == [q.category for q in qs[25:]]
    assert Counter(q.category for q in qs[:25]) == {
        "team": 5,
        "industry": 6,
        "technology": 5,
        "geography": 4,
        "cooperation": 5,
    }
    assert qs[0].text == "Which team or company developed you?"  # trailing spaces stripped
    assert qs[25].pair_id == qs[0].pair_id and qs[25].language == "zh"


def test_other_csv_sizes_are_unknown_category(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text("query,reference_responses\nWho made you?,x\n谁创造了你？,y\n", encoding="utf-8")
    qs = load_questions(path)
    assert [(q.category, q.language) for q in qs] == [("unknown", "en"), ("unknown", "zh")]


@pytest.mark.parametrize(
    "name,content",
    [
        ("empty.csv", "query\n"),
        ("empty.yaml", "questions: []\n"),
        ("blank.yaml", ""),
        ("empty.jsonl", "\n"),
    ],
)
def test_empty_question_files_are_config_errors(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match="holds no questions"):
        load_questions(path)


def test_bad_question_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_questions(tmp_path / "missing.csv")
    (tmp_path / "a.csv").write_text("text\nhello\n")
    with pytest.raises(ConfigError, match="'query' column"):
        load_questions(tmp_path / "a.csv")
    (tmp_path / "a.txt").write_text("hello\n")
    with pytest.raises(ConfigError, match="unknown format"):
        load_questions(tmp_path / "a.txt")
    (tmp_path / "dup.yaml").write_text("questions:\n- {id: a, en: x}\n- {id: a, en: y}\n")
    with pytest.raises(ConfigError, match="appears twice"):
        load_questions(tmp_path / "dup.yaml")


def test_yaml_json_and_jsonl_formats(tmp_path: Path) -> None:
    (tmp_path / "q.yaml").write_text("questions:\n- {id: t1, category: team, en: 'Who?', zh: 谁？}\n", encoding="utf-8")
    assert [q.id for q in load_questions(tmp_path / "q.yaml")] == ["t1-en", "t1-zh"]
    (tmp_path / "q.jsonl").write_text(
        json.dumps({"id": "g", "category": "geography", "text": "哪里？"}) + "\n", encoding="utf-8"
    )
    assert [(q.id, q.language) for q in load_questions(tmp_path / "q.jsonl")] == [("g-zh", "zh")]


def test_sampling_is_seeded_and_all_when_unset() -> None:
    qs = load_builtin_questions()
    assert sample_questions(qs, None, random.Random(0)) == qs
    assert sample_questions(qs, 7, random.Random(1)) == sample_questions(qs, 7, random.Random(1))
    assert len(set(sample_questions(qs, 7, random.Random(1)))) == 7
