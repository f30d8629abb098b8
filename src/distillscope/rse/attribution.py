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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from distillscope.rse.metrics import PromptSims, tfidf_prompt_sims
from distillscope.rse.responses import ResponseSet, load_families, load_responses
from distillscope.rse.verdict import AttributionResult, calibrated_scores, rank_candidates

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
        ngram_range=(1, 1),
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


def _fit_family_classifier(
    features: Mapping[str, Any], candidates: Sequence[str], families: Mapping[str, str], seed: int
) -> Any:
    from sklearn.linear_model import SGDClassifier

    x = _stack(features, candidates, np.arange(int(features[candidates[0]].shape[0])))
    n = int(features[candidates[0]].shape[0])
    y = np.repeat([families.get(c, c) for c in candidates], n)
    # Balanced class weights: a vendor with many versions must not win by sheer numbers.
    clf = SGDClassifier(
        loss="log_loss", alpha=1e-5, max_iter=15, tol=None, class_weight="balanced", random_state=seed
    )
    return clf.fit(x, y)


def family_posteriors(
    texts: Mapping[str, Sequence[str]],
    students: Sequence[str],
    candidates: Sequence[str],
    families: Mapping[str, str],
    rng: np.random.Generator,
) -> dict[str, dict[str, float]]:
    """Mean ``P(family | student's response)`` from a classifier trained on the candidates' responses.

    A student that is itself a candidate is left out of the training set of its own classifier.
    """
    models = list(dict.fromkeys([*students, *candidates]))
    features = _text_features(texts, candidates, models)
    result: dict[str, dict[str, float]] = {}
    fitted: dict[tuple[str, ...], Any] = {}
    for student in students:
        train = tuple(c for c in candidates if c != student)
        if train not in fitted:
            fitted[train] = _fit_family_classifier(features, train, families, int(rng.integers(0, 2**31 - 1)))
        clf = fitted[train]
        probs = _proba(clf, features[student]).mean(axis=0)
        result[student] = {str(f): float(p) for f, p in zip(clf.classes_, probs, strict=True)}
    return result


@dataclass(frozen=True)
class AttributionSettings:
    """Knobs of an attribution run (all have sensible defaults)."""

    alpha: float = 0.05
    seed: int = 0
    n_boot: int = 1000
    n_perm: int = 1000


SIGNALS = ("family-classifier", "word-tfidf-z")


def attribute_students(
    texts: Mapping[str, Sequence[str]],
    students: Sequence[str],
    candidates: Sequence[str],
    families: Mapping[str, str],
    settings: AttributionSettings | None = None,
) -> dict[str, AttributionResult]:
    """Rank every candidate (except the student itself) for each student, with degrees and verdicts.

    Families are ordered by the family attribution posterior; a family's members and the degree of
    each candidate use the per-prompt standardised word TF-IDF similarity against the null panel.
    """
    cfg = settings or AttributionSettings()
    rng = np.random.default_rng(cfg.seed)
    queries = list(dict.fromkeys([*students, *candidates]))
    sims = tfidf_prompt_sims(texts, queries, candidates, ngram_range=(1, 2))
    posteriors = family_posteriors(texts, students, candidates, families, rng)
    results = {}
    for student in students:
        keep = [i for i, c in enumerate(candidates) if c != student]
        scores = calibrated_scores(sims, student, families, correct_genericness=False)[:, keep]
        ranked = rank_candidates(
            scores, student, [candidates[i] for i in keep], families, rng,
            family_scores=posteriors[student], alpha=cfg.alpha, n_boot=cfg.n_boot, n_perm=cfg.n_perm,
        )
        results[student] = AttributionResult(
            student=student, candidates=tuple(ranked), signals=SIGNALS,
            n_prompts=sims.n_prompts, alpha=cfg.alpha, seed=cfg.seed,
        )
    return results


def attribute_from_files(
    responses: Sequence[str | Path],
    student: str,
    *,
    candidates: Sequence[str] | None = None,
    families_csv: str | Path | None = None,
    settings: AttributionSettings | None = None,
) -> AttributionResult:
    """Attribute a student to candidate teachers from recorded responses (model/instruction/output files).

    ``candidates`` defaults to every other model in the files; ``families_csv`` (columns model, family)
    groups candidates into vendors for the null panel (without it every model is its own family).
    """
    data: ResponseSet = load_responses(responses)
    chosen = list(candidates) if candidates else [m for m in data.models if m != student]
    families = load_families(families_csv) if families_csv else {}
    _, texts = data.aligned([student, *chosen])
    return attribute_students(texts, [student], chosen, families, settings)[student]
