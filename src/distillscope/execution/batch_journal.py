"""The batch journal, `run_dir/batches.jsonl`: what was submitted to a provider batch API, so that no batch is ever
submitted twice, even after a kill.

Lines (each appended and fsynced before the next step):
  intent     {chunk, sha, round, provider, identity, model, n, time, custom_ids}  BEFORE the create call
  created    {chunk, batch_id}                                                   the provider's batch id
  collected  {chunk, batch_id, ok, failed}                                       results handed out and cached
  rejected   {chunk, error}      the provider refused the create (HTTP 4xx): no batch exists
  lost       {chunk}             resume found no batch for an intent without `created`: none exists
A chunk's id is `sha256(sorted custom_ids)[:16]-round`: the same requests submitted again (their earlier batch
failed them) get the next round. The journal holds cache keys and public endpoints, never a secret.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distillscope.rundir import append_jsonl, read_jsonl


def chunk_sha(custom_ids: list[str]) -> str:
    """sha256 over the sorted custom ids of a chunk (its identity across processes and in OpenAI's metadata)."""
    return hashlib.sha256("\n".join(sorted(custom_ids)).encode()).hexdigest()


@dataclass(kw_only=True)
class Chunk:
    """One journaled batch: its requests, and how far it got."""

    chunk: str
    sha: str
    round: int
    provider: str
    identity: str
    model: str
    n: int
    time: float
    custom_ids: list[str]
    batch_id: str | None = None
    state: str = "intent"  # intent | created | collected | rejected | lost

    @property
    def in_flight(self) -> bool:
        """Created (or maybe created) and not yet collected: its requests must not be submitted again."""
        return self.state in ("intent", "created")

    def metadata(self) -> dict[str, str]:
        """What OpenAI's batch metadata carries, for resume to find a batch created before its journal line."""
        return {"distillscope_chunk": self.sha, "distillscope_round": str(self.round)}


@dataclass
class BatchJournal:
    """The journal file and the chunks it describes (read once, then kept in step with every append)."""

    path: Path
    chunks: dict[str, Chunk] = field(default_factory=dict)

    @classmethod
    def open(cls, path: Path) -> BatchJournal:
        journal = cls(path)
        for line in read_jsonl(path):
            journal._apply(line)
        return journal

    def _apply(self, line: dict[str, Any]) -> None:
        event = line["event"]
        if event == "intent":
            fields = {k: v for k, v in line.items() if k != "event"}
            self.chunks[line["chunk"]] = Chunk(**fields)
            return
        chunk = self.chunks[line["chunk"]]
        chunk.state = event
        chunk.batch_id = line.get("batch_id") or chunk.batch_id

    def _append(self, line: dict[str, Any]) -> None:
        append_jsonl(self.path, [line])  # flushed and fsynced before the caller goes on
        self._apply(line)

    def intent(self, *, provider: str, identity: str, model: str, custom_ids: list[str]) -> Chunk:
        """Journal a chunk about to be created; call BEFORE the provider's create."""
        sha = chunk_sha(custom_ids)
        rnd = sum(c.sha == sha for c in self.chunks.values())
        name = f"{sha[:16]}-{rnd}"
        line = {"event": "intent", "chunk": name, "sha": sha, "round": rnd, "provider": provider, "identity": identity}
        line |= {"model": model, "n": len(custom_ids), "time": time.time(), "custom_ids": sorted(custom_ids)}
        self._append(line)
        return self.chunks[name]

    def created(self, chunk: Chunk, batch_id: str, *, recovered: bool = False) -> None:
        self._append({"event": "created", "chunk": chunk.chunk, "batch_id": batch_id, "recovered": recovered})

    def collected(self, chunk: Chunk, *, ok: int, failed: int) -> None:
        line = {"event": "collected", "chunk": chunk.chunk, "batch_id": chunk.batch_id, "ok": ok, "failed": failed}
        self._append({**line, "time": time.time()})

    def rejected(self, chunk: Chunk, error: str) -> None:
        self._append({"event": "rejected", "chunk": chunk.chunk, "error": error})

    def lost(self, chunk: Chunk) -> None:
        self._append({"event": "lost", "chunk": chunk.chunk})

    def known_batch_ids(self) -> set[str]:
        return {c.batch_id for c in self.chunks.values() if c.batch_id}

    def in_flight(self) -> list[Chunk]:
        return [c for c in self.chunks.values() if c.in_flight]
