"""Stylometric profile of a response: length, layout, markdown, sentences, openings, hedges, punctuation.

Features are numeric and cheap. Counts are log-scaled, then standardised over every response given,
so that no single feature dominates the distance between two responses.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import numpy as np

from distillscope.rse.metrics import PromptSims

# Phrase lists written for this project: generic assistant openings/closings and hedging words.
_OPENINGS = {
    "open_affirm": r"^(sure|certainly|of course|absolutely|great question|yes)\b",
    "open_here": r"^(here is|here are|here's|below is|below are)\b",
    "open_ai": r"^(as an ai|as a language model|i am an ai|i'm an ai)\b",
    "open_apology": r"^(i'm sorry|i am sorry|sorry|i apologi[sz]e|unfortunately)\b",
    "open_restate": r"^(the |a |an |to |in |it )",
}
_CLOSINGS = {
    "close_hope": r"(hope (this|that) helps|i hope)[^.!?]*[.!?]?\s*$",
    "close_invite": r"(let me know|feel free to|don't hesitate)[^.!?]*[.!?]?\s*$",
    "close_summary": r"(in conclusion|in summary|overall|to summarize|ultimately)\b",
}
_HEDGES = r"\b(may|might|could|perhaps|possibly|generally|typically|usually|often|likely|it depends)\b"
_APOLOGY = r"\b(sorry|apologi[sz]e|unfortunately|i cannot|i can't|i'm unable|i am unable)\b"

FEATURE_NAMES: tuple[str, ...] = (
    "log_chars",
    "log_words",
    "log_paragraphs",
    "log_lines",
    "headers",
    "bullets",
    "numbered",
    "bold",
    "code_blocks",
    "inline_code",
    "mean_sentence_words",
    "mean_word_chars",
    "questions",
    "exclamations",
    "colons",
    "semicolons",
    "dashes",
    "parentheses",
    "quotes",
    "emoji_or_symbols",
    "hedges",
    "apologies",
    "first_person",
    "second_person",
    *_OPENINGS,
    *_CLOSINGS,
)


def _per_k(count: int, words: int) -> float:
    """Rate per 100 words, log-scaled."""
    return math.log1p(100.0 * count / max(words, 1))


def _layout(text: str, words: int) -> list[float]:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    return [
        math.log1p(len(text)),
        math.log1p(words),
        math.log1p(len(paragraphs)),
        math.log1p(len(lines)),
        math.log1p(sum(1 for ln in lines if re.match(r"\s*#{1,6}\s", ln))),
        math.log1p(sum(1 for ln in lines if re.match(r"\s*[-*+•]\s", ln))),
        math.log1p(sum(1 for ln in lines if re.match(r"\s*\d+[.)]\s", ln))),
        math.log1p(len(re.findall(r"\*\*[^*\n]+\*\*|__[^_\n]+__", text))),
        math.log1p(text.count("```") // 2),
        math.log1p(len(re.findall(r"(?<!`)`[^`\n]+`(?!`)", text))),
    ]


def _sentences(text: str, words: list[str]) -> list[float]:
    sentences = [s for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]
    mean_len = len(words) / max(len(sentences), 1)
    mean_word = sum(len(w) for w in words) / max(len(words), 1)
    return [math.log1p(mean_len), mean_word]


def _punctuation(text: str, n: int) -> list[float]:
    symbols = sum(1 for ch in text if ord(ch) > 0x2000)
    return [
        _per_k(text.count("?"), n),
        _per_k(text.count("!"), n),
        _per_k(text.count(":"), n),
        _per_k(text.count(";"), n),
        _per_k(len(re.findall(r"\s[-–—]\s|—", text)), n),
        _per_k(text.count("("), n),
        _per_k(len(re.findall(r"[\"“”]", text)), n),
        _per_k(symbols, n),
    ]


def _voice(low: str, n: int) -> list[float]:
    return [
        _per_k(len(re.findall(_HEDGES, low)), n),
        _per_k(len(re.findall(_APOLOGY, low)), n),
        _per_k(len(re.findall(r"\b(i|i'm|i've|me|my)\b", low)), n),
        _per_k(len(re.findall(r"\b(you|your|you're|yours)\b", low)), n),
    ]


def style_features(text: str) -> np.ndarray:
    """Feature vector of one response, ordered as :data:`FEATURE_NAMES`."""
    words = re.findall(r"\w+", text)
    n = len(words)
    low = text.lower().strip()
    opening = low[:80]
    closing = low[-160:]
    flags = [float(bool(re.search(rx, opening))) for rx in _OPENINGS.values()]
    flags += [float(bool(re.search(rx, closing))) for rx in _CLOSINGS.values()]
    values = _layout(text, n) + _sentences(text, words) + _punctuation(text, n) + _voice(low, n) + flags
    return np.asarray(values, dtype=np.float64)


def style_matrix(texts: Sequence[str]) -> np.ndarray:
    """(texts, features) matrix of raw stylometric features."""
    if not texts:
        return np.zeros((0, len(FEATURE_NAMES)))
    return np.vstack([style_features(t) for t in texts])


def standardise(features: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Z-score every feature over all responses of all models given (constant features become 0)."""
    stacked = np.vstack(list(features.values()))
    mu, sd = stacked.mean(axis=0), stacked.std(axis=0)
    sd = np.where(sd < 1e-9, 1.0, sd)
    return {m: (f - mu) / sd for m, f in features.items()}


def style_prompt_sims(
    texts: Mapping[str, Sequence[str]], queries: Sequence[str], candidates: Sequence[str]
) -> PromptSims:
    """Per-prompt stylometric similarity: minus the RMS distance of standardised feature vectors."""
    models = list(dict.fromkeys([*queries, *candidates]))
    feats = standardise({m: style_matrix(texts[m]) for m in models})
    q = np.stack([feats[m] for m in queries], axis=1)
    c = np.stack([feats[m] for m in candidates], axis=1)
    diff = q[:, :, None, :] - c[:, None, :, :]
    values = -np.sqrt((diff**2).mean(axis=-1)).astype(np.float32)
    return PromptSims(tuple(queries), tuple(candidates), values)
