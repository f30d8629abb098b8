"""Shared integration fixtures: a real `distillscope serve` subprocess and a scriptable fake OpenAI server.

- `served_smollm` (session): base URL (ending in /v1) of `distillscope serve embedded:smollm2-135m`
  running as a subprocess on a free 127.0.0.1 port.
- `fake_openai` (function): a `FakeOpenAIServer` on 127.0.0.1. Queue failures with
  `.fail_with(429, {"Retry-After": "0.1"})`; after them it answers with `.answer(request_body)` (set a fixed
  reply with `.answer_with(text, reasoning=...)`). It records request bodies in `.requests` and
  Authorization headers in `.auth_headers`. Use the fixtures; test modules need not import this file.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest
from aiohttp import web

SRC = Path(__file__).resolve().parents[2] / "src"
SMOLLM_SPEC = "embedded:smollm2-135m"


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_command(spec: str, port: int) -> list[str]:
    """The command that serves `spec`: the CLI's `serve` command when it exists, else `python -m distillscope.serve`."""
    cli = SRC / "distillscope" / "cli" / "main.py"
    use_cli = cli.exists() and "serve" in cli.read_text() and os.environ.get("DISTILLSCOPE_TEST_SERVE") != "module"
    if use_cli:
        return [sys.executable, "-m", "distillscope.cli.main", "serve", spec, "--port", str(port)]
    return [sys.executable, "-m", "distillscope.serve", spec, "--port", str(port)]


def wait_healthy(proc: subprocess.Popen[bytes], port: int, stderr: IO[bytes], timeout_s: float = 180.0) -> None:
    """Poll /health until the server answers 200; fail with its stderr when it dies or never gets ready."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            stderr.seek(0)
            pytest.fail(f"serve exited with {proc.returncode}: {stderr.read().decode(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    pytest.fail(f"serve did not become healthy on port {port} within {timeout_s}s")


@pytest.fixture(scope="session")
def served_smollm() -> Iterator[str]:
    """Base URL of a real `distillscope serve embedded:smollm2-135m` subprocess."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    # stderr goes to a file, not a pipe: a chatty server can never block on a full pipe
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(serve_command(SMOLLM_SPEC, port), env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            wait_healthy(proc, port, stderr)
            yield f"http://127.0.0.1:{port}/v1"
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@dataclass
class Reply:
    """A scripted reply of the fake server: an HTTP status, headers and an optional JSON or raw body."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    raw: str | None = None  # sent as is (an HTML page, broken JSON) with ``content_type``
    content_type: str = "application/json"


def chat_completion(content: str, *, model: str = "fake-model", reasoning: str | None = None) -> dict[str, Any]:
    """A minimal OpenAI chat.completion body."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if reasoning is not None:
        message["reasoning_content"] = reasoning
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1700000000,
        "model": model,
        "system_fingerprint": "fp_fake",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
    }


class FakeOpenAIServer:
    """An aiohttp server speaking just enough of the OpenAI chat API; scripted failures come first."""

    def __init__(self) -> None:
        self.script: list[Reply] = []
        self.answer: Callable[[dict[str, Any]], dict[str, Any]] = lambda req: chat_completion(
            "fake answer to " + str(req["messages"][-1]["content"])
        )
        self.requests: list[dict[str, Any]] = []
        self.auth_headers: list[str] = []
        self.port = 0
        self._runner: web.AppRunner | None = None

    def fail_with(self, status: int, headers: dict[str, str] | None = None, body: dict[str, Any] | None = None) -> None:
        """Queue one failing reply (served before any answer)."""
        self.script.append(Reply(status, headers or {}, body))

    def reply_raw(self, text: str, *, status: int = 200, content_type: str = "application/json") -> None:
        """Queue one reply whose body is ``text`` verbatim (malformed JSON, an HTML page, ...)."""
        self.script.append(Reply(status, raw=text, content_type=content_type))

    def answer_with(self, content: str, *, reasoning: str | None = None) -> None:
        """Answer every later request with `content` (and a `reasoning_content` field when given)."""
        self.answer = lambda req: chat_completion(content, reasoning=reasoning)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def _chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        self.auth_headers.append(request.headers.get("Authorization", ""))
        if self.script:
            reply = self.script.pop(0)
            if reply.raw is not None:
                return web.Response(text=reply.raw, status=reply.status, content_type=reply.content_type)
            payload = reply.body or {"error": {"message": f"scripted {reply.status}", "type": "fake", "code": None}}
            return web.json_response(payload, status=reply.status, headers=reply.headers)
        return web.json_response(self.answer(body))

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAIServer]:
    """A running FakeOpenAIServer on 127.0.0.1 (stopped after the test)."""
    server = FakeOpenAIServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
