"""`plan` models what `run` does (the user's own files, the replay's seed-template fallback), compares the
estimate with the budget, and says an empty input file is empty; `validate` refuses empty inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from distillscope.config import parse_config
from distillscope.plan import plan_experiment
from distillscope.rundir import read_jsonl
from distillscope.runner import run_experiment
from distillscope.validate import check_inputs

TARGET = {"name": "student", "spec": "scripted:I am Qwen, created by Alibaba Cloud.", "family": "qwen"}
NULL = {"name": "other", "spec": "scripted:I am Mistral, made by Mistral AI.", "family": "mistral"}
REFERENCE = {"name": "teacher", "spec": "scripted:Here is my answer."}


def _questions(path: Path, n: int) -> Path:
    path.write_text("query\n" + "".join(f"Question {i}: which company trained you?\n" for i in range(n)), "utf-8")
    return path


def _templates(path: Path, n: int) -> Path:
    rows = "".join(f"t{i},Scene {i}. A reporter asks: {{query}}\n" for i in range(n))
    path.write_text("id,text\n" + rows, "utf-8")
    return path


def _config(tmp_path: Path, **ice: Any) -> Any:
    return parse_config(
        {
            "name": "plan",
            "output_dir": str(tmp_path / "run"),
            "targets": [TARGET],
            "references": [REFERENCE],
            "null_panel": [NULL],
            "rse": {"enabled": False},
            "ice": {"max_queries": 8, "questions_per_iteration": 4, **ice},
        }
    )


def _calls(plan: dict[str, Any], stage: str) -> int:
    return sum(r["calls"] for r in plan["rows"] if r["stage"] == stage)


def test_plan_counts_the_rows_of_the_users_question_file(tmp_path: Path) -> None:
    cfg = _config(tmp_path, questions=str(_questions(tmp_path / "q.csv", 7)), max_queries=None, max_iterations=3)
    plan = plan_experiment(cfg, check_cache=False)
    assert _calls(plan, "ice.fuzz") == 3 * 4  # three iterations of four questions
    builtin_seeds = 35
    assert _calls(plan, "ice.replay") == 2 * builtin_seeds * 7  # two models x the fallback pool x 7 questions
    assert "not readable" not in str(plan["rows"])


async def test_plan_models_the_seed_template_fallback_of_the_paired_replay(tmp_path: Path) -> None:
    """No mutant succeeds against a truthful target, so the replay falls back to every seed template: the plan
    must count exactly what the run then does."""
    cfg = _config(
        tmp_path,
        questions=str(_questions(tmp_path / "q.csv", 4)),
        templates=str(_templates(tmp_path / "t.csv", 5)),
    )
    plan = plan_experiment(cfg, check_cache=False)
    assert _calls(plan, "ice.fuzz") == 8
    assert _calls(plan, "ice.replay") == 2 * 5 * 4  # max(2 iterations, 5 seeds) templates x 4 questions x 2 models
    assert "all 5 seed templates when none succeeds" in " ".join(r["note"] for r in plan["rows"])
    outcome = await run_experiment(cfg)
    assert outcome.status == "complete"
    replayed = list(read_jsonl(tmp_path / "run" / "ice" / "paired" / "records.jsonl"))
    assert len(replayed) == _calls(plan, "ice.replay")
    assert {r["template_id"] for r in replayed} == {f"gptfuzz-t{i}" for i in range(5)}  # the seeds themselves


def test_an_estimate_above_max_calls_is_a_warning_naming_the_cap_and_stage(tmp_path: Path) -> None:
    cfg = _config(tmp_path, questions=str(_questions(tmp_path / "q.csv", 4)))
    cfg.budget.max_calls = 20
    budget = plan_experiment(cfg, check_cache=False)["budget"]
    assert budget["calls_needed"] == 8 + 2 * 35 * 4
    assert budget["stops_at"] == "budget.max_calls" and budget["stop_stage"] == "ice.replay"
    assert budget["warning"].startswith("budget.max_calls (20) is below the estimated 288 uncached calls")
    cfg.budget.max_calls = 10_000
    assert plan_experiment(cfg, check_cache=False)["budget"]["warning"] == ""


def test_the_cap_that_binds_first_is_named(tmp_path: Path) -> None:
    paid = {**TARGET, "spec": "openai:pricey-model", "base_url": "http://127.0.0.1:9/v1"}
    cfg = parse_config(
        {
            **_config(tmp_path, questions=str(_questions(tmp_path / "q.csv", 4))).model_dump(mode="json"),
            "targets": [paid],
            "prices": {"pricey": {"input": 100.0, "output": 100.0}},
            "budget": {"max_calls": 200, "max_usd": 1.0},
        }
    )
    plan = plan_experiment(cfg, check_cache=False)
    assert plan["total_cost_usd"] > 1.0 and plan["budget"]["calls_needed"] > 200  # both caps are too low
    budget = plan["budget"]
    assert budget["stops_at"] == "budget.max_usd" and budget["stop_stage"] == "ice.replay"  # the fuzz costs $0.40
    assert budget["warning"].startswith("budget.max_usd ($1.00) is below the estimated $")


def test_empty_input_files_are_called_empty_by_plan_and_refused_by_validate(tmp_path: Path) -> None:
    (tmp_path / "q.csv").write_text("", "utf-8")
    (tmp_path / "p.jsonl").write_text("\n", "utf-8")
    cfg = parse_config(
        {
            "targets": [TARGET],
            "references": [REFERENCE],
            "ice": {"questions": str(tmp_path / "q.csv")},
            "rse": {"prompt_sets": [{"spec": f"jsonl:{tmp_path / 'p.jsonl'}", "sample": 5}]},
        }
    )
    notes = " ".join(r["note"] for r in plan_experiment(cfg, check_cache=False)["rows"])
    assert f"{tmp_path / 'q.csv'} is empty" in notes and f"{tmp_path / 'p.jsonl'} is empty" in notes
    assert "not readable" not in notes
    problems = check_inputs(cfg)
    assert len(problems) == 2 and all("is empty" in p for p in problems)
