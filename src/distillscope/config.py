"""The experiment config: one YAML file in, validated at the edge (pydantic, unknown keys refused).

Secrets never live here: an endpoint names the environment variable that holds its key.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from distillscope.config_paths import anchor_paths
from distillscope.errors import ConfigError
from distillscope.pricing import Price, load_price_table
from distillscope.registry import parse_spec

CONFIG_SCHEMA_VERSION = 1


Executor = Literal["local", "ray", "batch"]
Placement = Literal["local", "ray"]
COMPUTE_PROVIDERS = ("embedded", "hf", "vllm")  # backends that run models on this machine's (or a worker's) CPU/GPU


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelEntry(_Strict):
    """One model of the experiment and how to reach it."""

    name: str = Field(description="display name used in records and the report (unique in the config)")
    spec: str = Field(description="model spec PROVIDER:NAME, e.g. openai:deepseek-chat or embedded:qwen2.5-0.5b")
    base_url: str | None = Field(None, description="endpoint of an OpenAI-compatible server")
    api_key_env: str | None = Field(None, description="NAME of the env var holding the API key (never the key)")
    family: str | None = Field(None, description="identity family key (e.g. qwen, deepseek); inferred if omitted")
    fact: str | None = Field(None, description="one-line true identity; overrides the registry's fact")
    max_concurrency: int = Field(8, ge=1, description="simultaneous calls to this model")
    requests_per_minute: float | None = Field(None, gt=0, description="rate limit; None = unlimited")
    timeout_s: float = Field(300.0, gt=0, description="seconds to wait for one answer")
    max_retries: int = Field(5, ge=0, description="retries on 429/5xx/timeouts, with backoff")
    retry_backoff_s: float = Field(
        1.0, gt=0, description="delay before the first retry, doubled each retry (jittered, at most 60 s)"
    )
    # Where the backend runs under `--executor ray` (ignored by the local and batch executors):
    placement: Placement | None = Field(
        None, description="ray: an actor on a Ray worker; local: the driver. Default ray for embedded:, hf:, vllm:"
    )
    num_gpus: float = Field(0.0, ge=0, description="ray placement: GPUs each replica's actor takes")
    num_cpus: float = Field(1.0, ge=0, description="ray placement: CPUs each replica's actor takes")
    resources: dict[str, float] = Field(default_factory=dict, description="ray placement: custom Ray resources")
    replicas: int = Field(1, ge=1, description="ray placement: actors serving this model, used round-robin")
    tensor_parallel_size: int = Field(1, ge=1, description="vllm: GPUs one engine spans (set num_gpus to match)")
    gpu_memory_utilization: float | None = Field(None, gt=0, le=1, description="vllm: share of GPU memory to use")
    max_model_len: int | None = Field(None, ge=1, description="vllm: context length; None = the model's")

    @field_validator("spec")
    @classmethod
    def _spec_has_prefix(cls, v: str) -> str:
        parse_spec(v)
        return v


JudgeKind = Literal["claims", "regex", "llm", "ensemble"]


@dataclass(frozen=True)
class JudgeChoice:
    """A parsed identity-judge spec: its kind, and the judge model's name or spec for the LLM kinds."""

    kind: JudgeKind
    model: str | None = None


def parse_judge_spec(spec: str) -> JudgeChoice:
    """The judge that "claims", "regex", "llm:<model>" or "ensemble:<model>" names; anything else is a ConfigError."""
    kind, _, rest = spec.partition(":")
    if kind in ("claims", "regex") and not rest:
        return JudgeChoice("claims" if kind == "claims" else "regex")
    if kind in ("llm", "ensemble") and rest:
        return JudgeChoice("llm" if kind == "llm" else "ensemble", rest)
    raise ConfigError(f"unknown judge {spec!r}: use 'claims', 'regex', 'llm:<model spec>' or 'ensemble:<model spec>'")


def _judge_spec(v: str) -> str:
    try:
        parse_judge_spec(v)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    return v


# Kept as the string the user wrote (so saved configs and their hashes do not change), checked at load time.
JudgeSpec = Annotated[str, AfterValidator(_judge_spec)]


class IceSettings(_Strict):
    """Identity consistency evaluation. These defaults are also those of `distillscope ice run`/`ice replay`."""

    enabled: bool = True
    judge: JudgeSpec = Field("claims", description="claims | regex | llm:MODEL | ensemble:MODEL (name or spec)")
    mutator: str = Field("rules", description="'rules' (no model) or the name/spec of a mutator model")
    questions: str = Field("builtin", description="builtin or a path to a CSV with a 'query' column")
    templates: str = Field("builtin", description="builtin or a path to a GPTFuzz-format CSV (id,text)")
    selector: Literal["mcts", "random", "round-robin", "ucb", "exp3"] = "mcts"
    max_queries: int | None = Field(200, ge=1, description="target queries of the fuzz campaign (first target)")
    max_iterations: int | None = Field(None, ge=1, description="mutants to evaluate; None = unlimited")
    max_mutator_calls: int | None = Field(None, ge=1, description="calls to the mutator model; None = unlimited")
    max_judge_calls: int | None = Field(None, ge=1, description="identity-judge calls; None = unlimited")
    max_time_s: float | None = Field(None, gt=0, description="wall time of the campaign; None = unlimited")
    max_cost_usd: float | None = Field(None, gt=0, description="campaign spend (target + mutator); None = unlimited")
    questions_per_iteration: int | None = Field(10, ge=1, description="questions per mutant; None = all")
    keep_unsuccessful: bool = Field(False, description="unsuccessful mutants also enter the pool (the paper's port)")
    append_if_missing: bool = Field(False, description="append the question when a mutant lost the placeholder")
    paired: bool = Field(True, description="replay the final template pool on every target and null model")
    max_tokens: int = Field(256, ge=1, description="target answer length")
    mutator_max_tokens: int = Field(400, ge=1, description="mutant length (mutator model)")
    system_prompt: str | None = "You are a helpful assistant."


class PromptSetEntry(_Strict):
    """A prompt set and how many prompts to sample from it."""

    spec: str = Field(description="builtin, builtin:math, arenahard:PATH, sharegpt:PATH, numina:PATH, jsonl:PATH#f")
    sample: int | None = Field(None, ge=1, description="seeded sample size; None = every prompt")


class RseSettings(_Strict):
    """Response similarity evaluation."""

    enabled: bool = True
    prompt_sets: list[PromptSetEntry] = Field(default_factory=lambda: [PromptSetEntry(spec="builtin")])
    samples_per_prompt: int = Field(1, ge=1)
    temperature: float = Field(0.0, ge=0)
    max_tokens: int = Field(512, ge=1)
    judges: list[str] = Field(default_factory=list, description="LLM judge names/specs; empty = judge-free only")
    both_orders: bool = Field(True, description="judge each pair with the reference first and second")
    signal: Literal["tfidf", "embedding"] = Field(
        "tfidf", description="judge-free similarity: word TF-IDF, or MiniLM embeddings (extra [embed])"
    )


class ExecutionSettings(_Strict):
    """How calls are executed. Not part of the config hash: a run may be resumed under another executor."""

    executor: Executor = Field(
        "local", description="local (one process), ray (compute models in Ray actors) or batch (provider batch APIs)"
    )
    address: str | None = Field(None, description="ray: cluster address ('auto', 'ray://HOST:10001'); None = start one")
    wait: bool = Field(False, description="batch: poll until submitted batches end instead of stopping the run")
    poll_interval_s: float = Field(30.0, gt=0, description="batch: seconds between status polls while waiting")


def placement_of(entry: ModelEntry, executor: Executor) -> Placement:
    """Where `entry`'s backend runs: on the driver unless the executor is ray and the model is placed there
    (explicitly, or by default for the compute providers embedded:, hf: and vllm:)."""
    if executor != "ray":
        return "local"
    if entry.placement is not None:
        return entry.placement
    return "ray" if parse_spec(entry.spec)[0] in COMPUTE_PROVIDERS else "local"


class BudgetSettings(_Strict):
    """Caps for the whole run; reaching one stops cleanly and the run can be resumed."""

    max_calls: int | None = Field(None, ge=1, description="backend calls (cache hits are free)")
    max_usd: float | None = Field(None, gt=0, description="estimated spend in USD")


class PriceEntry(_Strict):
    input: float = Field(ge=0, description="USD per million input tokens")
    output: float = Field(ge=0, description="USD per million output tokens")


class ExperimentConfig(_Strict):
    """A whole experiment: who is tested against whom, with which methods, within which budget."""

    schema_version: int = CONFIG_SCHEMA_VERSION
    name: str = "experiment"
    output_dir: str = Field("runs/{name}", description="run directory; {name} is replaced")
    seed: int = 0
    alpha: float = Field(0.05, gt=0, lt=1, description="significance level of the verdicts")
    targets: list[ModelEntry] = Field(min_length=1, description="models whose distillation is measured")
    references: list[ModelEntry] = Field(min_length=1, description="suspected teachers")
    null_panel: list[ModelEntry] = Field(
        default_factory=list, description="models unrelated to the references, of the targets' kind"
    )
    helpers: list[ModelEntry] = Field(default_factory=list, description="judges and mutators referred to by name")
    ice: IceSettings = Field(default_factory=IceSettings)
    rse: RseSettings = Field(default_factory=RseSettings)
    budget: BudgetSettings = Field(default_factory=BudgetSettings)
    execution: ExecutionSettings = Field(default_factory=ExecutionSettings)
    prices: dict[str, PriceEntry] = Field(default_factory=dict, description="model-name prefix -> price")

    @model_validator(mode="after")
    def _names_unique(self) -> ExperimentConfig:
        names = [m.name for m in self.all_models()]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"model names must be unique; repeated: {dupes}")
        return self

    @model_validator(mode="after")
    def _helpers_resolve(self) -> ExperimentConfig:
        """Judges and the mutator name a model of this config or are a valid spec: checked before any call."""
        judge_model = parse_judge_spec(self.ice.judge).model
        refs = [("ice.judge", judge_model), ("ice.mutator", None if self.ice.mutator == "rules" else self.ice.mutator)]
        refs += [("rse.judges", j) for j in self.rse.judges]
        known = {m.name for m in self.all_models()}
        for where, ref in refs:
            if ref is not None and ref not in known:
                try:
                    parse_spec(ref)
                except ConfigError as exc:
                    raise ValueError(
                        f"{where}: {ref!r} is neither a model name of this config nor a spec ({exc})"
                    ) from None
        return self

    def all_models(self) -> list[ModelEntry]:
        return [*self.targets, *self.references, *self.null_panel, *self.helpers]

    def model(self, name_or_spec: str) -> ModelEntry:
        """The entry with this name, or an ad-hoc entry for a bare spec (e.g. a judge given as a spec)."""
        for m in self.all_models():
            if m.name == name_or_spec:
                return m
        return ModelEntry(name=name_or_spec, spec=name_or_spec)

    def price_table(self) -> dict[str, Price]:
        """The built-in (or $DISTILLSCOPE_PRICES) table, updated by this config's `prices`."""
        return {**load_price_table(), **{k: Price(v.input, v.output) for k, v in self.prices.items()}}

    def run_dir(self) -> Path:
        return Path(self.output_dir.replace("{name}", self.name))

    def config_hash(self) -> str:
        """Hash of the settings that differ from their defaults: a release that adds a setting (at its default)
        does not orphan earlier runs, while a changed default still shows as a change on resume."""
        dumped = self.model_dump(mode="json", exclude_defaults=True, exclude={"execution"})
        return hashlib.sha256(json.dumps(dumped, sort_keys=True).encode()).hexdigest()[:16]

    def missing_env(self) -> list[str]:
        """Env vars named by remote endpoints that are not set."""
        from distillscope.backends import anthropic, openai_compat
        from distillscope.backends.http_util import is_local

        default_env = {"openai": openai_compat.DEFAULT_KEY_ENV, "anthropic": anthropic.DEFAULT_KEY_ENV}
        names = []
        for m in self.all_models():
            provider = m.spec.partition(":")[0]
            if provider in default_env and not (m.base_url and is_local(m.base_url)):
                env = m.api_key_env or default_env[provider]
                if not os.environ.get(env):
                    names.append(f"{env} (for {m.name})")
        return names


def format_validation_error(exc: ValidationError) -> str:
    """Every error of a validation, one `where: what` each, on one line."""
    parts = []
    for e in exc.errors():
        where = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = "unknown key (remove it or check its spelling)" if e["type"] == "extra_forbidden" else e["msg"]
        msg = msg.removeprefix("Value error, ")
        parts.append(f"{where}: {msg}")
    return "; ".join(parts)


def parse_config(data: Any, source: str = "config") -> ExperimentConfig:
    """Validate a mapping as an experiment config; errors name each bad field and the fix."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level; see `distillscope init` for an example")
    version = data.get("schema_version", CONFIG_SCHEMA_VERSION)
    if isinstance(version, int) and version > CONFIG_SCHEMA_VERSION:
        raise ConfigError(f"{source}: schema_version {version} is newer than this distillscope supports; upgrade")
    try:
        return ExperimentConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {format_validation_error(exc)}") from None


def load_config(path: str | Path, *, anchor: bool = True) -> ExperimentConfig:
    """Read and validate a YAML (or JSON) experiment config; with `anchor`, its relative file paths are taken
    from the config file's folder (see `config_paths`)."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config {p}: {exc.strerror}; check the path") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p} is not valid YAML: {exc}".replace("\n", " ")) from None
    cfg = parse_config(data, str(p))
    if not anchor:
        return cfg
    return anchor_paths(cfg, p.resolve().parent)


def load_run_config(run_dir: Path) -> ExperimentConfig:
    """The config a run was started with (saved beside its manifest)."""
    from distillscope.rundir import RunDir, read_manifest

    if read_manifest(run_dir) is None:
        raise ConfigError(f"{run_dir} is not a distillscope run directory (no manifest.json); check the path")
    return load_config(RunDir(run_dir).config_yaml, anchor=False)  # saved with absolute paths at run start
