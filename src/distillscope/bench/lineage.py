"""Lineage benchmark: attribution and named-suspect verdicts on real students of documented lineage.

Without ``cv`` the shipped weights are used (every student is still tested against a null of the *other*
students). With ``cv`` two grouped schemes are run and every learned number is refitted inside each fold:
leave one student out (all prompts), and leave one prompt source out (each held-out source is predicted
with weights fitted on the other sources' prompts *and* on the other students, so neither the student
nor the prompts were seen). The headline numbers under ``cv`` are those of leave-one-student-out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from distillscope.bench.lineage_cv import CLASSIFIER, FoldSettings, StudentPrediction, predict_fold
from distillscope.bench.lineage_data import LineageData, LineageRow, prepare
from distillscope.bench.lineage_metrics import (
    RankingScores,
    VerdictScores,
    calibration,
    macro_family_top1,
    ranking_scores,
    student_contributions,
    student_intervals,
    verdict_scores,
)
from distillscope.rse.attribution import NONE
from distillscope.rse.metrics import TfidfOptions, tfidf_prompt_sims
from distillscope.rse.suspect import MIN_NULL_MODELS
from distillscope.rse.verdict import family_of
from distillscope.stats import holm_adjust

log = logging.getLogger(__name__)

FLAG_FAMILIES = ("openai", "anthropic")


@dataclass(frozen=True, kw_only=True)
class StudentOutcome:
    """What the benchmark found for one student."""

    teacher: str | None
    predicted: str
    predicted_probability: float
    rank: int | None
    family_probabilities: dict[str, float]
    teacher_effect: float | None
    teacher_p_value: float | None
    verdict: str  # the named-suspect verdict for the documented teacher ("-" without one)
    degree: float | None  # the named-suspect effect towards the predicted candidate (null SDs), when tested


@dataclass(kw_only=True)
class LineageBenchResult:
    """Benchmark summary; ``to_dict`` gives the documented JSON shape."""

    n_students: int
    scores: RankingScores
    macro_family_top1: float
    verdict: VerdictScores
    calibration: dict[str, Any]
    negatives_n: int
    negatives_flagged: int
    students: dict[str, StudentOutcome]
    baseline: RankingScores | None = None
    n_prompts: int = 0
    scheme: str = "fixed weights"
    folds: list[dict[str, Any]] = field(default_factory=list)
    pair_scores: list[tuple[int, float]] = field(default_factory=list)
    # 95% over students resampled (bootstrap): the headline metrics, and each suspect family's fpr as "fpr:FAMILY"
    intervals: dict[str, list[float]] = field(default_factory=dict)

    def metrics_row(self) -> dict[str, float | int | None]:
        """The headline metrics rounded to 3 decimals: one row of the benchmark scripts' tables (None where a
        verdict metric has no pair to count)."""
        v = self.verdict

        def r3(x: float, defined: bool = True) -> float | None:
            return round(x, 3) if defined else None

        return {
            "macro_family_top1": r3(self.macro_family_top1),
            "family_top1": r3(self.scores.family_top1),
            "exact_top1": r3(self.scores.exact_top1),
            "auroc": r3(self.scores.auroc),
            "recall": r3(v.recall, v.n_pos > 0),
            "fpr": r3(v.fpr, v.n_neg > 0),
            "false_positives": round(v.fpr * v.n_neg),
            "pair_auroc": r3(v.auroc, v.n_pos > 0 and v.n_neg > 0),
            "brier": r3(self.calibration["brier"]),
            "ece": r3(self.calibration["ece"]),
            "human_data_flagged": self.negatives_flagged,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (field names in BENCHMARKS.md)."""
        out: dict[str, Any] = {"n_students": self.n_students, **asdict(self.scores)}
        out["macro_family_top1"] = self.macro_family_top1
        out["verdict"] = asdict(self.verdict)
        out["calibration"] = self.calibration
        out["negatives"] = {"n": self.negatives_n, "flagged": self.negatives_flagged}
        out["intervals"] = self.intervals
        out["students"] = {k: asdict(v) for k, v in self.students.items()}
        out["n_prompts"] = self.n_prompts
        out["scheme"] = self.scheme
        if self.baseline is not None:
            out["baseline_tfidf"] = asdict(self.baseline)
        if self.folds:
            out["folds"] = self.folds
        return out


def baseline_orders(
    texts: Mapping[str, Sequence[str]], students: Sequence[str], candidates: Sequence[str]
) -> dict[str, list[str]]:
    """Plain TF-IDF baseline: candidates ordered by mean per-prompt word-unigram TF-IDF cosine."""
    sims = tfidf_prompt_sims(
        texts, list(students), list(candidates), TfidfOptions(ngram_range=(1, 1), sublinear_tf=False)
    )
    means = sims.mean()
    return {
        s: [candidates[i] for i in np.argsort(-means[qi], kind="stable") if candidates[i] != s]
        for qi, s in enumerate(students)
    }


def _outcome(row: LineageRow, pred: StudentPrediction) -> StudentOutcome:
    has_teacher = row.has_teacher and row.teacher in pred.order
    test = pred.tests.get(row.teacher) if has_teacher else None
    verdict = "-" if test is None else ("consistent with distillation" if test.consistent else "inconclusive")
    return StudentOutcome(
        teacher=row.teacher if has_teacher else None,
        predicted=pred.order[0],
        predicted_probability=round(pred.top_probability, 4),
        rank=pred.order.index(row.teacher) + 1 if has_teacher else None,
        family_probabilities={
            k: round(v, 4) for k, v in sorted(pred.family_probabilities.items(), key=lambda kv: -kv[1])[:4]
        },
        teacher_effect=None if test is None else round(test.effect, 3),
        teacher_p_value=None if test is None else round(test.p_value, 5),
        verdict=verdict,
        degree=round(top.effect, 3) if (top := pred.tests.get(pred.order[0])) and top.tested else None,
    )


def _flagged(data: LineageData, pred: StudentPrediction, alpha: float) -> bool:
    """A human-data student called a descendant of OpenAI or Anthropic when every candidate is a named suspect
    (Holm across them, as `rse attribute --suspect` would correct)."""
    names = list(pred.tests)
    adjusted = holm_adjust([pred.tests[c].p_value for c in names])
    return any(
        p < alpha and pred.tests[c].effect > 0 and family_of(c, data.families) in FLAG_FAMILIES
        for c, p in zip(names, adjusted, strict=True)
    )


def score(
    data: LineageData, preds: Mapping[str, StudentPrediction], scheme: str, alpha: float = 0.05
) -> LineageBenchResult:
    """Every metric of one set of held-out predictions."""
    rows = [data.row(s) for s in preds]
    truths = {r.student: (r.teacher_family if r.has_teacher else NONE) for r in rows}
    tests = {s: p.tests for s, p in preds.items()}
    verdict, pairs = verdict_scores(data.labels, tests, alpha, data.families)
    orders = {s: list(p.order) for s, p in preds.items()}
    negatives = [r for r in rows if not r.has_teacher]
    return LineageBenchResult(
        n_students=sum(r.has_teacher and r.teacher in data.candidates for r in rows),
        scores=ranking_scores(orders, rows, data.families),
        macro_family_top1=macro_family_top1(orders, rows, data.families),
        verdict=verdict,
        calibration=calibration({s: p.family_probabilities for s, p in preds.items()}, truths),
        negatives_n=len(negatives),
        negatives_flagged=sum(_flagged(data, preds[r.student], alpha) for r in negatives),
        students={r.student: _outcome(r, preds[r.student]) for r in rows},
        n_prompts=data.n_prompts,
        scheme=scheme,
        pair_scores=pairs,
        intervals=student_intervals(student_contributions(orders, rows, data.families, data.labels, tests)),
    )


def leave_one_student_out(data: LineageData, settings: FoldSettings) -> dict[str, StudentPrediction]:
    """Every student predicted by a fold that never saw it."""
    out: dict[str, StudentPrediction] = {}
    for s in data.students:
        out.update(predict_fold(data, [s], None, settings))
    return out


def _fold_summary(result: LineageBenchResult, scheme: str, held_out: str, n_prompts: int) -> dict[str, Any]:
    return {
        "scheme": scheme,
        "held_out": held_out,
        "n_prompts": n_prompts,
        "macro_family_top1": result.macro_family_top1,
        "family_top1": result.scores.family_top1,
        "exact_top1": result.scores.exact_top1,
        "auroc": result.scores.auroc,
        "verdict": asdict(result.verdict),
        "brier": result.calibration["brier"],
        "ece": result.calibration["ece"],
    }


def _student_folds(result: LineageBenchResult) -> list[dict[str, Any]]:
    """The leave-one-student-out folds, one per student, as the JSON lists them."""
    return [{"scheme": "leave-one-student-out", "held_out": name, **asdict(o)} for name, o in result.students.items()]


def leave_one_source_out(data: LineageData, settings: FoldSettings) -> list[dict[str, Any]]:
    """Per prompt source: fit on the other sources' prompts and other students, predict on this source."""
    folds = []
    sources = sorted({s for s in data.sources if s})
    if len(sources) < 2:
        log.warning(
            "leave-one-prompt-source-out skipped: the outputs name %s (a `dataset` field per row gives them)",
            f"only one prompt source ({sources[0]})" if sources else "no prompt source",
        )
        return []
    for source in sources:
        test_prompts = np.flatnonzero(data.sources == source)
        train_prompts = np.flatnonzero(data.sources != source)
        preds = {}
        for s in data.students:
            preds.update(predict_fold(data, [s], test_prompts, settings, fit_prompts=train_prompts))
        result = score(data, preds, "source", settings.alpha)
        folds.append(_fold_summary(result, "leave-one-source-out", source, int(test_prompts.size)))
    return folds


def run_lineage_bench(
    outputs: Sequence[str | Path],
    lineage_csv: str | Path,
    families_csv: str | Path,
    *,
    alpha: float = 0.05,
    seed: int = 0,
    cv: bool = False,
    signals: Sequence[str] = FoldSettings.signals,
    with_baseline: bool = True,
) -> LineageBenchResult:
    """Run the lineage benchmark on recorded responses; see the module docstring."""
    settings = FoldSettings(signals=tuple(signals), fit=cv, alpha=alpha)
    wanted = dict.fromkeys([*settings.signals, *settings.verdict_signals])
    data = prepare(outputs, lineage_csv, families_csv, seed, [s for s in wanted if s != CLASSIFIER])
    preds = leave_one_student_out(data, settings)
    result = score(data, preds, "leave-one-student-out" if cv else "fixed weights", alpha)
    if result.verdict.n_pos_untested:  # said in the table output too; --json users read the log
        log.warning(
            "%d of %d positive pairs untested (counted as missed): no test could run, mostly because fewer than %d "
            "students are known not to descend from the suspect; a set taught mostly by one vendor cannot test it",
            result.verdict.n_pos_untested,
            result.verdict.n_pos,
            MIN_NULL_MODELS,
        )
    if cv:
        result.folds = [*_student_folds(result), *leave_one_source_out(data, settings)]
    if with_baseline:
        result.baseline = ranking_scores(
            baseline_orders(data.texts, data.students, data.candidates), list(data.rows), data.families
        )
    return result
