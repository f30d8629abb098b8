"""`bench lineage --cv` on held-out-like shapes of the visible data: does it run, and what does it say (session 11)?

    python benchmarks/bench_lineage_shapes.py --data ../shared/data/lineage

The held-out sets have other students, other prompt sets (300 and 478 prompts) and files we have not seen. Each shape
below is written to a temporary folder (nothing of the data is kept) and given to the `distillscope bench lineage
--cv --json` command exactly as a user would; the row reports its exit code, wall time, the warnings it printed and
its headline numbers. Random choices use ``random.Random(0)`` in the order listed.

- ``300_no_source``: 300 random prompts, the ``dataset`` field removed (no prompt-source folds possible);
- ``478_one_source_generator``: 478 random prompts, one source name, the model under AlpacaEval's ``generator`` key;
- ``12_students_no_related``: 12 random students, lineage.csv with only the four required columns;
- ``holes``: about 1% of rows dropped, 0.5% with an empty and 0.5% with a null output, 0.5% duplicated;
- ``odd_lineage``: a teacher that is no candidate, a teacher family that disagrees with families.csv, a student name
  with spaces around it, a student without responses, a candidate listed as a student too;
- ``openai_only``: the 26 OpenAI-taught students and 2 human-data ones (the OpenAI suspects cannot be tested);
- ``8_candidates``: families.csv cut to 8 candidates of 3 vendors;
- ``60_prompts``: 60 random prompts.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from distillscope.bench.lineage_data import add_data_arguments, data_paths
from distillscope.rundir import read_jsonl, write_jsonl

Rows = list[dict[str, Any]]
Shape = tuple[Rows, Rows, Rows, list[str]]  # responses, lineage rows, family rows, lineage columns


def read_csv(path: Path) -> Rows:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def some_prompts(rows: Rows, n: int, rng: random.Random) -> set[str]:
    return set(rng.sample(sorted({r["instruction"] for r in rows}), n))


def shapes(rows: Rows, lineage: Rows, families: Rows, rng: random.Random) -> dict[str, Callable[[], Shape]]:
    """Each shape, built lazily (in the listed order, so the draws do not depend on which ones run)."""
    columns = list(lineage[0])

    def prompts_only(n: int, edit: Callable[[dict[str, Any]], dict[str, Any]]) -> Shape:
        keep = some_prompts(rows, n, rng)
        return [edit(r) for r in rows if r["instruction"] in keep], lineage, families, columns

    def holes() -> Shape:
        out = []
        for r in rows:
            x = rng.random()
            if x < 0.01:
                continue
            out.append({**r, "output": "" if x < 0.015 else None} if x < 0.02 else r)
            if x > 0.995:
                out.append({**r, "output": "a duplicate answer"})
        return out, lineage, families, columns

    def odd_lineage() -> Shape:
        odd = [dict(r) for r in lineage]
        odd[0]["teacher"] = "gpt-9-unreleased"
        odd[1]["teacher_family"] = "mystery"
        odd[2]["student"] = f" {odd[2]['student']} "
        extra = {"teacher": "gpt-3.5-turbo-0301", "teacher_family": "openai", "relation": "distilled"}
        odd += [{**extra, "student": "no-such-model"}, {**extra, "student": "zephyr-7b-beta"}]
        return rows, odd, families, columns

    def openai_only() -> Shape:
        taught = [r for r in lineage if r["teacher_family"] == "openai"]
        return rows, taught + [r for r in lineage if r["relation"] == "none"][:2], families, columns

    def few_candidates() -> Shape:
        keep = {"gpt-3.5-turbo-0301", "gpt4_0314", "text_davinci_003", "claude-2", "claude-2.1"}
        keep |= {"Mistral-7B-Instruct-v0.2", "Mixtral-8x7B-Instruct-v0.1", "Meta-Llama-3-8B-Instruct"}
        return rows, lineage, [f for f in families if f["model"] in keep], columns

    return {
        "300_no_source": lambda: prompts_only(300, lambda r: {k: v for k, v in r.items() if k != "dataset"}),
        "478_one_source_generator": lambda: prompts_only(
            478,
            lambda r: {"generator": r["model"], "instruction": r["instruction"], "output": r["output"], "dataset": "x"},
        ),
        "12_students_no_related": lambda: (rows, rng.sample(lineage, 12), families, columns[:4]),
        "holes": holes,
        "odd_lineage": odd_lineage,
        "openai_only": openai_only,
        "8_candidates": few_candidates,
        "60_prompts": lambda: prompts_only(60, lambda r: r),
    }


def write(folder: Path, shape: Shape) -> list[str]:
    """The shape's three files; returns the `bench lineage` arguments that name them."""
    responses, lineage, families, columns = shape
    write_jsonl(folder / "outputs.jsonl.gz", responses)  # makes the folder
    for name, table, fields in (("lineage.csv", lineage, columns), ("families.csv", families, ["model", "family"])):
        with (folder / name).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(table)
    return [
        *("--outputs", str(folder / "outputs.jsonl.gz")),
        *("--lineage", str(folder / "lineage.csv"), "--families", str(folder / "families.csv")),
    ]


def run(name: str, arguments: list[str]) -> dict[str, Any]:
    """`distillscope bench lineage --cv --json` on one shape, as a user runs it."""
    start = time.perf_counter()
    command = [sys.executable, "-m", "distillscope", "bench", "lineage", *arguments, "--cv", "--json"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    row: dict[str, Any] = {"shape": name, "rc": done.returncode, "wall_s": round(time.perf_counter() - start, 1)}
    row["warnings"] = [line for line in done.stderr.splitlines() if "WARNING" in line or "error" in line.lower()]
    if done.returncode == 0:
        out = json.loads(done.stdout)
        v = out["verdict"]
        row.update({k: out[k] for k in ("n_students", "n_prompts")})
        row.update({k: round(out[k], 3) for k in ("macro_family_top1", "family_top1", "auroc")})
        row.update({k: v[k] if isinstance(v[k], int) else round(v[k], 3) for k in ("n_pos", "n_neg", "recall", "fpr")})
        row.update({"n_pos_untested": v["n_pos_untested"], "null_median": v["null_models"].get("median")})
        row["source_folds"] = sum(f["scheme"] == "leave-one-source-out" for f in out["folds"])
    return row


def main() -> None:
    """One JSON row per shape."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    parser.add_argument("--only", nargs="*", help="run these shapes only (their draws stay the same)")
    args = parser.parse_args()
    outputs, lineage_csv, families_csv = data_paths(args)
    rows = [row for path in outputs for row in read_jsonl(path)]
    built = shapes(rows, read_csv(lineage_csv), read_csv(families_csv), random.Random(0))
    with tempfile.TemporaryDirectory() as tmp:
        for name, build in built.items():
            shape = build()  # built even when skipped, so that every shape's draws stay the same
            if args.only and name not in args.only:
                continue
            print(json.dumps(run(name, write(Path(tmp) / name, shape))), flush=True)


if __name__ == "__main__":
    main()
