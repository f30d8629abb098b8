"""The named-suspect test's false-positive rate when the null is skewed (why `nearest` is not its default).

    python benchmarks/bench_suspect_null_skew.py [--data ../shared/data/lineage]

Simulates per-prompt similarities of a target and 15 null models to 8 candidates (80 prompts): every model
leans towards every candidate by its own amount (normal, SD ``spread`` in per-prompt noise units), the target
no more than the null models. The test is run on the nearest-candidate share, whose null distribution gets
more right-skewed as the models differ more; the false-positive rate at alpha 0.05 is printed with the median
skew of the null shares. With ``--data``, also the median and upper-quartile skew of the real null students'
word excess and nearest share towards each candidate (the null of the lineage benchmark).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy import stats

from distillscope.rse.fingerprint import nearest_share
from distillscope.rse.metrics import PromptSims
from distillscope.rse.suspect import run_suspect_test
from distillscope.stats import VERDICT_CONSISTENT

CANDIDATES = ("suspect", *(f"other-{i}" for i in range(7)))
QUERIES = ("target", *(f"null-{i}" for i in range(15)))


def _draw(rng: np.random.Generator, spread: float) -> tuple[bool, float]:
    lean = rng.normal(0.0, spread, size=(len(QUERIES), len(CANDIDATES)))
    sims = rng.normal(0.0, 1.0, size=(80, len(QUERIES), len(CANDIDATES))) + lean[None]
    share = nearest_share(PromptSims(QUERIES, CANDIDATES, sims))
    v = run_suspect_test(
        {"nearest": share}, "target", "suspect", list(QUERIES[1:]), rng, weights={"nearest": 1.0}, n_boot=0
    )
    return v.verdict == VERDICT_CONSISTENT, float(stats.skew(share.mean()[1:, 0]))


def _real_skew(folder: Path) -> dict[str, dict[str, float]]:
    from distillscope.bench.lineage_data import prepare

    data = prepare(
        [folder / "alpacaeval_outputs.jsonl.gz"],
        folder / "lineage.csv",
        folder / "families.csv",
        signals=("word", "nearest"),
    )
    out = {}
    for name in ("word", "nearest"):
        e = data.excess[name]
        means = e.mean()
        skews = [
            float(stats.skew(means[[e.queries.index(s) for s in data.students if data.labels.get((s, c)) == 0], j]))
            for j, c in enumerate(e.candidates)
        ]
        out[name] = {"median_skew": float(np.median(skews)), "q75_skew": float(np.quantile(skews, 0.75))}
    return out


def main() -> None:
    """Print the simulated false-positive rate per spread (and the real null's skew with --data)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="folder with the lineage files (optional)")
    args = parser.parse_args()
    for spread in (0.1, 0.3, 0.6):
        rng = np.random.default_rng(0)
        draws = [_draw(rng, spread) for _ in range(600)]
        fpr = float(np.mean([hit for hit, _ in draws]))
        skew = float(np.median([s for _, s in draws]))
        print(json.dumps({"spread": spread, "median_null_skew": round(skew, 2), "fpr": round(fpr, 3)}), flush=True)
    if args.data:
        print(json.dumps({"real_null": _real_skew(args.data)}))


if __name__ == "__main__":
    main()
