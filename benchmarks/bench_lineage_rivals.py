"""Named-suspect statistics tried in session 6 (leave-one-student-out; BENCHMARKS.md, "rejected").

    python benchmarks/bench_lineage_rivals.py --data ../shared/data/lineage

Every statistic is derived from the word TF-IDF similarities that the benchmark already computes. Differences
of the word excess are differences of similarity (times n/(n-1)), so a *rival contrast* is the suspect's
excess minus the highest excess among its rivals: every other candidate, the suspect's own vendor's other
versions (siblings; a vendor with one version keeps the plain excess) or the candidates of other vendors.
"model" contrasts take the maximum after averaging over prompts (stored as one pseudo-prompt, exact for
leave-one-student-out, which uses all prompts), "prompt" contrasts per prompt. ``rank`` is the per-prompt share
of the other candidates that the suspect beats; ``nearest`` (in the library) the share of prompts on which it
beats them all. The attribution evidence is the default's in every test row (word + frame + classifier), and
a test on two signals weights them by a logistic regression fitted inside each fold. Then three rows add a
statistic to the attribution evidence instead (the test stays the word excess). One JSON object per row.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from distillscope.bench.lineage import leave_one_student_out, score
from distillscope.bench.lineage_cv import CLASSIFIER, FoldSettings
from distillscope.bench.lineage_data import LineageData, add_data_arguments, prepare_from_arguments
from distillscope.rse.fingerprint import Excess
from distillscope.rse.verdict import family_of

TESTS = (
    ("word",),
    ("rival_model",),
    ("sibling_model",),
    ("other_vendor_model",),
    ("rank",),
    ("nearest",),
    ("sibling_prompt",),
    ("rival_prompt",),
    ("word", "rival_model"),
    ("word", "sibling_model"),
    ("word", "other_vendor_model"),
    ("word", "rank"),
    ("word", "nearest"),
    ("word", "sibling_prompt"),
    ("word", "rival_prompt"),
    ("nearest_asin",),
    ("word", "nearest_asin"),
)

ATTRIBUTION = tuple(("word", "frame", extra, CLASSIFIER) for extra in ("nearest", "rank", "sibling_model"))


def _contrast(values: np.ndarray, rivals: np.ndarray) -> np.ndarray:
    """values[..., c] minus the maximum over c's rivals (rivals[c] a mask); c without rivals keeps its value."""
    out = values.copy()
    for c in range(values.shape[-1]):
        if rivals[c].any():
            out[..., c] = values[..., c] - np.nanmax(values[..., rivals[c]], axis=-1)
    return out


def add_rival_signals(data: LineageData) -> None:
    """Add the derived statistics of the module docstring to ``data.excess``."""
    word = data.excess["word"]
    fam = np.array([family_of(c, data.families) for c in word.candidates])
    same = fam[:, None] == fam[None, :]
    masks = {
        "rival": ~np.eye(fam.size, dtype=bool),
        "sibling": same & ~np.eye(fam.size, dtype=bool),
        "other_vendor": ~same,
    }
    model_level = word.mean()[None]
    for name, mask in masks.items():
        data.excess[f"{name}_model"] = Excess(word.queries, word.candidates, _contrast(model_level, mask))
    for name in ("rival", "sibling"):
        data.excess[f"{name}_prompt"] = Excess(word.queries, word.candidates, _contrast(word.values, masks[name]))
    # The nearest share's arcsine square root (model level), which evens out the skew of its null.
    nearest = data.excess["nearest"].mean()[None]
    data.excess["nearest_asin"] = Excess(word.queries, word.candidates, np.arcsin(np.sqrt(nearest)))
    filled = np.where(np.isnan(word.values), -np.inf, word.values)
    beaten = (filled[:, :, :, None] > filled[:, :, None, :]).sum(axis=3)
    data.excess["rank"] = Excess(word.queries, word.candidates, beaten / (fam.size - 1))


def rows(data: LineageData, settings: list[FoldSettings]) -> list[dict[str, object]]:
    """Leave-one-student-out metrics of each setting."""
    out = []
    for setting in settings:
        result = score(data, leave_one_student_out(data, setting), "loso")
        out.append({"attribution": setting.signals, "test": setting.verdict_signals, **result.metrics_row()})
    return out


def main() -> None:
    """Prepare the features once and print one row per test."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    args = parser.parse_args()
    data = prepare_from_arguments(args, ("word", "frame", "nearest"))
    add_rival_signals(data)
    settings = [FoldSettings(verdict_signals=t) for t in TESTS] + [FoldSettings(signals=a) for a in ATTRIBUTION]
    for row in rows(data, settings):
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
