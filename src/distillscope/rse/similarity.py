"""The default judge-free response similarity of an RSE run (the signal the lineage benchmark chose)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from distillscope.rse.metrics import PromptSims, tfidf_prompt_sims

DEFAULT_SIGNAL = "tfidf"


def aligned_texts(run_dir: Path) -> tuple[list[tuple[str, str]], dict[str, list[str]]]:
    """(set, prompt id) keys answered by every model of an RSE run, and each model's answers on them."""
    from distillscope.rse.run import RunDir, aligned

    records = RunDir(run_dir).responses() if (run_dir / "responses.jsonl").exists() else []
    models = list(dict.fromkeys(r.model for r in records))
    return aligned(records, models)


def response_similarity(texts: Mapping[str, Sequence[str]], models: Sequence[str]) -> tuple[PromptSims, str]:
    """Per-prompt similarity of every model to every model, and the signal's name."""
    return tfidf_prompt_sims(texts, models, models), DEFAULT_SIGNAL
