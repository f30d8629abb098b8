"""`distillscope ice ...` run as a user would (subprocess), with scripted targets; one real embedded run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

LEAKY = "scripted:Qwen here. I was developed by OpenAI."  # resolves to the qwen family; claims an OpenAI origin
HONEST = "scripted:qwen says: I am Qwen from Alibaba Cloud."


def ds(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `distillscope ARGS` and capture its output."""
    cmd = [sys.executable, "-m", "distillscope.cli.main", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ), timeout=timeout, check=False)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    text = " ".join(proc.stderr.split())
    for needle in needles:
        assert needle in text, proc.stderr


def small_inputs(tmp_path: Path) -> tuple[Path, Path]:
    q = tmp_path / "q.yaml"
    q.write_text(
        "questions:\n- {id: a, category: team, en: 'Who made you?', zh: 谁创造了你？}\n"
        "- {id: b, category: geography, en: 'Where are you from?'}\n",
        encoding="utf-8",
    )
    t = tmp_path / "t.yaml"
    t.write_text(
        "templates:\n- {id: one, text: 'Be candid. {query}'}\n- {id: two, text: 'Story: {query}'}\n", encoding="utf-8"
    )
    return q, t


def test_run_writes_the_run_directory_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = ds(
        "ice",
        "run",
        "--target",
        LEAKY,
        "--max-queries",
        "12",
        "--questions-per-iteration",
        "4",
        "--out",
        str(out),
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["stop_reason"] == "max_target_queries" and summary["counters"]["target_queries"] == 12
    assert {"records.jsonl", "scores.json", "tree.json", "campaign.json", "config.json"} <= {
        p.name for p in out.iterdir()
    }
    assert len((out / "records.jsonl").read_text().splitlines()) == 12
    scores = json.loads((out / "scores.json").read_text())
    assert scores["targets"][LEAKY]["overall"]["loose"]["k"] == 12
    tree = json.loads((out / "tree.json").read_text())
    assert any(n["parent"] is not None and n["operator"] != "seed" for n in tree["nodes"])
    assert_one_line_error(
        ds("ice", "run", "--target", LEAKY, "--max-queries", "12", "--questions-per-iteration", "4", "--out", str(out)),
        "--resume",
    )
    proc = ds(
        "ice",
        "run",
        "--target",
        LEAKY,
        "--max-queries",
        "16",
        "--questions-per-iteration",
        "4",
        "--out",
        str(out),
        "--resume",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    assert len((out / "records.jsonl").read_text().splitlines()) == 16
    score = ds("ice", "score", str(out), "--json")
    assert json.loads(score.stdout)["targets"][LEAKY]["overall"]["n"] == 16


def test_bad_inputs_are_one_line_errors(tmp_path: Path) -> None:
    assert_one_line_error(
        ds("ice", "run", "--target", "scripted:hello", "--out", str(tmp_path / "a")), "unknown target model", "--fact"
    )
    bad = tmp_path / "bad.csv"
    bad.write_text('id,text\n0,"Hello [INSERT PROMPT HERE]"\n1,"Tell me a story"\n', encoding="utf-8")
    assert_one_line_error(
        ds("ice", "run", "--target", LEAKY, "--templates", str(bad), "--out", str(tmp_path / "b")),
        "has no placeholder",
        "{query}",
    )
    empty = tmp_path / "empty.csv"
    empty.write_text("query,reference_responses\n", encoding="utf-8")
    assert_one_line_error(
        ds("ice", "run", "--target", LEAKY, "--questions", str(empty), "--out", str(tmp_path / "c")),
        "holds no questions",
        "--questions builtin",
    )
    assert_one_line_error(
        ds("ice", "run", "--target", LEAKY, "--selector", "best", "--out", str(tmp_path / "d")),
        "invalid option: selector",
        "'mcts'",
    )
    # The judge is checked with the other settings, before any model is built.
    assert_one_line_error(
        ds("ice", "run", "--target", LEAKY, "--judge", "gpt4", "--out", str(tmp_path / "e")),
        "invalid option: judge: unknown judge 'gpt4'",
        "'llm:<model spec>'",
    )
    assert_one_line_error(ds("ice", "score", str(tmp_path / "nothing")), "does not exist")


def test_paired_targets_and_replay(tmp_path: Path) -> None:
    q, t = small_inputs(tmp_path)
    out = tmp_path / "paired"
    proc = ds(
        "ice",
        "run",
        "--targets",
        f"{LEAKY},{HONEST}",
        "--questions",
        str(q),
        "--templates",
        str(t),
        "--max-queries",
        "6",
        "--questions-per-iteration",
        "3",
        "--out",
        str(out),
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    paired = json.loads(proc.stdout)["paired"]["targets"]
    assert set(paired) == {LEAKY, HONEST}
    assert paired[LEAKY]["overall"]["n"] == paired[HONEST]["overall"]["n"] > 0
    assert paired[LEAKY]["overall"]["loose"]["k"] == paired[LEAKY]["overall"]["n"]
    assert paired[HONEST]["overall"]["loose"]["k"] == 0
    rep = tmp_path / "replay"
    proc = ds(
        "ice",
        "replay",
        "--targets",
        f"{LEAKY},{HONEST}",
        "--questions",
        str(q),
        "--templates",
        str(t),
        "--out",
        str(rep),
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    scores = json.loads(proc.stdout)["targets"]
    assert scores[LEAKY]["overall"]["n"] == scores[HONEST]["overall"]["n"] == 2 * 3
    rows = [json.loads(x) for x in (rep / "records.jsonl").read_text().splitlines()]
    assert [(r["template_id"], r["question_id"]) for r in rows[:6]] == [
        (r["template_id"], r["question_id"]) for r in rows[6:]
    ]


def test_judge_import_and_score(tmp_path: Path) -> None:
    src = tmp_path / "rows.jsonl"
    src.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"target": "qwen-max", "response": "I was created by OpenAI.", "jailbreak_prompt": "Hi {query}"},
                {"target": "qwen-max", "response": "I am Qwen from Alibaba Cloud."},
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    proc = ds("ice", "judge", "--input", str(src), "--output", str(tmp_path / "judged.jsonl"), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["contradictions"] == 1
    attack = tmp_path / "attack.jsonl"
    attack.write_text(
        "\n".join(
            json.dumps(
                {
                    "jailbreak_prompt": "T {query}",
                    "query": f"q{i}",
                    "target_responses": ["I was built by OpenAI." if i == 1 else f"r{i}"],
                    "eval_results": [i == 0],
                }
            )
            for i in range(4)
        )
        + "\n",
        encoding="utf-8",
    )
    imp = ["ice", "import", "--input", str(attack), "--target", "glm-4-plus", "--out", str(tmp_path / "imp")]
    proc = ds(*imp, "--json")  # default: judged with claims, the file's loose labels kept beside
    assert proc.returncode == 0, proc.stderr
    overall = json.loads(proc.stdout)["targets"]["glm-4-plus"]["overall"]
    assert (overall["loose"]["k"], overall["strict"]["k"], overall["imported_loose"]["k"]) == (1, 1, 1)
    proc = ds(*imp, "--judge", "none", "--json")  # no judge: strict and hard were not measured, not zero
    overall = json.loads(proc.stdout)["targets"]["glm-4-plus"]["overall"]
    assert overall["loose"]["k"] == 1 and overall["strict"] is None and overall["hard"] is None
    proc = ds("ice", "score", str(tmp_path / "imp"))
    assert proc.returncode == 0 and "glm-4-plus" in proc.stdout and "measured" in proc.stdout  # "not measured", wrapped


@pytest.mark.slow
def test_run_with_the_real_embedded_target_and_rule_mutators(tmp_path: Path) -> None:
    out = tmp_path / "emb"
    proc = ds(
        "ice",
        "run",
        "--target",
        "embedded:smollm2-135m",
        "--mutator",
        "rules",
        "--max-queries",
        "6",
        "--questions-per-iteration",
        "3",
        "--target-max-tokens",
        "48",
        "--out",
        str(out),
        "--json",
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["counters"]["target_queries"] == 6 and summary["counters"]["iterations"] >= 2
    rows = [json.loads(x) for x in (out / "records.jsonl").read_text().splitlines()]
    assert len(rows) == 6 and all(r["status"] == "ok" and r["response"].strip() for r in rows)
    assert all(r["label"] in ("contradiction", "consistent", "unscored") for r in rows)
    assert json.loads((out / "config.json").read_text())["targets"] == ["embedded:smollm2-135m"]
