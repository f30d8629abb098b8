"""Tests of judge-free similarity metrics, stylometry, response loading and the embedding cache."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from distillscope.errors import ConfigError
from distillscope.rse import metrics, stylometry
from distillscope.rse.embeddings import embed_texts, text_key
from distillscope.rse.responses import load_responses

TEXTS = {
    "a": ["The cat sat on the mat.", "Paris is the capital of France.", "Use a loop to sum numbers."],
    "b": ["A dog slept on the rug!", "The capital of France is Paris.", "Sum numbers with a for loop."],
    "c": ["Quantum fields fluctuate.", "Bananas are yellow fruit.", "Mountains rise above clouds."],
}


def _dp_lcs(a: list[str], b: list[str]) -> int:
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            table[i + 1][j + 1] = table[i][j] + 1 if x == y else max(table[i][j + 1], table[i + 1][j])
    return table[-1][-1]


def test_lcs_matches_dynamic_programming() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        a = [str(x) for x in rng.integers(0, 5, size=rng.integers(0, 30))]
        b = [str(x) for x in rng.integers(0, 5, size=rng.integers(0, 30))]
        assert metrics.lcs_length(a, b) == _dp_lcs(a, b)


def test_text_vs_itself_is_maximal() -> None:
    text = "Here is a list:\n- one\n- two"
    assert metrics.rouge_l(text, text) == pytest.approx(1.0)
    assert metrics.rouge_l(text, "nothing alike whatsoever") < 0.3
    sims = metrics.tfidf_prompt_sims({**TEXTS, "a2": TEXTS["a"]}, ["a"], ["a2", "b", "c"])
    assert np.allclose(sims.values[:, 0, 0], 1.0, atol=1e-5)
    assert (sims.values[:, 0, 0] >= sims.values[:, 0, 1:].max(axis=1)).all()
    char = metrics.tfidf_prompt_sims(
        TEXTS, ["a"], ["b", "c"], metrics.TfidfOptions(analyzer="char_wb", ngram_range=(2, 4))
    )
    assert char.mean()[0, 0] > char.mean()[0, 1]


def test_rouge_and_embedding_prompt_sims_shapes() -> None:
    rouge = metrics.rouge_prompt_sims(TEXTS, ["a", "b"], ["a", "c"])
    assert rouge.values.shape == (3, 2, 2)
    assert np.allclose(rouge.values[:, 0, 0], 1.0)
    emb = {m: np.eye(3, 4)[[0, 1, 2]] for m in TEXTS}
    sims = metrics.embedding_prompt_sims(emb, ["a"], ["b", "c"])
    assert np.allclose(sims.values, 1.0)


def test_stylometry_on_handmade_markdown() -> None:
    text = (
        "Sure! Here is an overview.\n\n## Setup\n\n- **Install** the tool\n- Run `make`\n\n"
        "1. First step\n2. Second step\n\n```python\nprint(1)\n```\n\nI hope this helps!"
    )
    feats = dict(zip(stylometry.FEATURE_NAMES, stylometry.style_features(text), strict=True))
    assert feats["headers"] == pytest.approx(np.log1p(1))
    assert feats["bullets"] == pytest.approx(np.log1p(2))
    assert feats["numbered"] == pytest.approx(np.log1p(2))
    assert feats["bold"] == pytest.approx(np.log1p(1))
    assert feats["code_blocks"] == pytest.approx(np.log1p(1))
    assert feats["inline_code"] == pytest.approx(np.log1p(1))
    assert feats["open_affirm"] == 1.0 and feats["close_hope"] == 1.0
    plain = dict(zip(stylometry.FEATURE_NAMES, stylometry.style_features("Plain words only."), strict=True))
    assert plain["headers"] == 0.0 and plain["open_affirm"] == 0.0
    sims = stylometry.style_prompt_sims({"x": [text], "y": [text], "z": ["Plain words only."]}, ["x"], ["y", "z"])
    assert sims.values[0, 0, 0] > sims.values[0, 0, 1]


def test_loading_joins_on_instruction_not_position(tmp_path: Path) -> None:
    rows_a = [{"model": "a", "instruction": f"q{i}", "output": f"a{i}"} for i in range(3)]
    rows_b = [{"generator": "b", "instruction": f"q{i} ", "output": f"b{i}"} for i in (2, 0)]
    path_a = tmp_path / "a.jsonl.gz"
    with gzip.open(path_a, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(json.dumps(r) for r in rows_a))
    path_b = tmp_path / "b.json"
    path_b.write_text(json.dumps(rows_b), encoding="utf-8")
    data = load_responses([path_a, path_b])
    instructions, texts = data.aligned(["a", "b"])
    assert instructions == ["q0", "q2"]
    assert texts["a"] == ["a0", "a2"] and texts["b"] == ["b0", "b2"]
    with pytest.raises(ConfigError):
        data.aligned(["a", "missing"])
    with pytest.raises(ConfigError):
        load_responses([tmp_path / "nope.jsonl"])


def test_aligning_on_far_fewer_instructions_than_a_model_answered_warns_and_names_the_model(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from distillscope.rse.responses import ResponseSet

    data = ResponseSet()
    for i in range(20):
        data.add("full", f"q{i}", "x")
        if i < 19:  # 19 of 20: aligning keeps 95%, no warning
            data.add("near", f"q{i}", "y")
    with caplog.at_level("WARNING", logger="distillscope.rse.responses"):
        assert len(data.aligned(["full", "near"])[0]) == 19
        assert not caplog.records
        for i in range(5):
            data.add("sparse", f"q{i}", "z")
        assert len(data.aligned(["full", "near", "sparse"])[0]) == 5
    assert "only 5 of 20 instructions are answered by all 3 models" in caplog.text
    assert "sparse (5)" in caplog.text


def test_embedding_cache_computes_each_text_once(tmp_path: Path) -> None:
    calls: list[list[str]] = []

    def fake(batch: list[str]) -> np.ndarray:
        calls.append(batch)
        return np.array([[len(t), 1.0, 0.0] for t in batch], dtype=np.float32)

    cache = tmp_path / "emb.sqlite"
    first = embed_texts(["aa", "b", "aa"], cache_path=cache, encoder=fake)
    second = embed_texts(["b", "aa"], cache_path=cache, encoder=fake)
    assert sum(len(c) for c in calls) == 2
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0)
    assert np.allclose(first[0], second[1]) and np.allclose(first[1], second[0])
    assert len(text_key("x")) == 64
