"""Teacher attribution: "which of these candidates taught S, or none of them?", with probabilities.

Two pieces of evidence per candidate family, each judge-free and offline:

- ``classifier``: a vendor classifier (word TF-IDF + logistic regression, balanced classes) trained only on
  the candidates' own answers; the evidence is log of the student's mean ``P(family | answer)``, in the
  spirit of "Idiosyncrasies in LLMs" (Sun et al. 2025);
- ``similarity``: the best family member's lineage excess (:mod:`distillscope.rse.fingerprint`),
  standardised across the student's candidates.

A conditional logit turns them into a posterior over the families plus "none of these" (a constant
utility): ``P(f) = softmax(b_clf * classifier_f + b_sim * similarity_f; b_none)``. The three coefficients are
learned by maximum likelihood on students of known lineage (``fit_attribution_weights``; the benchmark refits
them inside every cross-validation fold). Within a family, versions share the family's probability in
proportion to ``exp(b_sim * similarity)``.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from distillscope.rse.fingerprint import DEFAULT_SIGNALS, Excess, lineage_excess, lineage_prompt_sims
from distillscope.rse.responses import load_families, load_responses
from distillscope.rse.suspect import (
    DEFAULT_SUSPECT_WEIGHTS,
    NO_NULL_PANEL,
    SuspectVerdict,
    inconclusive,
    panel_misfits,
    run_suspect_tests,
    withhold,
)
from distillscope.rse.verdict import family_of

log = logging.getLogger(__name__)

NONE = "none"


@dataclass(frozen=True)
class AttributionWeights:
    """Coefficients of the conditional logit (see the module docstring)."""

    classifier: float
    similarity: float
    none: float
    calibrated: float = 0.0  # the named-suspect effect's coefficient in a family's utility (0: not used)
    none_calibrated: float = 0.0  # the largest named-suspect effect's coefficient in the utility of "none"


# Fitted on the visible lineage set (47 students; BENCHMARKS.md, "attribution"); `bench lineage --cv` refits.
DEFAULT_ATTRIBUTION_WEIGHTS = AttributionWeights(classifier=6.06, similarity=0.54, none=-10.76)
# How the default signals (rse.fingerprint.DEFAULT_SIGNALS) combine into one similarity for attribution: the
# logistic-regression weights of `fit_suspect_weights` on the same 47 students (benchmarks/fit_lineage_defaults.py).
DEFAULT_SIMILARITY_WEIGHTS: dict[str, float] = {"word": 0.41, "frame": 1.34}


@dataclass(frozen=True, kw_only=True)
class FamilyEvidence:
    """One student's evidence: per family, and the standardised similarity of every candidate."""

    families: tuple[str, ...]
    classifier: np.ndarray  # (families,) log mean P(family | answer)
    similarity: np.ndarray  # (families,) best member's standardised excess
    candidates: tuple[str, ...]
    candidate_similarity: np.ndarray  # (candidates,)
    calibrated: np.ndarray | None = None  # (families,) best member's named-suspect effect (null SDs), when computed


@dataclass(frozen=True, kw_only=True)
class RankedCandidate:
    """A candidate teacher with its attribution probability."""

    candidate: str
    family: str
    rank: int
    probability: float
    similarity: float


@dataclass(frozen=True, kw_only=True)
class AttributionResult:
    """Posterior over families (and "none"), ranked candidates and named-suspect verdicts of one student."""

    student: str
    family_probabilities: dict[str, float]
    candidates: tuple[RankedCandidate, ...]
    verdicts: tuple[SuspectVerdict, ...] = ()
    n_prompts: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def top(self) -> RankedCandidate:
        """The most probable candidate."""
        return self.candidates[0]


def _text_features(texts: Mapping[str, Sequence[str]], fit_on: Sequence[str], models: Sequence[str]) -> Any:
    """Word TF-IDF rows of every model's answers, the vocabulary and idf fitted on ``fit_on``'s answers.

    The fitted answers are counted once: their rows come from the fit's own count matrix (indices sorted, as a
    later ``transform`` would give them, so the rows are bit-identical to transforming them again)."""
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

    counter = CountVectorizer(
        analyzer="word",
        ngram_range=(1, 1),
        min_df=3,
        max_features=100_000,
        token_pattern=r"(?u)\b\w+\b|[^\w\s]",
        lowercase=False,
    )
    counts = counter.fit_transform([t for m in fit_on for t in texts[m]]).tocsr()
    counts.sort_indices()
    tfidf = TfidfTransformer(sublinear_tf=True).fit(counts)
    fitted = tfidf.transform(counts).tocsr()
    rows, start = {}, 0
    for m in fit_on:
        rows[m] = fitted[start : start + len(texts[m])]
        start += len(texts[m])
    return {m: rows[m] if m in rows else tfidf.transform(counter.transform(texts[m])).tocsr() for m in models}


def _fit_family_classifier(
    features: Mapping[str, Any], candidates: Sequence[str], families: Mapping[str, str], seed: int
) -> Any:
    import scipy.sparse as sp
    from sklearn.linear_model import SGDClassifier

    x = sp.vstack([features[c] for c in candidates]).tocsr()
    y = np.concatenate([[family_of(c, families)] * int(features[c].shape[0]) for c in candidates])
    # Balanced class weights: a vendor with many versions must not win by sheer numbers.
    clf = SGDClassifier(loss="log_loss", alpha=1e-5, max_iter=15, tol=None, class_weight="balanced", random_state=seed)
    return clf.fit(x, y)


def family_prompt_posteriors(
    texts: Mapping[str, Sequence[str]],
    students: Sequence[str],
    candidates: Sequence[str],
    families: Mapping[str, str],
    rng: np.random.Generator,
) -> tuple[tuple[str, ...], dict[str, np.ndarray]]:
    """Per-answer ``P(family | answer)`` of each student, (prompts, families), from the candidates' classifier.

    A student that is itself a candidate is left out of the training set of its own classifier.
    """
    fams = tuple(sorted({family_of(c, families) for c in candidates}))
    features = _text_features(texts, candidates, list(dict.fromkeys([*students, *candidates])))
    fitted: dict[tuple[str, ...], Any] = {}
    out = {}
    for student in students:
        train = tuple(c for c in candidates if c != student)
        if train not in fitted:
            fitted[train] = _fit_family_classifier(features, train, families, int(rng.integers(0, 2**31 - 1)))
        clf = fitted[train]
        probs = np.asarray(clf.predict_proba(features[student]), dtype=np.float64)
        probs /= np.clip(probs.sum(axis=1, keepdims=True), 1e-12, None)
        full = np.full((probs.shape[0], len(fams)), 1e-6)
        for j, fam in enumerate(clf.classes_):
            full[:, fams.index(str(fam))] = probs[:, j]
        out[student] = full
    return fams, out


def combined_similarity(
    excess: Mapping[str, Excess], student: str, candidates: Sequence[str], weights: Mapping[str, float]
) -> np.ndarray:
    """Each candidate's lineage excess for the student, standardised across candidates, signals weighted."""
    total = np.zeros(len(candidates))
    scale = sum(abs(weights.get(n, 0.0)) for n in excess) or 1.0
    for name, e in excess.items():
        row = e.values[:, e.queries.index(student), :].mean(axis=0)  # the student's row only, not the whole tensor
        values = np.array([row[e.candidates.index(c)] for c in candidates])
        total += weights.get(name, 0.0) / scale * (values - values.mean()) / (values.std() or 1.0)
    return total


def family_evidence(
    posteriors: np.ndarray,
    fams: Sequence[str],
    similarity: np.ndarray,
    candidates: Sequence[str],
    families: Mapping[str, str],
    calibrated: np.ndarray | None = None,
) -> FamilyEvidence:
    """Bundle one student's classifier posteriors (prompts, families) and candidate similarities (and, optionally,
    each candidate's named-suspect effect)."""

    def best(values: np.ndarray) -> np.ndarray:
        return np.array(
            [
                max((s for c, s in zip(candidates, values, strict=True) if family_of(c, families) == f), default=-10.0)
                for f in fams
            ]
        )

    return FamilyEvidence(
        families=tuple(fams),
        classifier=np.log(posteriors.mean(axis=0) + 1e-6),
        similarity=best(similarity),
        candidates=tuple(candidates),
        candidate_similarity=similarity,
        calibrated=None if calibrated is None else best(calibrated),
    )


def _utilities(clf: np.ndarray, sim: np.ndarray, cal: np.ndarray | None, w: AttributionWeights) -> np.ndarray:
    """Utilities of the families, then of "none", for stacked students' evidence (students, families)."""
    families = w.classifier * clf + w.similarity * sim
    none = np.full(families.shape[0], w.none)
    if cal is not None:
        families = families + w.calibrated * cal
        none = none + w.none_calibrated * cal.max(axis=1)
    return np.concatenate([families, none[:, None]], axis=1)


def family_posterior(ev: FamilyEvidence, w: AttributionWeights) -> dict[str, float]:
    """P(family) for every candidate family and for "none"."""
    cal = None if ev.calibrated is None else ev.calibrated[None]
    utility = _utilities(ev.classifier[None], ev.similarity[None], cal, w)[0]
    p = np.exp(utility - utility.max())
    p /= p.sum()
    return {f: float(x) for f, x in zip([*ev.families, NONE], p, strict=True)}


def rank_candidates(ev: FamilyEvidence, w: AttributionWeights, families: Mapping[str, str]) -> list[RankedCandidate]:
    """Families by posterior, then members by similarity; a member's probability is its family's posterior
    shared in proportion to exp(b_sim * similarity)."""
    post = family_posterior(ev, w)
    sim = ev.candidate_similarity
    fam = [family_of(c, families) for c in ev.candidates]
    probs = []
    for i, f in enumerate(fam):
        members = np.array([sim[j] for j in range(len(fam)) if fam[j] == f])
        weights = np.exp(w.similarity * (members - members.max()))
        probs.append(post[f] * float(np.exp(w.similarity * (sim[i] - members.max())) / weights.sum()))
    order = sorted(range(len(fam)), key=lambda i: (-post[fam[i]], -sim[i]))
    return [
        RankedCandidate(
            candidate=ev.candidates[i], family=fam[i], rank=r, probability=probs[i], similarity=float(sim[i])
        )
        for r, i in enumerate(order, start=1)
    ]


def fit_attribution_weights(
    evidence: Sequence[FamilyEvidence],
    truths: Sequence[str],
    *,
    balanced: bool = False,
    calibrated_terms: Collection[str] = ("family",),
) -> AttributionWeights:
    """Maximum-likelihood conditional-logit coefficients (small ridge) from students of known family or "none".

    A truth that is not among a student's candidate families counts as "none". ``balanced`` weighs each student's
    likelihood term by n / (classes * n of its class), so that every teacher family (and "none") counts equally.
    When the evidence carries named-suspect effects, ``calibrated_terms`` says where they enter: "family" (each
    family's best member, in its utility) and/or "none" (the largest, in the utility of "none").
    """
    from scipy.optimize import minimize
    from scipy.special import logsumexp

    clf = np.stack([ev.classifier for ev in evidence])
    sim = np.stack([ev.similarity for ev in evidence])
    terms = [ev.calibrated for ev in evidence if ev.calibrated is not None]
    cal = np.stack(terms) if len(terms) == len(evidence) else None
    use = {t: cal is not None and t in calibrated_terms for t in ("family", "none")}
    fams = list(evidence[0].families)
    y = np.array([fams.index(t) if t in fams else len(fams) for t in truths])
    weight = _balanced_weights(y) if balanced else np.ones(len(y))

    def unpack(theta: np.ndarray) -> AttributionWeights:
        extra = iter(theta[3:].tolist())
        return AttributionWeights(
            classifier=float(theta[0]),
            similarity=float(theta[1]),
            none=float(theta[2]),
            calibrated=next(extra) if use["family"] else 0.0,
            none_calibrated=next(extra) if use["none"] else 0.0,
        )

    def loss(theta: np.ndarray) -> float:
        utility = _utilities(clf, sim, cal, unpack(theta))
        log_p = utility[np.arange(len(y)), y] - logsumexp(utility, axis=1)
        return float(-(weight * log_p).sum() + 1e-3 * theta @ theta)

    w = DEFAULT_ATTRIBUTION_WEIGHTS
    start = [w.classifier, w.similarity, w.none, *([w.calibrated] * use["family"]), *([0.0] * use["none"])]
    return unpack(minimize(loss, np.array(start), method="L-BFGS-B").x)


def _balanced_weights(y: np.ndarray) -> np.ndarray:
    """n / (classes * n of its class) per label: every class weighs as much in total (sklearn's "balanced")."""
    classes, counts = np.unique(y, return_counts=True)
    per_class = dict(zip(classes.tolist(), (len(y) / (len(classes) * counts)).tolist(), strict=True))
    return np.array([per_class[c] for c in y.tolist()])


@dataclass(frozen=True, kw_only=True)
class AttributionSettings:
    """Knobs of an attribution run (all have sensible defaults)."""

    alpha: float = 0.05
    seed: int = 0
    n_boot: int = 200
    weights: AttributionWeights = DEFAULT_ATTRIBUTION_WEIGHTS
    similarity_weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_SIMILARITY_WEIGHTS))
    suspect_weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_SUSPECT_WEIGHTS))


def _signals(
    texts: Mapping[str, Sequence[str]], queries: Sequence[str], candidates: Sequence[str], cfg: AttributionSettings
) -> tuple[dict[str, Excess], dict[str, Excess]]:
    """The attribution's similarity signals and the named-suspect test's, each computed once."""
    signals = list(dict.fromkeys([*cfg.similarity_weights, *cfg.suspect_weights])) or list(DEFAULT_SIGNALS)
    computed = lineage_excess(texts, queries, candidates, signals)
    return (
        {k: v for k, v in computed.items() if k in cfg.similarity_weights},
        {k: v for k, v in computed.items() if k in cfg.suspect_weights},
    )


def _suspect_verdicts(
    excess: Mapping[str, Excess],
    student: str,
    suspects: Sequence[str],
    null_models: Sequence[str],
    rng: np.random.Generator,
    cfg: AttributionSettings,
    unlike_panel: str | None,
) -> list[SuspectVerdict]:
    """The named suspects' verdicts against the user's null models, withheld with ``unlike_panel`` when the null
    models are not of the student's kind (`panel_misfits`); without null models, inconclusive: the other
    candidates are no substitute (as the null they made the test liberal, BENCHMARKS.md session 10)."""
    if not null_models:
        return [inconclusive(student, s, (), NO_NULL_PANEL) for s in suspects]
    null_for = {s: list(null_models) for s in suspects}
    verdicts = run_suspect_tests(
        excess, student, suspects, null_for, rng, alpha=cfg.alpha, weights=cfg.suspect_weights, n_boot=cfg.n_boot
    )
    return withhold(verdicts, unlike_panel) if unlike_panel else verdicts


def attribute_students(
    texts: Mapping[str, Sequence[str]],
    students: Sequence[str],
    candidates: Sequence[str],
    families: Mapping[str, str],
    settings: AttributionSettings | None = None,
    *,
    suspects: Mapping[str, Sequence[str]] | None = None,
    null_models: Sequence[str] = (),
) -> dict[str, AttributionResult]:
    """Posterior over the candidates' families (and "none") for each student, plus named-suspect verdicts.

    ``suspects`` maps a student to the candidates the user suspects; each is tested against ``null_models``
    (models known not to descend from it); without them the verdicts are inconclusive (``_suspect_verdicts``).
    """
    cfg = settings or AttributionSettings()
    rng = np.random.default_rng(cfg.seed)
    queries = list(dict.fromkeys([*students, *null_models]))  # the candidates are compared with, never queried
    excess, for_test = _signals(texts, queries, candidates, cfg)
    fams, posteriors = family_prompt_posteriors(texts, students, candidates, families, rng)
    tested = [s for s in students if (suspects or {}).get(s)]
    unlike: dict[str, str] = {}
    if tested and null_models:  # the panel-fit check, once for every student with suspects
        sims = lineage_prompt_sims(texts, [*tested, *null_models], null_models, ("word",))["word"]
        unlike = panel_misfits(sims, tested, null_models, cfg.alpha)
    results = {}
    for student in students:
        pool = [c for c in candidates if c != student]
        sim = combined_similarity(excess, student, pool, cfg.similarity_weights)
        ev = family_evidence(posteriors[student], fams, sim, pool, families)
        named = (suspects or {}).get(student, ())
        verdicts = _suspect_verdicts(for_test, student, named, null_models, rng, cfg, unlike.get(student))
        results[student] = AttributionResult(
            student=student,
            family_probabilities=family_posterior(ev, cfg.weights),
            candidates=tuple(rank_candidates(ev, cfg.weights, families)),
            verdicts=tuple(verdicts),
            n_prompts=int(next(iter({**excess, **for_test}.values())).values.shape[0]),
        )
    return results


def _default_candidates(
    models: Sequence[str], student: str, null_models: Sequence[str], families: dict[str, str], suspects: Sequence[str]
) -> list[str]:
    """The candidate pool a families file defines (its models with responses, and the named suspects), or every
    model when there is none; the models left out are named in a warning."""
    excluded = {student, *null_models}
    chosen = [m for m in models if m not in excluded and (not families or m in families or m in suspects)]
    left = [m for m in models if m not in excluded and m not in chosen]
    if left:
        log.warning(
            "%d model(s) of the responses are not in the families file and are not candidates: %s "
            "(name them with --candidates to include them)",
            len(left),
            ", ".join(left[:8]) + (", ..." if len(left) > 8 else ""),
        )
    return chosen


def attribute_from_files(
    responses: Sequence[str | Path],
    student: str,
    *,
    candidates: Sequence[str] | None = None,
    families_csv: str | Path | None = None,
    suspects: Sequence[str] = (),
    null_models: Sequence[str] = (),
    settings: AttributionSettings | None = None,
) -> AttributionResult:
    """Attribute a student to candidate teachers from recorded responses (model/instruction/output files).

    ``families_csv`` (columns model, family) groups candidates into vendors; without it every model is its own
    family. ``candidates`` defaults to the models of ``families_csv`` that have responses (plus any named suspect),
    or, without that file, to every model in the files; never the student or a null model.
    """
    data = load_responses(responses)
    families = load_families(families_csv) if families_csv else {}
    chosen = (
        list(candidates) if candidates else _default_candidates(data.models, student, null_models, families, suspects)
    )
    _, texts = data.aligned(list(dict.fromkeys([student, *chosen, *null_models])))
    return attribute_students(
        texts, [student], chosen, families, settings, suspects={student: list(suspects)}, null_models=null_models
    )[student]
