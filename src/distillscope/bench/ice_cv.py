"""Leave-one-target-out validation of an identity judge on the labelled ICE file (`bench ice-judge --cv`).

Each fold holds out one target: a judge with a learned part would be fitted on the other targets' rows and
scored on the held-out one. The shipped judges (`claims`, `regex`) are deterministic rules with nothing to
fit, so a fold is simply the held-out target's own score: the mean over folds is a per-target (macro)
average, and the worst fold is the target the rules handle worst. That is what a new, unseen target looks
like, which is the question the benchmark has to answer.

F1 is undefined on a fold where the labels have no positive and the judge predicts none (nothing to find,
nothing found): such folds are reported with `f1 = None` and left out of the mean and the worst fold, never
counted as 0 or 1. Folds with few positives (under `MIN_SUPPORT`) have F1 dominated by one or two rows;
the worst fold is also given over the folds with enough support.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from distillscope.bench.ice_judge import (
    Agreement,
    IceJudgeBench,
    TargetRates,
    agreement,
    bench_result,
    judge_labelled,
)
from distillscope.ice.judges import IdentityJudge, JudgeVerdict

MIN_SUPPORT = 20  # label positives a fold needs before its F1 says more than one or two rows do


class Fold(BaseModel):
    """One held-out target: agreement on its rows and its rates next to the paper's."""

    target: str
    n: int
    strict: Agreement
    loose: Agreement
    strict_f1: float | None  # None: no label positive and none predicted (undefined)
    loose_f1: float | None
    rates: TargetRates
    strict_rate_gap: float


class Worst(BaseModel):
    """The fold with the lowest F1 (None when no fold has a defined F1)."""

    target: str | None
    f1: float | None


def _defined_f1(a: Agreement) -> float | None:
    return None if a.tp + a.fp + a.fn == 0 else a.f1


def _fold(target: str, rows: Sequence[dict[str, Any]], verdicts: Sequence[JudgeVerdict], rates: TargetRates) -> Fold:
    strict = agreement([v.strict for v in verdicts], [bool(r["strict"]) for r in rows])
    loose = agreement([v.loose for v in verdicts], [bool(r["loose"]) for r in rows])
    return Fold(
        target=target,
        n=len(rows),
        strict=strict,
        loose=loose,
        strict_f1=_defined_f1(strict),
        loose_f1=_defined_f1(loose),
        rates=rates,
        strict_rate_gap=round(rates.strict_rate - rates.paper_strict_rate, 4),
    )


def _worst(folds: Sequence[Fold], label: str, min_support: int = 0) -> Worst:
    scored = [
        (getattr(f, f"{label}_f1"), f.target)
        for f in folds
        if getattr(f, f"{label}_f1") is not None and getattr(f, label).tp + getattr(f, label).fn >= min_support
    ]
    if not scored:
        return Worst(target=None, f1=None)
    f1, target = min(scored)
    return Worst(target=target, f1=f1)


def _mean(xs: Sequence[float | None]) -> float | None:
    vals = [x for x in xs if x is not None]
    return round(sum(vals) / len(vals), 4) if vals else None


class IceJudgeCv(IceJudgeBench):
    """`bench ice-judge --cv`: the pooled benchmark, every leave-one-target-out fold, their mean and worst."""

    fitted: bool  # False: a rules-only judge, each fold is the held-out target's own score
    min_support: int
    folds: list[Fold]
    mean_strict_f1: float | None  # macro mean over folds with a defined F1
    mean_loose_f1: float | None
    mean_strict_f1_supported: float | None  # over folds with >= min_support label positives
    mean_loose_f1_supported: float | None
    worst_strict: Worst
    worst_loose: Worst
    worst_strict_supported: Worst  # over folds with >= min_support label positives
    worst_loose_supported: Worst


def cross_validate(
    rows: Sequence[dict[str, Any]], verdicts: Sequence[JudgeVerdict], bench: IceJudgeBench
) -> IceJudgeCv:
    """Leave-one-target-out folds of a deterministic judge's verdicts (one verdict per row, in row order)."""
    by: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by[r["target"]].append(i)
    folds = [
        _fold(t, [rows[i] for i in idx], [verdicts[i] for i in idx], bench.targets[t]) for t, idx in sorted(by.items())
    ]
    return IceJudgeCv(
        **bench.model_dump(),
        fitted=False,
        min_support=MIN_SUPPORT,
        folds=folds,
        mean_strict_f1=_mean([f.strict_f1 for f in folds]),
        mean_loose_f1=_mean([f.loose_f1 for f in folds]),
        mean_strict_f1_supported=_mean([f.strict_f1 for f in folds if f.strict.tp + f.strict.fn >= MIN_SUPPORT]),
        mean_loose_f1_supported=_mean([f.loose_f1 for f in folds if f.loose.tp + f.loose.fn >= MIN_SUPPORT]),
        worst_strict=_worst(folds, "strict"),
        worst_loose=_worst(folds, "loose"),
        worst_strict_supported=_worst(folds, "strict", MIN_SUPPORT),
        worst_loose_supported=_worst(folds, "loose", MIN_SUPPORT),
    )


async def run_ice_judge_cv(data: Path, judge: IdentityJudge, judge_name: str) -> IceJudgeCv:
    """Judge the labelled file and report it pooled and fold by fold (one fold per target)."""
    rows, verdicts, cpu_s = await judge_labelled(data, judge)
    return cross_validate(rows, verdicts, bench_result(rows, verdicts, judge_name, cpu_s))
