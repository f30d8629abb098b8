"""`replay:FILE#MODEL`: answers recorded in a transcript file, matched on the prompt text.

Accepted files: JSONL or JSONL.gz rows, or a JSON list (AlpacaEval's outputs format), each row with a
model name (`model`, `generator` or `target`), a prompt (`instruction` or `prompt`) and an answer
(`output` or `response`). Each file is read and indexed once per process. Several rows for the same
model and prompt are distinct samples: `sample_index` picks one.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distillscope.backends.base import BackendOptions
from distillscope.errors import BackendError, ConfigError
from distillscope.types import Completion, GenerateRequest, Usage

_MODEL_KEYS = ("model", "generator", "target")
_PROMPT_KEYS = ("instruction", "prompt")
_ANSWER_KEYS = ("output", "response")
DEFAULT_MODEL = "default"  # rows that name no model


@dataclass(frozen=True)
class Transcripts:
    """An indexed transcript file: model -> stripped prompt -> recorded answers, and the file's sha256."""

    path: Path
    sha256: str
    answers: dict[str, dict[str, list[str]]]


_INDEX: dict[tuple[str, int, int], Transcripts] = {}
_LOCK = threading.Lock()


def _first(row: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for k in keys:
        if row.get(k) is not None:
            return row[k]
    return None


def _rows(raw: bytes, path: Path) -> list[Any]:
    text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode("utf-8")
    try:
        if text.lstrip().startswith("["):
            rows = json.loads(text)
            return list(rows)
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except ValueError as exc:
        raise ConfigError(f"transcript {path} is not valid JSON/JSONL ({exc}); fix or regenerate the file") from exc


def _build(path: Path) -> Transcripts:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read transcript file {path} ({exc}); check the path in replay:FILE#MODEL") from exc
    answers: dict[str, dict[str, list[str]]] = {}
    for row in _rows(raw, path):
        if not isinstance(row, dict):
            continue
        prompt, answer = _first(row, _PROMPT_KEYS), _first(row, _ANSWER_KEYS)
        if not isinstance(prompt, str) or not isinstance(answer, str):
            continue
        model = str(_first(row, _MODEL_KEYS) or DEFAULT_MODEL)
        answers.setdefault(model, {}).setdefault(prompt.strip(), []).append(answer)
    if not answers:
        raise ConfigError(
            f"transcript {path} has no usable rows; each needs instruction|prompt and output|response fields"
        )
    return Transcripts(path, hashlib.sha256(raw).hexdigest(), answers)


def load_transcripts(path: str | Path) -> Transcripts:
    """The indexed transcript file (read once per process; re-read when the file changes)."""
    p = Path(path).expanduser().resolve()
    if not p.is_file():
        raise ConfigError(f"transcript file {p} does not exist; check the path in replay:FILE#MODEL")
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns)
    with _LOCK:
        if key not in _INDEX:
            _INDEX[key] = _build(p)
        return _INDEX[key]


class ReplayBackend:
    """Answers from a transcript; a prompt that was not recorded is a non-retryable `replay_miss` error."""

    def __init__(self, transcripts: Transcripts, model: str) -> None:
        if model not in transcripts.answers:
            raise ConfigError(
                f"model {model!r} is not in {transcripts.path}; available: {', '.join(sorted(transcripts.answers))}"
            )
        self.transcripts = transcripts
        self.model = model
        self._answers = transcripts.answers[model]

    @classmethod
    def from_spec(cls, name: str, options: BackendOptions) -> ReplayBackend:
        """`replay:FILE#MODEL`; `#MODEL` may be left out when the file records a single model."""
        file, sep, model = name.rpartition("#")
        if not sep:
            file, model = name, ""
        transcripts = load_transcripts(file)
        if not model:
            if len(transcripts.answers) != 1:
                models = ", ".join(sorted(transcripts.answers))
                raise ConfigError(f"{file} records several models; write replay:{file}#MODEL with one of: {models}")
            model = next(iter(transcripts.answers))
        return cls(transcripts, model)

    @property
    def identity(self) -> str:
        return f"replay:{self.model}@{self.transcripts.sha256[:16]}"

    @property
    def prompts(self) -> list[str]:
        """The recorded prompts of this model (stripped)."""
        return list(self._answers)

    async def generate(self, request: GenerateRequest) -> Completion:
        """The recorded answer to the request's last user message."""
        prompt = request.prompt.strip()
        recorded = self._answers.get(prompt)
        if recorded is None:
            raise BackendError(
                f"replay: {self.model} has no recorded answer in {self.transcripts.path.name} for prompt "
                f"{prompt[:80]!r}; record it or use a prompt set that matches the transcript",
                retryable=False,
                kind="replay_miss",
            )
        if request.sample_index >= len(recorded):
            raise BackendError(
                f"replay: {self.model} has {len(recorded)} recorded answer(s) for prompt {prompt[:80]!r}, "
                f"sample {request.sample_index} was asked for; lower the number of samples",
                retryable=False,
                kind="replay_miss",
            )
        text = recorded[request.sample_index]
        usage = Usage(len(prompt.split()), len(text.split()))
        return Completion(text=text, model=self.model, finish_reason="stop", usage=usage)
