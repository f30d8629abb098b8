"""Build an identity judge from its config spec; the one place that knows every judge class.

A spec is "claims", "regex", "llm:<model>" or "ensemble:<model>"; `config.parse_judge_spec` checks one without
building anything, so the config refuses a bad spec at load time, before any model is called.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from distillscope.config import parse_judge_spec
from distillscope.ice.claims_judge import ClaimsJudge
from distillscope.ice.judges import IdentityJudge, RegexJudge
from distillscope.ice.llm_judge import EnsembleJudge, LlmJudge
from distillscope.identity.registry import DEFAULT_REFERENCE_FAMILIES, IdentityRegistry
from distillscope.model import Model, get_model


def make_judge(
    spec: str,
    *,
    registry: IdentityRegistry | None = None,
    reference_families: Sequence[str] = DEFAULT_REFERENCE_FAMILIES,
    models: Callable[[str], Model] | None = None,
) -> IdentityJudge:
    """Build a judge from "claims", "regex", "llm:<model>" or "ensemble:<model>".

    `models` turns the model part into a Model (an experiment passes its pool, so names from the config
    work and the judge shares the run's cache and budget); by default it is resolved as a spec."""
    choice = parse_judge_spec(spec)
    if choice.kind == "regex":
        return RegexJudge()
    if choice.kind == "claims" or choice.model is None:
        return ClaimsJudge(registry=registry, reference_families=reference_families)
    llm = LlmJudge((models or get_model)(choice.model), reference_families=reference_families, registry=registry)
    if choice.kind == "llm":
        return llm
    return EnsembleJudge(ClaimsJudge(registry=registry, reference_families=reference_families), llm)
