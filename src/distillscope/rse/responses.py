"""Load recorded responses (``model``, ``instruction``, ``output``) and align models on instruction text.

Accepted files: JSONL (optionally gzipped) with one row per response, or a JSON list as AlpacaEval
writes it (the model name in ``generator`` when ``model`` is absent). Rows are joined on the
instruction text, never on position: models may miss prompts or list them in another order.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distillscope.errors import ConfigError
from distillscope.rundir import read_jsonl

log = logging.getLogger(__name__)

# Below this share of the best-covered model's instructions, aligning on the common ones is worth a warning.
ALIGNED_SHARE_WARNING = 0.9


def _key(instruction: str) -> str:
    # Whitespace at the edges differs between exports of the same prompt set.
    return instruction.strip()


@dataclass
class ResponseSet:
    """Responses of several models: ``by_model[model][instruction] = output``."""

    by_model: dict[str, dict[str, str]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # instruction -> prompt source (a row's "dataset")

    @property
    def models(self) -> list[str]:
        """Model names in first-seen order."""
        return list(self.by_model)

    def add(self, model: str, instruction: str, output: str) -> None:
        """Add one response; a repeated (model, instruction) keeps the first and is logged."""
        rows = self.by_model.setdefault(model, {})
        key = _key(instruction)
        if key in rows:
            log.debug("duplicate response of %s to one instruction: kept the first", model)
            return
        rows[key] = output

    def common_instructions(self, models: Sequence[str]) -> list[str]:
        """Instructions answered by every given model, in a deterministic (sorted) order."""
        missing = [m for m in models if m not in self.by_model]
        if missing:
            raise ConfigError(f"no responses for model(s) {', '.join(missing)}: check --responses files")
        if not models:
            return []
        common = set(self.by_model[models[0]])
        for m in models[1:]:
            common &= set(self.by_model[m])
        return sorted(common)

    def aligned(self, models: Sequence[str]) -> tuple[list[str], dict[str, list[str]]]:
        """(instructions, {model: outputs}) for the instructions all ``models`` answered."""
        instructions = self.common_instructions(models)
        texts = {m: [self.by_model[m][i] for i in instructions] for m in models}
        dropped = {m: len(self.by_model[m]) - len(instructions) for m in models}
        if any(dropped.values()):
            log.info("aligned %d instructions; dropped per model: %s", len(instructions), dropped)
        most = max((len(self.by_model[m]) for m in models), default=0)
        if len(instructions) < ALIGNED_SHARE_WARNING * most:
            fewest = sorted((m for m in models if len(self.by_model[m]) < most), key=lambda m: len(self.by_model[m]))[
                :3
            ]
            log.warning(
                "only %d of %d instructions are answered by all %d models; the fewest answers: %s "
                "(leave such a model out or complete its responses)",
                len(instructions),
                most,
                len(models),
                ", ".join(f"{m} ({len(self.by_model[m])})" for m in fewest),
            )
        return instructions, texts


def _open_text(path: Path) -> Iterator[str]:
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        yield from handle


def _rows_from_file(path: Path) -> Iterable[dict[str, Any]]:
    if not path.is_file():
        raise ConfigError(f"responses file {path} does not exist: pass an existing --responses path")
    stem = path.name[:-3] if path.name.endswith(".gz") else path.name
    if stem.endswith(".json"):
        data = json.loads("".join(_open_text(path)))
        if not isinstance(data, list):
            raise ConfigError(f"{path} is a JSON file but not a list of responses: use AlpacaEval's format")
        return data
    return read_jsonl(path)


def _parse_row(row: Any, path: Path, model_override: str | None) -> tuple[str, str, str]:
    if not isinstance(row, dict):
        raise ConfigError(f"{path}: every row must be an object with model, instruction and output")
    model = model_override or row.get("model") or row.get("generator")
    instruction, output = row.get("instruction"), row.get("output")
    if not isinstance(model, str) or not isinstance(instruction, str):
        raise ConfigError(f"{path}: a row lacks 'model' (or 'generator') or 'instruction': fix the file")
    if not isinstance(output, str):
        output = "" if output is None else str(output)
    return model, instruction, output


def load_responses(
    paths: Sequence[str | Path], *, model_override: str | None = None, into: ResponseSet | None = None
) -> ResponseSet:
    """Read recorded responses from JSONL/JSONL.gz/JSON files into one ResponseSet."""
    result = into or ResponseSet()
    for raw in paths:
        path = Path(raw)
        n = 0
        for row in _rows_from_file(path):
            model, instruction, output = _parse_row(row, path, model_override)
            result.add(model, instruction, output)
            if isinstance(row, dict) and isinstance(row.get("dataset"), str):
                result.sources.setdefault(_key(instruction), row["dataset"])
            n += 1
        log.info("loaded %d responses from %s", n, path)
    return result


def load_families(path: str | Path) -> dict[str, str]:
    """Read a ``model,family`` CSV into a mapping."""
    import csv

    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"families file {file} does not exist: pass a CSV with columns model,family")
    with file.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    if rows and not {"model", "family"} <= set(rows[0]):
        raise ConfigError(f"{file} needs the columns model,family")
    return {r["model"].strip(): r["family"].strip() for r in rows if r.get("model")}
