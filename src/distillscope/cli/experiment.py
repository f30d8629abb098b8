"""Experiment commands: init, validate, plan, run, resume, report, demo."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer

from distillscope.cli.common import Interrupted, console, err_console, print_json, run_interruptible
from distillscope.cli.exits import EXIT_FAILED, EXIT_STOPPED

ConfigArg = Annotated[Path, typer.Argument(help="Experiment config (YAML); `distillscope init` writes an example.")]
RunDirArg = Annotated[Path, typer.Argument(help="A run directory written by `distillscope run`.")]
PRESETS = ("example", "calibrated", "paper-2501.12619")


def init_cmd(
    path: Annotated[Path, typer.Argument(help="Where to write the config.")] = Path("distillscope.yaml"),
    preset: Annotated[str, typer.Option(help=f"One of {', '.join(PRESETS)}.")] = "example",
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented example config (or a preset) to edit."""
    from distillscope.errors import ConfigError

    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; use one of {', '.join(PRESETS)}")
    if path.exists() and not force:
        raise ConfigError(f"{path} exists; pass --force to overwrite it or choose another path")
    name = "calibrated" if preset == "example" else preset
    text = resources.files("distillscope.data.presets").joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    console.print(f"wrote {path}; check it with `distillscope validate {path}`")


def validate_cmd(
    config: ConfigArg,
    offline: Annotated[bool, typer.Option("--offline", help="Skip the endpoint reachability check.")] = False,
) -> None:
    """Check a config: schema, env vars present, input files readable and not empty, endpoints reachable."""
    from distillscope.config import load_config
    from distillscope.errors import ConfigError
    from distillscope.validate import check_endpoints, check_inputs, check_null_panel, check_signal

    cfg = load_config(config)
    missing = cfg.missing_env()
    if missing:
        raise ConfigError(f"environment variable(s) not set: {', '.join(missing)}; export them and retry")
    signal_problem = check_signal(cfg)
    if signal_problem:
        raise ConfigError(signal_problem)
    input_problems = check_inputs(cfg)
    if input_problems:
        raise ConfigError("input file problem(s): " + "; ".join(input_problems))
    if not offline:
        problems = asyncio.run(check_endpoints(cfg))
        if problems:
            raise ConfigError("unreachable endpoint(s): " + "; ".join(problems))
    warning = check_null_panel(cfg)
    if warning:
        err_console.print(f"warning: {warning}", style="yellow", markup=False, highlight=False)
    console.print(f"[green]ok[/green] {config}: {len(cfg.all_models())} models, config hash {cfg.config_hash()}")


def plan_cmd(
    config: ConfigArg,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    executor: ExecutorOpt = None,
) -> None:
    """Dry run: calls per stage and model, estimated tokens and USD, what is cached; under `--executor ray`, where
    each model runs. Sends nothing."""
    from rich.table import Table

    from distillscope.config import load_config
    from distillscope.plan import plan_experiment

    plan = plan_experiment(with_execution(load_config(config), executor, None, None))
    if json_out:
        print_json(plan)
        return
    table = Table(title=f"plan for {config}")
    numeric = ("calls", "cached", "prompt tok", "output tok", "USD")
    for col in ("stage", "model", *numeric):
        table.add_column(col, justify="right" if col in numeric else "left", overflow="fold")
    for r in plan["rows"]:
        cost = "?" if r["cost_usd"] is None else f"{r['cost_usd']:.2f}"
        cached = "?" if r["cached"] is None else str(r["cached"])
        table.add_row(
            r["stage"],
            r["model"],
            f"{r['calls']:,}",
            cached,
            f"{r['prompt_tokens']:,}",
            f"{r['completion_tokens']:,}",
            cost,
        )
    console.print(table)
    for note in dict.fromkeys(part for r in plan["rows"] for part in r["note"].split("; ") if part):
        console.print(f"  note: {note}")
    more = "" if plan["cost_complete"] else " (some prices unknown)"
    console.print(
        f"total: {plan['total_calls']:,} calls, about ${plan['total_cost_usd']:.2f}{more}; {plan['assumptions']}"
    )
    if plan["budget"]["warning"]:
        err_console.print(f"warning: {plan['budget']['warning']}", style="yellow", markup=False, highlight=False)


def _progress_runner(coro_factory: Callable[..., Any], run_dir: Path) -> Any:
    """Run an experiment coroutine under a rich progress display, one bar per stage.

    SIGINT or SIGTERM ends it cleanly: the run records itself `interrupted`, one line says how to resume, and
    the exit code is 130 or 143."""
    try:
        return _with_progress(coro_factory)
    except Interrupted as exc:
        err_console.print(
            f"interrupted ({exc}); finished calls are kept: `distillscope resume {run_dir}` continues the run",
            soft_wrap=True,
            highlight=False,
            markup=False,
        )
        raise typer.Exit(exc.exit_code) from None


def _with_progress(coro_factory: Callable[..., Any]) -> Any:
    from distillscope.cli.progress import progress_display

    with progress_display(err_console) as sink:
        return run_interruptible(coro_factory(sink))


def _finish(outcome, report: bool) -> None:  # type: ignore[no-untyped-def]
    from distillscope.cli.verdicts import verdict_table
    from distillscope.report.render import build_report

    for line in verdict_table(outcome.run_dir):
        console.print(line, markup=False, highlight=False)
    if report:
        files = build_report(outcome.run_dir)
        console.print(f"report: {files.html.resolve()}")
    console.print(f"run directory: {outcome.run_dir.resolve()}")
    if outcome.status != "complete":
        err_console.print(f"{outcome.status}: {outcome.message}", soft_wrap=True, highlight=False, markup=False)
        raise typer.Exit(EXIT_FAILED if outcome.status == "failed" else EXIT_STOPPED)


FailOnErrors = Annotated[
    bool,
    typer.Option(
        "--fail-on-errors",
        help="Fail the run on any failed call (default: when more than half of a stage's calls failed).",
    ),
]


ExecutorOpt = Annotated[
    str | None,
    typer.Option(
        "--executor",
        help="local (one process), ray (compute models in Ray actors) or batch (provider batch APIs); "
        "default: the config's execution.executor.",
    ),
]
AddressOpt = Annotated[
    str | None, typer.Option("--address", help="ray: the cluster to join ('auto' inside `ray job submit`).")
]
WaitOpt = Annotated[
    bool | None,
    typer.Option("--wait/--no-wait", help="batch: poll until the batches end (default: submit, stop, `resume` later)."),
]


def with_execution(cfg: Any, executor: str | None, address: str | None, wait: bool | None) -> Any:
    """`cfg` with the execution flags given on the command line (those not given keep the config's values)."""
    from distillscope.config import ExecutionSettings

    update = {k: v for k, v in (("executor", executor), ("address", address), ("wait", wait)) if v is not None}
    if not update:
        return cfg
    execution = ExecutionSettings.model_validate({**cfg.execution.model_dump(), **update})
    return cfg.model_copy(update={"execution": execution})


def run_cmd(
    config: ConfigArg,
    out: Annotated[Path | None, typer.Option(help="Run directory (default: the config's output_dir).")] = None,
    no_report: Annotated[bool, typer.Option("--no-report", help="Skip building the report.")] = False,
    fail_on_errors: FailOnErrors = False,
    executor: ExecutorOpt = None,
    address: AddressOpt = None,
    wait: WaitOpt = None,
) -> None:
    """Run an experiment: every stage with live progress, then the summary and the report."""
    from distillscope.config import load_config
    from distillscope.runner import run_experiment

    cfg = with_execution(load_config(config), executor, address, wait)
    outcome = _progress_runner(
        lambda p: run_experiment(cfg, out, progress=p, fail_on_errors=fail_on_errors), out or cfg.run_dir()
    )
    _finish(outcome, not no_report)


def _print_status(run_dir: Path, cfg: Any) -> None:
    """What a resumed run has done and what is left, one line per stage."""
    from distillscope.runstatus import run_status

    console.print(f"resuming {run_dir}:", markup=False, highlight=False)
    for status in run_status(run_dir, cfg):
        console.print(f"  {status.line()}", markup=False, highlight=False)


def resume_cmd(
    run_dir: RunDirArg,
    max_calls: Annotated[
        int | None, typer.Option(help="New call cap for the whole run (calls made so far count against it).")
    ] = None,
    max_usd: Annotated[
        float | None, typer.Option(help="New USD cap for the whole run (spend so far counts against it).")
    ] = None,
    no_report: Annotated[bool, typer.Option("--no-report", help="Skip building the report.")] = False,
    fail_on_errors: FailOnErrors = False,
    executor: ExecutorOpt = None,
    address: AddressOpt = None,
    wait: WaitOpt = None,
) -> None:
    """Continue a stopped, failed, interrupted or killed run; no finished call is made again. A batch run's
    submitted batches are polled and collected first."""
    from distillscope.config import load_run_config
    from distillscope.runner import run_experiment

    cfg = with_execution(load_run_config(run_dir), executor, address, wait)
    _print_status(run_dir, cfg)
    outcome = _progress_runner(
        lambda p: run_experiment(
            cfg, run_dir, resume=True, progress=p, budget_override=(max_calls, max_usd), fail_on_errors=fail_on_errors
        ),
        run_dir,
    )
    _finish(outcome, not no_report)


def report_cmd(
    run_dir: RunDirArg,
    out: Annotated[Path | None, typer.Option(help="Output folder (default RUN_DIR/report).")] = None,
) -> None:
    """Rebuild the report (HTML, Markdown, CSV, figures) from a run directory, offline."""
    from distillscope.report.render import build_report

    files = build_report(run_dir, out)
    console.print(f"report: {files.html.resolve()}")


def demo_cmd(
    out: Annotated[Path, typer.Option(help="Run directory.")] = Path("runs/demo"),
    fresh: Annotated[bool, typer.Option("--fresh", help="Delete an earlier demo run in OUT first.")] = False,
) -> None:
    """The main job on the embedded models (offline): ICE fuzzing + RSE, then the report."""
    import shutil

    from distillscope.demo import demo_config
    from distillscope.rundir import RunDir
    from distillscope.runner import run_experiment

    if fresh and out.exists():
        shutil.rmtree(out)
    cfg = demo_config(out)
    resume = RunDir(out).manifest.exists()
    console.print("distillscope demo: target embedded:smollm2-135m, reference embedded:qwen2.5-0.5b (CPU, offline)")
    if resume:
        _print_status(out, cfg)
    outcome = _progress_runner(lambda p: run_experiment(cfg, out, resume=resume, progress=p), out)
    _finish(outcome, True)


def register(app: typer.Typer) -> None:
    """Add the experiment commands to the top-level app."""
    for name, fn in (
        ("init", init_cmd),
        ("validate", validate_cmd),
        ("plan", plan_cmd),
        ("run", run_cmd),
        ("resume", resume_cmd),
        ("report", report_cmd),
        ("demo", demo_cmd),
    ):
        app.command(name)(fn)
