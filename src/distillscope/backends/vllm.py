"""`vllm:MODEL@REVISION`: vLLM's offline engine (extra `[vllm]`), meant to run in a Ray actor on a GPU worker.

The identity is the model plus its revision (`vllm:Qwen/Qwen2.5-7B-Instruct@a09a354`), never a URL or a
temporary path, so a resumed run or a run on another cluster hits the same cache entries. A hub model must
name its revision (a commit hash, or a tag you trust not to move); a local directory is fingerprinted like
`hf:` checkpoints (file names and sizes, and config.json).

Requests that arrive within a few milliseconds of each other are answered by one `LLM.chat` call (vLLM's
continuous batching does the rest); the engine runs in a worker thread, one batch at a time. vllm is imported
only when the backend is built: the project and its tests never need it.

To use vLLM behind its OpenAI-compatible server (`vllm serve MODEL`) or a Ray Serve LLM app instead, point an
`openai:` model at it (`spec: openai:MODEL`, `base_url: http://HOST:8000/v1`); the identity is then the URL and
the model name, so keep the URL stable across resumes.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distillscope.backends.base import BackendOptions
from distillscope.backends.local_files import directory_fingerprint
from distillscope.errors import BackendError, ConfigError, MissingDependencyError
from distillscope.types import Completion, GenerateRequest, Usage

log = logging.getLogger(__name__)

BATCH_WINDOW_S = 0.005  # how long the first request of a batch waits for others
MAX_BATCH = 256


def _require_vllm() -> Any:
    try:
        return importlib.import_module("vllm")
    except ImportError as exc:
        raise MissingDependencyError("vllm", "vllm") from exc


@dataclass(frozen=True)
class VllmModel:
    """What `vllm:NAME` names: the model to load, its pinned revision (hub) and the identity of its weights."""

    model: str
    revision: str | None
    weights: str  # the revision, or the fingerprint of a local directory

    @property
    def identity(self) -> str:
        return f"vllm:{self.model}@{self.weights}"


def parse_vllm_spec(name: str) -> VllmModel:
    """`ORG/MODEL@REVISION` or a local directory (`/path/to/model`); a hub model without a revision is refused."""
    model, _, revision = name.partition("@")
    path = Path(model).expanduser()
    if path.is_dir():
        resolved = path.resolve()
        return VllmModel(str(resolved), None, revision or directory_fingerprint(resolved))
    if not revision:
        raise ConfigError(
            f"vllm:{name} names no revision; pin one (vllm:{model}@COMMIT) so cached answers stay tied to the "
            "weights, or give a local model directory"
        )
    return VllmModel(model, revision, revision)


class VllmBackend:
    """Generation with vLLM's offline `LLM` engine; greedy when temperature is 0, seeded per sample otherwise."""

    def __init__(self, target: VllmModel, options: BackendOptions) -> None:
        self.target = target
        self.options = options
        self._llm: Any = None
        self._queue: list[tuple[GenerateRequest, asyncio.Future[Completion]]] = []
        self._flush: asyncio.Task[None] | None = None

    @classmethod
    def from_spec(cls, name: str, options: BackendOptions) -> VllmBackend:
        """`vllm:ORG/MODEL@REVISION` or `vllm:/local/dir`; needs `pip install 'distillscope[vllm]'` (a GPU)."""
        target = parse_vllm_spec(name)
        _require_vllm()
        return cls(target, options)

    @property
    def identity(self) -> str:
        return self.target.identity

    async def generate(self, request: GenerateRequest) -> Completion:
        """Queue the request; the first one of a batch waits `BATCH_WINDOW_S` for company, then all run at once."""
        future: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        self._queue.append((request, future))
        if self._flush is None or self._flush.done():
            self._flush = asyncio.create_task(self._run_batches())
        return await future

    async def _run_batches(self) -> None:
        await asyncio.sleep(BATCH_WINDOW_S)
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:  # one flush task at a time, so engine calls never overlap
                results = await asyncio.to_thread(self._generate_sync, [r for r, _ in batch])
            except Exception as exc:  # an engine failure fails this batch's calls, retryably
                err = BackendError(f"{self.identity}: vLLM engine failed: {exc}", retryable=True, kind="engine")
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(err)
                continue
            for (_, fut), completion in zip(batch, results, strict=True):
                if not fut.done():
                    fut.set_result(completion)

    def _engine(self) -> Any:
        if self._llm is None:
            vllm = _require_vllm()
            o = self.options
            log.info("loading %s with vLLM", self.identity)
            kwargs: dict[str, Any] = {"model": self.target.model, "tensor_parallel_size": o.tensor_parallel_size}
            if self.target.revision:
                kwargs["revision"] = self.target.revision
            if o.gpu_memory_utilization is not None:
                kwargs["gpu_memory_utilization"] = o.gpu_memory_utilization
            if o.max_model_len is not None:
                kwargs["max_model_len"] = o.max_model_len
            self._llm = vllm.LLM(**kwargs)
        return self._llm

    def _generate_sync(self, requests: list[GenerateRequest]) -> list[Completion]:
        vllm = _require_vllm()
        llm = self._engine()
        conversations = [[{"role": m.role, "content": m.content} for m in r.messages] for r in requests]
        params = [vllm.SamplingParams(**sampling_kwargs(r)) for r in requests]
        outputs = llm.chat(conversations, sampling_params=params, use_tqdm=False)
        return [self._completion(out) for out in outputs]

    def _completion(self, out: Any) -> Completion:
        best = out.outputs[0]
        finish = "length" if best.finish_reason == "length" else "stop"
        usage = Usage(len(out.prompt_token_ids or ()), len(best.token_ids or ()))
        return Completion(text=best.text, usage=usage, finish_reason=finish, model=self.identity)


def sampling_kwargs(request: GenerateRequest) -> dict[str, Any]:
    """vLLM `SamplingParams` arguments for a request: greedy at temperature 0, else seeded by seed + sample."""
    p = request.params
    kwargs: dict[str, Any] = {"temperature": p.temperature, "max_tokens": p.max_tokens or 512, "n": 1}
    if p.top_p is not None:
        kwargs["top_p"] = p.top_p
    if p.stop:
        kwargs["stop"] = list(p.stop)
    if p.temperature > 0:
        kwargs["seed"] = (p.seed if p.seed is not None else 0) + request.sample_index
    return kwargs
