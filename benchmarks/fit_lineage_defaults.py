"""Fit the shipped lineage defaults on every visible student (what experiments use; `--cv` never does).

    python benchmarks/fit_lineage_defaults.py --data ../shared/data/lineage

Prints the weights that combine the signals into one similarity (``rse.attribution.DEFAULT_SIMILARITY_WEIGHTS``)
and the attribution coefficients (``rse.attribution.DEFAULT_ATTRIBUTION_WEIGHTS``), fitted with the same code
as one CV fold, with all students in the training set and all prompts.
"""

from __future__ import annotations

import argparse
import json

from distillscope.bench.lineage_cv import FoldSettings, fit_fold
from distillscope.bench.lineage_data import add_data_arguments, prepare_from_arguments


def main() -> None:
    """Fit on all students and print the weights as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    args = parser.parse_args()
    settings = FoldSettings()
    data = prepare_from_arguments(args, [s for s in settings.signals if s != "classifier"])
    fit = fit_fold(data, list(data.students), None, settings)
    weights = {"similarity_weights": fit.similarity_weights, "attribution": str(fit.attribution)}
    print(json.dumps({"signals": settings.signals, **weights}))


if __name__ == "__main__":
    main()
