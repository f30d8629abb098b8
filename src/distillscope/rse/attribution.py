"""Attribution classifier in the spirit of "Idiosyncrasies in LLMs" (Sun et al. 2025).

A linear classifier is trained on the candidate teachers' responses to predict which candidate wrote a
response. It is cross-fitted by prompt: the responses to a prompt are always scored by a classifier
that never saw that prompt, so the score reflects a model's idiosyncrasies rather than the content of
one answer. Applied to a student, ``P(candidate | student's response)`` is a per-prompt similarity and
the share of the student's responses given to each candidate is its attribution share.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from distillscope.rse.metrics import PromptSims

log = logging.getLogger(__name__)


def prompt_folds(n_prompts: int, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    """Fold id of each prompt (balanced, seeded)."""
    if n_prompts < n_folds or n_folds < 2:
        raise ValueError(f"need at least {max(n_folds, 2)} prompts and 2 folds for cross-fitting")
    return np.asarray(rng.permutation(np.arange(n_prompts) % n_folds))


def _text_features(texts: Mapping[str, Sequence[str]], fit_on: Sequence[str], models: Sequence[str]) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        analyzer="word",
        ngram_range=(1, 2),
        sublinear_tf=True,
        min_df=3,
        max_features=100_000,
        token_pattern=r"(?u)\b\w+\b|[^\w\s]",
        lowercase=False,
    )
    vectorizer.fit([t for m in fit_on for t in texts[m]])
    return {m: vectorizer.transform(texts[m]).tocsr() for m in models}


def _new_classifier(seed: int) -> Any:
    from sklearn.linear_model import SGDClassifier

    return SGDClassifier(loss="log_loss", alpha=2e-5, max_iter=15, tol=None, random_state=seed)


def _stack(features: Mapping[str, Any], models: Sequence[str], rows: np.ndarray) -> Any:
    import scipy.sparse as sp

    blocks = [features[m][rows] for m in models]
    if sp.issparse(blocks[0]):
        return sp.vstack(blocks).tocsr()
    return np.vstack(blocks)


def _proba(clf: Any, x: Any) -> np.ndarray:
    # log-loss SGD is one-vs-rest; normalising its probabilities gives a distribution over candidates.
    probs = np.asarray(clf.predict_proba(x), dtype=np.float64)
    return probs / np.clip(probs.sum(axis=1, keepdims=True), 1e-12, None)


def crossfit_attribution(
    features: Mapping[str, Any],
    queries: Sequence[str],
    candidates: Sequence[str],
    rng: np.random.Generator,
    *,
    n_folds: int = 5,
) -> PromptSims:
    """Cross-fitted ``P(candidate | query's response)`` per prompt, from per-model feature matrices."""
    n = int(features[candidates[0]].shape[0])
    folds = prompt_folds(n, n_folds, rng)
    values = np.zeros((n, len(queries), len(candidates)), dtype=np.float32)
    labels_per_prompt = np.arange(len(candidates))
    for fold in range(n_folds):
        train = np.flatnonzero(folds != fold)
        test = np.flatnonzero(folds == fold)
        x = _stack(features, candidates, train)
        y = np.repeat(labels_per_prompt, train.size)
        clf = _new_classifier(int(rng.integers(0, 2**31 - 1)))
        clf.fit(x, y)
        order = np.argsort(clf.classes_)
        for qi, q in enumerate(queries):
            values[test, qi, :] = _proba(clf, features[q][test])[:, order]
        log.debug("attribution fold %d/%d done", fold + 1, n_folds)
    return PromptSims(tuple(queries), tuple(candidates), values)


def attribution_prompt_sims(
    texts: Mapping[str, Sequence[str]],
    queries: Sequence[str],
    candidates: Sequence[str],
    rng: np.random.Generator,
    *,
    n_folds: int = 5,
) -> PromptSims:
    """Cross-fitted word n-gram classifier probabilities, trained on the candidates' responses only."""
    models = list(dict.fromkeys([*queries, *candidates]))
    features = _text_features(texts, candidates, models)
    return crossfit_attribution(features, queries, candidates, rng, n_folds=n_folds)


def attribution_shares(sims: PromptSims, query: str) -> dict[str, float]:
    """Share of the query model's responses whose most probable author is each candidate."""
    probs = sims.query(query)
    winners = np.argmax(probs, axis=1)
    counts = np.bincount(winners, minlength=len(sims.candidates)) / max(probs.shape[0], 1)
    return {c: float(counts[i]) for i, c in enumerate(sims.candidates)}
