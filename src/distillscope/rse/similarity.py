"""The judge-free response similarity of an RSE run: word TF-IDF (default) or MiniLM sentence embeddings.

Word 1–2-gram TF-IDF cosine per prompt is the default: on the lineage benchmark it tells versions of one
vendor apart best. Embedding cosine (all-MiniLM-L6-v2, extra `[embed]`, cached per text) is the best
single signal for the vendor; it is chosen with `rse.signal: embedding` / `rse score --signal embedding`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from distillscope.errors import ConfigError
from distillscope.rse.metrics import PromptSims, embedding_prompt_sims, tfidf_prompt_sims

DEFAULT_SIGNAL = "tfidf"
SIGNALS: dict[str, str] = {
    "tfidf": "word 1-2-gram TF-IDF cosine",
    "embedding": "embedding cosine (all-MiniLM-L6-v2)",
}


def aligned_texts(run_dir: Path) -> tuple[list[tuple[str, str]], dict[str, list[str]]]:
    """(set, prompt id) keys answered by every model of an RSE run, and each model's answers on them."""
    from distillscope.rse.store import aligned, read_responses
    from distillscope.rundir import RunDir

    records = read_responses(RunDir(run_dir))
    models = list(dict.fromkeys(r.model for r in records))
    return aligned(records, models)


def response_similarity(
    texts: Mapping[str, Sequence[str]], models: Sequence[str], signal: str = DEFAULT_SIGNAL
) -> tuple[PromptSims, str]:
    """Per-prompt similarity of every model to every model, and the signal's name."""
    if signal == "tfidf":
        return tfidf_prompt_sims(texts, models, models), signal
    if signal == "embedding":
        return embedding_prompt_sims(embed_models(texts, models), models, models), signal
    raise ConfigError(f"unknown similarity signal {signal!r}: use one of {', '.join(SIGNALS)}")


def embed_models(texts: Mapping[str, Sequence[str]], models: Sequence[str]) -> dict[str, np.ndarray]:
    """Each model's (prompts, dim) answer embeddings, computed in one cached batch."""
    from distillscope.rse.embeddings import embed_texts

    n = len(texts[models[0]])
    flat = embed_texts([t for m in models for t in texts[m]])
    return {m: flat[i * n : (i + 1) * n] for i, m in enumerate(models)}
