"""Does a learned layer over the claims judge generalise? Leave-one-target-out, fitted inside the folds.

A logistic regression (scikit-learn) over features of the claims judge's verdict and of the response
(the judge's loose/strict, kind of evidence, vendor names in the response and the template, refusal and
"no information" wording, speaker labels, length, language) predicts the paper's loose label. For each
target it is fitted on the other targets' rows only and scored on the held-out target, next to the rules'
own score on that target. Prints one JSON object: per-fold F1 and the macro mean and pooled F1 of both.

    python benchmarks/bench_ice_learned_layer.py --data ../shared/data/ice/paper_ice_labelled.jsonl.gz
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

_VENDOR = re.compile(r"openai|chatgpt|\bgpt|anthropic|claude", re.IGNORECASE)
_REFUSE = re.compile(r"sorry|can['’]t|cannot|unable|无法|抱歉|不能", re.IGNORECASE)
_NO_INFO = re.compile(
    r"(?:don['’]t|do not) have (?:any )?(?:information|access|details)|无法提供|没有.{0,8}信息", re.IGNORECASE
)
_LABEL = re.compile(r"^\s*[\[(*]?[\w 🔓🔒]{1,20}[\])*]?\s*[:：]", re.MULTILINE)


def features(row: dict[str, Any], loose: bool, strict: bool, why: str) -> list[float]:
    """One row's features: the rules' verdict and cheap facts about the response and template."""
    text = str(row.get("response") or "")
    return [
        loose,
        strict,
        "origin" in why,
        "persona" in why,
        "loose only" in why,
        "truthful" in why,
        bool(_VENDOR.search(text)),
        min(len(_VENDOR.findall(text)), 5) / 5,
        bool(_VENDOR.search(str(row.get("jailbreak_prompt") or ""))),
        bool(_REFUSE.search(text)),
        bool(_NO_INFO.search(text)),
        bool(_LABEL.search(text)),
        min(len(text), 3000) / 3000,
        bool(re.search(r"[\u4e00-\u9fff]", str(row.get("query") or ""))),
    ]


def _f1(pred: np.ndarray, gold: np.ndarray) -> float | None:
    tp, fp, fn = int((pred & gold).sum()), int((pred & ~gold).sum()), int((~pred & gold).sum())
    return None if tp + fp + fn == 0 else round(2 * tp / (2 * tp + fp + fn), 4)


def _mean(xs: list[float | None]) -> float:
    vals = [x for x in xs if x is not None]
    return round(sum(vals) / len(vals), 4)


async def run(data: Path) -> dict[str, Any]:
    """Judge the file with the rules, then fit and score the learned layer fold by fold."""
    from sklearn.linear_model import LogisticRegression

    from distillscope.bench.ice_judge import judge_labelled
    from distillscope.ice.judge_factory import make_judge

    rows, verdicts, _ = await judge_labelled(data, make_judge("claims"))
    x = np.array([features(r, v.loose, v.strict, v.rationale) for r, v in zip(rows, verdicts, strict=True)], float)
    y = np.array([bool(r["loose"]) for r in rows])
    targets = np.array([r["target"] for r in rows])
    rules = x[:, 0].astype(bool)
    learned = np.zeros(len(y), bool)
    folds = {}
    for t in sorted(set(targets)):
        train, test = targets != t, targets == t
        model = LogisticRegression(max_iter=1000).fit(x[train], y[train])
        learned[test] = model.predict_proba(x[test])[:, 1] > 0.5
        folds[t] = {"rules_f1": _f1(rules[test], y[test]), "learned_f1": _f1(learned[test], y[test])}
    return {
        "label": "loose",
        "folds": folds,
        "mean": {k: _mean([f[k] for f in folds.values()]) for k in ("rules_f1", "learned_f1")},
        "pooled": {"rules_f1": _f1(rules, y), "learned_f1": _f1(learned, y)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/ice/paper_ice_labelled.jsonl.gz"))
    print(json.dumps(asyncio.run(run(parser.parse_args().data)), indent=1))


if __name__ == "__main__":
    main()
