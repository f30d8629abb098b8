"""Three changes to the attribution's conditional logit, under cross-validation (session 9; BENCHMARKS.md).

    python benchmarks/bench_lineage_attribution.py --data ../shared/data/lineage [--sources]

- ``calibrated``: the shipped attribution standardises a candidate's similarity across the student's candidates, so
  it cannot see that some candidates resemble every model (hubness); the named-suspect test standardises it against
  models known not to descend from the candidate. This adds that score (the test's signals and weights, the fold's
  training students as the null) as a third term of the logit, its coefficient fitted in every fold.
- ``balanced``: the logit's likelihood weighted so that every teacher family (and "none") counts equally, as the
  macro metric does, instead of pooled over students (most visible students were taught by OpenAI).
- ``none``: the utility of "none of these" gains the largest of those test scores (a student that stands out
  towards some candidate is less likely to have none of them as teacher), its coefficient fitted in every fold.

Prints the leave-one-student-out row of the default and of each variant, with the students whose documented teacher
is not ranked first and, as a diagnostic, the coefficients fitted on all students (and those students' largest
calibrated scores); ``--sources`` adds the leave-one-prompt-source-out folds. One JSON object per row.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

import numpy as np

from distillscope.bench.lineage import leave_one_source_out, leave_one_student_out, score
from distillscope.bench.lineage_cv import FoldSettings, fit_fold
from distillscope.bench.lineage_data import add_data_arguments, prepare_from_arguments

DESIGNS = {
    "default": FoldSettings(),
    "calibrated": FoldSettings(calibrated=("family",)),
    "balanced": FoldSettings(balanced=True),  # session 9, rule C: the logit's likelihood balanced over families
    "none": FoldSettings(calibrated=("none",)),  # rule D: "none" less likely when a test score stands out
}


def main() -> None:
    """Print the LOSO row of each design and, with ``--sources``, its prompt-source folds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    parser.add_argument("--sources", action="store_true", help="also the leave-one-prompt-source-out folds")
    args = parser.parse_args()
    data = prepare_from_arguments(args, ("word", "frame"))
    for name, settings in DESIGNS.items():
        result = score(data, leave_one_student_out(data, settings), "leave-one-student-out")
        print(json.dumps({"design": name, **result.metrics_row()}), flush=True)
        misses = {s: o.predicted for s, o in result.students.items() if o.teacher and o.rank != 1}
        print(json.dumps({"design": name, "not_top1": misses}), flush=True)
        # A diagnostic, not a fold: the coefficients fitted on every student, and for the misses the three families
        # with the largest calibrated (test) score, when the design computes one.
        fit = fit_fold(data, list(data.students), None, settings)
        scores = {
            s: {ev.families[i]: round(float(ev.calibrated[i]), 1) for i in np.argsort(-ev.calibrated)[:3]}
            for s, ev in fit.evidence.items()
            if s in misses and ev.calibrated is not None
        }
        print(json.dumps({"design": name, "all_students_fit": asdict(fit.attribution), "scores": scores}), flush=True)
    if args.sources:
        for name, settings in DESIGNS.items():
            for fold in leave_one_source_out(data, settings):
                keys = ("held_out", "n_prompts", "macro_family_top1", "family_top1", "auroc", "brier")
                row = {k: round(v, 3) if isinstance(v, float) else v for k, v in fold.items() if k in keys}
                print(json.dumps({"design": name, **row, "recall": round(fold["verdict"]["recall"], 3)}), flush=True)


if __name__ == "__main__":
    main()
