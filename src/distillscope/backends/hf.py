"""`hf:PATH`: a local transformers checkpoint (extra `[hf]`), run in a worker thread.

Local files only (`local_files_only=True`): nothing is downloaded. transformers and torch are imported
lazily; when absent, building the backend raises MissingDependencyError naming the extra.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import threading
from pathlib import Path
from typing import Any

from distillscope.backends.base import BackendOptions
from distillscope.backends.local_files import directory_fingerprint
from distillscope.errors import BackendError, ConfigError, MissingDependencyError
from distillscope.types import Completion, GenerateRequest, Usage

log = logging.getLogger(__name__)

_LOADED: dict[str, tuple[Any, Any, threading.Lock]] = {}
_LOAD_LOCK = threading.Lock()


def _require(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(module, "hf") from exc


def parse_hf_spec(name: str) -> Path:
    """The checkpoint directory of `hf:PATH`; it must exist locally (no hub downloads)."""
    path = Path(name).expanduser()
    if not path.is_dir():
        raise ConfigError(
            f"hf:{name} is not a local checkpoint directory; download it first and pass its path (hf:/path/to/model)"
        )
    return path.resolve()


def _load(path: Path) -> tuple[Any, Any, threading.Lock]:
    with _LOAD_LOCK:
        key = str(path)
        if key not in _LOADED:
            transformers = _require("transformers")
            log.info("loading transformers checkpoint %s", path)
            tok = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
            model = transformers.AutoModelForCausalLM.from_pretrained(path, local_files_only=True)
            model.eval()
            _LOADED[key] = (tok, model, threading.Lock())
        return _LOADED[key]


class HFBackend:
    """Generation with a local transformers model; greedy when temperature is 0. Calls are serialised."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fingerprint = directory_fingerprint(path)

    @classmethod
    def from_spec(cls, name: str, options: BackendOptions) -> HFBackend:
        """`hf:PATH` with PATH a local directory; needs transformers and torch (`pip install 'distillscope[hf]'`)."""
        path = parse_hf_spec(name)
        _require("transformers")
        _require("torch")
        return cls(path)

    @property
    def identity(self) -> str:
        return f"hf:{self.path.name}@{self._fingerprint}"

    async def generate(self, request: GenerateRequest) -> Completion:
        """Generate in a worker thread."""
        return await asyncio.to_thread(self._generate_sync, request)

    def _generate_sync(self, request: GenerateRequest) -> Completion:
        torch = _require("torch")
        tok, model, lock = _load(self.path)
        p = request.params
        messages = [{"role": m.role, "content": m.content} for m in request.messages]
        try:
            ids = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt")
        except ValueError as exc:
            raise BackendError(f"{self.identity}: no chat template ({exc})", kind="invalid_request") from exc
        input_ids = ids["input_ids"] if hasattr(ids, "keys") else ids
        kwargs: dict[str, Any] = {"max_new_tokens": p.max_tokens or 512, "do_sample": p.temperature > 0}
        if p.temperature > 0:
            kwargs.update(temperature=p.temperature, top_p=p.top_p or 1.0)
        with lock, torch.no_grad():
            torch.manual_seed((p.seed if p.seed is not None else 0) + request.sample_index)
            out = model.generate(input_ids, pad_token_id=tok.pad_token_id or tok.eos_token_id, **kwargs)
        new = out[0][input_ids.shape[-1] :]
        text = tok.decode(new, skip_special_tokens=True)
        finish = "length" if len(new) >= kwargs["max_new_tokens"] else "stop"
        for s in p.stop:
            if s in text:
                text, finish = text[: text.index(s)], "stop"
        usage = Usage(int(input_ids.shape[-1]), len(new))
        return Completion(text=text, usage=usage, finish_reason=finish, model=f"hf:{self.path.name}")
