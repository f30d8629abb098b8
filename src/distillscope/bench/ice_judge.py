"""Agreement of an identity judge with the paper's labelled ICE responses (loose and strict labels).

Input: JSONL(.gz) rows with `target`, `response`, `loose`, `strict` and optional `jailbreak_prompt`,
`query`. Output: precision/recall/F1/Cohen's kappa per label and per-target rates next to the paper's.
"""

from __future__ import annotations

import gzip
import json
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from distillscope.errors import ConfigError
from distillscope.ice.judges import IdentityJudge, JudgeItem, JudgeVerdict, template_mentions_vendor
from distillscope.identity.registry import family_for_target

# Targets used while the claims judge was developed; the others were held out (reported separately).
DEV_TARGETS: frozenset[str] = frozenset({"glm-4-plus", "qwen2.5-14b", "llama-3.1-70b-instruct", "qwen2.5-7b-instruct"})


class Agreement(BaseModel):
    """Binary agreement of predictions with labels."""

    n: int
    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f1: float
    kappa: float


class TargetRates(BaseModel):
    """Per-target judged rates next to the rates from the file's own labels."""

    n: int
    loose_rate: float
    strict_rate: float
    hard_rate: float
    paper_loose_rate: float
    paper_strict_rate: float
    paper_hard_rate: float


class IceJudgeBench(BaseModel):
    """The benchmark result (JSON shape printed by `distillscope bench ice-judge --json`)."""

    judge: str
    strict: Agreement
    loose: Agreement
    targets: dict[str, TargetRates]
    splits: dict[str, dict[str, Agreement]]
    n_unscored: int
    max_strict_rate_gap: float
    judge_cpu_s: float  # CPU seconds spent judging the file (wall time depends on the machine's load)


def agreement(pred: Sequence[bool], gold: Sequence[bool]) -> Agreement:
    """Precision, recall, F1 and Cohen's kappa of boolean predictions against boolean labels."""
    n = len(gold)
    tp = sum(p and g for p, g in zip(pred, gold, strict=True))
    fp = sum(p and not g for p, g in zip(pred, gold, strict=True))
    fn = sum(g and not p for p, g in zip(pred, gold, strict=True))
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    po = (n - fp - fn) / n if n else 0.0
    p_pred, p_gold = (tp + fp) / n if n else 0.0, (tp + fn) / n if n else 0.0
    pe = p_pred * p_gold + (1 - p_pred) * (1 - p_gold)
    kappa = (po - pe) / (1 - pe) if pe < 1 else 1.0
    return Agreement(
        n=n, tp=tp, fp=fp, fn=fn, precision=round(prec, 4), recall=round(rec, 4), f1=round(f1, 4), kappa=round(kappa, 4)
    )


def read_labelled(path: Path) -> Iterator[dict[str, Any]]:
    """Rows of a labelled JSONL or JSONL.gz file."""
    if not path.exists():
        raise ConfigError(f"benchmark data {path} not found; pass --data with the labelled ICE JSONL(.gz)")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _items(rows: Sequence[dict[str, Any]]) -> list[JudgeItem]:
    fams = {t: family_for_target(t) for t in {r["target"] for r in rows}}
    return [
        JudgeItem(
            target=fams[r["target"]],
            response=str(r.get("response") or ""),
            jailbreak_prompt=r.get("jailbreak_prompt"),
            query=r.get("query"),
        )
        for r in rows
    ]


def _rate(xs: Sequence[bool]) -> float:
    return round(sum(xs) / len(xs), 4) if xs else 0.0


def _target_rates(rows: Sequence[dict[str, Any]], verdicts: Sequence[JudgeVerdict]) -> dict[str, TargetRates]:
    by: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by[r["target"]].append(i)
    out = {}
    for t, idx in sorted(by.items()):
        vs = [verdicts[i] for i in idx]
        rs = [rows[i] for i in idx]
        paper_hard = [bool(r["strict"]) and not template_mentions_vendor(r.get("jailbreak_prompt")) for r in rs]
        out[t] = TargetRates(
            n=len(idx),
            loose_rate=_rate([v.loose for v in vs]),
            strict_rate=_rate([v.strict for v in vs]),
            hard_rate=_rate([v.hard for v in vs]),
            paper_loose_rate=_rate([bool(r["loose"]) for r in rs]),
            paper_strict_rate=_rate([bool(r["strict"]) for r in rs]),
            paper_hard_rate=_rate(paper_hard),
        )
    return out


def _split_agreements(
    rows: Sequence[dict[str, Any]], verdicts: Sequence[JudgeVerdict]
) -> dict[str, dict[str, Agreement]]:
    out = {}
    for name, keep in (("dev", True), ("held_out", False)):
        idx = [i for i, r in enumerate(rows) if (r["target"] in DEV_TARGETS) == keep]
        out[name] = {
            lab: agreement([getattr(verdicts[i], lab) for i in idx], [bool(rows[i][lab]) for i in idx])
            for lab in ("strict", "loose")
        }
    return out


async def judge_labelled(data: Path, judge: IdentityJudge) -> tuple[list[dict[str, Any]], list[JudgeVerdict], float]:
    """The labelled rows, the judge's verdict on each (in row order) and the CPU seconds judging took."""
    rows = list(read_labelled(data))
    items = _items(rows)
    start = time.process_time()
    verdicts = await judge.judge(items)
    return rows, verdicts, round(time.process_time() - start, 2)


def bench_result(
    rows: Sequence[dict[str, Any]], verdicts: Sequence[JudgeVerdict], judge_name: str, cpu_s: float
) -> IceJudgeBench:
    """Pooled agreement, per-target rates and the dev/held-out splits of judged rows."""
    targets = _target_rates(rows, verdicts)
    return IceJudgeBench(
        judge=judge_name,
        strict=agreement([v.strict for v in verdicts], [bool(r["strict"]) for r in rows]),
        loose=agreement([v.loose for v in verdicts], [bool(r["loose"]) for r in rows]),
        targets=targets,
        splits=_split_agreements(rows, verdicts),
        n_unscored=sum(v.label == "unscored" for v in verdicts),
        max_strict_rate_gap=round(
            max((abs(t.strict_rate - t.paper_strict_rate) for t in targets.values()), default=0.0), 4
        ),
        judge_cpu_s=cpu_s,
    )


async def run_ice_judge_bench(data: Path, judge: IdentityJudge, judge_name: str) -> IceJudgeBench:
    """Judge every labelled row and compare with the labels."""
    rows, verdicts, cpu_s = await judge_labelled(data, judge)
    return bench_result(rows, verdicts, judge_name, cpu_s)
