"""The Ray executor on a one-node Ray instance (2 CPUs): a ray run writes the records a local run writes, a
rerun makes no backend call (through the CLI, which starts its own Ray), and more models than the node has room
for pass through it (idle actors are let go)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from distillscope.cache import ResponseCache
from distillscope.config import ExecutionSettings, ExperimentConfig, ModelEntry
from distillscope.execution.remote import RemoteBackend
from distillscope.model import ModelPool
from distillscope.runner import run_experiment
from distillscope.types import GenerateRequest

ray = pytest.importorskip("ray")

JUDGE = '{"style": 1, "logic": 2, "content": 1, "overall": 3, "reason": "alike"}'
RECORD_FILES = ("rse/responses.jsonl", "rse/judgements.jsonl", "ice/records.jsonl", "ice/paired/records.jsonl")
TIMING = {"latency_s", "created", "cached"}  # differ between any two runs, local or not


@pytest.fixture(scope="module", autouse=True)
def one_node(ray_to_myself: None) -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def experiment(out: Path, executor: str) -> ExperimentConfig:
    """RSE with a judge, ICE fuzz and paired replay; every model scripted and (under ray) in a Ray actor."""

    def model(name: str, text: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, "spec": f"scripted:{text}", "placement": "ray", "num_cpus": 0.5, **extra}

    return ExperimentConfig.model_validate(
        {
            "name": "ray",
            "output_dir": str(out),
            "targets": [model("student", "I am ChatGPT, a model developed by OpenAI.", family="qwen")],
            "references": [model("teacher", "As an AI developed by OpenAI, here is my answer.")],
            "null_panel": [model("other", "Sure. Here are three points to consider.", family="mistral")],
            "helpers": [model("judge", JUDGE)],
            "ice": {"max_queries": 10, "questions_per_iteration": 5},
            "rse": {"prompt_sets": [{"spec": "builtin", "sample": 2}], "judges": ["judge"]},
            "execution": {"executor": executor},
        }
    )


def records(run: Path) -> dict[str, list[dict[str, Any]]]:
    """Every record of a run directory without its timing fields, in a fixed order."""
    out = {}
    for name in RECORD_FILES:
        rows = [json.loads(line) for line in (run / name).read_text().splitlines()]
        rows = [{k: v for k, v in r.items() if k not in TIMING} for r in rows]
        out[name] = sorted(rows, key=lambda r: json.dumps(r, sort_keys=True))
    return out


async def test_a_ray_run_writes_the_records_of_a_local_run_and_a_rerun_calls_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISTILLSCOPE_HOME", str(tmp_path / "home-local"))
    local = await run_experiment(experiment(tmp_path / "local", "local"))
    monkeypatch.setenv("DISTILLSCOPE_HOME", str(tmp_path / "home-ray"))  # a cache of its own: every call is made
    first = await run_experiment(experiment(tmp_path / "ray", "ray"))
    assert local.status == first.status == "complete"
    assert records(tmp_path / "ray") == records(tmp_path / "local")
    assert sum(int(s["calls"]) for s in first.stage_stats.values()) > 0
    manifest = json.loads((tmp_path / "ray" / "manifest.json").read_text())
    assert manifest["models"]["student"]["identity"] == "scripted:I am ChatGPT, a model developed by OpenAI."

    # The CLI, in a process of its own that starts (and ends) a Ray instance: a rerun on the same cache calls nothing.
    cfg = experiment(tmp_path / "rerun", "local")  # the flag below sets the executor
    (tmp_path / "rerun.yaml").write_text(yaml.safe_dump(cfg.model_dump(mode="json")), encoding="utf-8")
    args = ["run", str(tmp_path / "rerun.yaml"), "--executor", "ray", "--no-report"]
    proc = subprocess.run(
        [sys.executable, "-m", "distillscope.cli.main", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "DISTILLSCOPE_HOME": str(tmp_path / "home-ray"), "RAY_ADDRESS": ""},
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    stages = json.loads((tmp_path / "rerun" / "manifest.json").read_text())["stages"]
    assert {name: s["calls"] for name, s in stages.items()} == dict.fromkeys(first.stage_stats, 0)
    assert records(tmp_path / "rerun") == records(tmp_path / "local")


async def test_more_models_than_the_node_holds_all_answer(tmp_path: Path) -> None:
    """Four models each take one of the node's two CPUs: gathered at once, idle actors make room for waiting ones."""
    entries = [ModelEntry(name=f"m{i}", spec=f"scripted:answer {i}", placement="ray") for i in range(4)]
    pool = ModelPool(entries, cache=ResponseCache(tmp_path / "cache.db"), execution=ExecutionSettings(executor="ray"))
    models = [pool.get(e.name) for e in entries]
    requests = [GenerateRequest.chat(f"question {j}") for j in range(40)]
    answers = await asyncio.wait_for(asyncio.gather(*(m.generate_many(requests) for m in models)), 120)
    assert [{c.text for c in a} for a in answers] == [{f"answer {i}"} for i in range(4)]
    assert all(m.stats.calls == 40 and m.stats.errors == 0 for m in models)
    await pool.release_all()
    assert all(isinstance(m.backend, RemoteBackend) and m.backend.live_actors == 0 for m in models)


async def test_a_backend_error_keeps_its_kind_across_the_actor(tmp_path: Path) -> None:
    """A server that is down fails as it does locally: a retryable connection error, not a lost worker."""
    down = {"name": "down", "spec": "openai:m", "base_url": "http://127.0.0.1:9/v1", "placement": "ray"}
    entry = ModelEntry.model_validate({**down, "num_cpus": 0, "max_retries": 1, "retry_backoff_s": 0.01})
    pool = ModelPool([entry], cache=None, execution=ExecutionSettings(executor="ray"))
    model = pool.get("down")
    answer = await model.generate(GenerateRequest.chat("hello"))
    await pool.release_all()
    assert answer.status == "error" and answer.error_kind == "connection"  # as from a local backend...
    assert answer.attempts == 2 and model.stats.retries == 1  # ... and retryable: `retryable` made the trip
    assert answer.error is not None and "cannot connect to http://127.0.0.1:9/v1" in answer.error
