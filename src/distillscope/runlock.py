"""One writer per run directory: `run.lock` records the holder's pid, host and start time.

The lock is an exclusive `flock` on the file (the kernel drops it when the holder dies, however it dies) plus
the holder's identity written inside it, so a refusal can name the holder and a lock left by a dead process on
this host is taken over with a notice. A lock written by another host cannot be checked and is never taken.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from distillscope.errors import ConfigError

log = logging.getLogger(__name__)
LOCK_NAME = "run.lock"


class RunLockedError(ConfigError):
    """Another process holds the run directory."""


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or held) a run directory."""

    pid: int
    host: str
    started: str

    @classmethod
    def me(cls) -> LockHolder:
        return cls(os.getpid(), socket.gethostname(), datetime.now(UTC).isoformat(timespec="seconds"))

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} since {self.started}"


def read_holder(path: Path) -> LockHolder | None:
    """The holder written in a lock file; None when it is absent, empty or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return LockHolder(int(data["pid"]), str(data["host"]), str(data["started"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def pid_alive(pid: int) -> bool:
    """True when a process with this pid exists on this host (also when it belongs to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _refusal(run_dir: Path, holder: LockHolder | None) -> RunLockedError:
    who = holder.describe() if holder else "another process"
    return RunLockedError(
        f"{run_dir} is in use by {who}; wait for it to finish (or stop it), then `distillscope resume {run_dir}`"
    )


def _check_previous(run_dir: Path, previous: LockHolder | None) -> None:
    """Refuse a lock still owned by a live process or another host; announce taking over a stale one."""
    if previous is None or previous.pid == os.getpid():
        return
    if previous.host != socket.gethostname():
        raise RunLockedError(
            f"{run_dir} is locked by {previous.describe()}, which cannot be checked from here; "
            f"if that run has ended, delete {run_dir / LOCK_NAME}"
        )
    if pid_alive(previous.pid):
        raise _refusal(run_dir, previous)
    log.warning("%s: taking over a stale lock of %s (that process is gone)", run_dir, previous.describe())


def _open_locked(path: Path) -> int | None:
    """An fd holding the exclusive flock of the file now at `path`; None when a live process holds it."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                return None
            raise
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:  # else the holder removed the file between our open and flock: lock the new one
            return fd
        os.close(fd)


@contextmanager
def run_lock(run_dir: Path) -> Iterator[LockHolder]:
    """Hold `run_dir` for this process; refuses (RunLockedError) while another live writer holds it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_NAME
    fd = _open_locked(path)
    if fd is None:
        raise _refusal(run_dir, read_holder(path))
    try:
        _check_previous(run_dir, read_holder(path))
        me = LockHolder.me()
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(asdict(me)) + "\n").encode(), 0)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        raise
    try:
        yield me
    finally:
        path.unlink(missing_ok=True)  # unlinked before the flock goes, so no one locks a removed file for long
        os.close(fd)
