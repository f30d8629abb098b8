"""`distillscope ice ...`: fuzz identity questions (GPTFuzz), replay templates on several targets, judge, score."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError

from distillscope.cli.common import console, err_console, one_line_errors, print_json, run
from distillscope.cli.progress import progress_display
from distillscope.config import IceSettings, format_validation_error
from distillscope.errors import ConfigError
from distillscope.progress import StageProgress

if TYPE_CHECKING:
    from distillscope.ice.records import IceRecord
    from distillscope.ice.standalone import IceRunResult

app = typer.Typer(
    help="Identity consistency evaluation (ICE): jailbreak-fuzz identity questions and score identity leakage.",
    no_args_is_help=True,
)


def _default(field: str) -> Any:
    """The default of an ICE setting: the CLI documents the config's defaults, it does not keep its own."""
    return IceSettings.model_fields[field].default


TargetOpt = Annotated[str | None, typer.Option("--target", help="Target model spec, e.g. embedded:smollm2-135m.")]
FactOpt = Annotated[
    str | None, typer.Option("--fact", help="True identity of a target whose family is unknown, e.g. 'I am X by Y'.")
]
JudgeOpt = Annotated[
    str | None, typer.Option("--judge", help="claims (default) | regex | llm:<model spec> | ensemble:<model spec>.")
]
QuestionsOpt = Annotated[
    str | None, typer.Option("--questions", help="builtin (default), or a CSV (paper format) / YAML / JSON file.")
]
TemplatesOpt = Annotated[
    str | None, typer.Option("--templates", help="builtin (default), or a GPTFuzz CSV (id,text) / YAML / JSON.")
]
SystemOpt = Annotated[
    str | None, typer.Option("--system", help=f"Target system prompt (default: {_default('system_prompt')!r}).")
]
MaxTokensOpt = Annotated[
    int | None, typer.Option("--target-max-tokens", help=f"Max tokens per answer (default {_default('max_tokens')}).")
]


def _split_targets(target: str | None, targets: str | None) -> tuple[str, ...]:
    specs = [s.strip() for s in (targets or "").split(",") if s.strip()]
    if target and target not in specs:
        specs.insert(0, target)
    return tuple(specs)


def _settings(**given: Any) -> IceSettings:
    """ICE settings from the flags that were given; every other value is the config's default (one place)."""
    try:
        return IceSettings.model_validate({k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        raise ConfigError(f"invalid option: {format_validation_error(exc)}") from None


TargetsOpt = Annotated[
    str | None,
    typer.Option(
        "--targets",
        help="Comma-separated targets: fuzz on the first, then replay the final pool on all (paired scores).",
    ),
]
MutatorOpt = Annotated[str | None, typer.Option("--mutator", help="'rules' (default) or a mutator model spec.")]
SelectorOpt = Annotated[
    str | None, typer.Option("--selector", help="mcts (default) | random | round-robin | ucb | exp3.")
]
MaxQueriesOpt = Annotated[
    int | None, typer.Option("--max-queries", help=f"Target-query budget (default {_default('max_queries')}).")
]
MaxItersOpt = Annotated[int | None, typer.Option("--max-iterations", help="Iteration budget.")]
MaxMutOpt = Annotated[int | None, typer.Option("--max-mutator-calls", help="Mutator-call budget.")]
MaxJudgeOpt = Annotated[int | None, typer.Option("--max-judge-calls", help="Judge-call budget.")]
MaxTimeOpt = Annotated[float | None, typer.Option("--max-time", help="Wall-time budget in seconds.")]
MaxCostOpt = Annotated[float | None, typer.Option("--max-cost", help="USD budget (target + mutator).")]
QpiOpt = Annotated[
    int | None,
    typer.Option(
        "--questions-per-iteration",
        help=f"Questions per mutant (default {_default('questions_per_iteration')}; all with --paper-faithful).",
    ),
]
MutTokensOpt = Annotated[
    int | None,
    typer.Option("--mutator-max-tokens", help=f"Max tokens per mutant (default {_default('mutator_max_tokens')})."),
]
KeepOpt = Annotated[
    bool,
    typer.Option(
        "--keep-unsuccessful",
        help="Unsuccessful mutants also enter the pool (the paper's ICE port; GPTFuzz keeps only hits).",
    ),
]
PaperOpt = Annotated[
    bool,
    typer.Option(
        "--paper-faithful",
        help="As the paper: keep every mutant, append the question when the placeholder is lost, all questions.",
    ),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of every random choice.")]
ResumeOpt = Annotated[bool, typer.Option("--resume", help="Continue the campaign checkpointed in --out.")]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Do not use the response cache.")]


@app.command("run")
def run_cmd(  # noqa: PLR0913 (a typer command: one parameter per flag)
    target: TargetOpt = None,
    targets: TargetsOpt = None,
    fact: FactOpt = None,
    # Parameters named after an `IceSettings` field go straight into it; None means "the config's default".
    mutator: MutatorOpt = None,
    judge: JudgeOpt = None,
    questions: QuestionsOpt = None,
    templates: TemplatesOpt = None,
    selector: SelectorOpt = None,
    max_queries: MaxQueriesOpt = None,
    max_iterations: MaxItersOpt = None,
    max_mutator_calls: MaxMutOpt = None,
    max_judge_calls: MaxJudgeOpt = None,
    max_time_s: MaxTimeOpt = None,
    max_cost_usd: MaxCostOpt = None,
    questions_per_iteration: QpiOpt = None,
    max_tokens: MaxTokensOpt = None,
    mutator_max_tokens: MutTokensOpt = None,
    system: SystemOpt = None,
    keep_unsuccessful: KeepOpt = False,
    paper_faithful: PaperOpt = False,
    seed: SeedOpt = 0,
    out: Annotated[Path, typer.Option("--out", help="Run directory.")] = Path("runs/ice"),
    resume: ResumeOpt = False,
    no_cache: NoCacheOpt = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Fuzz jailbreak templates around identity questions (GPTFuzz + MCTS-Explore) and score identity leakage."""
    from distillscope.ice.standalone import StandaloneRun, run_ice

    given = {k: v for k, v in locals().items() if k in IceSettings.model_fields}
    given |= {"keep_unsuccessful": keep_unsuccessful or paper_faithful, "append_if_missing": paper_faithful}
    specs = _split_targets(target, targets)
    with one_line_errors():
        settings = _with_system(_settings(**given), system)
        if paper_faithful and questions_per_iteration is None:
            settings = settings.model_copy(update={"questions_per_iteration": None})
        spec = StandaloneRun(specs=specs, settings=settings, seed=seed, fact=fact, use_cache=not no_cache)
        with progress_display(err_console, finish_on_exit=True) as sink:
            result = run(run_ice(spec, out, resume=resume, progress=sink))
    _report_run(result, out, json_out=json_out)


def _with_system(settings: IceSettings, system: str | None) -> IceSettings:
    """`--system ""` means no system prompt; an absent flag keeps the default."""
    return settings if system is None else settings.model_copy(update={"system_prompt": system or None})


def _report_run(result: IceRunResult, out: Path, *, json_out: bool) -> None:
    summary = {
        "out": str(out),
        "stop_reason": result.fuzz.stop_reason,
        "counters": result.fuzz.counters.as_dict(),
        "scores": result.scores,
        "paired": result.paired,
    }
    if json_out:
        print_json(summary)
        return
    console.print(f"stopped: {result.fuzz.stop_reason}; run directory {out}")
    _print_scores(result.scores, "fuzzing records")
    if result.paired:
        _print_scores(result.paired, "paired replay of the final pool")


@app.command("replay")
def replay_cmd(  # noqa: PLR0913 (a typer command: one parameter per flag)
    targets: Annotated[str, typer.Option("--targets", help="Comma-separated target specs.")],
    templates: TemplatesOpt = None,
    questions: QuestionsOpt = None,
    judge: JudgeOpt = None,
    fact: FactOpt = None,
    system: SystemOpt = None,
    max_tokens: MaxTokensOpt = None,
    out: Annotated[Path, typer.Option("--out", help="Run directory.")] = Path("runs/ice-replay"),
    no_cache: NoCacheOpt = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print scores as JSON.")] = False,
) -> None:
    """Apply one fixed template set x question set to several targets, so their scores are comparable."""
    from distillscope.ice.standalone import StandaloneRun, run_replay

    with one_line_errors():
        settings = _settings(templates=templates, questions=questions, judge=judge, max_tokens=max_tokens)
        settings = _with_system(settings, system)
        spec = StandaloneRun(specs=_split_targets(None, targets), settings=settings, fact=fact, use_cache=not no_cache)
        with progress_display(err_console, finish_on_exit=True) as sink:
            scores = run(run_replay(spec, out, StageProgress("ice.replay", sink).advance))
    if json_out:
        print_json(scores)
        return
    _print_scores(scores, f"replay ({out})")


@app.command("judge")
def judge_cmd(
    input_path: Annotated[Path, typer.Option("--input", help="JSONL rows with 'target' and 'response'.")],
    output_path: Annotated[Path, typer.Option("--output", help="Where to write the judged rows (JSONL).")],
    judge: Annotated[
        str, typer.Option("--judge", help="claims | regex | llm:<model spec> | ensemble:<model spec>.")
    ] = "claims",
    fact: FactOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Judge identity claims in a JSONL file (adds loose/strict/hard/label/claimed_family/rationale)."""
    from distillscope.ice.judge_factory import make_judge
    from distillscope.ice.records import judge_rows_file

    with one_line_errors():
        summary = run(judge_rows_file(input_path, output_path, make_judge(judge), judge_name=judge, fact=fact))
    if json_out:
        print_json(summary.model_dump())
        return
    console.print(
        f"judged {summary.rows} rows -> {output_path}: {summary.contradictions} contradictions, "
        f"{summary.strict} strict, {summary.hard} hard, {summary.unscored} unscored"
    )


@app.command("import")
def import_cmd(
    input_path: Annotated[Path, typer.Option("--input", help="The paper's attack_result JSONL file.")],
    target: Annotated[str, typer.Option("--target", help="Name of the model those results belong to.")],
    out: Annotated[Path, typer.Option("--out", help="Run directory to create.")],
    judge: Annotated[
        str,
        typer.Option(
            "--judge",
            help="Judge for loose/strict/hard (the file has loose labels "
            "only, kept beside): claims | regex | llm:<spec> | ensemble:<spec> | none "
            "(keep the file's loose; strict and hard not measured).",
        ),
    ] = "claims",
    fact: FactOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print scores as JSON.")] = False,
) -> None:
    """Import the paper's released attack results as a run directory (records.jsonl + scores.json)."""
    from distillscope.ice.importer import import_run
    from distillscope.ice.judge_factory import make_judge

    with one_line_errors():
        chosen = None if judge == "none" else make_judge(judge)
        n, scores = run(import_run(input_path, target, out, chosen, judge, fact))
    if json_out:
        print_json(scores)
        return
    console.print(f"imported {n} records into {out} (judge: {judge})")
    _print_scores(scores, str(out))


@app.command("score")
def score_cmd(
    run_dir: Annotated[Path, typer.Argument(help="A run directory holding records.jsonl.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Recompute loose/strict/hard scores (with Wilson intervals) from a run directory's records."""
    from distillscope.ice.campaign import write_scores
    from distillscope.rundir import RunDir

    with one_line_errors():
        rundir = RunDir(run_dir)
        by_target = _records_by_target(rundir.records)
        scores = write_scores(rundir, by_target)
    if json_out:
        print_json(scores)
        return
    _print_scores(scores, str(run_dir))


def _records_by_target(path: Path) -> dict[str, list[IceRecord]]:
    from distillscope.errors import ConfigError
    from distillscope.ice.records import IceRecord
    from distillscope.rundir import read_jsonl

    if not path.is_file():
        raise ConfigError(f"{path} does not exist; give a run directory written by 'ice run' or 'ice import'")
    out: dict[str, list[IceRecord]] = {}
    for row in read_jsonl(path):
        record = IceRecord.model_validate({"target": "?", **row})
        out.setdefault(record.target, []).append(record)
    return out


def _print_scores(scores: dict[str, Any], title: str) -> None:
    """A table of overall loose/strict/hard rates with 95% Wilson intervals, one row per target; an imported
    file's own loose rate gets its own column when there is one."""
    from rich.table import Table

    targets = scores.get("targets") or {}
    imported = any((s.get("overall") or {}).get("imported_loose") for s in targets.values())
    table = Table(title=f"ICE scores: {title}")
    cols = ("target", "n", "unscored", "loose", "strict", "hard") + (("file's loose",) if imported else ())
    for col in cols:
        table.add_column(col, overflow="fold")
    for name, s in targets.items():
        overall = s.get("overall") or {}
        levels = ("loose", "strict", "hard") + (("imported_loose",) if imported else ())
        table.add_row(
            name, str(overall.get("n")), str(overall.get("n_unscored")), *(_fmt(overall.get(k)) for k in levels)
        )
    console.print(table)


def _fmt(rate: Any) -> str:
    if rate is None:
        return "not measured"
    if not isinstance(rate, dict) or not rate.get("n"):
        return "-"
    return f"{rate['rate']:.3f} [{rate['low']:.2f}, {rate['high']:.2f}]"
