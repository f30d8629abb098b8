"""How the named-suspect tests and the attribution depend on the number of prompts (session 11; BENCHMARKS.md).

    python benchmarks/bench_lineage_prompts.py --data ../shared/data/lineage [--draws 3]

The held-out sets include prompt sets of 300 and 478 prompts; the visible one has 802. Each draw keeps n prompts at
random (n = 60, 150, 300, 478; draw d uses numpy seed 13 + d) and runs the benchmark on those prompts alone, as a
set of its own: the TF-IDF vocabularies, the vendor classifier, every fold weight and every test are computed from
the kept prompts only (the responses are written to a temporary file and read back, exactly as `bench lineage`
reads a file). The prompt sources are kept, but only the leave-one-student-out scheme is scored.

Two named-suspect tests are run on every subset, with the shipped attribution: the shipped ``word`` test and
session 8's five-signal test (word, frame, profile, format, length; the agreement statistics of
`bench_lineage_agreement.py`, computed on the subset's prompts; weights fitted in the folds), to see whether the
human-data check that kept the latter out separates the two on resampled prompts (rule I, BENCHMARKS.md). Nothing
here changes the shipped design.

Each row also gives the false-positive rate for OpenAI and Anthropic suspects (``fpr_by``; added after rule I's
run, so its rows lack it). ``--counts 805 --draws 1`` keeps every prompt: the whole visible set (802 answered by all).

Prints one JSON object per (draw, test), then one summary object per (test, n): mean and range over the draws.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from bench_lineage_agreement import format_features, statistics  # the session 8 script beside this one
from distillscope.bench.lineage import leave_one_student_out, score
from distillscope.bench.lineage_cv import FoldSettings
from distillscope.bench.lineage_data import LineageData, add_data_arguments, data_paths, prepare
from distillscope.rse.fingerprint import Excess
from distillscope.rse.metrics import TfidfOptions, tfidf_prompt_sims
from distillscope.rse.responses import ResponseSet, load_responses
from distillscope.rundir import write_jsonl

PROMPT_COUNTS = (60, 150, 300, 478)
TESTS = {"word": ("word",), "five_signals": ("word", "frame", "profile", "format", "length")}
METRICS = ("recall", "fpr", "human_data_flagged", "macro_family_top1", "auroc")
FAMILY_FPR = ("openai", "anthropic")  # the suspect families whose false-positive rate the shipped test does not hold


def write_prompt_subset(responses: ResponseSet, keep: set[str], path: Path) -> None:
    """The responses to the instructions in ``keep``, as one gzipped JSONL file."""
    write_jsonl(
        path,
        (
            {"model": m, "instruction": i, "output": o, "dataset": responses.sources.get(i, "")}
            for m, answers in responses.by_model.items()
            for i, o in answers.items()
            if i in keep
        ),
    )


def add_agreement_statistics(data: LineageData) -> None:
    """Session 8's four agreement statistics on all of ``data``'s prompts, as `bench_lineage_agreement.py` computes
    them, so that its five-signal test can run on the subset."""
    queries = list(dict.fromkeys([*data.students, *data.candidates]))
    word = tfidf_prompt_sims(data.texts, queries, data.candidates, TfidfOptions(ngram_range=(1, 2)))
    features = {m: np.array([format_features(t) for t in data.texts[m]]) for m in queries}
    everything = np.arange(data.n_prompts)
    for name, z in statistics(data, word.values.astype(np.float64), word.queries, features, everything).items():
        data.excess[name] = Excess(data.students, data.candidates, z[None])


def measure(responses: ResponseSet, lineage: Path, families: Path, keep: set[str], work: Path) -> list[dict[str, Any]]:
    """The shipped design and the five-signal test, leave-one-student-out, on the kept prompts only."""
    subset = work / "subset.jsonl.gz"
    write_prompt_subset(responses, keep, subset)
    data = prepare([subset], lineage, families)
    add_agreement_statistics(data)
    rows = []
    for name, test in TESTS.items():
        result = score(data, leave_one_student_out(data, FoldSettings(verdict_signals=test)), "loso")
        row = result.metrics_row()
        per_family = {f: round(r, 3) for f, r in result.verdict.fpr_by_suspect_family.items() if f in FAMILY_FPR}
        rows.append(
            {"test": name, "prompts_aligned": data.n_prompts, **{k: row[k] for k in METRICS}, "fpr_by": per_family}
        )
    return rows


def main() -> None:
    """One row per (prompt count, draw), then the summaries."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    parser.add_argument("--draws", type=int, default=3, help="random prompt subsets per size")
    parser.add_argument(
        "--counts", type=int, nargs="+", default=PROMPT_COUNTS, help="prompt counts (default %(default)s)"
    )
    args = parser.parse_args()
    outputs, lineage, families = data_paths(args)
    responses = load_responses(outputs)
    prompts = sorted({i for answers in responses.by_model.values() for i in answers})
    rows: dict[tuple[str, int], list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.counts:
            for draw in range(args.draws):
                rng = np.random.default_rng(13 + draw)
                keep = {prompts[i] for i in rng.choice(len(prompts), size=min(n, len(prompts)), replace=False)}
                for row in measure(responses, lineage, families, keep, Path(tmp)):
                    row = {"prompts": n, "draw": draw, **row}
                    rows.setdefault((row["test"], n), []).append(row)
                    print(json.dumps(row), flush=True)
    for (test, n), draws in rows.items():
        stats = {k: [float(r[k]) for r in draws] for k in METRICS}
        print(
            json.dumps(
                {
                    "summary": "prompts",
                    "test": test,
                    "prompts": n,
                    "draws": len(draws),
                    **{
                        k: {"mean": round(float(np.mean(v)), 3), "min": min(v), "max": max(v)} for k, v in stats.items()
                    },
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
