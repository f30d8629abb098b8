"""A local stub of OpenAI's and Anthropic's APIs, interactive and batch, on 127.0.0.1 (standard library only).

OpenAI:    POST /v1/chat/completions, POST /v1/files (multipart), GET /v1/files/{id}/content,
           POST /v1/batches, GET /v1/batches/{id}, GET /v1/batches (list, newest first, `after` cursor)
Anthropic: POST /v1/messages, POST /v1/messages/batches, GET /v1/messages/batches/{id},
           GET /v1/messages/batches (list, newest first, `after_id` cursor), GET /v1/messages/batches/{id}/results

Answers are deterministic (faultserver.answer_for of the model and the messages), so a batch and an interactive
call of the same request answer alike. A batch ends at its `ends_after_polls`-th status poll; its results are
fixed when it is created. `fail` (custom_id, body -> bool) turns chosen requests of new batches into errored
results; `on_create` (provider) runs after a batch is recorded and before the reply (a test kills its client
there); `refuse_create` (provider -> HTTP status) refuses creates and creates nothing; ids in `forgotten`
get 404. `created` lists every
batch created, `interactive` counts interactive calls per model.

    with BatchStub() as stub:
        ...  # openai: base_url stub.openai_url, anthropic: base_url stub.anthropic_url
"""

from __future__ import annotations

import email.parser
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from faultserver import answer_for, completion_body


@dataclass
class CreatedBatch:
    """A batch the stub created: its provider, id, and the custom ids it holds (sorted)."""

    provider: str
    id: str
    custom_ids: tuple[str, ...]
    metadata: dict[str, str]
    created_at: float
    polls: int = 0
    results: list[dict[str, Any]] = field(default_factory=list)


def anthropic_message(params: dict[str, Any]) -> dict[str, Any]:
    """The Messages API reply of the stub to `params` (the system prompt counts as the first message)."""
    model = str(params.get("model", ""))
    system = params.get("system")
    messages = ([{"role": "system", "content": system}] if system else []) + list(params.get("messages", []))
    text = answer_for(model, messages)
    return {
        "id": f"msg_{abs(hash(text)) % 10**12}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 11, "output_tokens": len(text.split())},
    }


class BatchStub:
    """The server; use as a context manager."""

    def __init__(self, ends_after_polls: int = 1) -> None:
        self.ends_after_polls = ends_after_polls
        self.fail: Callable[[str, dict[str, Any]], bool] | None = None
        self.on_create: Callable[[str], None] | None = None
        self.forgotten: set[str] = set()  # batch ids answered 404 from now on (deleted at the provider)
        self.refuse_create: dict[str, int] = {}  # provider -> HTTP status its batch creates get (none is created)
        self.created: list[CreatedBatch] = []
        self.interactive: Counter[str] = Counter()
        self.files: dict[str, bytes] = {}
        self.lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def openai_url(self) -> str:
        return f"{self.url}/v1"

    anthropic_url = url

    def batches(self, provider: str) -> list[CreatedBatch]:
        return [b for b in self.created if b.provider == provider and b.id not in self.forgotten]

    def creations_per_chunk(self) -> Counter[tuple[str, ...]]:
        """How many batches were created for each distinct set of requests."""
        return Counter(b.custom_ids for b in self.created)

    def __enter__(self) -> BatchStub:
        self._thread.start()
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()

    def new_batch(self, provider: str, ids: list[str], metadata: dict[str, str]) -> CreatedBatch:
        prefix = "batch_" if provider == "openai" else "msgbatch_"
        with self.lock:
            batch = CreatedBatch(
                provider, f"{prefix}{len(self.created):04d}", tuple(sorted(ids)), metadata, time.time()
            )
            self.created.append(batch)
        return batch


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default 5 refuses connections when several models call at once
    owner: BatchStub


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def _send(self, obj: Any, status: int = 200, content_type: str = "application/json") -> None:
        data = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        path, owner = urlsplit(self.path).path, self.server.owner
        if path == "/v1/files":
            self._send(_upload(owner, self.headers.get("Content-Type", ""), self._body()))
            return
        body = json.loads(self._body())
        if path == "/v1/chat/completions":
            owner.interactive[body["model"]] += 1
            self._send(completion_body(body["model"], answer_for(body["model"], body["messages"])))
        elif path == "/v1/messages":
            owner.interactive[body["model"]] += 1
            self._send(anthropic_message(body))
        elif path in ("/v1/batches", "/v1/messages/batches"):
            self._create(path, body)
        else:
            self._send({"error": {"message": f"no route {path}"}}, 404)

    def _create(self, path: str, body: dict[str, Any]) -> None:
        owner = self.server.owner
        provider = "openai" if path == "/v1/batches" else "anthropic"
        refused = owner.refuse_create.get(provider)
        if refused is not None:  # nothing is created
            self._send({"type": "error", "error": {"type": "api_error", "message": "the stub refused"}}, refused)
            return
        obj = _openai_create(owner, body) if provider == "openai" else _anthropic_create(owner, body)
        if owner.on_create is not None:
            owner.on_create(provider)
        self._send(obj)

    def do_GET(self) -> None:
        try:
            self._get()
        except LookupError:  # a batch or file id the stub does not know (or has forgotten)
            self._send({"type": "error", "error": {"type": "not_found_error", "message": "no such batch"}}, 404)

    def _get(self) -> None:
        parts = urlsplit(self.path)
        path, query, owner = parts.path, parse_qs(parts.query), self.server.owner
        if path.startswith("/v1/files/") and path.endswith("/content"):
            self._send(owner.files[path.split("/")[3]], content_type="application/octet-stream")
        elif path == "/v1/batches":
            self._send(_page(owner, "openai", query.get("after", [None])[0], _openai_view))
        elif path.startswith("/v1/batches/"):
            self._send(_openai_view(owner, _poll(owner, path.split("/")[3])))
        elif path == "/v1/messages/batches":
            self._send(_page(owner, "anthropic", query.get("after_id", [None])[0], _anthropic_view))
        elif path.endswith("/results"):
            self._send(_anthropic_results(owner, path.split("/")[4]), content_type="application/binary")
        elif path.startswith("/v1/messages/batches/"):
            self._send(_anthropic_view(owner, _poll(owner, path.split("/")[4])))
        else:
            self._send({"error": {"message": f"no route {path}"}}, 404)


def _find(owner: BatchStub, batch_id: str) -> CreatedBatch:
    found = [b for b in owner.created if b.id == batch_id and b.id not in owner.forgotten]
    if not found:
        raise LookupError(batch_id)
    return found[0]


def _poll(owner: BatchStub, batch_id: str) -> CreatedBatch:
    batch = _find(owner, batch_id)
    with owner.lock:
        batch.polls += 1
    return batch


def _ended(owner: BatchStub, batch: CreatedBatch) -> bool:
    return batch.polls >= owner.ends_after_polls


def _upload(owner: BatchStub, content_type: str, body: bytes) -> dict[str, Any]:
    message = email.parser.BytesParser().parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    parts: list[Any] = message.get_payload()  # type: ignore[assignment]
    data = next(
        p.get_payload(decode=True) for p in parts if p.get_param("name", header="content-disposition") == "file"
    )
    with owner.lock:
        file_id = f"file-{len(owner.files):04d}"
        owner.files[file_id] = data
    return {"id": file_id, "object": "file", "bytes": len(data), "created_at": int(time.time())} | {
        "filename": "batch.jsonl",
        "purpose": "batch",
        "status": "processed",
    }


def _failing(owner: BatchStub, custom_id: str, body: dict[str, Any]) -> bool:
    return owner.fail is not None and owner.fail(custom_id, body)


def _openai_create(owner: BatchStub, body: dict[str, Any]) -> dict[str, Any]:
    lines = [json.loads(line) for line in owner.files[body["input_file_id"]].decode().splitlines() if line.strip()]
    batch = owner.new_batch("openai", [r["custom_id"] for r in lines], dict(body.get("metadata") or {}))
    for r in lines:
        if _failing(owner, r["custom_id"], r["body"]):
            error = {"error": {"message": "the stub failed this request", "type": "server_error"}}
            batch.results.append({"custom_id": r["custom_id"], "response": {"status_code": 500, "body": error}})
        else:
            answer = completion_body(r["body"]["model"], answer_for(r["body"]["model"], r["body"]["messages"]))
            batch.results.append({"custom_id": r["custom_id"], "response": {"status_code": 200, "body": answer}})
    return _openai_view(owner, batch)


def _openai_view(owner: BatchStub, batch: CreatedBatch) -> dict[str, Any]:
    ended = _ended(owner, batch)
    view: dict[str, Any] = {"id": batch.id, "object": "batch", "endpoint": "/v1/chat/completions"}
    view |= {"input_file_id": "file-in", "completion_window": "24h", "created_at": int(batch.created_at)}
    view |= {"status": "completed" if ended else "in_progress", "metadata": batch.metadata}
    if ended:
        ok = [r for r in batch.results if r["response"]["status_code"] == 200]
        bad = [r for r in batch.results if r["response"]["status_code"] != 200]
        view["output_file_id"] = _result_file(owner, f"{batch.id}-out", ok)
        view["error_file_id"] = _result_file(owner, f"{batch.id}-err", bad) if bad else None
    return view


def _result_file(owner: BatchStub, file_id: str, rows: list[dict[str, Any]]) -> str:
    lines = [{"id": f"req_{i}", **r, "error": None} for i, r in enumerate(rows)]
    owner.files[file_id] = "".join(json.dumps(r) + "\n" for r in lines).encode()
    return file_id


def _anthropic_create(owner: BatchStub, body: dict[str, Any]) -> dict[str, Any]:
    requests = body["requests"]
    batch = owner.new_batch("anthropic", [r["custom_id"] for r in requests], {})
    for r in requests:
        if _failing(owner, r["custom_id"], r["params"]):
            error = {"type": "error", "error": {"type": "api_error", "message": "the stub failed this request"}}
            batch.results.append({"custom_id": r["custom_id"], "result": {"type": "errored", "error": error}})
        else:
            message = anthropic_message(r["params"])
            batch.results.append({"custom_id": r["custom_id"], "result": {"type": "succeeded", "message": message}})
    return _anthropic_view(owner, batch)


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e6):06d}Z"


def _anthropic_view(owner: BatchStub, batch: CreatedBatch) -> dict[str, Any]:
    ended = _ended(owner, batch)
    n_ok = sum(r["result"]["type"] == "succeeded" for r in batch.results)
    counts = {"processing": 0 if ended else len(batch.results), "succeeded": n_ok if ended else 0}
    counts |= {"errored": len(batch.results) - n_ok if ended else 0, "canceled": 0, "expired": 0}
    view: dict[str, Any] = {"id": batch.id, "type": "message_batch", "request_counts": counts}
    view |= {"processing_status": "ended" if ended else "in_progress", "created_at": _iso(batch.created_at)}
    view |= {"expires_at": _iso(batch.created_at + 86400), "ended_at": _iso(time.time()) if ended else None}
    view["results_url"] = f"{owner.url}/v1/messages/batches/{batch.id}/results" if ended else None
    return view


def _anthropic_results(owner: BatchStub, batch_id: str) -> bytes:
    rows = list(_find(owner, batch_id).results)
    random.Random(batch_id).shuffle(rows)  # unordered, as the API warns
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def _page(owner: BatchStub, provider: str, after: str | None, view: Callable[[BatchStub, CreatedBatch], Any]) -> Any:
    """Two batches per page, newest first, so that clients must follow the cursor."""
    newest = list(reversed(owner.batches(provider)))
    start = next((i + 1 for i, b in enumerate(newest) if b.id == after), 0) if after else 0
    page = newest[start : start + 2]
    data = [view(owner, b) for b in page]
    first, last = (page[0].id, page[-1].id) if page else (None, None)
    return {"object": "list", "data": data, "has_more": start + 2 < len(newest), "first_id": first, "last_id": last}
