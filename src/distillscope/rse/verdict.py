"""Small shared pieces of similarity verdicts: model families and the N x N similarity matrix."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from distillscope.rse.metrics import PromptSims


def family_of(model: str, families: Mapping[str, str]) -> str:
    """A model's family; a model absent from the table is its own family."""
    return families.get(model, model)


def similarity_matrix(sims: PromptSims) -> tuple[tuple[str, ...], np.ndarray]:
    """Symmetric N x N matrix of mean similarity among models that are both queries and candidates."""
    models = tuple(m for m in sims.candidates if m in sims.queries)
    qi = [sims.queries.index(m) for m in models]
    ci = [sims.candidates.index(m) for m in models]
    mean = sims.mean()[np.ix_(qi, ci)]
    return models, (mean + mean.T) / 2.0
