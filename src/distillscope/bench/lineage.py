"""Lineage benchmark: rank candidate teachers of real students whose training data is documented.

Inputs are recorded responses (model/instruction/output), ``lineage.csv`` (student, teacher,
teacher_family, relation) and ``families.csv`` (model, family). Every model of ``families.csv`` except
the student itself is a candidate. Lineage labels are only used to score the ranking, never to build it.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from distillscope.errors import ConfigError
from distillscope.rse.attribution import AttributionSettings, attribute_students
from distillscope.rse.metrics import tfidf_prompt_sims
from distillscope.rse.responses import load_families, load_responses
from distillscope.rse.verdict import AttributionResult
from distillscope.stats import VERDICT_CONSISTENT

log = logging.getLogger(__name__)

TEACHER_RELATIONS = ("distilled", "parent", "same")
FLAG_FAMILIES = ("openai", "anthropic")


@dataclass(frozen=True)
class LineageRow:
    """One student of lineage.csv."""

    student: str
    teacher: str
    teacher_family: str
    relation: str


@dataclass(frozen=True)
class StudentOutcome:
    """What the benchmark found for one student."""

    teacher: str | None
    predicted: str
    rank: int | None
    degree: float
    verdict: str


@dataclass(frozen=True)
class RankingScores:
    """Ranking quality over students with a known teacher."""

    family_top1: float
    exact_top1: float
    mrr: float
    auroc: float


@dataclass
class LineageBenchResult:
    """Benchmark summary; ``to_dict`` gives the documented JSON shape."""

    n_students: int
    scores: RankingScores
    negatives_n: int
    negatives_flagged: int
    students: dict[str, StudentOutcome]
    baseline: RankingScores | None = None
    n_prompts: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: n_students, family_top1, exact_top1, mrr, auroc, negatives, students."""
        out: dict[str, Any] = {"n_students": self.n_students, **asdict(self.scores)}
        out["negatives"] = {"n": self.negatives_n, "flagged": self.negatives_flagged}
        out["students"] = {k: asdict(v) for k, v in self.students.items()}
        out["n_prompts"] = self.n_prompts
        if self.baseline is not None:
            out["baseline_tfidf"] = asdict(self.baseline)
        return out


def load_lineage(path: str | Path) -> list[LineageRow]:
    """Read lineage.csv (student, teacher, teacher_family, relation)."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"lineage file {file} does not exist: pass --lineage lineage.csv")
    with file.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    need = {"student", "teacher", "teacher_family", "relation"}
    if rows and not need <= set(rows[0]):
        raise ConfigError(f"{file} needs the columns {', '.join(sorted(need))}")
    return [
        LineageRow(r["student"].strip(), r["teacher"].strip(), r["teacher_family"].strip(), r["relation"].strip())
        for r in rows
    ]


def _rank_of(order: Sequence[str], teacher: str) -> int:
    return order.index(teacher) + 1


def ranking_scores(
    orders: Mapping[str, Sequence[str]], rows: Sequence[LineageRow], families: Mapping[str, str]
) -> RankingScores:
    """Top-1 (family and exact), MRR and mean per-student AUROC of ranked candidate lists."""
    fam_hits, exact_hits, rr, aucs = [], [], [], []
    for row in rows:
        order = list(orders[row.student])
        if row.relation not in TEACHER_RELATIONS or row.teacher not in order:
            continue
        rank = _rank_of(order, row.teacher)
        exact_hits.append(rank == 1)
        fam_hits.append(families.get(order[0], order[0]) == row.teacher_family)
        rr.append(1.0 / rank)
        aucs.append(1.0 - (rank - 1) / max(len(order) - 1, 1))
    if not rr:
        raise ConfigError("no student with a teacher among the candidates: check lineage.csv and families.csv")
    return RankingScores(
        family_top1=float(np.mean(fam_hits)),
        exact_top1=float(np.mean(exact_hits)),
        mrr=float(np.mean(rr)),
        auroc=float(np.mean(aucs)),
    )


def _outcome(row: LineageRow, result: AttributionResult) -> StudentOutcome:
    order = [c.candidate for c in result.candidates]
    has_teacher = row.relation in TEACHER_RELATIONS and row.teacher in order
    top = result.top
    return StudentOutcome(
        teacher=row.teacher if has_teacher else None,
        predicted=top.candidate,
        rank=_rank_of(order, row.teacher) if has_teacher else None,
        degree=round(top.degree.estimate, 4),
        verdict=top.verdict,
    )


def _flagged(result: AttributionResult) -> bool:
    return any(c.family in FLAG_FAMILIES and c.verdict == VERDICT_CONSISTENT for c in result.candidates)


def baseline_orders(
    texts: Mapping[str, Sequence[str]], students: Sequence[str], candidates: Sequence[str]
) -> dict[str, list[str]]:
    """Plain TF-IDF baseline: candidates ordered by mean per-prompt word-unigram TF-IDF cosine."""
    sims = tfidf_prompt_sims(texts, list(students), list(candidates), ngram_range=(1, 1), sublinear_tf=False)
    means = sims.mean()
    orders = {}
    for qi, s in enumerate(students):
        ranked = [candidates[i] for i in np.argsort(-means[qi], kind="stable") if candidates[i] != s]
        orders[s] = ranked
    return orders


def run_lineage_bench(
    outputs: Sequence[str | Path],
    lineage_csv: str | Path,
    families_csv: str | Path,
    settings: AttributionSettings | None = None,
    *,
    with_baseline: bool = True,
) -> LineageBenchResult:
    """Run the lineage benchmark on recorded responses; see the module docstring."""
    rows = load_lineage(lineage_csv)
    families = load_families(families_csv)
    data = load_responses(outputs)
    candidates = [m for m in families if m in data.by_model]
    rows = [r for r in rows if r.student in data.by_model]
    missing = sorted(set(families) - set(candidates))
    if missing:
        log.warning("candidates without responses, skipped: %s", ", ".join(missing))
    students = [r.student for r in rows]
    instructions, texts = data.aligned(list(dict.fromkeys([*students, *candidates])))
    results = attribute_students(texts, students, candidates, families, settings)
    orders = {s: [c.candidate for c in res.candidates] for s, res in results.items()}
    negatives = [r for r in rows if r.relation == "none"]
    with_teacher = [r for r in rows if r.relation in TEACHER_RELATIONS and r.teacher in candidates]
    baseline = ranking_scores(baseline_orders(texts, students, candidates), rows, families) if with_baseline else None
    return LineageBenchResult(
        n_students=len(with_teacher),
        scores=ranking_scores(orders, rows, families),
        negatives_n=len(negatives),
        negatives_flagged=sum(_flagged(results[r.student]) for r in negatives),
        students={r.student: _outcome(r, results[r.student]) for r in rows},
        baseline=baseline,
        n_prompts=len(instructions),
    )
