"""The run-directory contract: the layout (`RunDir`, every path of a run), atomic JSON writes, the one JSONL
reader and writer (one policy for bad lines), and the manifest check.

An experiment's run directory:
  manifest.json  config.yaml  summary.json  report/
  batches.jsonl  (the batch executor's journal of submitted provider batches)
  rse/   responses.jsonl  judgements.jsonl
  ice/   records.jsonl  scores.json  tree.json  campaign.json  config.json
  ice/paired/   records.jsonl  scores.json  templates.json
The standalone `ice run` / `rse collect` commands write the same files into the folder they are given
(an `rse collect` folder also holds its own manifest.json).
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel

from distillscope import __version__
from distillscope.errors import ConfigError

log = logging.getLogger(__name__)
RUN_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class RunDir:
    """Every path of a run directory (or of one method's folder inside it: `.ice`, `.paired`, `.rse`)."""

    root: Path

    def ensure(self) -> RunDir:
        """Create the folder (and parents)."""
        self.root.mkdir(parents=True, exist_ok=True)
        return self

    # ---- the experiment
    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def config_yaml(self) -> Path:
        return self.root / "config.yaml"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    @property
    def report(self) -> Path:
        return self.root / "report"

    @property
    def batches(self) -> Path:
        """The batch executor's journal: one line per batch intent, creation and collection."""
        return self.root / "batches.jsonl"

    @property
    def ice(self) -> RunDir:
        return RunDir(self.root / "ice")

    @property
    def paired(self) -> RunDir:
        """The paired replay of an ICE folder."""
        return RunDir(self.root / "paired")

    @property
    def rse(self) -> RunDir:
        return RunDir(self.root / "rse")

    # ---- RSE
    @property
    def responses(self) -> Path:
        return self.root / "responses.jsonl"

    @property
    def judgements(self) -> Path:
        return self.root / "judgements.jsonl"

    # ---- ICE
    @property
    def records(self) -> Path:
        return self.root / "records.jsonl"

    @property
    def scores(self) -> Path:
        return self.root / "scores.json"

    @property
    def tree(self) -> Path:
        return self.root / "tree.json"

    @property
    def campaign(self) -> Path:
        return self.root / "campaign.json"

    @property
    def config(self) -> Path:
        """The ICE campaign's settings (config.json)."""
        return self.root / "config.json"

    @property
    def templates(self) -> Path:
        return self.root / "templates.json"


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON to a temporary file in the same folder and rename it over `path` (never half-written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, ensure_ascii=False, indent=1, default=str)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _open(path: Path, mode: str) -> IO[str]:
    """A text handle; gzip when the name ends in .gz."""
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.GzipFile(path, mode + "b"), encoding="utf-8")
    return path.open(mode, encoding="utf-8")


def _cut_torn_tail(path: Path) -> None:
    """Drop a last line without its newline (a crash mid-append), with a warning, so appends start clean."""
    with path.open("rb+") as fh:
        data = fh.read()
        if not data or data.endswith(b"\n"):
            return
        keep = data.rfind(b"\n") + 1
        log.warning("%s: dropping a torn last line (an interrupted write)", path)
        fh.truncate(keep)


def append_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    """Append whole lines and flush them to disk; a torn last line left by a crash is dropped first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        _cut_torn_tail(path)
    with path.open("a", encoding="utf-8") as fh:
        fh.write("".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows))
        fh.flush()
        os.fsync(fh.fileno())


def write_jsonl(path: Path, rows: Iterable[BaseModel | dict[str, Any]]) -> int:
    """Write rows (models or dicts) as JSONL (gzip when the name ends in .gz); returns the row count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with _open(path, "w") as fh:
        for row in rows:
            d = row.model_dump() if isinstance(row, BaseModel) else row
            fh.write(json.dumps(d, ensure_ascii=False) + "\n")
            n += 1
    return n


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Objects of a JSONL(.gz) file (none when it is missing). One policy for bad lines: an unreadable LAST line
    (a crash mid-append) is dropped with a warning; an unreadable line before it is a ConfigError naming the
    file and line, because that is corruption, not an interrupted write."""
    if not path.exists():
        return
    with _open(path, "r") as fh:
        lines = [(n, line) for n, line in enumerate(fh, 1) if line.strip()]
    for i, (n, line) in enumerate(lines):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            if i == len(lines) - 1:
                log.warning("%s:%d: dropping an unreadable last line (an interrupted write)", path, n)
                return
            raise ConfigError(f"{path}:{n} is not valid JSON ({exc.msg}); fix or remove that line") from None
        if not isinstance(obj, dict):
            raise ConfigError(f"{path}:{n} is not a JSON object; fix or remove that line")
        yield obj


def read_manifest(run_dir: Path) -> dict[str, Any] | None:
    """The run's manifest, or None when there is none; refuses other schema versions with the fix."""
    path = RunDir(run_dir).manifest
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON ({exc.msg}); restore it or start a new run") from None
    version = manifest.get("schema_version") if isinstance(manifest, dict) else None
    if version != RUN_SCHEMA_VERSION:
        wrote = manifest.get("distillscope_version", "an older version") if isinstance(manifest, dict) else "?"
        if isinstance(version, int) and version > RUN_SCHEMA_VERSION:
            fix = f"upgrade distillscope (it was written by {wrote})"
        else:
            fix = (
                f"it was written by distillscope {wrote}; rebuild it with that version or re-run the experiment "
                f"with this one ({__version__})"
            )
        raise ConfigError(f"{run_dir} has run schema {version!r}, this distillscope reads {RUN_SCHEMA_VERSION}: {fix}")
    return dict(manifest)
