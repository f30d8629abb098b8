"""Teacher ranking on real models of known lineage, one judge-free signal at a time (incl. MiniLM embeddings).

For each signal the per-prompt similarity of a student to every candidate is z-scored across candidates and
averaged over prompts. Candidates are ranked by that score alone, or with families ordered first by the
vendor classifier (the default method orders versions within a family by the word z-score). Prints one
JSON object: per signal and ordering, family_top1 / exact_top1 / MRR / AUROC, and the embedding time.
Embeddings are cached in DISTILLSCOPE_HOME (43k answers: ~14 min on 2 idle cores the first time).

    python benchmarks/bench_lineage_signals.py --data ../shared/data/lineage
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


def main() -> None:
    from distillscope.bench.lineage import load_lineage, ranking_scores
    from distillscope.rse.attribution import family_posteriors
    from distillscope.rse.metrics import embedding_prompt_sims, tfidf_prompt_sims
    from distillscope.rse.responses import load_families, load_responses
    from distillscope.rse.similarity import embed_models
    from distillscope.rse.verdict import calibrated_scores, family_of

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/lineage"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rows = load_lineage(args.data / "lineage.csv")
    families = load_families(args.data / "families.csv")
    data = load_responses([args.data / "alpacaeval_outputs.jsonl.gz"])
    candidates = [m for m in families if m in data.by_model]
    students = [r.student for r in rows if r.student in data.by_model]
    models = list(dict.fromkeys([*students, *candidates]))
    _, texts = data.aligned(models)
    n = len(texts[models[0]])

    start = time.perf_counter()
    emb = embed_models(texts, models)
    embed_s = time.perf_counter() - start
    posteriors = family_posteriors(texts, students, candidates, families, np.random.default_rng(args.seed))
    signals = {
        "embedding": embedding_prompt_sims(emb, models, candidates),
        "word_tfidf": tfidf_prompt_sims(texts, models, candidates, ngram_range=(1, 2)),
    }

    def z(name: str) -> Callable[[str], np.ndarray]:
        return lambda s: calibrated_scores(signals[name], s, families, correct_genericness=False)

    def orders(score: Callable[[str], np.ndarray], family_first: bool) -> dict[str, list[str]]:
        out = {}
        for s in students:
            keep = [i for i, c in enumerate(candidates) if c != s]
            names = [candidates[i] for i in keep]
            means = score(s)[:, keep].mean(axis=0)
            fam = np.array([posteriors[s].get(family_of(c, families), 0.0) for c in names])
            order = np.lexsort((-means, -fam)) if family_first else np.argsort(-means, kind="stable")
            out[s] = [names[i] for i in order]
        return out

    scorers = {"embedding": z("embedding"), "word_tfidf": z("word_tfidf"),
               "mean_of_both": lambda s: (z("embedding")(s) + z("word_tfidf")(s)) / 2}
    result: dict[str, object] = {"n_prompts": n, "n_texts": n * len(models), "embed_seconds": round(embed_s, 1)}
    for name, score in scorers.items():
        for family_first in (False, True):
            r = ranking_scores(orders(score, family_first), rows, families)
            key = f"{name}{'+family_classifier' if family_first else ''}"
            result[key] = {k: round(v, 3) for k, v in vars(r).items()}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
