"""Content-addressed response store: SQLite in WAL mode, safe for several processes at once.

A key is the sha256 of canonical JSON of everything that changes an answer (backend identity, messages,
generation parameters, sample index) plus a schema version. Values are JSON. Errors are never stored, so
a re-run retries exactly the calls that did not finish.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distillscope.errors import ConfigError
from distillscope.types import Completion, GenerateRequest

CACHE_SCHEMA_VERSION = 1
_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    value TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS responses_backend ON responses (backend);
CREATE TABLE IF NOT EXISTS call_log (key TEXT NOT NULL, backend TEXT NOT NULL, created REAL NOT NULL);
"""


def distillscope_home() -> Path:
    """Root of distillscope's caches: $DISTILLSCOPE_HOME or ~/.cache/distillscope."""
    return Path(os.environ.get("DISTILLSCOPE_HOME") or Path.home() / ".cache" / "distillscope")


def default_cache_path() -> Path:
    return distillscope_home() / "responses.sqlite"


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace: the same object always gives the same bytes."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def cache_key(backend_identity: str, request: GenerateRequest) -> str:
    """sha256 of canonical JSON of the schema version, the backend identity and the request."""
    payload = {"v": CACHE_SCHEMA_VERSION, "backend": backend_identity, "request": request.to_dict()}
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


@dataclass(frozen=True)
class CacheStats:
    """What the store holds."""

    path: str
    entries: int
    size_bytes: int
    by_backend: dict[str, int]


def _enable_wal(conn: sqlite3.Connection, attempts: int = 100) -> None:
    """Switch to WAL. The switch needs an exclusive lock and SQLite does not wait on the busy timeout for
    it, so several processes opening a new cache at once see "database is locked": retry briefly."""
    for attempt in range(attempts):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.02 * (1 + attempt % 5))  # staggered so racing openers do not collide in step


class ResponseCache:
    """SQLite response store. One connection per instance, guarded by a lock (threads may share it)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(self.path, timeout=60.0, check_same_thread=False, isolation_level=None)
            _enable_wal(self._conn)
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_DDL)
            self._check_schema()
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"cache {self.path} is unreadable ({exc}); remove it or set DISTILLSCOPE_HOME") from exc

    def _check_schema(self) -> None:
        row = self._conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if row is None:
            self._conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(CACHE_SCHEMA_VERSION),))
        elif int(row[0]) > CACHE_SCHEMA_VERSION:
            raise ConfigError(
                f"cache {self.path} was written by a newer distillscope (schema {row[0]}); upgrade distillscope "
                "or point DISTILLSCOPE_HOME elsewhere"
            )

    def get(self, key: str) -> Completion | None:
        """The stored completion for `key`, marked `cached=True`, or None."""
        with self._lock:
            row = self._conn.execute("SELECT value FROM responses WHERE key=?", (key,)).fetchone()
        if row is None:
            return None
        d = json.loads(row[0])
        d["cached"] = True  # set before construction: dataclasses.replace was a visible cost per hit
        return Completion.from_dict(d)

    def put(self, key: str, backend_identity: str, completion: Completion) -> None:
        """Store a successful completion; errors are refused so that a re-run retries them."""
        if not completion.ok:
            return
        value = canonical_json(completion.with_(cached=False).to_dict())
        now = time.time()
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute(
                    "INSERT OR REPLACE INTO responses (key, backend, value, created) VALUES (?, ?, ?, ?)",
                    (key, backend_identity, value, now),
                )
                self._conn.execute("INSERT INTO call_log VALUES (?, ?, ?)", (key, backend_identity, now))
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def call_log(self) -> list[tuple[str, str]]:
        """(key, backend) of every finished backend call ever stored, in order: an audit of repeated work."""
        with self._lock:
            rows = self._conn.execute("SELECT key, backend FROM call_log ORDER BY rowid").fetchall()
        return [(str(k), str(b)) for k, b in rows]

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM responses WHERE key=?", (key,)).fetchone() is not None

    def stats(self) -> CacheStats:
        with self._lock:
            rows = self._conn.execute("SELECT backend, COUNT(*) FROM responses GROUP BY backend").fetchall()
        by_backend = {str(b): int(n) for b, n in rows}
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.exists())
        return CacheStats(str(self.path), sum(by_backend.values()), size, by_backend)

    def clear(self, backend_prefix: str | None = None) -> int:
        """Delete entries (all, or those whose backend identity starts with a prefix); returns how many."""
        with self._lock:
            if backend_prefix is None:
                self._conn.execute("DELETE FROM call_log")
                cur = self._conn.execute("DELETE FROM responses")
            else:
                self._conn.execute("DELETE FROM call_log WHERE backend LIKE ?", (backend_prefix + "%",))
                cur = self._conn.execute("DELETE FROM responses WHERE backend LIKE ?", (backend_prefix + "%",))
            return int(cur.rowcount)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
