"""MiniLM embeddings as lineage evidence, under leave-one-student-out (session 7; BENCHMARKS.md).

    python benchmarks/bench_lineage_embed.py --data ../shared/data/lineage

Every answer of the 47 students and 32 candidates (62,253 texts) is embedded with the packaged
all-MiniLM-L6-v2 (the `[embed]` extra; first 128 word pieces, as `rse.signal: embedding`), cached in
DISTILLSCOPE_HOME's embedding store, so only the first run pays the embedding time. The ``embed`` excess is built
from the per-prompt cosine of two answers exactly as the word excess is from TF-IDF cosine, and each row refits
its weights inside the same 47 folds as `bench_lineage_signals.py`. One JSON object per row, with the seconds the
embeddings took.
"""

from __future__ import annotations

import argparse
import json
import time

from distillscope.bench.lineage import leave_one_student_out, score
from distillscope.bench.lineage_cv import CLASSIFIER, FoldSettings
from distillscope.bench.lineage_data import LineageData, add_data_arguments, prepare_from_arguments
from distillscope.rse.embeddings import embed_texts
from distillscope.rse.fingerprint import prompt_excess
from distillscope.rse.metrics import embedding_prompt_sims

ROWS = (  # (attribution evidence, named-suspect test)
    (("embed",), ("embed",)),
    (("embed", CLASSIFIER), ("embed",)),
    (("word", "frame", CLASSIFIER), ("word",)),  # the default
    (("word", "frame", CLASSIFIER), ("embed",)),
    (("word", "frame", CLASSIFIER), ("word", "embed")),
    (("word", "embed", CLASSIFIER), ("word",)),
    (("word", "frame", "embed", CLASSIFIER), ("word",)),
)


def add_embedding_excess(data: LineageData) -> float:
    """Add the ``embed`` excess to ``data.excess``; return the seconds the embeddings took (cache hits are fast)."""
    models = list(dict.fromkeys([*data.students, *data.candidates]))
    started = time.perf_counter()
    flat = embed_texts([t for m in models for t in data.texts[m]])
    seconds = time.perf_counter() - started
    vectors = flat.reshape(len(models), data.n_prompts, -1)
    embeddings = {m: vectors[i] for i, m in enumerate(models)}
    sims = embedding_prompt_sims(embeddings, data.students, data.candidates)
    data.excess["embed"] = prompt_excess(sims)
    return seconds


def main() -> None:
    """Prepare the features, embed every answer and print one row per evidence set."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    args = parser.parse_args()
    data = prepare_from_arguments(args, ("word", "frame"))
    seconds = add_embedding_excess(data)
    print(
        json.dumps(
            {
                "embedding_seconds": round(seconds, 1),
                "texts": data.n_prompts * (len(data.students) + len(data.candidates)),
            }
        )
    )
    for signals, test in ROWS:
        result = score(data, leave_one_student_out(data, FoldSettings(signals=signals, verdict_signals=test)), "loso")
        row = {"signals": signals, "verdict_signals": test, **result.metrics_row()}
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
