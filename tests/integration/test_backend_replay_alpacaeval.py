"""replay: backend over the real AlpacaEval transcripts in ../shared/data (skipped when absent)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from distillscope.errors import ConfigError
from distillscope.model import get_model
from distillscope.types import GenerateRequest

pytestmark = pytest.mark.data


def shared_data() -> Path:
    """../shared/data relative to the repository root."""
    return Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.fixture(scope="module")
def alpaca() -> Path:
    path = shared_data() / "lineage" / "alpacaeval_outputs.jsonl.gz"
    if not path.is_file():
        pytest.skip(f"validation data not found at {path} (see shared/data/README.md)")
    return path


async def test_replays_recorded_answers_of_a_real_model(alpaca: Path) -> None:
    with gzip.open(alpaca, "rt", encoding="utf-8") as f:
        rows = [json.loads(next(f)) for _ in range(3)]
    model_name = rows[0]["model"]
    mine = [r for r in rows if r["model"] == model_name]
    model = get_model(f"replay:{alpaca}#{model_name}")
    out = await model.generate_many([GenerateRequest.chat(r["instruction"]) for r in mine])
    assert [c.text for c in out] == [r["output"] for r in mine]
    miss = await model.generate(GenerateRequest.chat("A prompt AlpacaEval never asked, surely."))
    assert miss.status == "error" and miss.error_kind == "replay_miss"


def test_unknown_model_lists_the_recorded_ones(alpaca: Path) -> None:
    with pytest.raises(ConfigError, match=r"available: .*Meta-Llama-3-8B-Instruct"):
        get_model(f"replay:{alpaca}#no-such-model")
