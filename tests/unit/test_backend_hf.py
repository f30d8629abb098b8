"""hf: backend: spec parsing and the missing-dependency error (no model is loaded here)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from distillscope.backends.hf import HFBackend
from distillscope.errors import ConfigError, MissingDependencyError
from distillscope.registry import BackendOptions, resolve_backend


def test_missing_transformers_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)  # makes `import transformers` fail
    with pytest.raises(MissingDependencyError, match=r"distillscope\[hf\]") as info:
        resolve_backend(f"hf:{tmp_path}")
    assert info.value.package == "transformers" and info.value.extra == "hf"


def test_spec_must_be_an_existing_local_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="local checkpoint directory"):
        HFBackend.from_spec(str(tmp_path / "missing"), BackendOptions())
    with pytest.raises(ConfigError, match="local checkpoint directory"):
        HFBackend.from_spec("Qwen/Qwen2.5-0.5B-Instruct", BackendOptions())
    with pytest.raises(ConfigError, match="names no model"):
        resolve_backend("hf:")


def test_identity_tracks_the_checkpoint_files(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"model_type": "llama"}')
    first = HFBackend(tmp_path).identity
    assert first.startswith(f"hf:{tmp_path.name}@")
    (tmp_path / "config.json").write_text('{"model_type": "qwen2"}')
    assert HFBackend(tmp_path).identity != first
