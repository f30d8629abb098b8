"""Small helpers shared by every run directory: atomic JSON writes, JSONL appends, the manifest check."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from distillscope import __version__
from distillscope.errors import ConfigError

RUN_SCHEMA_VERSION = 1


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON through a temp file and a rename, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)


def append_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    """Append whole lines and flush; starts on a fresh line if a crash left a torn one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torn = False
    if path.exists() and path.stat().st_size:
        with path.open("rb") as fh:
            fh.seek(-1, 2)
            torn = fh.read(1) != b"\n"
    with path.open("a", encoding="utf-8") as fh:
        fh.write(("\n" if torn else "") + "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        fh.flush()


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Rows of a JSONL file; a torn last line (crash mid-write) is skipped, other bad lines are errors."""
    if not path.exists():
        return
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as exc:
            if i == len(lines) - 1:
                continue
            raise ConfigError(f"{path}:{i + 1} is not valid JSON ({exc.msg}); fix or delete that line") from None


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
            fix = (f"it was written by distillscope {wrote}; rebuild it with that version or re-run the experiment "
                   f"with this one ({__version__})")
        raise ConfigError(f"{run_dir} has run schema {version!r}, this distillscope reads {RUN_SCHEMA_VERSION}: {fix}")
    return dict(manifest)
