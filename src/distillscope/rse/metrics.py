"""Judge-free similarity between the responses of models to the same prompts.

The central value is :class:`PromptSims`: for every prompt ``p``, query model ``q`` and candidate ``c``,
``values[p, q, c]`` is the similarity of q's response to c's response on prompt p. Signals here:
word / character n-gram TF-IDF cosine, ROUGE-L F1 and sentence-embedding cosine. Stylometry and the
attribution classifier live in their own modules and produce the same type.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)

Texts = Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class PromptSims:
    """Per-prompt similarities ``values[p, q, c]`` of query models to candidate models."""

    queries: tuple[str, ...]
    candidates: tuple[str, ...]
    values: np.ndarray

    def __post_init__(self) -> None:
        expected = (len(self.queries), len(self.candidates))
        if self.values.ndim != 3 or self.values.shape[1:] != expected:
            raise ValueError(f"values must be (prompts, {expected[0]}, {expected[1]}), got {self.values.shape}")

    @property
    def n_prompts(self) -> int:
        """Number of prompts."""
        return int(self.values.shape[0])

    def query(self, model: str) -> np.ndarray:
        """(prompts, candidates) slice for one query model."""
        return np.asarray(self.values[:, self.queries.index(model), :])

    def mean(self) -> np.ndarray:
        """(queries, candidates) similarity averaged over prompts."""
        return np.asarray(self.values.mean(axis=0))


def tokenize(text: str) -> list[str]:
    """Lower-cased word and punctuation tokens."""
    return _TOKEN.findall(text.lower())


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token lists (bit-parallel, O(|b| * |a|/w))."""
    if not a or not b:
        return 0
    masks: dict[str, int] = {}
    for i, tok in enumerate(a):
        masks[tok] = masks.get(tok, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for tok in b:
        u = v & masks.get(tok, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - v.bit_count()


def rouge_l(a: str, b: str, *, max_tokens: int | None = None) -> float:
    """ROUGE-L F1 between two texts (1.0 for identical non-empty texts)."""
    ta, tb = tokenize(a), tokenize(b)
    if max_tokens is not None:
        ta, tb = ta[:max_tokens], tb[:max_tokens]
    if not ta or not tb:
        return 1.0 if ta == tb else 0.0
    lcs = lcs_length(ta, tb)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(tb), lcs / len(ta)
    return 2 * precision * recall / (precision + recall)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two vectors (0 when either is zero)."""
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(np.dot(a, b) / (na * nb))


def _check(texts: Texts, queries: Sequence[str], candidates: Sequence[str]) -> int:
    models = list(dict.fromkeys([*queries, *candidates]))
    lengths = {len(texts[m]) for m in models}
    if len(lengths) != 1:
        raise ValueError("every model needs one response per prompt, aligned on the same prompts")
    return lengths.pop()


@dataclass(frozen=True, kw_only=True)
class TfidfOptions:
    """How texts become TF-IDF vectors (``analyzer`` "word" or "char_wb"); the defaults are RSE's word signal."""

    analyzer: str = "word"
    ngram_range: tuple[int, int] = (1, 2)
    max_features: int | None = 200_000
    sublinear_tf: bool = True
    token_pattern: str = r"(?u)\b\w\w+\b"
    lowercase: bool = True


def tfidf_prompt_sims(
    texts: Texts, queries: Sequence[str], candidates: Sequence[str], options: TfidfOptions | None = None
) -> PromptSims:
    """Per-prompt TF-IDF cosine, fitted on every response given."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    o = options or TfidfOptions()
    n = _check(texts, queries, candidates)
    models = list(dict.fromkeys([*queries, *candidates]))
    vectorizer = TfidfVectorizer(
        analyzer=o.analyzer,
        ngram_range=o.ngram_range,
        sublinear_tf=o.sublinear_tf,
        min_df=2,
        max_features=o.max_features,
        token_pattern=o.token_pattern,
        lowercase=o.lowercase,
    )
    # Prompt-major row order: the responses of all models to one prompt form one contiguous block.
    corpus = [texts[m][p] for p in range(n) for m in models]
    matrix = vectorizer.fit_transform(corpus).tocsr()
    qi = [models.index(q) for q in queries]
    ci = [models.index(c) for c in candidates]
    values = np.zeros((n, len(queries), len(candidates)), dtype=np.float32)
    k = len(models)
    for p in range(n):
        block = matrix[p * k : (p + 1) * k]
        values[p] = (block @ block.T).toarray()[np.ix_(qi, ci)]
    return PromptSims(tuple(queries), tuple(candidates), values)


def embedding_prompt_sims(
    embeddings: Mapping[str, np.ndarray], queries: Sequence[str], candidates: Sequence[str]
) -> PromptSims:
    """Per-prompt cosine of unit-normalised response embeddings (each model: a (prompts, dim) array)."""
    q = np.stack([embeddings[m] for m in queries], axis=1)
    c = np.stack([embeddings[m] for m in candidates], axis=1)
    values = np.einsum("pqd,pcd->pqc", q, c).astype(np.float32)
    return PromptSims(tuple(queries), tuple(candidates), values)


def rouge_prompt_sims(
    texts: Texts, queries: Sequence[str], candidates: Sequence[str], *, max_tokens: int = 128
) -> PromptSims:
    """Per-prompt ROUGE-L F1 on the first ``max_tokens`` tokens of each response."""
    n = _check(texts, queries, candidates)
    toks = {m: [tokenize(t)[:max_tokens] for t in texts[m]] for m in dict.fromkeys([*queries, *candidates])}
    values = np.zeros((n, len(queries), len(candidates)), dtype=np.float32)
    for qi, q in enumerate(queries):
        for ci, c in enumerate(candidates):
            values[:, qi, ci] = [_f1(a, b) for a, b in zip(toks[q], toks[c], strict=True)]
    return PromptSims(tuple(queries), tuple(candidates), values)


def _f1(a: list[str], b: list[str]) -> float:
    if not a or not b:
        return 1.0 if a == b else 0.0
    lcs = lcs_length(a, b)
    return 0.0 if lcs == 0 else 2 * lcs / (len(a) + len(b))
