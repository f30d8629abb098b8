"""Serve an embedded model as an OpenAI-compatible HTTP endpoint (llama.cpp's server, via xllamacpp).

`distillscope serve embedded:smollm2-135m --port 8011` then `openai:embedded:smollm2-135m` with
`base_url=http://127.0.0.1:8011/v1` talks to it. The model name in responses is the spec.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from distillscope.backends.embedded import server_params, weights_path, xllamacpp_module
from distillscope.errors import ConfigError, DistillscopeError
from distillscope.registry import parse_spec

log = logging.getLogger(__name__)


def start_server(
    spec: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    n_parallel: int = 4,
    n_threads: int | None = None,
    debug: bool = False,
) -> tuple[object, str]:
    """Load the model and start serving; returns (server, base URL ending in /v1). Port 0 picks a free one."""
    provider, name = parse_spec(spec)
    if provider != "embedded":
        raise ConfigError(f"serve runs embedded models only, not {spec!r}; use embedded:qwen2.5-0.5b or similar")
    xllamacpp = xllamacpp_module()
    params = server_params(
        weights_path(name), alias=spec, n_parallel=n_parallel, n_threads=n_threads, port=port, host=host, debug=debug
    )
    try:
        server = xllamacpp.Server(params)
    except Exception as exc:  # xllamacpp raises plain RuntimeErrors (e.g. port in use)
        raise ConfigError(
            f"could not serve {spec} on {host}:{port} ({exc}); is the port in use? choose another --port"
        ) from exc
    address = str(server.listening_address).rstrip("/")
    if not address.startswith("http"):
        address = f"http://{address}"
    return server, f"{address}/v1"


def serve(
    spec: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    n_parallel: int = 4,
    n_threads: int | None = None,
    debug: bool = False,
    on_ready: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Serve `spec` until SIGINT/SIGTERM (or until `stop` is set). `on_ready` gets the base URL."""
    stop = stop or threading.Event()
    previous = _install_handlers(stop)  # before loading, so a signal during the load also stops cleanly
    try:
        server, url = start_server(spec, host, port, n_parallel=n_parallel, n_threads=n_threads, debug=debug)
        log.info("serving %s at %s", spec, url)
        if on_ready is not None:
            on_ready(url)
        while not stop.wait(0.5):
            pass
        del server
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("stopped serving %s", spec)


def serve_banner(spec: str, url: str) -> list[str]:
    """What `distillscope serve` prints once it listens: the URL, a "ready" line, and how to use the endpoint."""
    name = parse_spec(spec)[1]
    return [
        f"serving {spec} at {url} (OpenAI-compatible: POST {url}/chat/completions)",
        f"ready: use the model spec openai:{spec} with base_url {url}; Ctrl-C stops",
        "in an experiment config:",
        f"  - name: {name}",
        f"    spec: openai:{spec}",
        f"    base_url: {url}",
        f"  or: distillscope ask openai:{spec} 'Who are you?' --base-url {url}",
    ]


def _install_handlers(stop: threading.Event) -> dict[signal.Signals, Any]:
    """Make SIGINT/SIGTERM set `stop` (main thread only); returns the previous handlers."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous: dict[signal.Signals, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.getsignal(sig)
        signal.signal(sig, handler)
    return previous


def main(argv: list[str] | None = None) -> int:
    """`python -m distillscope.serve SPEC [--host H] [--port N] [--debug]` (the CLI's serve command does the same)."""
    ap = argparse.ArgumentParser(prog="python -m distillscope.serve", description=__doc__)
    ap.add_argument("spec")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--parallel", type=int, default=4)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--debug", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO, format="%(message)s")
    try:
        serve(args.spec, args.host, args.port, n_parallel=args.parallel, n_threads=args.threads, debug=args.debug)
    except DistillscopeError as exc:
        log.error("error: %s", exc)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
