"""The Ray executor's edges that need no Ray: a clear error when the extra is missing, which models go to Ray."""

from __future__ import annotations

import sys

import pytest

from distillscope.config import ExperimentConfig
from distillscope.errors import MissingDependencyError
from distillscope.execution.ray_support import ray_models, ray_session, require_ray


def config(executor: str) -> ExperimentConfig:
    return ExperimentConfig.model_validate(
        {
            "name": "where",
            "targets": [{"name": "small", "spec": "embedded:qwen2.5-0.5b-instruct"}],
            "references": [{"name": "api", "spec": "openai:gpt-4o-mini"}],
            "null_panel": [{"name": "pinned", "spec": "openai:llama", "placement": "ray", "family": "llama"}],
            "rse": {"judges": ["hf:/models/judge"]},
            "execution": {"executor": executor},
        }
    )


def test_missing_ray_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(MissingDependencyError) as info:
        require_ray()
    assert str(info.value) == "ray is not installed: pip install 'distillscope[ray]'"
    with pytest.raises(MissingDependencyError), ray_session(config("ray").execution, needed=True):
        pass


def test_no_ray_needed_under_other_executors_or_without_ray_models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with ray_session(config("local").execution, needed=True):
        pass
    with ray_session(config("ray").execution, needed=False):
        pass


def test_compute_models_and_pinned_ones_go_to_ray() -> None:
    assert ray_models(config("ray")) == ["hf:/models/judge", "pinned", "small"]
    assert ray_models(config("local")) == []


def test_the_plan_says_where_each_model_runs_under_ray() -> None:
    from distillscope.plan import plan_experiment

    notes = {r["model"]: r["note"] for r in plan_experiment(config("ray"), check_cache=False)["rows"]}
    assert "small runs in 1 Ray actor(s), each num_cpus=1, num_gpus=0" in notes["small"]
    assert "api runs on the driver" in notes["api"] and "pinned runs in 1 Ray actor(s)" in notes["pinned"]
    local = plan_experiment(config("local"), check_cache=False)["rows"]
    assert not any("Ray" in r["note"] or "driver" in r["note"] for r in local)


def test_each_stage_names_the_models_it_calls() -> None:
    """What the runner keeps alive after a stage: the models a later stage calls (judges and mutator included)."""
    from distillscope.stages import stage_models

    cfg = config("ray").model_copy(update={"ice": config("ray").ice.model_copy(update={"mutator": "api"})})
    assert stage_models(cfg, "rse.collect") == {"small", "api", "pinned"}
    assert stage_models(cfg, "rse.judge") == {"hf:/models/judge"}
    assert stage_models(cfg, "ice.fuzz") == {"small", "api"}  # the first target and the mutator (claims judge)
    assert stage_models(cfg, "ice.replay") == {"small", "pinned"}  # targets and null panel
