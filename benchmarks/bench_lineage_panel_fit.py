"""What the panel-fit check would do to `bench lineage`'s named-suspect tests (session 12, rule L; BENCHMARKS.md).

    python benchmarks/bench_lineage_panel_fit.py --data ../shared/data/lineage

The shipped leave-one-student-out tests, each (student, suspect) pair against its null: the other students labelled
0 towards the suspect. A pair whose student resembles that null less than the null models resemble each other
(`rse.suspect.panel_fit_pvalue` < 0.05, word similarity among the students) is withheld, as experiments withhold it,
and counts as not consistent. Prints recall and fpr with and without the check, and how many pairs it withheld.
"""

from __future__ import annotations

import argparse
import json

from distillscope.bench.lineage import leave_one_student_out
from distillscope.bench.lineage_cv import FoldSettings
from distillscope.bench.lineage_data import add_data_arguments, prepare_from_arguments
from distillscope.rse.fingerprint import lineage_prompt_sims
from distillscope.rse.suspect import MIN_NULL_MODELS, panel_fit_pvalue

ALPHA = 0.05


def main() -> None:
    """Recall and fpr of the shipped tests, with and without withholding the pairs the check flags."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    data = prepare_from_arguments(parser.parse_args(), ("word", "frame"))
    predictions = leave_one_student_out(data, FoldSettings())
    sims = lineage_prompt_sims(data.texts, data.students, data.students, ("word",))["word"]

    def withheld(student: str, suspect: str) -> bool:
        null = [x for x in data.students if x != student and data.labels.get((x, suspect)) == 0]
        return len(null) >= MIN_NULL_MODELS and panel_fit_pvalue(sims, student, null) < ALPHA

    pairs = [  # (label, consistent, withheld) of every test
        (data.labels[(s, t)], o.consistent, withheld(s, t)) for s, p in predictions.items() for t, o in p.tests.items()
    ]
    row: dict[str, float | int] = {}
    for kind, label in (("pos", 1), ("neg", 0)):
        mine = [(c, w) for y, c, w in pairs if y == label]
        rate = "recall" if label else "fpr"
        row[rate] = round(sum(c for c, _ in mine) / len(mine), 4)
        row[f"{rate}_checked"] = round(sum(c and not w for c, w in mine) / len(mine), 4)
        row[f"{kind}_withheld"] = sum(w for _, w in mine)
        row[f"n_{kind}"] = len(mine)
    print(json.dumps(row))


if __name__ == "__main__":
    main()
