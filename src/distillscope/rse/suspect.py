"""The named-suspect test: "was S distilled from T?", one hypothesis per suspect the user names.

The null hypothesis is "S does not descend from T". What "not descended from T" is made of is explicit: a
set of *null models* known not to descend from T (the user's null panel; in the lineage benchmark, the
other students whose documented lineage excludes T). Each lineage signal's excess towards T
(:mod:`distillscope.rse.fingerprint`) is put in the null models' standard units, the signals are combined
with learned weights, and the target is compared with the null models by a one-sided t prediction test:
is S a new draw from the null models' distribution? The false-positive rate is therefore controlled
against models like the null models, not against prompt noise. Contamination of the null (a null model
that is itself partly distilled from T) widens the null and makes the test conservative, never liberal.
The null models must be of the target's kind, though: as the null for fine-tuned open students, the other
vendors' candidate models made the test liberal (false-positive rate 0.08 at alpha 0.05 on the lineage benchmark,
BENCHMARKS.md session 10), so no path falls back on them when the user names no null model.

Multiplicity is corrected (Holm) only across the suspects the user named. A null that cannot calibrate
(too few models, near-constant or mostly refusing answers) yields "inconclusive" with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from distillscope.rse.fingerprint import Excess
from distillscope.rse.metrics import PromptSims
from distillscope.stats import VERDICT_INCONCLUSIVE, Interval, Verdict, holm_adjust, verdict_from
from distillscope.textguard import is_refusal

# The test uses one signal by default (rse.fingerprint.VERDICT_SIGNALS), so its weight only sets the units.
# With several signals `fit_suspect_weights` learns them (the benchmark refits inside every fold).
DEFAULT_SUSPECT_WEIGHTS: dict[str, float] = {"word": 1.0}
MIN_NULL_MODELS = 3
NO_NULL_PANEL = "no null panel: similarity cannot be calibrated (name models known not to descend from the reference)"
# Fewer null models than this still give a test, with a caveat: on the lineage benchmark's visible set, tests against
# 3 or 5 random null models found 0.54 / 0.49 of the documented teachers (0.70 with 20) and, with Holm across every
# candidate, called a human-data student an OpenAI/Anthropic descendant in 7 and 11 of 60 tries (2, 4 and 0 of 60
# with 8, 12 and 20): BENCHMARKS.md, "How many null models a test needs".
ADVISED_NULL_MODELS = 8


@dataclass(frozen=True, kw_only=True)
class SuspectVerdict:
    """The named-suspect test of one (target, suspect) pair."""

    target: str
    suspect: str
    null_models: tuple[str, ...]
    effect: Interval | None  # combined excess over the null mean, in null standard deviations
    p_value: float | None
    p_adjusted: float | None
    verdict: Verdict
    reason: str = ""
    signals: dict[str, float] = field(default_factory=dict)  # per-signal excess in null standard units
    caveat: str = ""  # a tested verdict's warning (too small a null panel), "" when none


def _null_size_caveat(n_null: int) -> str:
    """The warning for a test on fewer null models than advised ("" from ``ADVISED_NULL_MODELS`` on)."""
    if n_null >= ADVISED_NULL_MODELS:
        return ""
    return (
        f"only {n_null} null models: with fewer than {ADVISED_NULL_MODELS} the test misses more distilled models "
        "and, across many suspects, wrongly flags more unrelated ones (BENCHMARKS.md: how many null models a test "
        "needs)"
    )


def panel_problems(texts: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Null models that cannot stand for "an unrelated model": near-constant answers or mostly refusals."""
    problems = {}
    for model, answers in texts.items():
        n = max(len(answers), 1)
        if len({a.strip() for a in answers}) <= max(1, n // 10):
            problems[model] = "near-constant answers"
        elif sum(is_refusal(a) for a in answers) > n / 2:
            problems[model] = "mostly refusals"
    return problems


def panel_fit_pvalue(sims: PromptSims, target: str, null: Sequence[str]) -> float:
    """One-sided p that ``target`` resembles the null models less than they resemble each other.

    Each model's mean per-prompt similarity to the null models (a null model's to the other null models) is the
    statistic; the target is compared with the null models' values by the t prediction test, lower tail. A small
    p says the null panel is not of the target's kind, the case where the named-suspect test is liberal: on random
    null panels of 8-12 lineage-benchmark students, the raw word-similarity test called 1-6% of unrelated (student,
    suspect) pairs consistent at alpha 0.05 (21% in one cut whose panel held only preference-tuned Llama-3 and
    Mistral models), and 1-3% with the verdicts this check flags withheld (BENCHMARKS.md, "Verdicts in an
    experiment's structure"). ``sims`` needs the target and the null models as queries, the null models as
    candidates; needs 3 or more null models. 1 when the null models resemble each other identically. The same check
    on similarities given the suspect's answer (session 13, rule M) withheld more true teachers, and was not
    adopted."""
    columns = [sims.candidates.index(m) for m in null]
    means = sims.values[:, :, columns].astype(np.float64).mean(axis=0)
    row = {q: i for i, q in enumerate(sims.queries)}
    own = np.array([np.delete(means[row[m]], j).mean() for j, m in enumerate(null)])
    if float(own.std(ddof=1)) <= 1e-12:  # identical null models: no spread to test against (the test says why)
        return 1.0
    return 1.0 - prediction_pvalue(float(means[row[target]].mean()), own)


def panel_misfits(sims: PromptSims, targets: Sequence[str], null: Sequence[str], alpha: float) -> dict[str, str]:
    """The targets whose null panel is not of their kind (`panel_fit_pvalue` below ``alpha``), each with the reason
    its verdicts are withheld; needs `MIN_NULL_MODELS` null models besides the target."""
    out = {}
    for target in targets:
        others = [m for m in null if m != target]
        p = panel_fit_pvalue(sims, target, others) if len(others) >= MIN_NULL_MODELS else 1.0
        if p < alpha:
            out[target] = (
                f"the null panel is not of the target's kind: {target}'s answers resemble the null models' less "
                f"than they resemble each other (one-sided p = {p:.3g}), and against such a panel the test is "
                "liberal; name null models like the target"
            )
    return out


def withhold(verdicts: Sequence[SuspectVerdict], reason: str) -> list[SuspectVerdict]:
    """The verdicts made "inconclusive" with ``reason`` (e.g. from `panel_misfits`), their numbers kept."""
    return [replace(v, verdict=VERDICT_INCONCLUSIVE, reason=reason) for v in verdicts]


def _standardised(
    excess: Mapping[str, Excess], models: Sequence[str], suspect: str, null: Sequence[str], prompts: np.ndarray | None
) -> dict[str, np.ndarray]:
    """Per signal: each model's excess towards ``suspect`` in the null models' standard units."""
    out = {}
    for name, e in excess.items():
        column = e.values[:, :, e.candidates.index(suspect)]
        means = (column if prompts is None else column[prompts]).mean(axis=0)
        values = np.array([means[e.queries.index(m)] for m in models])
        ref = np.array([means[e.queries.index(m)] for m in null])
        if ref.size == 0:  # no null model: no units to express the excess in
            out[name] = np.full(values.shape, np.nan)
            continue
        sd = float(ref.std(ddof=1)) if ref.size > 1 else 0.0
        out[name] = (values - ref.mean()) / (sd if sd > 1e-12 else 1.0)
    return out


def pair_features(
    excess: Mapping[str, Excess], target: str, suspect: str, null: Sequence[str], prompts: np.ndarray | None = None
) -> dict[str, float]:
    """The target's per-signal excess towards the suspect, in null standard units (the test's inputs)."""
    z = _standardised(excess, [target], suspect, null, prompts)
    return {name: float(v[0]) for name, v in z.items()}


def pair_features_many(
    excess: Mapping[str, Excess], pairs: Sequence[tuple[str, str]], null_pool: Mapping[str, Sequence[str]]
) -> list[dict[str, float]]:
    """`pair_features` of many (target, suspect) pairs at once, each target standardised against the suspect's
    null pool with the target itself left out (what `pair_features(excess, s, t, [x for x in pool if x != s])`
    gives, to rounding), from leave-one-out sums instead of one small array per pair. Model-level excess only
    (no prompt subset). NaN where no null model is left."""
    out: list[dict[str, float]] = [{} for _ in pairs]
    by_suspect: dict[str, list[int]] = {}
    for i, (_, t) in enumerate(pairs):
        by_suspect.setdefault(t, []).append(i)
    for name, e in excess.items():
        qidx = {q: i for i, q in enumerate(e.queries)}
        means = e.values.mean(axis=0)
        for t, rows in by_suspect.items():
            col = means[:, e.candidates.index(t)]
            pool = list(null_pool[t])
            members = set(pool)
            ref = col[[qidx[x] for x in pool]]
            in_pool = np.array([pairs[i][0] in members for i in rows])
            z = _loo_standardised(col[[qidx[pairs[i][0]] for i in rows]], ref, in_pool)
            for i, v in zip(rows, z, strict=True):
                out[i][name] = float(v)
    return out


def _loo_standardised(values: np.ndarray, ref: np.ndarray, in_ref: np.ndarray) -> np.ndarray:
    """(value - mean) / sd of `ref`, with each value removed from `ref` first where `in_ref` says it is in it."""
    n0 = ref.size
    c = float(ref.mean()) if n0 else 0.0
    ss = float(((ref - c) ** 2).sum())
    n = n0 - in_ref.astype(int)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(in_ref, (n0 * c - values) / np.maximum(n, 1), c)
        ss_loo = np.where(in_ref, ss - (values - c) ** 2 * n0 / np.maximum(n, 1), ss)
        sd = np.where(n > 1, np.sqrt(np.maximum(ss_loo, 0.0) / np.maximum(n - 1, 1)), 0.0)
        z = (values - mean) / np.where(sd > 1e-12, sd, 1.0)
    return np.where(n > 0, z, np.nan)


def _combined(
    excess: Mapping[str, Excess],
    target: str,
    suspect: str,
    null: Sequence[str],
    weights: Mapping[str, float],
    prompts: np.ndarray | None,
) -> tuple[float, np.ndarray]:
    z = _standardised(excess, [target, *null], suspect, null, prompts)
    score = sum(weights.get(name, 0.0) * v for name, v in z.items())
    arr = np.asarray(score, dtype=float)
    return float(arr[0]), arr[1:]


def null_scores(
    excess: Mapping[str, Excess],
    target: str,
    suspect: str,
    null: Sequence[str],
    weights: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Each null model's combined score in null SD units: what the target's effect is compared with."""
    w = DEFAULT_SUSPECT_WEIGHTS if weights is None else weights
    _, scores = _combined(excess, target, suspect, null, w, None)
    sd = float(scores.std(ddof=1)) if scores.size > 1 else 0.0
    return np.asarray((scores - scores.mean()) / (sd if sd > 1e-12 else 1.0))


def prediction_pvalue(score: float, null_scores: np.ndarray) -> float:
    """One-sided t prediction p-value that ``score`` is a new draw from the null scores' distribution."""
    from scipy import stats as sps

    sd = float(null_scores.std(ddof=1))
    t = (score - float(null_scores.mean())) / (sd * math.sqrt(1.0 + 1.0 / null_scores.size))
    return float(sps.t.sf(t, df=null_scores.size - 1))


def _effect(
    excess: Mapping[str, Excess],
    target: str,
    suspect: str,
    null: Sequence[str],
    weights: Mapping[str, float],
    rng: np.random.Generator,
    n_boot: int,
) -> Interval:
    """Target's combined score minus the null mean in null SDs, with a bootstrap interval over prompts
    (``n_boot`` 0: the point estimate alone, as the benchmark uses it)."""

    def effect(prompts: np.ndarray | None) -> float:
        score, null_scores = _combined(excess, target, suspect, null, weights, prompts)
        sd = float(null_scores.std(ddof=1))
        return (score - float(null_scores.mean())) / (sd if sd > 1e-12 else 1.0)

    estimate = effect(None)
    if n_boot <= 0:
        return Interval(estimate, estimate, estimate)
    n_prompts = next(iter(excess.values())).values.shape[0]
    boots = np.array([effect(np.asarray(rng.integers(0, n_prompts, size=n_prompts))) for _ in range(n_boot)])
    low, high = np.quantile(boots, [0.025, 0.975])
    return Interval(estimate, float(low), float(high))


def run_suspect_test(
    excess: Mapping[str, Excess],
    target: str,
    suspect: str,
    null: Sequence[str],
    rng: np.random.Generator,
    *,
    weights: Mapping[str, float] | None = None,
    n_boot: int = 200,
) -> SuspectVerdict:
    """One named-suspect test, uncorrected (``run_suspect_tests`` corrects across suspects)."""
    w = dict(DEFAULT_SUSPECT_WEIGHTS if weights is None else weights)
    null = tuple(m for m in null if m not in (target, suspect))
    signals = pair_features(excess, target, suspect, null) if len(null) > 1 else {}
    if len(null) < MIN_NULL_MODELS:
        return inconclusive(target, suspect, null, f"too few null models ({len(null)} < {MIN_NULL_MODELS})")
    score, null_scores = _combined(excess, target, suspect, null, w, None)
    if float(null_scores.std(ddof=1)) <= 1e-9:
        return inconclusive(target, suspect, null, "the null models resemble the suspect identically")
    effect = _effect(excess, target, suspect, null, w, rng, n_boot)
    p = prediction_pvalue(score, null_scores)
    return SuspectVerdict(
        target=target,
        suspect=suspect,
        null_models=null,
        effect=effect,
        p_value=p,
        p_adjusted=p,
        verdict=verdict_from(effect, p),
        reason="",
        signals=signals,
        caveat=_null_size_caveat(len(null)),
    )


def inconclusive(target: str, suspect: str, null: Sequence[str], reason: str) -> SuspectVerdict:
    """A verdict without a test, and why (e.g. ``NO_NULL_PANEL`` when the user named no null model)."""
    return SuspectVerdict(
        target=target,
        suspect=suspect,
        null_models=tuple(null),
        effect=None,
        p_value=None,
        p_adjusted=None,
        verdict=VERDICT_INCONCLUSIVE,
        reason=reason,
    )


def run_suspect_tests(
    excess: Mapping[str, Excess],
    target: str,
    suspects: Sequence[str],
    null_for: Mapping[str, Sequence[str]],
    rng: np.random.Generator,
    *,
    alpha: float = 0.05,
    weights: Mapping[str, float] | None = None,
    n_boot: int = 200,
) -> list[SuspectVerdict]:
    """Test every named suspect of one target; Holm-correct across these suspects only."""
    raw = [run_suspect_test(excess, target, s, null_for[s], rng, weights=weights, n_boot=n_boot) for s in suspects]
    tested = [i for i, v in enumerate(raw) if v.p_value is not None]
    adjusted = holm_adjust([raw[i].p_value or 1.0 for i in tested]) if tested else []
    out = list(raw)
    for i, p_adj in zip(tested, adjusted, strict=True):
        v = raw[i]
        assert v.effect is not None
        verdict = verdict_from(v.effect, p_adj, alpha)
        reason = "" if verdict != VERDICT_INCONCLUSIVE else _whyinconclusive(p_adj, alpha, len(tested), v.effect)
        out[i] = replace(v, p_adjusted=p_adj, verdict=verdict, reason=reason)
    return out


def _whyinconclusive(p_adj: float, alpha: float, n_suspects: int, effect: Interval) -> str:
    corrected = f" after Holm correction across {n_suspects} suspects" if n_suspects > 1 else ""
    if p_adj < alpha:  # significant, but the bootstrap interval of the effect reaches down to zero
        return f"significant (p = {p_adj:.3g}{corrected}) but the effect's 95% interval includes 0 ({effect.low:.2f})"
    return f"the target does not stand out from the null models (p = {p_adj:.3g} >= {alpha}{corrected})"


def fit_suspect_weights(
    features: Sequence[Mapping[str, float]], labels: Sequence[int], signals: Sequence[str]
) -> dict[str, float]:
    """Logistic-regression weights of the signals from labelled (target, suspect) pairs (class-balanced).

    Pairs without finite features (no null models to standardise against) are left out; with too few pairs
    of either class left, every signal gets weight 1."""
    from sklearn.linear_model import LogisticRegression

    x = np.array([[f[s] for s in signals] for f in features], dtype=float).reshape(len(features), len(signals))
    y = np.asarray(labels)
    finite = np.isfinite(x).all(axis=1)
    x, y = x[finite], y[finite]
    if min(int((y == 1).sum()), int((y == 0).sum())) < 2:
        return dict.fromkeys(signals, 1.0)
    clf = LogisticRegression(C=1.0, class_weight="balanced").fit(x, y)
    return {s: float(w) for s, w in zip(signals, clf.coef_[0], strict=True)}
