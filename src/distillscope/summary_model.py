"""The typed contract between `summary.py` (writes summary.json) and the report (reads it): pydantic models.

Field order is the order of summary.json; optional blocks that only some runs have are left out of the file
when unset (`Summary.to_json`), so the file reads exactly as before the models existed.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from distillscope.stats import Verdict as VerdictLabel


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------------------------------ the run
class RunInfo(_Model):
    name: str
    started: str | None = None
    finished: str | None = None
    distillscope_version: str | None = None
    config_hash: str | None = None
    status: str
    failure: str | None = None
    run_schema: int | None = None


class ModelInfo(_Model):
    name: str
    spec: str | None = None
    role: str
    family: str | None = None


# ------------------------------------------------------------------------------------------ ICE
class IceRate(_Model):
    """A rate with its 95% Wilson interval; None in its place means the level was not measured."""

    k: int
    rate: float
    lo: float
    hi: float


class IceRates(_Model):
    n: int
    n_unscored: int
    loose: IceRate | None
    strict: IceRate | None
    hard: IceRate | None


class TopTemplate(_Model):
    template_id: str
    text: str
    n: int
    loose_rate: float | None
    strict_rate: float | None


class LocationCounts(_Model):
    loose: int = 0
    strict: int = 0
    hard: int = 0


class IceModelScores(IceRates):
    by_category: dict[str, IceRates] = {}
    by_language: dict[str, IceRates] = {}
    queries_to_first_contradiction: int | None = None
    top_templates: list[TopTemplate] = []
    by_location: dict[str, LocationCounts] = {}


class IceSection(_Model):
    judge: str
    source: str
    by_model: dict[str, IceModelScores]


# ------------------------------------------------------------------------------------------ RSE
class MeanCI(_Model):
    mean: float
    lo: float | None
    hi: float | None
    n: int


class SetScores(_Model):
    overall: MeanCI
    by_set: dict[str, MeanCI] = {}


class JudgeScores(SetScores):
    aspects: dict[str, float] = {}


class JudgeDiagnostics(_Model):
    order_inconsistency: float | None = None
    length_correlation: float | None = None
    parse_failures: int | None = None
    n_judgements: int | None = None
    agreement: float | None = None
    agreement_metric: str | None = None


class JudgeSection(_Model):
    judges: list[str] = []
    scores: dict[str, JudgeScores] = {}
    diagnostics: JudgeDiagnostics | None = None
    unusable: str | None = None  # why a judge that ran produced nothing usable


class Matrix(_Model):
    models: list[str]
    values: list[list[float]]


class Candidate(_Model):
    candidate: str
    family: str
    rank: int
    probability: float
    similarity: float


class Attribution(_Model):
    n_prompts: int
    families: dict[str, float]
    candidates: list[Candidate]


class RseSection(_Model):
    reference: str
    signal: str
    n_prompts: int
    similarity: dict[str, SetScores]
    judge: JudgeSection | None = None
    matrix: Matrix | None = None
    attribution: dict[str, Attribution] = {}


class IceStrict(_Model):
    rate: float
    lo: float
    hi: float


class VerdictRow(_Model):
    """The named-suspect test of one (target, reference) pair against the null panel, with its evidence."""

    target: str
    reference: str
    alpha: float
    verdict: VerdictLabel
    degree: float | None = None
    lo: float | None = None
    hi: float | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    reason: str | None = None
    caveat: str = ""  # a tested verdict's warning (fewer null models than advised); "" when none
    n_null: int = 0
    null_models: list[str] = []
    null_values: list[float] = []
    observed: float | None = None
    evidence: list[str] = []
    ice_strict: IceStrict | None = None


# ------------------------------------------------------------------------------------------ cost
class StageCost(_Model):
    calls: int = 0
    cache_hits: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


class Cost(_Model):
    by_stage: dict[str, StageCost] = {}
    total_usd: float = 0.0


class Summary(_Model):
    """Every score of a run: what the report shows, and nothing it has to recompute."""

    schema_version: int
    run: RunInfo
    models: list[ModelInfo]
    ice: IceSection | None = None
    rse: RseSection | None = None
    verdicts: list[VerdictRow] = []
    cost: Cost | None = None

    def to_json(self) -> dict[str, Any]:
        """summary.json's content: blocks a run did not set are left out (the file keeps its old shape)."""
        return self.model_dump(mode="json", exclude_unset=True)
