"""What the panel-fit check would do to `bench lineage`'s named-suspect tests (session 12, rule L; BENCHMARKS.md).

    python benchmarks/bench_lineage_panel_fit.py --data ../shared/data/lineage

The shipped leave-one-student-out tests, each (student, suspect) pair against its null: the other students labelled
0 towards the suspect. A pair whose student resembles that null less than the null models resemble each other
(`rse.suspect.panel_fit_pvalue` < 0.05, word similarity among the students) is withheld, as experiments withhold it,
and counts as not consistent. Prints recall and fpr with and without the check, and how many pairs it withheld.
"""

from __future__ import annotations

import json

from distillscope.bench.lineage import leave_one_student_out, score
from distillscope.bench.lineage_cv import FoldSettings
from distillscope.bench.lineage_data import add_data_arguments, prepare_from_arguments
from distillscope.rse.fingerprint import lineage_prompt_sims
from distillscope.rse.suspect import panel_fit_pvalue

ALPHA = 0.05


def main() -> None:
    """Recall and fpr of the shipped tests, with and without withholding the pairs the check flags."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    data = prepare_from_arguments(parser.parse_args(), ("word", "frame"))
    predictions = leave_one_student_out(data, FoldSettings())
    sims = lineage_prompt_sims(data.texts, data.students, data.students, ("word",))["word"]
    counts = {key: [0, 0] for key in ("pos", "neg", "pos_withheld", "neg_withheld")}
    for student, prediction in predictions.items():
        for suspect, outcome in prediction.tests.items():
            label = data.labels[(student, suspect)]
            null = [x for x in data.students if x != student and data.labels.get((x, suspect)) == 0]
            withheld = len(null) >= 3 and panel_fit_pvalue(sims, student, null) < ALPHA
            kind = "pos" if label == 1 else "neg"
            counts[kind][0] += outcome.consistent
            counts[kind][1] += 1
            counts[f"{kind}_withheld"][0] += outcome.consistent and not withheld
            counts[f"{kind}_withheld"][1] += withheld
    shipped = score(data, predictions, "loso").verdict
    print(
        json.dumps(
            {
                "recall": round(counts["pos"][0] / counts["pos"][1], 4),
                "fpr": round(counts["neg"][0] / counts["neg"][1], 4),
                "recall_checked": round(counts["pos_withheld"][0] / counts["pos"][1], 4),
                "fpr_checked": round(counts["neg_withheld"][0] / counts["neg"][1], 4),
                "pos_withheld": counts["pos_withheld"][1],
                "neg_withheld": counts["neg_withheld"][1],
                "n_pos": counts["pos"][1],
                "n_neg": counts["neg"][1],
                "bench_recall": round(shipped.recall, 4),
                "bench_fpr": round(shipped.fpr, 4),
            }
        )
    )


if __name__ == "__main__":
    main()
