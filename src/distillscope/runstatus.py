"""Where a run stands, per stage: done, unfinished or not started, with what its files already hold.

`distillscope resume` prints this before it continues, so a user sees what is done and what is left.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distillscope.config import ExperimentConfig
from distillscope.rundir import RunDir, read_jsonl, read_manifest


@dataclass(frozen=True, kw_only=True)
class StageStatus:
    """One stage of a run: its state, finished units (and the planned total when known), calls made so far."""

    stage: str
    state: str  # done | unfinished | not started
    done: int | None = None
    total: int | None = None
    unit: str = "calls"
    calls: int = 0

    def line(self) -> str:
        """`ice.fuzz: unfinished, 30 of 60 queries done, 30 left (42 backend calls so far)`."""
        parts = [f"{self.stage}: {self.state}"]
        if self.done is not None:
            of = f" of {self.total}" if self.total is not None else ""
            left = f", {self.total - self.done} left" if self.total is not None and self.state != "done" else ""
            parts.append(f"{self.done}{of} {self.unit} done{left}")
        if self.calls:
            parts.append(f"{self.calls} backend calls so far")
        return ", ".join(parts)


def _ok(record: dict[str, Any]) -> bool:
    return bool(record.get("status", "ok") == "ok")


def _counts(run_dir: Path, cfg: ExperimentConfig, stage: str) -> tuple[int | None, int | None, str]:
    """(finished units, planned units or None, unit) that a stage's files show."""
    if stage == "rse.collect":
        from distillscope.stages import compared_models, rse_prompts

        total = len(rse_prompts(cfg)) * cfg.rse.samples_per_prompt * len(compared_models(cfg))
        from distillscope.rse.store import read_responses

        answered = {r.key for r in read_responses(RunDir(run_dir).rse) if r.ok}  # as the collect stage counts
        return len(answered), total, "answers"
    if stage == "rse.judge":
        n = sum(1 for j in read_jsonl(RunDir(run_dir).rse.judgements) if _ok(j))
        return n, None, "judgements"
    if stage == "ice.fuzz":
        from distillscope.ice.campaign import load_checkpoint

        state = load_checkpoint(RunDir(run_dir).ice)
        return (0 if state is None else state.counters.target_queries), cfg.ice.max_queries, "queries"
    return sum(1 for _ in read_jsonl(RunDir(run_dir).ice.paired.records)), None, "records"


def run_status(run_dir: Path, cfg: ExperimentConfig) -> list[StageStatus]:
    """Every stage the config runs, in order, as the run directory records it."""
    from distillscope.stages import stage_list

    stages = (read_manifest(run_dir) or {}).get("stages", {})
    out = []
    for name, _ in stage_list(cfg):
        info = stages.get(name)
        state = "not started" if info is None else "done" if info.get("done") else "unfinished"
        done, total, unit = _counts(run_dir, cfg, name) if info is not None else (None, None, "calls")
        out.append(
            StageStatus(
                stage=name, state=state, done=done, total=total, unit=unit, calls=int((info or {}).get("calls", 0))
            )
        )
    batches = batch_status(run_dir)
    return [*out, batches] if batches is not None else out


def batch_status(run_dir: Path) -> StageStatus | None:
    """Provider batches the journal holds as submitted and not yet collected (None when there are none)."""
    from distillscope.execution.batch_journal import BatchJournal

    path = RunDir(run_dir).batches
    pending = [c for c in BatchJournal.open(path).in_flight()] if path.exists() else []
    if not pending:
        return None
    state = f"{len(pending)} submitted and not yet collected ({sum(c.n for c in pending)} requests)"
    return StageStatus(stage="provider batches", state=state)
