"""Experiment config: schema errors name the field and the fix; presets load; env checks."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
import yaml

from distillscope.config import ExperimentConfig, load_config, parse_config
from distillscope.errors import ConfigError

MINIMAL = {
    "targets": [{"name": "t", "spec": "scripted:I am a model made by OpenAI."}],
    "references": [{"name": "r", "spec": "scripted:reference answer"}],
}


def test_minimal_config_gets_documented_defaults() -> None:
    cfg = parse_config(MINIMAL)
    assert cfg.ice.judge == "claims" and cfg.rse.prompt_sets[0].spec == "builtin"
    assert cfg.budget.max_calls is None  # unlimited is None
    assert cfg.run_dir() == Path("runs/experiment")


def test_unknown_key_is_named_with_the_fix() -> None:
    with pytest.raises(ConfigError, match=r"rse\.tempreature: unknown key"):
        parse_config({**MINIMAL, "rse": {"tempreature": 0.2}})


def test_wrong_type_is_named() -> None:
    with pytest.raises(ConfigError, match=r"ice\.max_queries"):
        parse_config({**MINIMAL, "ice": {"max_queries": "lots"}})


def test_malformed_model_spec_is_refused_at_load() -> None:
    bad = {**MINIMAL, "targets": [{"name": "t", "spec": "gpt-4o"}]}
    with pytest.raises(ConfigError, match="PROVIDER:NAME"):
        parse_config(bad)


def test_duplicate_model_names_are_refused() -> None:
    dup = {**MINIMAL, "null_panel": [{"name": "t", "spec": "scripted:x"}]}
    with pytest.raises(ConfigError, match="unique"):
        parse_config(dup)


def test_newer_schema_asks_for_an_upgrade() -> None:
    with pytest.raises(ConfigError, match="upgrade"):
        parse_config({**MINIMAL, "schema_version": 99})


def test_yaml_errors_and_missing_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("targets: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_missing_env_lists_remote_keys_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DS_TEST_KEY", raising=False)
    cfg = parse_config(
        {
            **MINIMAL,
            "null_panel": [
                {
                    "name": "remote",
                    "spec": "openai:m",
                    "base_url": "https://api.example.com/v1",
                    "api_key_env": "DS_TEST_KEY",
                },
                {
                    "name": "local",
                    "spec": "openai:m",
                    "base_url": "http://127.0.0.1:8000/v1",
                    "api_key_env": "DS_TEST_KEY",
                },
            ],
        }
    )
    assert cfg.missing_env() == ["DS_TEST_KEY (for remote)"]
    monkeypatch.setenv("DS_TEST_KEY", "value-set")
    assert cfg.missing_env() == []


@pytest.mark.parametrize("preset", ["calibrated", "paper-2501.12619"])
def test_presets_are_valid_configs(preset: str) -> None:
    text = resources.files("distillscope.data.presets").joinpath(f"{preset}.yaml").read_text(encoding="utf-8")
    cfg = parse_config(yaml.safe_load(text), preset)
    assert isinstance(cfg, ExperimentConfig)
    if preset.startswith("paper"):
        assert cfg.references[0].spec == "openai:gpt-4o-2024-08-06"
        assert cfg.model("judge").spec == "openai:gpt-4o-mini"
        assert [p.sample for p in cfg.rse.prompt_sets] == [500, 1000, 1000]
        assert cfg.ice.max_queries == 1000


def test_config_hash_is_stable_and_sensitive() -> None:
    a, b = parse_config(MINIMAL), parse_config(MINIMAL)
    assert a.config_hash() == b.config_hash()
    assert parse_config({**MINIMAL, "seed": 1}).config_hash() != a.config_hash()
    # A setting written out at its default hashes like one left out, so a release that adds a setting (at its
    # default) does not orphan the runs started before it.
    default_seed = type(a).model_fields["seed"].default
    assert parse_config({**MINIMAL, "seed": default_seed}).config_hash() == a.config_hash()
    assert parse_config({**MINIMAL, "ice": {"mutator_max_tokens": 400}}).config_hash() == a.config_hash()


def test_embedding_signal_is_checked_by_validate(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from distillscope.validate import check_signal

    assert check_signal(parse_config(MINIMAL)) is None  # tfidf needs nothing
    cfg = parse_config({**MINIMAL, "rse": {"signal": "embedding"}})
    assert cfg.rse.signal == "embedding"
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "sentence_transformers" else real(name, *a)
    )
    assert "distillscope[embed]" in (check_signal(cfg) or "")
    with pytest.raises(ConfigError, match="signal"):
        parse_config({**MINIMAL, "rse": {"signal": "bert"}})


def test_a_models_retry_settings_reach_its_limits() -> None:
    from distillscope.model import ModelPool

    target = {**MINIMAL["targets"][0], "max_retries": 2, "retry_backoff_s": 0.25, "timeout_s": 9}
    limits = ModelPool.for_config(parse_config({**MINIMAL, "targets": [target]}), None, None).get("t").limits
    assert (limits.max_retries, limits.backoff_base_s, limits.timeout_s) == (2, 0.25, 9)
    assert ModelPool.for_config(parse_config(MINIMAL), None, None).get("t").limits.backoff_base_s == 1.0
    with pytest.raises(ConfigError, match="retry_backoff_s"):
        parse_config({**MINIMAL, "targets": [{**target, "retry_backoff_s": 0}]})
