"""Experiment commands end to end with scripted models (fast, deterministic, no network)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml


def ds(*args: str, home: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "DISTILLSCOPE_HOME": str(home), "COLUMNS": "160", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "distillscope.cli.main", *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=300,
        check=False,
    )


def write_config(tmp_path: Path, **changes: object) -> Path:
    cfg = {
        "name": "scripted",
        "output_dir": str(tmp_path / "run"),
        "targets": [
            {"name": "student", "spec": "scripted:I am ChatGPT, a model developed by OpenAI.", "family": "qwen"}
        ],
        "references": [{"name": "teacher", "spec": "scripted:As an AI developed by OpenAI, here is my answer."}],
        "null_panel": [
            {"name": "other-1", "spec": "scripted:Sure. Here are three points to consider.", "family": "mistral"},
            {"name": "other-2", "spec": "scripted:Let me think step by step about the problem.", "family": "llama"},
        ],
        "ice": {"max_queries": 20, "questions_per_iteration": 5},
        "rse": {"prompt_sets": [{"spec": "builtin", "sample": 2}]},
        **changes,
    }
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def test_run_writes_manifest_records_and_summary(tmp_path: Path) -> None:
    proc = ds("run", str(write_config(tmp_path)), "--no-report", home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    run = tmp_path / "run"
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["finished"]
    assert set(manifest["stages"]) == {"rse.collect", "ice.fuzz", "ice.replay"}
    assert manifest["stages"]["rse.collect"]["calls"] == 4 * 6  # 4 models x 2 prompts x 3 groups
    summary = json.loads((run / "summary.json").read_text())
    ice = summary["ice"]["by_model"]
    assert ice["student"]["strict"]["rate"] == 1.0  # claims ChatGPT/OpenAI while being a Qwen model
    assert {v["target"] for v in summary["verdicts"]} == {"student"}
    # Scripted null models give one fixed answer: a degenerate null panel, so the verdict says why it cannot decide.
    verdict = summary["verdicts"][0]
    assert verdict["verdict"] == "inconclusive" and verdict["degree"] is None and verdict["p_adjusted"] is None
    assert "too few null models" in verdict["reason"] and "other-1 (near-constant answers)" in verdict["reason"]
    assert summary["rse"]["similarity"]["teacher"]["overall"]["mean"] > 0.99


def test_rse_with_the_embedding_signal(tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers")
    rse = {"prompt_sets": [{"spec": "builtin", "sample": 2}], "signal": "embedding"}
    proc = ds(
        "run", str(write_config(tmp_path, rse=rse, ice={"enabled": False})), "--no-report", home=tmp_path / "home"
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["rse"]["signal"] == "embedding cosine (all-MiniLM-L6-v2)"
    sim = summary["rse"]["similarity"]
    assert sim["teacher"]["overall"]["mean"] > 0.99 and sim["student"]["overall"]["mean"] < 0.99
    assert (tmp_path / "home" / "embeddings.sqlite").exists()  # cached per text for the next run


def test_budget_stop_is_clean_and_resumable(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cfg = write_config(tmp_path, budget={"max_calls": 10})
    first = ds("run", str(cfg), "--no-report", home=home)
    assert first.returncode == 3, first.stderr
    assert "budget" in first.stderr and "resume" in first.stderr
    run = tmp_path / "run"
    kept = (run / "rse" / "responses.jsonl").read_text().splitlines()
    assert len(kept) == 10
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "stopped" and manifest["stages"]["rse.collect"]["calls"] == 10
    again = ds("resume", str(run), "--no-report", home=home)  # the cap is for the whole run, not per process
    assert again.returncode == 3 and "budget" in again.stderr
    assert len((run / "rse" / "responses.jsonl").read_text().splitlines()) == 10
    second = ds("resume", str(run), "--max-calls", "100000", "--no-report", home=home)
    assert second.returncode == 0, second.stderr
    final = (run / "rse" / "responses.jsonl").read_text().splitlines()
    assert final[:10] == kept  # nothing written before the stop is lost or rewritten
    assert json.loads((run / "manifest.json").read_text())["status"] == "complete"


def test_second_run_into_the_same_directory_is_refused(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, ice={"enabled": False})
    assert ds("run", str(cfg), "--no-report", home=tmp_path / "h").returncode == 0
    again = ds("run", str(cfg), "--no-report", home=tmp_path / "h")
    assert again.returncode == 2 and "distillscope resume" in again.stderr


def test_run_directory_of_an_older_schema_names_the_fix(tmp_path: Path) -> None:
    run = tmp_path / "old"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"schema_version": 0, "distillscope_version": "0.0.1"}))
    proc = ds("resume", str(run), home=tmp_path / "h")
    assert proc.returncode == 2
    assert "run schema 0" in proc.stderr and "0.0.1" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_plan_on_the_paper_preset_needs_no_network_or_keys(tmp_path: Path) -> None:
    cfg = tmp_path / "paper.yaml"
    assert ds("init", str(cfg), "--preset", "paper-2501.12619", home=tmp_path).returncode == 0
    env = {"OPENAI_API_KEY": "", "DEEPSEEK_API_KEY": "", "HTTPS_PROXY": "http://127.0.0.1:9"}
    proc = ds("plan", str(cfg), "--json", home=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    by_stage = {(r["stage"], r["model"]): r for r in plan["rows"]}
    assert by_stage[("rse.collect", "gpt-4o-0806")]["calls"] == 2500
    assert by_stage[("ice.fuzz", "deepseek-v3")]["calls"] == 1000
    assert plan["total_cost_usd"] > 0


def test_validate_names_missing_env_vars_and_unreachable_endpoints(tmp_path: Path) -> None:
    remote = write_config(
        tmp_path, helpers=[{"name": "judge", "spec": "openai:gpt-4o-mini", "api_key_env": "DS_TEST_ABSENT_KEY"}]
    )
    proc = ds("validate", str(remote), home=tmp_path, env={"DS_TEST_ABSENT_KEY": ""})
    assert proc.returncode == 2 and "DS_TEST_ABSENT_KEY" in proc.stderr
    local = write_config(tmp_path, helpers=[{"name": "judge", "spec": "openai:m", "base_url": "http://127.0.0.1:9/v1"}])
    proc = ds("validate", str(local), home=tmp_path)
    assert proc.returncode == 2 and "cannot reach" in proc.stderr and "127.0.0.1:9" in proc.stderr
    assert ds("validate", str(local), "--offline", home=tmp_path).returncode == 0


def test_validate_warns_about_a_null_panel_too_small_for_the_verdicts(tmp_path: Path) -> None:
    proc = ds("validate", str(write_config(tmp_path)), "--offline", home=tmp_path)  # 2 null models
    assert proc.returncode == 0 and "null_panel has 2 model(s): every RSE verdict will be inconclusive" in proc.stderr
    nulls = [{"name": f"null-{i}", "spec": f"scripted:Answer number {i}.", "family": f"f{i}"} for i in range(8)]
    proc = ds("validate", str(write_config(tmp_path, null_panel=nulls[:5])), "--offline", home=tmp_path)
    assert proc.returncode == 0 and "null_panel has 5 models: the RSE verdicts will carry a caveat" in proc.stderr
    proc = ds("validate", str(write_config(tmp_path, null_panel=nulls)), "--offline", home=tmp_path)
    assert proc.returncode == 0 and "null_panel" not in proc.stderr


def test_validate_refuses_a_bad_judge_or_mutator_in_one_line(tmp_path: Path) -> None:
    """Checked at load time, before an RSE stage could spend budget on a run whose ICE stage cannot start."""
    ice = {"max_queries": 20, "judge": "gpt4-judge"}
    proc = ds("validate", str(write_config(tmp_path, ice=ice)), "--offline", home=tmp_path)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert "ice.judge: unknown judge 'gpt4-judge'" in lines[0] and "'llm:<model spec>'" in lines[0]
    ice = {"max_queries": 20, "mutator": "mutator-model"}
    proc = ds("validate", str(write_config(tmp_path, ice=ice)), "--offline", home=tmp_path)
    assert proc.returncode == 2 and "ice.mutator: 'mutator-model' is neither a model name" in proc.stderr
    ice = {"max_queries": 20, "judge": "llm:teacher"}  # a model of the config, by name
    assert ds("validate", str(write_config(tmp_path, ice=ice)), "--offline", home=tmp_path).returncode == 0


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    assert ds("init", str(path), home=tmp_path).returncode == 0
    proc = ds("init", str(path), home=tmp_path)
    assert proc.returncode == 2 and "--force" in proc.stderr
