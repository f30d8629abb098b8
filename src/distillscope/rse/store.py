"""RSE storage: response records, "latest per key", reading and appending a run's files, its manifest, export.

Records are appended one JSON line at a time as calls finish, so an interrupted run loses at most the line
being written (see `rundir.read_jsonl` for the policy on bad lines) and a re-run resumes from what is on disk.
Paths come from `rundir.RunDir`; scoring lives in `rse.scoring`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from distillscope.errors import ConfigError
from distillscope.rundir import RunDir, append_jsonl, read_jsonl, write_json_atomic

K = TypeVar("K", bound=Hashable)
RSE_MANIFEST_SCHEMA = 1


@dataclass(frozen=True, kw_only=True)
class ResponseRecord:
    """One collected answer of one model to one prompt (one sample). `status="error"` keeps failures."""

    model: str
    prompt_set: str
    prompt_id: str
    sample_index: int
    prompt: str
    response: str
    status: str = "ok"
    reasoning: str | None = None
    category: str | None = None
    error: str | None = None
    error_kind: str | None = None
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    cost_usd: float = 0.0
    cached: bool = False
    created: float = field(default_factory=time.time)

    @property
    def key(self) -> tuple[str, str, str, int]:
        """(model, prompt_set, prompt_id, sample_index): what identifies a record across re-runs."""
        return (self.model, self.prompt_set, self.prompt_id, self.sample_index)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(d: dict[str, Any]) -> ResponseRecord:
        known = {k: v for k, v in d.items() if k in _RESPONSE_FIELDS}
        return ResponseRecord(**known)


_RESPONSE_FIELDS = frozenset(ResponseRecord.__dataclass_fields__)


def latest(records: Iterable[Any], key: Callable[[Any], K]) -> dict[K, Any]:
    """The last record for each key (later lines supersede earlier ones, e.g. a retried error)."""
    out: dict[K, Any] = {}
    for rec in records:
        out[key(rec)] = rec
    return out


def require_responses(run: RunDir) -> None:
    """ConfigError naming the fix when the folder holds no collected responses."""
    if not run.responses.exists():
        raise ConfigError(f"{run.root} holds no responses.jsonl; run `distillscope rse collect --out {run.root}` first")


def append_response(run: RunDir, record: ResponseRecord) -> None:
    """Append one response record as one JSON line and flush it."""
    append_jsonl(run.responses, [record.to_dict()])


def append_judgement(run: RunDir, record: dict[str, Any]) -> None:
    """Append one judgement record as one JSON line and flush it."""
    append_jsonl(run.judgements, [record])


def read_responses(run: RunDir) -> list[ResponseRecord]:
    """Every response record on disk, latest per key, in first-seen key order."""
    recs = (ResponseRecord.from_dict(d) for d in read_jsonl(run.responses))
    return list(latest(recs, lambda r: r.key).values())


def read_judgement_dicts(run: RunDir) -> list[dict[str, Any]]:
    """Raw judgement records on disk (every line; callers pick the latest per key)."""
    return list(read_jsonl(run.judgements))


def read_manifest(run: RunDir) -> dict[str, Any]:
    """The manifest of a standalone RSE folder (`rse collect --out`); {} when there is none."""
    if not run.manifest.exists():
        return {}
    try:
        data = json.loads(run.manifest.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{run.manifest} is not valid JSON ({exc.msg}); fix or delete it") from exc
    return data if isinstance(data, dict) else {}


def update_manifest(run: RunDir, changes: dict[str, Any]) -> dict[str, Any]:
    """Merge `changes` into a standalone RSE folder's manifest (list values are unioned, order kept) and save it.
    An experiment's RSE folder has none: the experiment's manifest.json (and config.yaml) says it all."""
    data = read_manifest(run)
    data.setdefault("schema", RSE_MANIFEST_SCHEMA)
    data.setdefault("kind", "rse")
    for key, value in changes.items():
        old = data.get(key)
        if isinstance(old, list) and isinstance(value, list):
            data[key] = old + [v for v in value if v not in old]
        else:
            data[key] = value
    write_json_atomic(run.manifest, data)
    return data


def aligned(records: list[ResponseRecord], models: list[str]) -> tuple[list[tuple[str, str]], dict[str, list[str]]]:
    """(set, prompt id) answered (sample 0, ok, non-empty) by every model, and each model's texts on them."""
    by_model: dict[str, dict[tuple[str, str], str]] = {m: {} for m in models}
    for r in records:
        if r.ok and r.sample_index == 0 and r.response.strip() and r.model in by_model:
            by_model[r.model][(r.prompt_set, r.prompt_id)] = r.response
    common = set.intersection(*(set(v) for v in by_model.values())) if models else set()
    keys = sorted(common)
    return keys, {m: [by_model[m][k] for k in keys] for m in models}


def export_responses(run: RunDir, path: Path) -> Path:
    """Write the run's ok answers (sample 0) as `{"model", "instruction", "output"}` JSONL for attribution."""
    require_responses(run)
    with path.open("w", encoding="utf-8") as fh:
        for r in read_responses(run):
            if r.ok and r.sample_index == 0:
                fh.write(json.dumps({"model": r.model, "instruction": r.prompt, "output": r.response}) + "\n")
    return path
