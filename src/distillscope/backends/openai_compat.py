"""`openai:MODEL`: any OpenAI-compatible chat endpoint, through the official `openai` SDK.

The SDK's own retries are off (`max_retries=0`): the Model facade retries, honouring Retry-After.
The API key comes from the environment variable named by `BackendOptions.api_key_env`; it never enters
the identity, a log line or an error message.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from distillscope.backends.base import BackendOptions
from distillscope.backends.http_util import Endpoint, endpoint_and_key, public_url, scrub
from distillscope.errors import BackendError
from distillscope.types import Completion, GenerateRequest, Usage

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_KEY_ENV = "OPENAI_API_KEY"


class OpenAICompatBackend:
    """Chat completions against an OpenAI-compatible server. One client per event loop."""

    def __init__(self, model: str, *, base_url: str, api_key: str, timeout_s: float = 600.0) -> None:
        self.model = model
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._timeout = timeout_s
        self._clients: dict[int, Any] = {}

    @property
    def secrets(self) -> tuple[str, ...]:
        """The API key, for the facade to scrub from answers (never shown)."""
        return (self._api_key,) if self._api_key else ()

    @classmethod
    def from_spec(cls, name: str, options: BackendOptions) -> OpenAICompatBackend:
        """`openai:MODEL`; base_url from options, $OPENAI_BASE_URL or OpenAI's; key from the env var named."""
        base_url, key = endpoint_and_key(
            f"openai:{name}",
            options.base_url,
            options.api_key_env or DEFAULT_KEY_ENV,
            base_url_env="OPENAI_BASE_URL",
            default_base_url=DEFAULT_BASE_URL,
        )
        return cls(name, base_url=base_url, api_key=key, timeout_s=options.http_timeout_s)

    @property
    def identity(self) -> str:
        return f"openai:{self.model}@{public_url(self.base_url)}"

    def _endpoint(self) -> Endpoint:
        return Endpoint(self.identity, self.base_url, self.model, self._api_key, DEFAULT_KEY_ENV)

    def _client(self) -> Any:
        # An httpx connection pool belongs to the loop that opened it; asyncio.run twice needs two clients.
        loop = asyncio.get_running_loop()
        client = self._clients.get(id(loop))
        if client is None:
            import openai

            client = openai.AsyncOpenAI(
                api_key=self._api_key, base_url=self.base_url, max_retries=0, timeout=self._timeout
            )
            self._clients = {id(loop): client}  # drop clients of finished loops
        return client

    def client(self) -> Any:
        """The SDK client of the running loop (the batch executor sends its files and batches through it)."""
        return self._client()

    batch_provider = "openai"

    def batch_params(self, request: GenerateRequest) -> dict[str, Any]:
        """The body of one line of a Batch API input file: the same chat completion `generate` would ask for."""
        return self._kwargs(request)

    def batch_completion(self, body: Any) -> Completion:
        """A batch output line's `response.body` (a chat completion as JSON) read like an interactive reply."""
        from openai.types.chat import ChatCompletion

        return self._completion(ChatCompletion.model_validate(body))

    async def aclose(self) -> None:
        """Close the HTTP client of the running loop (call before the loop ends to avoid late-close warnings)."""
        client = self._clients.pop(id(asyncio.get_running_loop()), None)
        if client is not None:
            await client.close()

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

        try:
            resp = await self._client().chat.completions.create(**self._kwargs(request))
        except openai.APITimeoutError as exc:
            raise BackendError(f"{self.identity}: request timed out", retryable=True, kind="timeout") from exc
        except openai.APIConnectionError as exc:
            raise BackendError(
                f"cannot connect to {public_url(self.base_url)} ({scrub(str(exc), self._api_key)}); "
                "start the server or fix base_url / OPENAI_BASE_URL",
                retryable=True,
                kind="connection",
            ) from exc
        except openai.APIStatusError as exc:
            raise self._endpoint().status_error(exc) from exc
        except (openai.APIResponseValidationError, ValueError) as exc:  # ValueError: a body that is not JSON
            raise self._endpoint().bad_response(f"unreadable reply ({type(exc).__name__})") from exc
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
