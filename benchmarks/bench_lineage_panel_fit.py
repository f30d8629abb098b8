"""What the panel-fit checks would do to `bench lineage`'s named-suspect tests (sessions 12-13, rules L and M;
BENCHMARKS.md).

    python benchmarks/bench_lineage_panel_fit.py --data ../shared/data/lineage

The shipped leave-one-student-out tests, each (student, suspect) pair against its null: the other students labelled
0 towards the suspect. A pair whose student resembles that null less than the null models resemble each other
(`rse.suspect.panel_fit_pvalue` < 0.05, word similarity among the students) is withheld, as experiments withhold it,
and counts as not consistent. Two checks: ``target`` (rule L: the student's similarity to the null models) and
``partial`` (rule M: the same on partial similarities given the suspect's answer). Prints recall and fpr without
and with each check, the fpr for OpenAI and Anthropic suspects, and how many pairs each check withheld; with
``--pairs``, every false positive of the tests without a check, and which checks withhold it.
"""

from __future__ import annotations

import argparse
import json

from bench_lineage_experiment import partial_fit_pvalue  # the rule M script beside this one
from distillscope.bench.lineage import leave_one_student_out
from distillscope.bench.lineage_cv import FoldSettings
from distillscope.bench.lineage_data import add_data_arguments, prepare_from_arguments
from distillscope.rse.fingerprint import lineage_prompt_sims
from distillscope.rse.suspect import MIN_NULL_MODELS, panel_fit_pvalue
from distillscope.rse.verdict import family_of

ALPHA = 0.05
FAMILIES_REPORTED = ("openai", "anthropic")


def main() -> None:
    """Recall and fpr of the shipped tests, without and with withholding the pairs each check flags."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    parser.add_argument("--pairs", action="store_true", help="also print every false positive")
    args = parser.parse_args()
    data = prepare_from_arguments(args, ("word", "frame"))
    predictions = leave_one_student_out(data, FoldSettings())
    among_students = lineage_prompt_sims(data.texts, data.students, data.students, ("word",))["word"]
    with_suspects = lineage_prompt_sims(data.texts, data.students, [*data.students, *data.candidates], ("word",))
    checks = {
        "target": lambda s, t, null: panel_fit_pvalue(among_students, s, null),
        "partial": lambda s, t, null: partial_fit_pvalue(with_suspects["word"], s, null, t),
    }

    def withheld(student: str, suspect: str) -> dict[str, bool]:
        null = [x for x in data.students if x != student and data.labels.get((x, suspect)) == 0]
        enough = len(null) >= MIN_NULL_MODELS
        return {name: enough and check(student, suspect, null) < ALPHA for name, check in checks.items()}

    pairs = [  # every test: (student, suspect, label, suspect family, consistent, withheld per check)
        (s, t, data.labels[(s, t)], family_of(t, data.families), o.consistent, withheld(s, t))
        for s, p in predictions.items()
        for t, o in p.tests.items()
    ]
    row: dict[str, object] = {}
    for check in ("none", *checks):
        kept = [(y, f, c and not w.get(check, False)) for _, _, y, f, c, w in pairs]
        for kind, label in (("pos", 1), ("neg", 0)):
            mine = [c for y, _, c in kept if y == label]
            rate = "recall" if label else "fpr"
            row[f"{rate}_{check}"] = round(sum(mine) / len(mine), 4)
            if check != "none":
                row[f"{kind}_withheld_{check}"] = sum(w[check] for _, _, y, _, _, w in pairs if y == label)
            row[f"n_{kind}"] = len(mine)
        row[f"fpr_by_{check}"] = {
            f: [sum(c for y, g, c in kept if y == 0 and g == f), sum(y == 0 and g == f for y, g, _ in kept)]
            for f in FAMILIES_REPORTED
        }
    print(json.dumps(row))
    if args.pairs:
        for s, t, y, f, c, w in pairs:
            if y == 0 and c:
                print(json.dumps({"student": s, "suspect": t, "family": f, "withheld": w}))


if __name__ == "__main__":
    main()
