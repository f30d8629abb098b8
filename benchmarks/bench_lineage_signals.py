"""Lineage evidence alone and combined, under leave-one-student-out (the signal table of BENCHMARKS.md).

    python benchmarks/bench_lineage_signals.py --data ../shared/data/lineage

Features are computed once (word, frame and skeleton excess, nearest-candidate share, vendor classifier); each
row refits its weights inside the same 47 folds. Prints one JSON object per evidence set, then one per
alternative named-suspect test on the default attribution evidence.
"""

from __future__ import annotations

import argparse
import json

from distillscope.bench.lineage import leave_one_student_out, score
from distillscope.bench.lineage_cv import CLASSIFIER, FoldSettings
from distillscope.bench.lineage_data import add_data_arguments, prepare_from_arguments

SETS = (
    ("word",),
    ("frame",),
    ("skeleton",),
    (CLASSIFIER,),
    ("word", "frame"),
    ("word", "skeleton"),
    ("word", CLASSIFIER),
    ("frame", CLASSIFIER),
    ("word", "frame", CLASSIFIER),
    ("word", "skeleton", CLASSIFIER),
)
# Named-suspect tests compared on the default attribution evidence (word + frame + classifier).
VERDICTS = (("word",), ("nearest",), ("word", "nearest"))


def main() -> None:
    """Run every evidence set and print its metrics."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    args = parser.parse_args()
    data = prepare_from_arguments(args, ("word", "frame", "skeleton", "nearest"))
    # Each evidence row's test uses all of its similarity signals (weights fitted in the folds), so the rows
    # compare the evidence itself; the shipped default tests the word excess only (FoldSettings.verdict_signals).
    rows = [FoldSettings(signals=s, verdict_signals=tuple(x for x in s if x != CLASSIFIER)) for s in SETS]
    rows += [FoldSettings(verdict_signals=v) for v in VERDICTS]
    for settings in rows:
        result = score(data, leave_one_student_out(data, settings), "leave-one-student-out")
        row = {"signals": settings.signals, "verdict_signals": settings.verdict_signals, **result.metrics_row()}
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
