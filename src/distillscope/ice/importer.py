"""`distillscope ice import`: the paper's released attack results as a run directory, judged or not.

The released files carry the paper's loose verdicts only. By default the import judges every response with
a judge of the user's choice (`claims`), so loose, strict and hard are all measured by one judge, and keeps
the file's loose labels beside them (`imported_loose`). With `judge=None` the records keep the file's loose
verdict and strict and hard are reported as not measured (None), never as a zero.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from distillscope.ice.campaign import write_scores
from distillscope.ice.judges import IdentityJudge
from distillscope.ice.records import import_attack_results, judge_records
from distillscope.rundir import RunDir, append_jsonl, write_json_atomic


async def import_run(
    input_path: Path, target: str, out: Path, judge: IdentityJudge | None, judge_name: str, fact: str | None = None
) -> tuple[int, dict[str, Any]]:
    """Write `out`/records.jsonl, config.json and scores.json from an attack_result file; (records, scores)."""
    records = import_attack_results(input_path, target)
    if judge is not None:
        records = await judge_records(records, judge, judge_name, fact=fact)
    rundir = RunDir(out)
    rundir.root.mkdir(parents=True, exist_ok=True)
    rundir.records.unlink(missing_ok=True)
    rows = [r.model_dump() for r in records]
    append_jsonl(rundir.records, rows)
    write_json_atomic(
        rundir.config,
        {
            "mode": "import",
            "input": str(input_path),
            "target": target,
            "judge": judge_name if judge is not None else None,
        },
    )
    return len(rows), write_scores(rundir, {target: records})
