"""The foundation commands, run as a user would: the real console script in a subprocess."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def ds(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `distillscope ARGS` and capture its output."""
    full_env = {**os.environ, **(env or {})}
    cmd = [sys.executable, "-m", "distillscope.cli.main", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=timeout, check=False)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    text = " ".join(proc.stderr.split())
    for needle in needles:
        assert needle in text, proc.stderr


def test_help_of_every_foundation_command_stands_alone() -> None:
    for args in (["--help"], ["ask", "--help"], ["models", "--help"], ["serve", "--help"], ["cache", "--help"]):
        proc = ds(*args)
        assert proc.returncode == 0, proc.stderr
        assert "Usage" in proc.stdout


def test_unknown_provider_is_a_one_line_error() -> None:
    assert_one_line_error(ds("ask", "nosuch:model", "hi"), "unknown provider 'nosuch'", "openai:")


def test_malformed_spec_names_the_fix() -> None:
    assert_one_line_error(ds("ask", "gpt-4o", "hi"), "no provider prefix", "PROVIDER:NAME")


def test_missing_key_env_var_names_the_variable_and_never_leaks_keys() -> None:
    env = {"OTHER_API_KEY": "sk-secret-value-123456"}
    proc = ds("ask", "openai:gpt-4o-mini", "hi", "--api-key-env", "DS_TEST_MISSING_KEY", env=env)
    assert_one_line_error(proc, "DS_TEST_MISSING_KEY")
    assert "sk-secret-value-123456" not in proc.stderr + proc.stdout


def test_unreachable_base_url_is_a_typed_error() -> None:
    proc = ds(
        "ask", "openai:some-model", "hi", "--base-url", "http://127.0.0.1:9/v1", "--max-retries", "0", "--no-cache"
    )
    assert_one_line_error(proc, "127.0.0.1:9")


def test_replay_file_without_the_prompt_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(json.dumps({"model": "m1", "instruction": "What is 2+2?", "output": "4"}) + "\n")
    ok = ds("ask", f"replay:{path}#m1", "What is 2+2?", "--no-cache")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "4"
    assert_one_line_error(ds("ask", f"replay:{path}#m1", "Unknown prompt", "--no-cache"), "no recorded answer")


def test_debug_flag_shows_the_traceback() -> None:
    proc = ds("--debug", "ask", "nosuch:model", "hi")
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr


def test_cache_stats_and_clear_after_a_cached_call(tmp_path: Path) -> None:
    env = {"DISTILLSCOPE_HOME": str(tmp_path)}
    assert ds("ask", "scripted:fixed answer", "q", env=env).stdout.strip() == "fixed answer"
    stats = json.loads(ds("cache", "stats", "--json", env=env).stdout)
    assert stats["entries"] == 1
    assert ds("cache", "clear", "--yes", env=env).returncode == 0
    assert json.loads(ds("cache", "stats", "--json", env=env).stdout)["entries"] == 0


@pytest.mark.slow
def test_models_lists_both_embedded_models_as_installed() -> None:
    proc = ds("models", "--json")
    assert proc.returncode == 0, proc.stderr
    embedded = {m["spec"]: m["installed"] for m in json.loads(proc.stdout)["embedded"]}
    assert embedded == {"embedded:qwen2.5-0.5b": True, "embedded:smollm2-135m": True}
