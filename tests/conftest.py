"""Test-wide setup: an isolated DISTILLSCOPE_HOME per session, sharing only the built model files."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def shared_data(*parts: str) -> Path:
    """Path under ../shared/data; skips the calling test when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"validation data {path} is absent (it lives in ../shared/data beside the repo)")
    return path


@pytest.fixture(autouse=True, scope="session")
def _isolated_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Caches go to a fresh folder; the embedded model files (built once, ~0.5 GB) are shared."""
    user_home = Path(os.environ.get("DISTILLSCOPE_HOME") or Path.home() / ".cache" / "distillscope")
    models = user_home / "models"
    models.mkdir(parents=True, exist_ok=True)
    home = tmp_path_factory.mktemp("distillscope-home")
    (home / "models").symlink_to(models, target_is_directory=True)
    old = os.environ.get("DISTILLSCOPE_HOME")
    os.environ["DISTILLSCOPE_HOME"] = str(home)
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # Parallel workers (pyproject's `-n`): one llama.cpp thread per embedded model, so that the workers' models
        # (and the servers they start) never ask for more cores than the machine has; llama.cpp threads spin.
        os.environ.setdefault("DISTILLSCOPE_THREADS", "1")
    yield home
    if old is None:
        os.environ.pop("DISTILLSCOPE_HOME", None)
    else:
        os.environ["DISTILLSCOPE_HOME"] = old


@pytest.fixture(scope="module")
def ray_to_myself(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Held by a module that starts Ray: with `pytest -n`, a second worker's module waits here, because a Ray
    instance started without an address joins any other instance on the machine."""
    shared = tmp_path_factory.getbasetemp().parent  # the same folder for every xdist worker of this session
    with (shared / "ray.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
