"""How the named-suspect test depends on its null: how many models, and which (session 10; BENCHMARKS.md).

    python benchmarks/bench_lineage_power.py --data ../shared/data/lineage [--draws 20]

The test compares a student's word excess towards the suspect with the same quantity for models known not to
descend from the suspect; in the benchmark those are the other labelled students, so a set with fewer students
gives every test a smaller null. Three diagnostics, all with the shipped design (``FoldSettings()``, every weight
fitted in the folds) and leave-one-student-out:

- ``subsets``: random subsets of n students (n = 12, 20, 30; plain draws, numpy seed 10), each scored as a benchmark
  set of its own, as a held-out set with fewer students would be;
- ``null_sizes``: the whole set, but each test's null cut to k of its students at random (k = 3, 5, 8, 12, 20;
  draw d uses seed 11 + d), the question a user asks when choosing how many null models to name;
- ``openai_heavy``: every OpenAI-taught student plus 2, 4 or 8 others drawn at random (10 draws, numpy seed 12),
  like the first visible set (17 of 19 students OpenAI-taught): the OpenAI suspects' nulls are the few others;
- ``null_sources``: the null made of the students (shipped), of the candidates of other families than the
  suspect's (what `rse attribute --suspect` used without --null before session 10), or of both; on the whole set
  (with the false-positive rate per suspect family) and on the subsets above; and rule H's matched null (the half
  of the students most like the held-out one), on the whole set.

Every row also gives the share of negative pairs with a one-sided p below 0.01 and below 0.0016 (about
0.05 / 32, what Holm across every candidate needs): how the test's extreme tail compares with its nominal level.

Prints one JSON object per draw, then one summary object per n or k (mean and 10th/90th percentiles). Nothing here
is a design choice: the shipped design is measured, not changed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from distillscope.bench.lineage import leave_one_student_out, score
from distillscope.bench.lineage_cv import FoldSettings
from distillscope.bench.lineage_data import LineageData, add_data_arguments, prepare_from_arguments
from distillscope.rse.fingerprint import VERDICT_SIGNALS, lineage_excess
from distillscope.rse.verdict import family_of

SUBSET_SIZES = (12, 20, 30)
NULL_SIZES = (3, 5, 8, 12, 20)
METRICS = ("recall", "fpr", "flagged", "macro_family_top1", "auroc", "untested")
METRICS += ("neg_p_below_0.01", "neg_p_below_0.0016")


def student_subset(data: LineageData, students: Iterable[str]) -> LineageData:
    """The benchmark set restricted to some students (the candidates and their signals unchanged: a student's
    excess and classifier posteriors do not depend on the other students)."""
    keep = set(students)
    return dataclasses.replace(
        data,
        rows=tuple(r for r in data.rows if r.student in keep),
        students=tuple(s for s in data.students if s in keep),
        labels={k: v for k, v in data.labels.items() if k[0] in keep},
    )


def with_candidate_queries(data: LineageData) -> LineageData:
    """The test's excess also computed for every candidate as a query (among the other candidates), so that the
    candidates can serve as null models."""
    queries = [*data.students, *data.candidates]
    return dataclasses.replace(
        data, excess={**data.excess, **lineage_excess(data.texts, queries, data.candidates, VERDICT_SIGNALS)}
    )


def measure(data: LineageData, settings: FoldSettings) -> dict[str, Any]:
    """The leave-one-student-out metrics this diagnostic reports, with the false-positive rate per suspect family."""
    preds = leave_one_student_out(data, settings)
    result = score(data, preds, "leave-one-student-out")
    by_family: dict[str, list[bool]] = {}
    negatives_p = []  # one-sided: a test whose effect is not above 0 is p = 1
    for (student, suspect), label in data.labels.items():
        if label == 0:
            test = preds[student].tests[suspect]
            by_family.setdefault(family_of(suspect, data.families), []).append(test.consistent)
            negatives_p.append(test.p_value if test.effect > 0 else 1.0)
    return {
        "recall": result.verdict.recall,
        "fpr": result.verdict.fpr,
        "flagged": result.negatives_flagged,
        "human_data": result.negatives_n,
        "macro_family_top1": result.macro_family_top1,
        "auroc": result.scores.auroc,
        "n_pos": result.verdict.n_pos,
        "n_neg": result.verdict.n_neg,
        "untested": result.verdict.n_pos_untested,
        "fpr_by_suspect_family": {f: f"{sum(v)}/{len(v)}" for f, v in sorted(by_family.items())},
        **{f"neg_p_below_{level}": float(np.mean([p < level for p in negatives_p])) for level in (0.01, 0.0016)},
    }


def summary(kind: str, size: int, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean and 10th/90th percentiles of every metric over the draws of one size."""
    out: dict[str, Any] = {"summary": kind, "size": size, "draws": len(rows)}
    for key in METRICS:
        values = np.array([r[key] for r in rows], dtype=float)
        if key == "flagged":
            out["flagged"] = f"{int(values.sum())} of {sum(r['human_data'] for r in rows)}"
            continue
        low, high = np.percentile(values, [10, 90])
        out[key] = {"mean": round(float(values.mean()), 3), "p10": round(float(low), 3), "p90": round(float(high), 3)}
    return out


def subsets(data: LineageData, draws: int, settings: FoldSettings, label: dict[str, str]) -> None:
    """Random student subsets of each size in ``SUBSET_SIZES``, the same draws for every ``settings``."""
    rng = np.random.default_rng(10)
    for n in SUBSET_SIZES:
        rows = []
        for draw in range(draws):
            students = rng.choice(list(data.students), size=n, replace=False)
            rows.append(measure(student_subset(data, [str(s) for s in students]), settings))
            print(json.dumps({**label, "subsets": n, "draw": draw, **rows[-1]}), flush=True)
        print(json.dumps({**label, **summary("subsets", n, rows)}), flush=True)


def openai_heavy(data: LineageData, draws: int = 10) -> None:
    """Sets where almost every student was taught by OpenAI, so the OpenAI suspects' nulls are small."""
    rng = np.random.default_rng(12)
    openai = [s for s in data.students if data.row(s).teacher_family == "openai"]
    others = [s for s in data.students if s not in openai]
    for n in (2, 4, 8):
        rows = []
        for draw in range(draws):
            chosen = [*openai, *(str(s) for s in rng.choice(others, size=n, replace=False))]
            rows.append(measure(student_subset(data, chosen), FoldSettings()))
            print(json.dumps({"openai_heavy": n, "draw": draw, **rows[-1]}), flush=True)
        print(json.dumps(summary("openai_heavy", n, rows)), flush=True)


def main() -> None:
    """Run the four diagnostics and print their draws and summaries."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    parser.add_argument("--draws", type=int, default=20, help="random draws per subset size (null sizes: half)")
    args = parser.parse_args()
    data = prepare_from_arguments(args, ("word", "frame"))
    subsets(data, args.draws, FoldSettings(), {})
    for k in NULL_SIZES:
        rows = []
        for draw in range(max(args.draws // 2, 1)):
            rows.append(measure(data, FoldSettings(null_size=k, null_seed=11 + draw)))
            print(json.dumps({"null_size": k, "draw": draw, **rows[-1]}), flush=True)
        print(json.dumps(summary("null_sizes", k, rows)), flush=True)
    openai_heavy(data)
    data = with_candidate_queries(data)
    for source in ("students", "candidates", "both"):
        settings = FoldSettings(null_source=source)
        print(json.dumps({"null_source": source, "students": len(data.students), **measure(data, settings)}))
        if source != "students":  # the students' subsets are the first diagnostic's
            subsets(data, args.draws, settings, {"null_source": source})
    print(json.dumps({"null_source": "matched", **measure(data, FoldSettings(null_source="matched"))}))


if __name__ == "__main__":
    main()
