"""Small helpers shared by every run directory: atomic JSON writes, JSONL appends, the manifest check."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from distillscope import __version__
from distillscope.errors import ConfigError

log = logging.getLogger(__name__)
RUN_SCHEMA_VERSION = 1


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


def append_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    """Append whole lines and flush them to disk; starts on a fresh line if a crash left a torn one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torn = False
    if path.exists() and path.stat().st_size:
        with path.open("rb") as fh:
            fh.seek(-1, 2)
            torn = fh.read(1) != b"\n"
    with path.open("a", encoding="utf-8") as fh:
        fh.write(("\n" if torn else "") + "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows))
        fh.flush()
        os.fsync(fh.fileno())


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Objects of a JSONL file; a torn or invalid line (an interrupted write) is skipped with a warning."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                log.warning("%s:%d: skipping an unreadable line (interrupted write?)", path, n)
                continue
            if isinstance(obj, dict):
                yield obj


def read_manifest(run_dir: Path) -> dict[str, Any] | None:
    """The run's manifest, or None when there is none; refuses other schema versions with the fix."""
    path = run_dir / "manifest.json"
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
