"""One fold of the lineage benchmark: fit on the training students, predict the held-out ones.

A fold is a set of held-out students and a set of prompts. Every learned number (the named-suspect signal
weights, the attribution coefficients) is fitted on the training students only, and the null models of a
named-suspect test are training students whose documented lineage excludes the suspect. Without fitting
(``fit=False``) the shipped defaults are used and the null is every other labelled student.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from distillscope.bench.lineage_data import LineageData
from distillscope.rse.attribution import (
    DEFAULT_ATTRIBUTION_WEIGHTS,
    DEFAULT_SIMILARITY_WEIGHTS,
    NONE,
    AttributionWeights,
    FamilyEvidence,
    combined_similarity,
    family_evidence,
    family_posterior,
    fit_attribution_weights,
    rank_candidates,
)
from distillscope.rse.fingerprint import DEFAULT_SIGNALS, VERDICT_SIGNALS, Excess
from distillscope.rse.suspect import fit_suspect_weights, pair_features_many, run_suspect_test
from distillscope.rse.verdict import family_of

CLASSIFIER = "classifier"


@dataclass(frozen=True)
class FoldSettings:
    """Which evidence a fold uses and whether it fits its weights."""

    signals: tuple[str, ...] = (*DEFAULT_SIGNALS, CLASSIFIER)
    verdict_signals: tuple[str, ...] = VERDICT_SIGNALS  # the named-suspect test's signals (need not be in `signals`)
    fit: bool = True
    alpha: float = 0.05
    # Session 9: where the attribution also weighs the named-suspect effects ("family" and/or "none"; () = nowhere).
    calibrated: tuple[str, ...] = ()
    balanced: bool = False  # the attribution's coefficients fitted with every teacher family weighted equally
    # Session 10, diagnostics of the named-suspect test's null (benchmarks/bench_lineage_power.py). What it is made
    # of: "students" (the training students labelled 0 towards the suspect), "candidates" (every candidate of another
    # family than the suspect's, as `rse attribute` once used without --null; needs the candidates among the
    # excess's queries), "both", or "matched" (rule H: the half of the students, at least 8, whose word-excess profile
    # over the other families' candidates correlates best with the held-out student's); and its size: cut to
    # `null_size` models drawn at random (seeded by `null_seed`) where it has more (None keeps all).
    null_source: Literal["students", "candidates", "both", "matched"] = "students"
    null_size: int | None = None
    null_seed: int = 0


@dataclass(frozen=True)
class SuspectOutcome:
    """A held-out named-suspect test; an untestable pair (too few null students) is p = 1, not consistent."""

    effect: float
    p_value: float
    consistent: bool
    tested: bool = True
    n_null: int = 0  # null models the test compared the student with


@dataclass(frozen=True)
class StudentPrediction:
    """What a fold predicts for one held-out student."""

    family_probabilities: dict[str, float]
    order: tuple[str, ...]
    top_probability: float
    tests: dict[str, SuspectOutcome]


def _means(data: LineageData, signals: Sequence[str], prompts: np.ndarray | None) -> dict[str, Excess]:
    # A fold's model-level excess, kept as one pseudo-prompt so the library's functions apply unchanged.
    return {k: Excess(e.queries, e.candidates, e.mean(prompts)[None]) for k, e in data.excess.items() if k in signals}


def _null(data: LineageData, train: Sequence[str], suspect: str, exclude: str) -> list[str]:
    return [x for x in train if x != exclude and data.labels.get((x, suspect)) == 0]


def _test_null(
    data: LineageData,
    train: Sequence[str],
    suspect: str,
    student: str,
    settings: FoldSettings,
    rng: np.random.Generator,
) -> list[str]:
    """The null of one held-out test: every training student labelled 0 towards the suspect, and/or the candidates
    of other families (``settings.null_source``), or ``settings.null_size`` of them drawn at random."""
    null = _null(data, train, suspect, student) if settings.null_source != "candidates" else []
    if settings.null_source in ("candidates", "both"):
        family = family_of(suspect, data.families)
        null += [c for c in data.candidates if family_of(c, data.families) != family]
    if settings.null_source == "matched":
        null = _matched(data, null, suspect, student)
    if settings.null_size is None or len(null) <= settings.null_size:
        return null
    return [str(m) for m in rng.choice(null, size=settings.null_size, replace=False)]


def _matched(data: LineageData, null: list[str], suspect: str, student: str) -> list[str]:
    """The null models most like the student in kind: the half (at least 8) whose model-level word excess towards
    the candidates of other families than the suspect's correlates best with the student's."""
    word = data.excess["word"]
    means, row = word.mean(), {q: i for i, q in enumerate(word.queries)}
    family = family_of(suspect, data.families)
    cols = [j for j, c in enumerate(word.candidates) if family_of(c, data.families) != family]
    mine = means[row[student], cols]
    likeness = [float(np.corrcoef(mine, means[row[m], cols])[0, 1]) for m in null]
    keep = np.argsort(likeness)[::-1][: max(8, -(-len(null) // 2))]
    return [null[i] for i in sorted(keep)]


def _similarity_weights(
    data: LineageData, means: Mapping[str, Excess], train: Sequence[str], settings: FoldSettings
) -> dict[str, float]:
    names = [k for k in means]
    if not names:
        return {}
    if len(names) == 1 or not settings.fit:
        default = {k: float(DEFAULT_SIMILARITY_WEIGHTS.get(k, 1.0)) for k in names}
        return default if len(names) > 1 else {names[0]: 1.0}
    pairs = [(s, t) for (s, t) in data.labels if s in train]
    pools = {t: _null(data, train, t, "") for t in {t for _, t in pairs}}
    feats = pair_features_many(means, pairs, pools)
    return fit_suspect_weights(feats, [data.labels[p] for p in pairs], names)


def _verdict_weights(
    data: LineageData,
    fit_means: Mapping[str, Excess],
    train: Sequence[str],
    similarity_weights: Mapping[str, float],
    settings: FoldSettings,
) -> dict[str, float]:
    """The test's signals (`verdict_signals`; the attribution's when none is computed) and their weights: the
    attribution's weights when the sets are equal, else a logistic regression of their own, fitted in the fold."""
    names = [k for k in settings.verdict_signals if k in fit_means] or list(similarity_weights)
    if len(names) == 1:
        return {names[0]: 1.0}
    if set(names) == set(similarity_weights):
        return {k: similarity_weights[k] for k in names}
    return _similarity_weights(data, {k: fit_means[k] for k in names}, train, settings)


def _evidence(
    data: LineageData,
    student: str,
    means: Mapping[str, Excess],
    weights: Mapping[str, float],
    prompts: np.ndarray | None,
    settings: FoldSettings,
    calibrated: Mapping[str, float] | None = None,
) -> FamilyEvidence:
    cands = [c for c in data.candidates if c != student]
    sim = combined_similarity(means, student, cands, weights) if means else np.zeros(len(cands))
    post = data.posteriors[student] if prompts is None else data.posteriors[student][prompts]
    if CLASSIFIER not in settings.signals:
        post = np.ones_like(post)
    cal = None if calibrated is None else np.array([calibrated[c] for c in cands])
    return family_evidence(post, data.class_families, sim, cands, data.families, cal)


def _calibrated(
    data: LineageData,
    means: Mapping[str, Excess],
    weights: Mapping[str, float],
    students: Sequence[str],
    train: Sequence[str],
) -> dict[str, dict[str, float]]:
    """Each student's named-suspect score towards every candidate: its signals in the units of the candidate's null
    (the training students not descended from it, the student itself left out), combined with the test's weights."""
    pairs = [(s, c) for s in students for c in data.candidates if c != s]
    pools = {c: _null(data, train, c, "") for c in data.candidates}
    feats = pair_features_many({k: means[k] for k in weights}, pairs, pools)
    out: dict[str, dict[str, float]] = {s: {} for s in students}
    for (s, c), f in zip(pairs, feats, strict=True):
        value = sum(w * f[k] for k, w in weights.items())
        out[s][c] = float(value) if np.isfinite(value) else 0.0
    return out


def _truth(data: LineageData, student: str) -> str:
    row = data.row(student)
    return row.teacher_family if row.has_teacher else NONE


def _attribution_weights(
    data: LineageData,
    evidence: Mapping[str, FamilyEvidence],
    train: Sequence[str],
    balanced: bool = False,
    terms: Sequence[str] = (),
) -> AttributionWeights:
    truths = [_truth(data, s) for s in train]
    return fit_attribution_weights([evidence[s] for s in train], truths, balanced=balanced, calibrated_terms=terms)


@dataclass(frozen=True)
class FoldFit:
    """What a fold learns from its training students."""

    similarity_weights: dict[str, float]
    verdict_weights: dict[str, float]
    attribution: AttributionWeights
    evidence: dict[str, FamilyEvidence]  # the training students' evidence on the fit prompts ({} without fitting)


def fit_fold(data: LineageData, train: Sequence[str], fit_on: np.ndarray | None, settings: FoldSettings) -> FoldFit:
    """Every learned number of a fold, from the training students on the prompts ``fit_on`` (None: all)."""
    fit_all = _means(data, (*settings.signals, *settings.verdict_signals), fit_on)
    fit_means = {k: v for k, v in fit_all.items() if k in settings.signals}
    sw = _similarity_weights(data, fit_means, train, settings)
    vw = _verdict_weights(data, fit_all, train, sw, settings)
    if not settings.fit:
        return FoldFit(sw, vw, DEFAULT_ATTRIBUTION_WEIGHTS, {})
    cal = _calibrated(data, fit_all, vw, train, train) if settings.calibrated else {}
    evidence = {s: _evidence(data, s, fit_means, sw, fit_on, settings, cal.get(s)) for s in train}
    aw = _attribution_weights(data, evidence, train, settings.balanced, settings.calibrated)
    return FoldFit(sw, vw, aw, evidence)


def predict_fold(
    data: LineageData,
    held_out: Sequence[str],
    prompts: np.ndarray | None,
    settings: FoldSettings,
    fit_prompts: np.ndarray | None = None,
) -> dict[str, StudentPrediction]:
    """Fit on the students not held out (on ``fit_prompts``, default ``prompts``), predict the held-out ones
    on ``prompts``."""
    train = [s for s in data.students if s not in held_out]
    fit = fit_fold(data, train, prompts if fit_prompts is None else fit_prompts, settings)
    sw, vw, aw = fit.similarity_weights, fit.verdict_weights, fit.attribution
    all_means = _means(data, (*settings.signals, *settings.verdict_signals), prompts)
    cal_held = _calibrated(data, all_means, vw, held_out, train) if settings.calibrated else {}
    means = {k: v for k, v in all_means.items() if k in settings.signals}
    verdict_means = {k: all_means[k] for k in vw}
    rng, null_rng = np.random.default_rng(0), np.random.default_rng(settings.null_seed)
    out = {}
    for s in held_out:
        ev = _evidence(data, s, means, sw, prompts, settings, cal_held.get(s))
        ranked = rank_candidates(ev, aw, data.families)
        tests = {}
        for student, t in data.labels:
            if student != s or not verdict_means:
                continue
            null = _test_null(data, train, t, s, settings, null_rng)
            v = run_suspect_test(verdict_means, s, t, null, rng, weights=vw, n_boot=0)
            if v.p_value is None or v.effect is None:
                tests[t] = SuspectOutcome(0.0, 1.0, False, tested=False, n_null=len(v.null_models))
                continue
            consistent = v.p_value < settings.alpha and v.effect.estimate > 0
            tests[t] = SuspectOutcome(v.effect.estimate, v.p_value, consistent, n_null=len(v.null_models))
        out[s] = StudentPrediction(
            family_posterior(ev, aw), tuple(c.candidate for c in ranked), ranked[0].probability, tests
        )
    return out
