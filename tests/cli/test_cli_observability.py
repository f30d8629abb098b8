"""What a user sees without a terminal: plain progress lines, a verdict table, unwrapped errors, a JSON-lines log,
`plan` against the budget, `resume` saying what is done and left, and `serve` saying where it listens."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

ANSI = re.compile(r"\x1b\[")


def ds(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}  # rich's 80-column default
    env["DISTILLSCOPE_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "distillscope.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def write_config(tmp_path: Path, **changes: object) -> Path:
    cfg = {
        "name": "obs",
        "output_dir": str(tmp_path / "run"),
        "targets": [{"name": "student", "spec": "scripted:I am ChatGPT, made by OpenAI.", "family": "qwen"}],
        "references": [{"name": "teacher", "spec": "scripted:As an AI developed by OpenAI, here is my answer."}],
        "null_panel": [
            {"name": "other-1", "spec": "scripted:Sure. Here are three points to consider.", "family": "mistral"},
        ],
        "ice": {"max_queries": 20, "questions_per_iteration": 5},
        "rse": {"prompt_sets": [{"spec": "builtin", "sample": 2}]},
        **changes,
    }
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def test_plan_warns_when_the_budget_is_below_the_estimate(tmp_path: Path) -> None:
    proc = ds("plan", str(write_config(tmp_path, budget={"max_calls": 100})), home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    warning = [line for line in proc.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warning) == 1 and "budget.max_calls (100) is below the estimated" in warning[0]
    assert "the run will stop in ice.replay" in warning[0]
    assert "seed templates when none succeeds" in proc.stdout


def test_a_200_character_error_stays_one_line(tmp_path: Path) -> None:
    missing = tmp_path / ("d" * 200) / "exp.yaml"
    proc = ds("validate", str(missing), home=tmp_path / "home")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and str(missing) in proc.stderr
    assert proc.stderr.startswith("error: cannot read config ")


def test_run_prints_plain_progress_a_verdict_table_and_a_jsonl_log(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    proc = ds("--log-file", str(log), "run", str(write_config(tmp_path)), "--no-report", home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    assert not ANSI.search(proc.stderr) and "\r" not in proc.stderr
    for stage, total in (("rse.collect", 18), ("ice.fuzz", 20), ("ice.replay", None)):
        assert f"{stage}: started, 0" in proc.stderr
        finished = re.search(rf"^{stage}: finished, (\d+) in \d+s", proc.stderr, re.M)
        assert finished is not None and (total is None or int(finished.group(1)) == total)
    out = proc.stdout.splitlines()
    table = out[out.index("verdicts:") + 1 :]
    assert table[0].startswith("target") and "p (Holm)" in table[0] and table[0].endswith("ICE strict")
    assert table[0].index("reference") == table[1].index("teacher")  # aligned columns
    row = table[1].split()
    assert row[:3] == ["student", "teacher", "inconclusive"] and row[-2:] == ["100.0%", "100.0%"]
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    ends = {r["stage"]: r for r in records if r["message"].endswith(" finished")}
    assert set(ends) == {"rse.collect", "ice.fuzz", "ice.replay"} and ends["rse.collect"]["done"] == 18
    assert all(r["logger"].startswith("distillscope") for r in records)


def test_resume_says_what_is_done_and_left_and_counts_stay_true(tmp_path: Path) -> None:
    config, home = write_config(tmp_path, budget={"max_calls": 28}), tmp_path / "home"
    first = ds("run", str(config), "--no-report", home=home)
    assert first.returncode == 3, first.stderr  # 18 answers, then the fuzz stops after two iterations of 5
    proc = ds("resume", str(tmp_path / "run"), "--max-calls", "100000", "--no-report", home=home)
    assert proc.returncode == 0, proc.stderr
    status = proc.stdout.splitlines()[:4]
    assert status == [
        f"resuming {tmp_path / 'run'}:",
        "  rse.collect: done, 18 of 18 answers done, 18 backend calls so far",
        "  ice.fuzz: unfinished, 10 of 20 queries done, 10 left, 10 backend calls so far",
        "  ice.replay: not started",
    ]
    assert "rse.collect: started, 18/18 done" in proc.stderr  # a finished stage is not 0/0
    assert "ice.fuzz: started, 10/20 done" in proc.stderr  # counts include the first process
    assert re.search(r"^ice.fuzz: finished, 20 in ", proc.stderr, re.M)
    assert "verdicts:" in proc.stdout


def test_serve_prints_its_url_ready_and_the_spec_to_use(tmp_path: Path) -> None:
    pytest.importorskip("xllamacpp")
    env = {**os.environ, "DISTILLSCOPE_HOME": os.environ["DISTILLSCOPE_HOME"]}
    cmd = [sys.executable, "-m", "distillscope.cli.main", "serve", "embedded:smollm2-135m", "--port", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(2)]  # printed (and flushed) as soon as it listens
        url = re.search(r"at (http://127\.0\.0\.1:\d+/v1) ", lines[0])
        assert url is not None, lines
        assert lines[1].startswith(f"ready: use the model spec openai:embedded:smollm2-135m with base_url {url[1]}")
        reply = httpx.post(
            f"{url[1]}/chat/completions",
            json={"model": "embedded:smollm2-135m", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4},
            timeout=120,
        )
        assert reply.status_code == 200 and reply.json()["choices"][0]["message"]["content"]
    finally:
        proc.terminate()
        proc.wait(timeout=60)
