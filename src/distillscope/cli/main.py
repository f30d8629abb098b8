"""`distillscope` entry point: global options, error handling and the foundation commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from distillscope import __version__
from distillscope.cli import bench, experiment, ice, rse
from distillscope.cli.common import console, err_console, print_error, print_json, run
from distillscope.cli.exits import report
from distillscope.logsetup import configure_logging

app = typer.Typer(
    name="distillscope",
    help="Measure how much an LLM was distilled from another: identity consistency (ICE) and response "
    "similarity (RSE), with confidence intervals and calibrated verdicts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
cache_app = typer.Typer(help="Inspect or clear the response cache ($DISTILLSCOPE_HOME/responses.sqlite).")
app.add_typer(cache_app, name="cache")
_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        console.print(f"distillscope {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    debug: Annotated[bool, typer.Option("--debug", help="Verbose logs and full tracebacks on errors.")] = False,
    log_file: Annotated[
        Path | None,
        typer.Option(
            "--log-file",
            help="Append a structured log (JSON lines: time, level, logger, message, fields; secrets redacted) here.",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    _state["debug"] = debug
    configure_logging(debug, log_file)


@app.command("models")
def models_cmd(json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List model providers and the embedded models, with whether each is installed."""
    from distillscope.backends.embedded import embedded_models
    from distillscope.registry import PROVIDERS

    embedded = [
        {"spec": f"embedded:{m.name}", "installed": m.installed, "description": m.description}
        for m in embedded_models()
    ]
    providers = [{"prefix": f"{p}:", "description": d} for p, (_, _, d) in PROVIDERS.items()]
    if json_out:
        print_json({"providers": providers, "embedded": embedded})
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Providers (model spec = PREFIX:NAME)")
    table.add_column("prefix", overflow="fold")
    table.add_column("what it runs", overflow="fold")
    for p in providers:
        table.add_row(p["prefix"], escape(p["description"]))  # "(extra [hf])" is text, not markup
    console.print(table)
    table = Table(title="Embedded models (offline, shipped in PyPI packages)")
    for col in ("spec", "installed", "description"):
        table.add_column(col, overflow="fold")
    for m in embedded:
        table.add_row(str(m["spec"]), "yes" if m["installed"] else "no", escape(str(m["description"])))
    console.print(table)


@app.command("ask")
def ask_cmd(  # noqa: PLR0913 (a typer command: one parameter per flag)
    model: Annotated[str, typer.Argument(help="Model spec, e.g. embedded:qwen2.5-0.5b or openai:gpt-4o-mini.")],
    prompt: Annotated[str, typer.Argument(help="The user message.")],
    system: Annotated[str | None, typer.Option(help="System prompt.")] = None,
    temperature: Annotated[float, typer.Option(help="Sampling temperature (0 = greedy).")] = 0.0,
    max_tokens: Annotated[int, typer.Option(help="Maximum tokens to generate.")] = 256,
    base_url: Annotated[str | None, typer.Option(help="Endpoint of an OpenAI-compatible server.")] = None,
    api_key_env: Annotated[
        str | None, typer.Option(help="NAME of the env var holding the API key (default OPENAI_API_KEY).")
    ] = None,
    max_retries: Annotated[int, typer.Option(help="Retries on rate limits, timeouts and server errors.")] = 3,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for one answer.")] = 300.0,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not read or write the response cache.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the whole completion as JSON.")] = False,
) -> None:
    """Ask one model one question (cached), and print the answer."""
    from distillscope.ask import ask
    from distillscope.model import ModelLimits
    from distillscope.registry import BackendOptions
    from distillscope.types import GenerateParams

    completion = run(
        ask(
            model,
            prompt,
            system=system,
            params=GenerateParams(temperature=temperature, max_tokens=max_tokens),
            options=BackendOptions(base_url=base_url, api_key_env=api_key_env),
            use_cache=not no_cache,
            limits=ModelLimits(max_retries=max_retries, timeout_s=timeout),
        )
    )
    if json_out:
        print_json(completion.to_dict())
    elif completion.ok:
        if completion.reasoning:
            err_console.print(f"[dim]reasoning: {completion.reasoning}[/dim]")
        console.print(completion.text, markup=False, highlight=False)
    if not completion.ok:
        print_error(f"({completion.error_kind}) {completion.error}")
        raise typer.Exit(1)


@app.command("serve")
def serve_cmd(
    model: Annotated[str, typer.Argument(help="An embedded model spec, e.g. embedded:qwen2.5-0.5b.")],
    port: Annotated[int, typer.Option(help="TCP port on 127.0.0.1.")] = 8088,
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
    parallel: Annotated[int, typer.Option(help="Requests decoded together (llama.cpp slots).")] = 4,
    threads: Annotated[int | None, typer.Option(help="CPU threads (default: half the cores).")] = None,
) -> None:
    """Expose an embedded model as an OpenAI-compatible HTTP server (POST /v1/chat/completions)."""
    from distillscope.serve import serve, serve_banner

    def ready(url: str) -> None:
        for line in serve_banner(model, url):
            print(line, flush=True)  # at once, also through a pipe: a script waits for "ready"

    serve(model, host=host, port=port, n_parallel=parallel, n_threads=threads, debug=_state["debug"], on_ready=ready)


@cache_app.command("stats")
def cache_stats(json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """How many responses are cached, per backend, and the size on disk."""
    from distillscope.cache import ResponseCache

    stats = ResponseCache().stats()
    if json_out:
        print_json(stats.__dict__)
        return
    console.print(f"{stats.path}: {stats.entries} responses, {stats.size_bytes / 1e6:.1f} MB")
    for backend, n in sorted(stats.by_backend.items()):
        console.print(f"  {n:>8}  {backend}")


@cache_app.command("clear")
def cache_clear(
    backend: Annotated[str | None, typer.Option(help="Only entries whose backend starts with this.")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete cached responses (all, or one backend's)."""
    from distillscope.cache import ResponseCache

    cache = ResponseCache()
    if not yes:
        typer.confirm(f"Delete cached responses{' of ' + backend if backend else ''} in {cache.path}?", abort=True)
    console.print(f"deleted {cache.clear(backend)} responses")


app.add_typer(ice.app, name="ice")
app.add_typer(rse.app, name="rse")
app.add_typer(bench.app, name="bench")
experiment.register(app)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry: every error is one line on stderr (see `cli.exits`); tracebacks only with --debug."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="distillscope", standalone_mode=False)
    except (Exception, KeyboardInterrupt) as exc:
        sys.exit(report(exc, debug=_state["debug"]))
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
