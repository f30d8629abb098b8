"""A backend with canned answers, for unit tests of fuzzer and judge logic. Records every call."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from distillscope.backends.base import BackendOptions
from distillscope.errors import BackendError
from distillscope.types import Completion, GenerateRequest, Usage

Answer = str | Completion | BackendError
Script = Sequence[Answer] | Callable[[GenerateRequest], Answer]


class ScriptedBackend:
    """Answers from a list (in call order, the last one repeating) or from a function of the request.

    A `BackendError` in the script is raised, so retry logic can be tested without a network.
    """

    def __init__(self, script: Script = ("ok",), *, name: str = "scripted", delay_s: float = 0.0) -> None:
        self._script = script
        self._name = name
        self._delay = delay_s
        self.calls: list[GenerateRequest] = []

    @classmethod
    def from_spec(cls, name: str, options: BackendOptions) -> ScriptedBackend:
        """`scripted:` echoes the prompt; `scripted:TEXT` always answers TEXT."""
        return cls((lambda r: r.prompt) if not name else (name,), name=f"scripted:{name}")

    @property
    def identity(self) -> str:
        return self._name

    async def generate(self, request: GenerateRequest) -> Completion:
        index = len(self.calls)
        self.calls.append(request)
        if self._delay:
            await asyncio.sleep(self._delay)
        if callable(self._script):
            answer = self._script(request)
        else:
            answer = self._script[min(index, len(self._script) - 1)]
        if isinstance(answer, BackendError):
            raise answer
        if isinstance(answer, Completion):
            return answer
        return Completion(text=answer, model=self._name, usage=Usage(len(request.prompt.split()), len(answer.split())))
