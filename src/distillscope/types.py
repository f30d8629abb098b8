"""Plain value types that flow through the model layer.

Frozen dataclasses rather than pydantic models: they sit on the hot path (cache hits are measured in
thousands per second) and never come from untrusted input without a check at the edge.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

Role = Literal["system", "user", "assistant"]
Status = Literal["ok", "error"]


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message."""

    role: Role
    content: str

    @staticmethod
    def user(content: str) -> Message:
        return Message("user", content)

    @staticmethod
    def system(content: str) -> Message:
        return Message("system", content)


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerateParams:
    """Generation parameters; everything here changes the output and so enters the cache key."""

    temperature: float = 0.0
    max_tokens: int | None = 512
    top_p: float | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()
    logprobs: bool = False

    def to_dict(self) -> dict[str, Any]:
        # Not dataclasses.asdict: its deep copy dominated the cache-hit path (every field here is immutable).
        d = {name: getattr(self, name) for name in _PARAM_FIELDS}
        d["stop"] = list(self.stop)
        return d


_PARAM_FIELDS = tuple(GenerateParams.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class GenerateRequest:
    """A request: messages, parameters and a sample index (distinct samples of the same prompt)."""

    messages: tuple[Message, ...]
    params: GenerateParams = field(default_factory=GenerateParams)
    sample_index: int = 0

    @staticmethod
    def chat(
        prompt: str,
        *,
        system: str | None = None,
        params: GenerateParams | None = None,
        sample_index: int = 0,
    ) -> GenerateRequest:
        """Build a single-turn request from a prompt and an optional system prompt."""
        msgs = ((Message.system(system),) if system else ()) + (Message.user(prompt),)
        return GenerateRequest(msgs, params or GenerateParams(), sample_index)

    @property
    def prompt(self) -> str:
        """The last user message (what replay backends match on)."""
        for m in reversed(self.messages):
            if m.role == "user":
                return m.content
        return ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "messages": [{"role": m.role, "content": m.content} for m in self.messages],
            "params": self.params.to_dict(),
            "sample_index": self.sample_index,
        }


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage of one call."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True, kw_only=True)
class Completion:
    """The outcome of one call: an answer (status "ok") or a typed error (status "error").

    `text` is the answer with any reasoning trace removed; `reasoning` holds that trace.
    """

    text: str
    status: Status = "ok"
    reasoning: str | None = None
    usage: Usage = field(default_factory=Usage)
    finish_reason: str | None = None
    model: str | None = None
    system_fingerprint: str | None = None
    logprobs: list[dict[str, Any]] | None = None
    error: str | None = None
    error_kind: str | None = None
    latency_s: float = 0.0
    cost_usd: float = 0.0
    cached: bool = False
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @staticmethod
    def failure(message: str, kind: str = "backend", attempts: int = 1) -> Completion:
        return Completion(text="", status="error", error=message, error_kind=kind, attempts=attempts)

    def with_(self, **changes: Any) -> Completion:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["usage"] = {"prompt_tokens": self.usage.prompt_tokens, "completion_tokens": self.usage.completion_tokens}
        return d

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Completion:
        u = d.get("usage") or {}
        known = {k: v for k, v in d.items() if k in _COMPLETION_FIELDS and k != "usage"}
        return Completion(**known, usage=Usage(int(u.get("prompt_tokens", 0)), int(u.get("completion_tokens", 0))))


_COMPLETION_FIELDS = frozenset(Completion.__dataclass_fields__)
