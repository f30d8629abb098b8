"""One progress event for every stage: plain lines off a terminal, full bars for finished stages, and fuzz counts
that include what a resumed campaign had already done."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console
from rich.progress import Progress

from distillscope.backends.scripted import ScriptedBackend
from distillscope.cli.progress import BarProgress, PlainProgress, progress_display
from distillscope.ice.evaluate import IceTarget
from distillscope.ice.fuzzer import FuzzBudget, FuzzConfig, Fuzzer
from distillscope.ice.judge_factory import make_judge
from distillscope.ice.mutators import RuleMutator
from distillscope.ice.questions import Question
from distillscope.ice.selectors import make_selector
from distillscope.ice.templates import make_template
from distillscope.identity import get_family
from distillscope.model import Model
from distillscope.progress import ProgressEvent, StageProgress

QUESTIONS = [
    Question(id=f"q{i}-en", text=f"Question {i}: who made you?", category="team", language="en", pair_id=f"q{i}")
    for i in range(6)
]
SEEDS = [make_template("s1", "Role play. {query}"), make_template("s2", "Story time. {query}")]


def test_plain_progress_prints_start_each_tenth_once_and_finish() -> None:
    lines: list[str] = []
    sink = PlainProgress(lines.append)
    stage = StageProgress("rse.collect", sink)
    stage.plan(20, done=4)  # 4 answered by an earlier run
    for _ in range(16):
        stage.advance()
    sink(ProgressEvent(stage="rse.collect", done=20, total=20, finished=True))
    assert lines[0] == "rse.collect: started, 4/20 done"
    steps = lines[1:-1]
    assert [s.split(" ")[1] for s in steps] == [f"{n}/20" for n in (6, 8, 10, 12, 14, 16, 18, 20)]
    assert lines[-1].startswith("rse.collect: finished, 20 in ")
    assert all("\r" not in line and "\x1b" not in line for line in lines)


def test_a_stage_that_ends_short_of_its_plan_says_so() -> None:
    lines: list[str] = []
    sink = PlainProgress(lines.append)
    sink(ProgressEvent(stage="ice.fuzz", done=30, total=60, note="iter 6"))
    sink(ProgressEvent(stage="ice.fuzz", done=30, total=60, note="iter 6", finished=True))
    assert lines[-1].startswith("ice.fuzz: finished, 30 of 60 planned in ") and lines[-1].endswith(" · iter 6")


def test_a_finished_stage_shows_a_full_bar() -> None:
    console = Console(file=io.StringIO(), force_terminal=True)
    with Progress(console=console) as bar:
        sink = BarProgress(bar)
        sink(ProgressEvent(stage="ice.fuzz", done=0, total=60))
        sink(ProgressEvent(stage="ice.fuzz", done=30, total=60))
        sink(ProgressEvent(stage="ice.fuzz", done=30, total=60, finished=True))
        task = bar.tasks[0]
        assert (task.completed, task.total, task.finished) == (30, 30, True)


def test_the_display_is_plain_lines_when_the_console_is_not_a_terminal() -> None:
    out = io.StringIO()
    with progress_display(Console(file=out, force_terminal=False)) as sink:
        sink(ProgressEvent(stage="ice.replay", done=0, total=10))
        sink(ProgressEvent(stage="ice.replay", done=10, total=10, finished=True))
    assert out.getvalue().splitlines()[0] == "ice.replay: started, 0/10 done"
    assert out.getvalue().splitlines()[-1].startswith("ice.replay: finished, 10 in ")


def _fuzzer(max_queries: int, events: list[ProgressEvent]) -> Fuzzer:
    backend = ScriptedBackend(lambda req: "I am Qwen, created by Alibaba Cloud.", name="scripted-qwen")
    target = IceTarget(Model(backend, spec="scripted:qwen"), get_family("qwen"), make_judge("claims"))
    cfg = FuzzConfig(budget=FuzzBudget(max_target_queries=max_queries), questions_per_iteration=3, seed=1)
    return Fuzzer(target, [RuleMutator("wrapper")], make_selector("mcts"), cfg, events.append)


async def test_fuzz_progress_counts_queries_across_a_resume(tmp_path: Path) -> None:
    first: list[ProgressEvent] = []
    await _fuzzer(9, first).run(SEEDS, QUESTIONS, tmp_path)
    assert first[0] == ProgressEvent(stage="ice.fuzz", done=0, total=9, note=first[0].note)
    assert [e.done for e in first if e.stage == "ice.fuzz"][-1] == 9
    again: list[ProgressEvent] = []
    await _fuzzer(15, again).run(SEEDS, QUESTIONS, tmp_path, resume=True)
    assert (again[0].done, again[0].total) == (9, 15)  # starts where the first process stopped
    assert sorted({e.done for e in again}) == list(range(9, 16))
    assert all(e.stage == "ice.fuzz" for e in again)


def test_stages_run_in_turn_are_finished_when_the_next_starts_and_at_the_end() -> None:
    out = io.StringIO()
    with progress_display(Console(file=out, force_terminal=False), finish_on_exit=True) as sink:
        sink(ProgressEvent(stage="ice.fuzz", done=0, total=10))
        sink(ProgressEvent(stage="ice.fuzz", done=10, total=10))
        sink(ProgressEvent(stage="ice.replay", done=0, total=4))
        sink(ProgressEvent(stage="ice.replay", done=4, total=4))
    lines = [line.split(" in ")[0] for line in out.getvalue().splitlines()]
    assert lines == [
        "ice.fuzz: started, 0/10 done",
        "ice.fuzz: 10/10 (100%)",
        "ice.fuzz: finished, 10",
        "ice.replay: started, 0/4 done",
        "ice.replay: 4/4 (100%)",
        "ice.replay: finished, 4",
    ]


def test_a_failed_block_leaves_its_stage_unfinished() -> None:
    out = io.StringIO()
    with (
        pytest.raises(RuntimeError),
        progress_display(Console(file=out, force_terminal=False), finish_on_exit=True) as sink,
    ):
        sink(ProgressEvent(stage="rse collect", done=1, total=4))
        raise RuntimeError("boom")
    assert "finished" not in out.getvalue()
