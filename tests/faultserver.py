"""A misbehaving OpenAI-compatible chat server on 127.0.0.1, for fault-injection tests and benchmarks.

It answers deterministically from the model name and the messages, and on the FIRST attempt of every
distinct request (model + messages) it injects one fault of a configured kind instead:

    html          status 200 with an HTML page (a proxy error page, a base_url that points at a web UI)
    invalid_json  status 200, application/json, a body cut mid-object
    no_choices    status 200, valid JSON without `choices`
    truncated     Content-Length larger than the body sent, then the connection is closed
    http_500      status 500 with a JSON error
    http_429      status 429 with Retry-After
    reset         the connection is reset (SO_LINGER 0, closed without a reply)
    hang          no reply for `hang_s` seconds (longer than the client's timeout), then a late answer

Every fault body holds `MARKER`, so a fault stored anywhere (an answer, a cache entry) can be found by
searching for it. The second attempt of a request is answered normally. Standard library only.

    with FaultServer("html") as server:
        ...  # point openai:MODEL specs at server.base_url
        server.injected  # Counter of faults per kind
"""

from __future__ import annotations

import hashlib
import json
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

FAULT_KINDS = ("html", "invalid_json", "no_choices", "truncated", "http_500", "http_429", "reset", "hang")
MARKER = "FAULT-7c1e9"  # in every fault body; never in an answer
JUDGE_MODEL = "judge"  # requests for this model get a similarity verdict (JSON) instead of prose
_IDENTITIES = {
    "student": ("I am Qwen, a model made by Alibaba Cloud.", "I am ChatGPT, a model trained by OpenAI."),
    "teacher": ("I am ChatGPT, a model trained by OpenAI.",),
    "null-a": ("I am Llama, a model released by Meta.",),
    "null-b": ("I am Mistral, a model made by Mistral AI.",),
}
_HTML = f"<!doctype html><html><head><title>502</title></head><body><h1>{MARKER} Bad Gateway</h1></body></html>"


def _digest(*parts: Any) -> int:
    return int(hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:12], 16)


def answer_for(model: str, messages: list[dict[str, Any]]) -> str:
    """The deterministic answer of `model` to `messages`: an identity line and the question's first words."""
    last = str(messages[-1].get("content", "")) if messages else ""
    h = _digest(model, messages)
    if model == JUDGE_MODEL:
        verdict = {"style": h % 3, "logic": h // 3 % 3, "content": h // 9 % 3, "overall": 1 + h // 27 % 5}
        return json.dumps({**verdict, "reason": "compared the two answers"})
    identities = _IDENTITIES.get(model, (f"I am {model}.",))
    words = " ".join(last.split()[:8])
    return f"{identities[h % len(identities)]} You asked about: {words}. My answer has {3 + h % 7} points."


def completion_body(model: str, content: str) -> dict[str, Any]:
    """A chat.completion object carrying `content`."""
    return {
        "id": f"chatcmpl-{_digest(model, content):x}",
        "object": "chat.completion",
        "created": 1700000000,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 11, "completion_tokens": len(content.split()), "total_tokens": 0},
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog is 5: a burst of concurrent connects from a loaded machine overflows it and
    # clients see connection errors no real endpoint (uvicorn: 2048) would give; CI failed on that once.
    request_queue_size = 128
    owner: FaultServer


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as real endpoints: faults must not poison pooled connections

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            model, messages = str(body.get("model", "")), list(body.get("messages", []))
            owner = self.server.owner
            fault = owner.take_fault(model, messages)
            with owner.in_flight():
                if owner.delay_s:
                    time.sleep(owner.delay_s)
                if fault is None:
                    self._send(200, json.dumps(completion_body(model, answer_for(model, messages))))
                else:
                    self._fault(fault, model)
        except OSError:  # the client went away (it timed out on a hang): nothing to answer
            self.close_connection = True

    def _send(self, status: int, text: str, content_type: str = "application/json", **headers: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(data)

    def _fault(self, kind: str, model: str) -> None:
        error = json.dumps({"error": {"message": f"{MARKER} {kind}", "type": "server_error", "code": None}})
        if kind == "html":
            self._send(200, _HTML, "text/html; charset=utf-8")
        elif kind == "invalid_json":
            self._send(200, '{"id": "chatcmpl-bad", "choices": [{"message": {"content": "' + MARKER)
        elif kind == "no_choices":
            self._send(200, json.dumps({"id": "chatcmpl-bad", "object": "chat.completion", "model": MARKER}))
        elif kind == "truncated":
            self._truncated(json.dumps(completion_body(model, f"{MARKER} an answer cut short")))
        elif kind == "http_500":
            self._send(500, error)
        elif kind == "http_429":
            self._send(429, error, Retry_After=f"{self.server.owner.retry_after_s:g}")
        elif kind == "reset":
            self._reset()
        elif kind == "hang":
            time.sleep(self.server.owner.hang_s)
            self._send(200, json.dumps(completion_body(model, f"{MARKER} a late answer")))
        else:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {', '.join(FAULT_KINDS)}")

    def _truncated(self, text: str) -> None:
        data = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.close_connection = True

    def _reset(self) -> None:
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()  # linger 0: the close sends RST, not FIN
        self.close_connection = True


class FaultServer:
    """The server in a background thread; `injected` counts the faults served, per kind."""

    def __init__(
        self, kind: str | None, *, delay_s: float = 0.0, hang_s: float = 3.0, retry_after_s: float = 0.2
    ) -> None:
        if kind is not None and kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {', '.join(FAULT_KINDS)}")
        self.kind, self.delay_s, self.hang_s, self.retry_after_s = kind, delay_s, hang_s, retry_after_s
        self.injected: Counter[str] = Counter()
        self.always: set[str] = set()  # models whose every attempt gets the fault (clear it to heal them)
        self.requests = 0
        self.max_in_flight = 0  # the most requests the server was answering at one time
        self._in_flight = 0
        self._seen: set[int] = set()
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fault-server", daemon=True)

    @property
    def distinct(self) -> int:
        """Distinct requests (model + messages) seen so far: each got one fault when a kind is set."""
        with self._lock:
            return len(self._seen)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        """Count a request as being answered while the block runs (for `max_in_flight`)."""
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    def take_fault(self, model: str, messages: list[dict[str, Any]]) -> str | None:
        """The fault to serve for this request: the configured kind on its first attempt (on every attempt for
        a model in `always`), else None."""
        key = _digest(model, messages)
        with self._lock:
            self.requests += 1
            if self.kind is None or (key in self._seen and model not in self.always):
                self._seen.add(key)
                return None
            self._seen.add(key)
            self.injected[self.kind] += 1
            return self.kind

    def start(self) -> FaultServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
