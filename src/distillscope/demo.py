"""The main job on the embedded default: a small but complete experiment that runs offline on 2 cores."""

from __future__ import annotations

from pathlib import Path

from distillscope.config import ExperimentConfig, parse_config


def demo_config(out_dir: Path | str = "runs/demo", *, seed: int = 0) -> ExperimentConfig:
    """SmolLM2-135M as target, Qwen2.5-0.5B as reference and mutator, claims judge, judge-free RSE."""
    return parse_config(
        {
            "name": "demo",
            "output_dir": str(out_dir),
            "seed": seed,
            "targets": [{"name": "smollm2-135m", "spec": "embedded:smollm2-135m", "max_concurrency": 4}],
            "references": [{"name": "qwen2.5-0.5b", "spec": "embedded:qwen2.5-0.5b", "max_concurrency": 4}],
            "ice": {
                "judge": "claims",
                "mutator": "qwen2.5-0.5b",
                "max_queries": 60,
                "questions_per_iteration": 10,
                "max_tokens": 96,
                "paired": False,
            },
            "rse": {"prompt_sets": [{"spec": "builtin", "sample": 4}], "max_tokens": 128},
        },
        "demo config",
    )
