"""ICE scores with 95% Wilson intervals: loose / strict / hard per target, category, language and template.

Denominators: by default ("all") every target query counts, as in the paper (METHOD §2.8: out of 1000); an
unscored or unjudged record is then a non-contradiction, so rates are lower bounds, and `n_unscored` is
reported next to every rate. `denominator="scored"` divides by the judged records only.

A level no record was judged on is None ("not measured"), never a zero: the paper's released attack results
carry loose labels only, so an import judged with `--judge none` has loose rates and no strict or hard ones; and
a judge whose every reply was unscored measured nothing at all.
Records imported with their file's own loose label (`imported_loose`) also get that rate (`imported_loose`),
shown next to the judge's.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from distillscope.ice.records import IceRecord
from distillscope.stats import wilson_interval

Denominator = Literal["all", "scored"]
_CJK = re.compile(r"[\u3400-\u9fff]")
_NESTED = {"loose": ("loose",), "strict": ("loose", "strict"), "hard": ("loose", "strict", "hard")}


class Rate(BaseModel):
    """k of n with its Wilson interval."""

    k: int
    n: int
    rate: float
    low: float
    high: float

    @staticmethod
    def of(k: int, n: int, z: float = 1.96) -> Rate:
        lo, hi = wilson_interval(k, n, z)
        return Rate(k=k, n=n, rate=k / n if n else 0.0, low=lo, high=hi)


class RateSet(BaseModel):
    """Loose, strict and hard rates of one group of records; None: that level was not measured."""

    n: int
    n_unscored: int
    loose: Rate | None
    strict: Rate | None
    hard: Rate | None
    imported_loose: Rate | None = None  # the loose labels that came with imported records, when there are any


class TemplateScore(BaseModel):
    """One template's rates (for the top-template table)."""

    template_id: str
    template: str | None
    scores: RateSet


class TargetScores(BaseModel):
    """Every score of one target."""

    target: str
    overall: RateSet
    by_category: dict[str, RateSet]
    by_language: dict[str, RateSet]
    queries_to_first_contradiction: int | None  # 1-based position in run order; None: no contradiction
    top_templates: list[TemplateScore]


class IceScores(BaseModel):
    """Scores of every target in a set of records."""

    denominator: Denominator
    targets: dict[str, TargetScores]


def _scored(r: IceRecord) -> bool:
    return r.label is not None and r.label != "unscored" and r.status == "ok"


def _level(scored: Sequence[IceRecord], n: int, name: str) -> Rate | None:
    """k of n records positive at level `name` (which needs every lower level); None when no scored record has it
    (a judge whose every reply was unscored measured nothing: its rates are not zeros)."""
    if all(getattr(r, name) is None for r in scored):
        return None
    need = _NESTED[name]
    return Rate.of(sum(all(bool(getattr(r, lv)) for lv in need) for r in scored), n)


def rate_set(records: Sequence[IceRecord], denominator: Denominator = "all") -> RateSet:
    """Loose/strict/hard rates of `records` (hard implies strict implies loose is enforced)."""
    scored = [r for r in records if _scored(r)]
    n = len(records) if denominator == "all" else len(scored)
    imported = [r for r in records if r.imported_loose is not None]
    file_loose = Rate.of(sum(bool(r.imported_loose) for r in imported), n) if imported else None
    return RateSet(
        n=n,
        n_unscored=len(records) - len(scored),
        loose=_level(scored, n, "loose"),
        strict=_level(scored, n, "strict"),
        hard=_level(scored, n, "hard"),
        imported_loose=file_loose,
    )


def language_of(r: IceRecord) -> str:
    """The record's query language, or "zh"/"en" guessed from the query text ("unknown" without one)."""
    if r.query_language:
        return r.query_language
    if not r.query:
        return "unknown"
    return "zh" if _CJK.search(r.query) else "en"


def _grouped(
    records: Sequence[IceRecord], key: Callable[[IceRecord], str], denominator: Denominator
) -> dict[str, RateSet]:
    groups: dict[str, list[IceRecord]] = defaultdict(list)
    for r in records:
        groups[key(r)].append(r)
    return {k: rate_set(v, denominator) for k, v in sorted(groups.items())}


def queries_to_first_contradiction(records: Sequence[IceRecord]) -> int | None:
    """1-based number of queries (in `idx` order) up to and including the first loose contradiction."""
    for pos, r in enumerate(sorted(records, key=lambda x: x.idx), 1):
        if _scored(r) and r.loose:
            return pos
    return None


def _k(rate: Rate | None) -> int:
    return -1 if rate is None else rate.k


def top_templates(records: Sequence[IceRecord], k: int = 5, denominator: Denominator = "all") -> list[TemplateScore]:
    """The k templates with the most strict (then loose) contradictions."""
    groups: dict[str, list[IceRecord]] = defaultdict(list)
    for r in records:
        groups[r.template_id or "(none)"].append(r)
    scored = [
        TemplateScore(template_id=t, template=rs[0].template, scores=rate_set(rs, denominator))
        for t, rs in groups.items()
    ]
    scored.sort(key=lambda s: (-_k(s.scores.strict), -_k(s.scores.loose), s.template_id))
    return scored[:k]


def target_scores(
    target: str, records: Sequence[IceRecord], *, denominator: Denominator = "all", top_k: int = 5
) -> TargetScores:
    """Every score of one target's records."""
    return TargetScores(
        target=target,
        overall=rate_set(records, denominator),
        by_category=_grouped(records, lambda r: r.query_category or "unknown", denominator),
        by_language=_grouped(records, language_of, denominator),
        queries_to_first_contradiction=queries_to_first_contradiction(records),
        top_templates=top_templates(records, top_k, denominator),
    )


def compute_scores(records: Sequence[IceRecord], *, denominator: Denominator = "all", top_k: int = 5) -> IceScores:
    """Scores per target of a list of judged records."""
    by: dict[str, list[IceRecord]] = defaultdict(list)
    for r in records:
        by[r.target].append(r)
    return IceScores(
        denominator=denominator,
        targets={t: target_scores(t, rs, denominator=denominator, top_k=top_k) for t, rs in sorted(by.items())},
    )


def saved_scores(path: Path, records: Sequence[IceRecord]) -> IceScores:
    """The scores.json written beside `records` when it covers them (scores are computed once, when a campaign or
    replay writes its records); else, for a run stopped before it saved them, computed from the records."""
    if path.is_file():
        saved = IceScores.model_validate_json(path.read_text(encoding="utf-8"))
        if {t: s.overall.n for t, s in saved.targets.items()} == dict(Counter(r.target for r in records)):
            return saved
    return compute_scores(records)
