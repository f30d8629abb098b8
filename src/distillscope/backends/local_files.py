"""Helpers shared by the backends that load weights from a local directory (hf:, vllm:)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def directory_fingerprint(path: Path) -> str:
    """Hash of a checkpoint directory's file names and sizes and its config.json: changes when the weights do."""
    h = hashlib.sha256()
    for f in sorted(path.iterdir()):
        if f.is_file():
            h.update(f"{f.name}:{f.stat().st_size}\n".encode())
            if f.name == "config.json":
                h.update(f.read_bytes())
    return h.hexdigest()[:16]
