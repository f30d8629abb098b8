"""A fixed scripted experiment (ICE fuzz + paired replay, RSE collect + scripted judge, a null panel of three)
run in-process; every file of its run directory, normalised (no timestamps, durations, absolute paths), must
equal tests/golden/run_dir.json field by field. Regenerate only on purpose: DISTILLSCOPE_GOLDEN_WRITE=1."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from distillscope.config import parse_config
from distillscope.runner import run_experiment

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "run_dir.json"
JUDGE_REPLY = '{"style": 2, "logic": 1, "content": 1, "overall": 4, "reason": "alike in tone"}'
# Keys whose values change from run to run (clock, durations, machine) and say nothing about the results.
# config_hash hashes the config with its absolute output_dir, so it differs per temporary folder.
VOLATILE = frozenset(
    {"config_hash", "created", "started", "finished", "seconds", "latency_s", "elapsed_s", "timestamp", "pid", "host"}
)


# Files of the golden (written before the run contract was unified) that a run no longer writes, and why.
RETIRED = {
    "rse/manifest.json": "one manifest per experiment: its models, prompt sets, params, judges and reference are "
    "in config.yaml, its prompt hash in manifest.json's rse.collect stage",
}


def golden_config(run_dir: Path) -> dict[str, Any]:
    return {
        "name": "golden",
        "output_dir": str(run_dir),
        "seed": 7,
        "targets": [
            {"name": "student", "spec": "scripted:I am ChatGPT, a model developed by OpenAI.", "family": "qwen"}
        ],
        "references": [{"name": "teacher", "spec": "scripted:"}],  # echoes each prompt: answers that vary
        "null_panel": [
            {"name": "other-1", "spec": "scripted:", "family": "mistral"},
            {"name": "other-2", "spec": "scripted:", "family": "llama"},
            {"name": "other-3", "spec": "scripted:", "family": "gemma"},
        ],
        "helpers": [{"name": "judge", "spec": f"scripted:{JUDGE_REPLY}"}],
        "ice": {
            "max_queries": 20,
            "questions_per_iteration": 3,
            "questions": str(HERE / "questions.csv"),
            "templates": str(HERE / "templates.csv"),
        },
        "rse": {"prompt_sets": [{"spec": "builtin", "sample": 10}], "judges": ["judge"]},
    }


def normalise(obj: Any, root: str) -> Any:
    """The value without volatile keys, with the run directory's absolute path replaced by `<RUN>`."""
    if isinstance(obj, dict):
        return {k: normalise(v, root) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [normalise(v, root) for v in obj]
    if isinstance(obj, str):
        return obj.replace(root, "<RUN>").replace(str(HERE), "<GOLDEN>")
    return obj


def read_file(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if path.suffix in {".yaml", ".yml"}:
        return yaml.safe_load(text)
    return text


def snapshot(run_dir: Path) -> dict[str, Any]:
    """Every file of the run directory (relative path -> normalised content); lock files are left out."""
    root = str(run_dir.resolve())
    files = sorted(p for p in run_dir.rglob("*") if p.is_file() and not p.name.endswith(".lock"))
    return {p.relative_to(run_dir).as_posix(): normalise(read_file(p), root) for p in files}


def run_golden(tmp_path: Path) -> dict[str, Any]:
    run_dir = (tmp_path / "run").resolve()
    cfg = parse_config(golden_config(run_dir))
    outcome = asyncio.run(run_experiment(cfg, run_dir))
    assert outcome.status == "complete", outcome.message
    return snapshot(run_dir)


def differences(want: Any, got: Any, path: str = "") -> list[str]:
    """Every path where the two values differ (missing keys, changed values, list lengths)."""
    if isinstance(want, dict) and isinstance(got, dict):
        out: list[str] = []
        for k in sorted(set(want) | set(got)):
            if k not in got:
                out.append(f"{path}/{k}: missing")
            elif k not in want:
                out.append(f"{path}/{k}: unexpected")
            else:
                out += differences(want[k], got[k], f"{path}/{k}")
        return out
    if isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            return [f"{path}: {len(want)} items expected, {len(got)} found"]
        return [d for i, (w, g) in enumerate(zip(want, got, strict=True)) for d in differences(w, g, f"{path}[{i}]")]
    return [] if want == got else [f"{path}: {want!r} expected, {got!r} found"]


def test_run_directory_matches_the_golden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISTILLSCOPE_HOME", str(tmp_path / "home"))  # a fresh response cache: no cached answers
    got = run_golden(tmp_path)
    if os.environ.get("DISTILLSCOPE_GOLDEN_WRITE") == "1":
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    want = {k: v for k, v in json.loads(GOLDEN.read_text(encoding="utf-8")).items() if k not in RETIRED}
    diff = differences(want, got)
    assert not diff, f"{len(diff)} differences from {GOLDEN.name}:\n" + "\n".join(diff[:40])


def test_differences_name_each_changed_path() -> None:
    want = {"a": {"b": [1, 2]}, "c": 1, "gone": 0}
    got = {"a": {"b": [1, 3]}, "c": 1, "new": 0}
    assert differences(want, got) == ["/a/b[1]: 2 expected, 3 found", "/gone: missing", "/new: unexpected"]
