"""`openai:MODEL`: any OpenAI-compatible chat endpoint, through the official `openai` SDK.

The SDK's own retries are off (`max_retries=0`): the Model facade retries, honouring Retry-After.
The API key comes from the environment variable named by `BackendOptions.api_key_env`; it never enters
the identity, a log line or an error message.
"""

from __future__ import annotations

import logging
from typing import Any

from distillscope.backends.http_util import ApiBackend
from distillscope.errors import BackendError
from distillscope.types import Completion, GenerateRequest, Usage

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_KEY_ENV = "OPENAI_API_KEY"


class OpenAICompatBackend(ApiBackend):
    """Chat completions against an OpenAI-compatible server. One client per event loop."""

    SCHEME = "openai"
    BASE_URL_ENV = "OPENAI_BASE_URL"
    DEFAULT_BASE_URL = DEFAULT_BASE_URL
    DEFAULT_KEY_ENV = DEFAULT_KEY_ENV

    def _new_client(self) -> Any:
        import openai

        return openai.AsyncOpenAI(api_key=self._api_key, base_url=self.base_url, max_retries=0, timeout=self._timeout)

    batch_provider = "openai"

    def batch_params(self, request: GenerateRequest) -> dict[str, Any]:
        """The body of one line of a Batch API input file: the same chat completion `generate` would ask for."""
        return self._kwargs(request)

    def batch_completion(self, body: Any) -> Completion:
        """A batch output line's `response.body` (a chat completion as JSON) read like an interactive reply."""
        from openai.types.chat import ChatCompletion

        return self._completion(ChatCompletion.model_validate(body))

    def _kwargs(self, request: GenerateRequest) -> dict[str, Any]:
        p = request.params
        kw: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "temperature": p.temperature,
        }
        if p.max_tokens is not None:
            kw["max_tokens"] = p.max_tokens
        if p.top_p is not None:
            kw["top_p"] = p.top_p
        if p.seed is not None:
            kw["seed"] = p.seed + request.sample_index
        if p.stop:
            kw["stop"] = list(p.stop)
        if p.logprobs:
            kw["logprobs"] = True
        return kw

    async def generate(self, request: GenerateRequest) -> Completion:
        """One chat completion; SDK exceptions become BackendError with retryability and Retry-After."""
        import openai

        resp = await self._send(openai, self.client().chat.completions.create(**self._kwargs(request)))
        try:
            return self._completion(resp)
        except (AttributeError, TypeError, KeyError, IndexError) as exc:
            # A 200 reply that is not a chat completion: an HTML page (a proxy, or base_url pointing at a web
            # UI) or JSON without choices. Retried like a 5xx; after the retries a failed call, never an answer.
            raise self._endpoint().bad_response(f"reply is not a chat completion ({type(exc).__name__})") from exc

    def _completion(self, resp: Any) -> Completion:
        if not resp.choices:
            raise BackendError(f"{self.identity}: response has no choices", retryable=True, kind="empty")
        choice = resp.choices[0]
        msg = choice.message
        extra = msg.model_extra or {}
        reasoning = extra.get("reasoning_content") or extra.get("reasoning") or None
        text = msg.content if msg.content is not None else (getattr(msg, "refusal", None) or "")
        logprobs = None
        if choice.logprobs is not None and choice.logprobs.content is not None:
            logprobs = [t.model_dump() for t in choice.logprobs.content]
        usage = resp.usage
        return Completion(
            text=text,
            reasoning=reasoning if isinstance(reasoning, str) else None,
            usage=Usage(usage.prompt_tokens or 0, usage.completion_tokens or 0) if usage else Usage(),
            finish_reason=choice.finish_reason,
            model=resp.model,
            system_fingerprint=resp.system_fingerprint,
            logprobs=logprobs,
        )
