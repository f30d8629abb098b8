"""`anthropic:MODEL`: Anthropic's Messages API through the official `anthropic` SDK (extra [anthropic]).

As for `openai:`, the SDK's own retries are off (the Model facade retries, honouring Retry-After), the key comes
from the environment variable named by `api_key_env` (default ANTHROPIC_API_KEY) and never enters the identity,
a log line or an error message. System messages become the Messages API's `system` parameter.
"""

from __future__ import annotations

from typing import Any

from distillscope.backends.base import BackendOptions
from distillscope.backends.http_util import ApiBackend
from distillscope.errors import MissingDependencyError
from distillscope.types import Completion, GenerateRequest, Usage

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_KEY_ENV = "ANTHROPIC_API_KEY"
DEFAULT_MAX_TOKENS = 4096  # the Messages API requires max_tokens; used when the request sets none
_SAMPLING = ("temperature", "top_p")


def _sdk() -> Any:
    try:
        import anthropic
    except ImportError as exc:
        raise MissingDependencyError("anthropic", "anthropic") from exc
    return anthropic


class AnthropicBackend(ApiBackend):
    """Messages against Anthropic's API (or a server speaking it). One client per event loop."""

    SCHEME = "anthropic"
    BASE_URL_ENV = "ANTHROPIC_BASE_URL"
    DEFAULT_BASE_URL = DEFAULT_BASE_URL
    DEFAULT_KEY_ENV = DEFAULT_KEY_ENV
    batch_provider = "anthropic"

    @classmethod
    def from_spec(cls, name: str, options: BackendOptions) -> AnthropicBackend:
        """`anthropic:MODEL`; base_url from options, $ANTHROPIC_BASE_URL or Anthropic's; key from the env var named."""
        _sdk()  # a missing extra is named before the key is looked for
        return super().from_spec(name, options)

    def _new_client(self) -> Any:
        return _sdk().AsyncAnthropic(
            api_key=self._api_key, base_url=self.base_url, max_retries=0, timeout=self._timeout
        )

    def batch_params(self, request: GenerateRequest) -> dict[str, Any]:
        """The Messages API parameters of a request (interactive call and Message Batches alike)."""
        p = request.params
        system = "\n\n".join(m.content for m in request.messages if m.role == "system")
        kw: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages if m.role != "system"],
            "max_tokens": p.max_tokens if p.max_tokens is not None else DEFAULT_MAX_TOKENS,
            "temperature": p.temperature,
        }
        if system:
            kw["system"] = system
        if p.top_p is not None:
            kw["top_p"] = p.top_p
        if p.stop:
            kw["stop_sequences"] = list(p.stop)
        return kw

    async def generate(self, request: GenerateRequest) -> Completion:
        """One message; SDK exceptions become BackendError with retryability and Retry-After."""
        sdk = _sdk()
        params = self.batch_params(request)
        # SDK 2.x no longer declares the sampling parameters; the API reads them from the body, as in a batch.
        sampling = {k: params.pop(k) for k in _SAMPLING if k in params}
        resp = await self._send(sdk, self.client().messages.create(**params, extra_body=sampling))
        try:
            return self.batch_completion(resp)
        except (AttributeError, TypeError, KeyError, IndexError) as exc:
            raise self._endpoint().bad_response(f"reply is not a message ({type(exc).__name__})") from exc

    def batch_completion(self, message: Any) -> Completion:
        """A `Message` (an interactive reply, or a succeeded batch result's message) as a Completion."""
        if not hasattr(message, "content"):
            message = _sdk().types.Message.model_validate(message)
        text = "".join(b.text for b in message.content if b.type == "text")
        thinking = "".join(getattr(b, "thinking", "") for b in message.content if b.type == "thinking")
        usage = message.usage
        return Completion(
            text=text,
            reasoning=thinking or None,
            usage=Usage(usage.input_tokens or 0, usage.output_tokens or 0) if usage else Usage(),
            finish_reason=message.stop_reason,
            model=message.model,
        )
