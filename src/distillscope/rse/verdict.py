"""Distillation degree, verdicts, teacher ranking and the N x N similarity matrix.

Raw similarity is confounded by a "generic assistant" style: a prototypical chat model resembles
everybody. Each signal is therefore (1) standardised per prompt across candidates, and (2) corrected
for each candidate's genericness, i.e. how strongly models of *other* families already resemble it on
that prompt. Signals are then averaged. The degree of S towards T is the mean per-prompt excess of
T's score over the null panel (candidates of families other than T's), with a bootstrap interval
over prompts, a label-permutation p-value and a verdict that never accuses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from distillscope.rse.metrics import PromptSims
from distillscope.stats import Interval, Verdict, holm_adjust, null_panel_test, verdict_from


@dataclass(frozen=True)
class CandidateScore:
    """One candidate teacher of a student: rank score, degree with interval, p-values and verdict."""

    candidate: str
    family: str
    rank: int
    score: float
    degree: Interval
    p_value: float
    p_adjusted: float
    verdict: Verdict
    family_score: float | None = None


@dataclass(frozen=True)
class AttributionResult:
    """Ranked candidate teachers of one student (best first) with the settings that produced them."""

    student: str
    candidates: tuple[CandidateScore, ...]
    signals: tuple[str, ...]
    n_prompts: int
    alpha: float
    seed: int
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def top(self) -> CandidateScore:
        """The highest-ranked candidate."""
        return self.candidates[0]


def family_of(model: str, families: Mapping[str, str]) -> str:
    """A model's family; a model absent from the table is its own family."""
    return families.get(model, model)


def standardise_rows(sims: PromptSims) -> np.ndarray:
    """Z-score each (prompt, query) row over candidates, ignoring a query's own column."""
    values = sims.values.astype(np.float64).copy()
    for qi, q in enumerate(sims.queries):
        if q in sims.candidates:
            values[:, qi, sims.candidates.index(q)] = np.nan
    mu = np.nanmean(values, axis=2, keepdims=True)
    sd = np.nanstd(values, axis=2, keepdims=True)
    z = (values - mu) / np.where(sd < 1e-12, 1.0, sd)
    return np.asarray(z)


def genericness(z: np.ndarray, sims: PromptSims, families: Mapping[str, str]) -> np.ndarray:
    """(prompts, candidates): mean standardised score each candidate gets from other-family candidates."""
    out = np.zeros((z.shape[0], len(sims.candidates)))
    for ci, c in enumerate(sims.candidates):
        fam = family_of(c, families)
        others = [
            sims.queries.index(q)
            for q in sims.candidates
            if q in sims.queries and family_of(q, families) != fam
        ]
        if others:
            out[:, ci] = np.nanmean(z[:, others, ci], axis=1)
    return out


def calibrated_scores(
    sims: PromptSims, student: str, families: Mapping[str, str], *, correct_genericness: bool = True
) -> np.ndarray:
    """(prompts, candidates) standardised and genericness-corrected scores of one student."""
    z = standardise_rows(sims)
    scores = z[:, sims.queries.index(student), :]
    if correct_genericness:
        scores = scores - genericness(z, sims, families)
    return np.nan_to_num(scores)


def combine(per_signal: Sequence[np.ndarray]) -> np.ndarray:
    """Average of calibrated per-prompt scores over signals (each already in z units)."""
    if not per_signal:
        raise ValueError("combine needs at least one signal")
    return np.asarray(np.mean(np.stack(per_signal), axis=0))


def null_panel(candidate: str, candidates: Sequence[str], families: Mapping[str, str]) -> list[str]:
    """Candidates of a family other than ``candidate``'s (chosen without any lineage label)."""
    fam = family_of(candidate, families)
    return [c for c in candidates if family_of(c, families) != fam]


def rank_candidates(
    scores: np.ndarray,
    student: str,
    candidates: Sequence[str],
    families: Mapping[str, str],
    rng: np.random.Generator,
    *,
    family_scores: Mapping[str, float] | None = None,
    alpha: float = 0.05,
    n_boot: int = 2000,
    n_perm: int = 2000,
) -> list[CandidateScore]:
    """Rank candidates; degree, interval and Holm-adjusted verdict for each.

    Without ``family_scores`` the order is the mean calibrated score. With them (e.g. the family
    attribution posterior) families are ordered first and the mean score orders a family's members:
    vendor-level evidence is the strongest, the exact version within a vendor the weakest.
    """
    means = scores.mean(axis=0)
    tests = []
    for ci, c in enumerate(candidates):
        panel_idx = [candidates.index(n) for n in null_panel(c, candidates, families)]
        if not panel_idx:
            raise ValueError(f"no null panel for {c}: candidates must span at least two families")
        tests.append(null_panel_test(scores[:, ci], scores[:, panel_idx], rng, n_boot=n_boot, n_perm=n_perm))
    adjusted = holm_adjust([t.p_value for t in tests])
    fam_key = [0.0 if family_scores is None else family_scores.get(family_of(c, families), 0.0) for c in candidates]
    order = np.lexsort((-means, -np.asarray(fam_key)))
    ranked = []
    for rank, ci in enumerate(order, start=1):
        t = tests[ci]
        ranked.append(
            CandidateScore(
                candidate=candidates[ci],
                family=family_of(candidates[ci], families),
                rank=rank,
                score=float(means[ci]),
                degree=t.excess,
                p_value=t.p_value,
                p_adjusted=adjusted[ci],
                verdict=verdict_from(t.excess, adjusted[ci], alpha),
                family_score=None if family_scores is None else fam_key[ci],
            )
        )
    return ranked


def similarity_matrix(sims: PromptSims) -> tuple[tuple[str, ...], np.ndarray]:
    """Symmetric N x N matrix of mean similarity among models that are both queries and candidates."""
    models = tuple(m for m in sims.candidates if m in sims.queries)
    qi = [sims.queries.index(m) for m in models]
    ci = [sims.candidates.index(m) for m in models]
    mean = sims.mean()[np.ix_(qi, ci)]
    return models, (mean + mean.T) / 2.0
