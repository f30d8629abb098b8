"""`distillscope rse ...`: collect responses, judge similarity with LLMs, score and attribute (RSE)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from distillscope.cli.common import console, err_console, one_line_errors, print_json, run
from distillscope.config import RseSettings

app = typer.Typer(
    help="Response similarity evaluation (RSE): collect answers of several models to a prompt set, judge their "
    "similarity to a reference with LLM judges and judge-free metrics, and attribute a student to a teacher.",
    no_args_is_help=True,
)

RSE_DEFAULTS = RseSettings()  # the experiment config's defaults are the commands' defaults too
BaseUrlOpt = Annotated[str | None, typer.Option("--base-url", help="Endpoint of an OpenAI-compatible server.")]
KeyEnvOpt = Annotated[str | None, typer.Option("--api-key-env", help="NAME of the env var holding the API key.")]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Do not read or write the response cache.")]
ConcOpt = Annotated[int, typer.Option("--concurrency", help="Concurrent calls per model.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]


@dataclass
class _Bar:
    """Callbacks of a rich progress bar: `plan(total)` once the work is known, `tick(note)` per item."""

    plan: Callable[[int], None]
    tick: Callable[[str], None]


@contextmanager
def _bar(label: str) -> Iterator[_Bar]:
    """Progress of one stage on stderr (bars on a terminal, plain lines otherwise); its size is set when the
    library reports its plan."""
    from distillscope.cli.progress import progress_display
    from distillscope.progress import StageProgress

    with progress_display(err_console, finish_on_exit=True) as sink:
        stage = StageProgress(label, sink)
        yield _Bar(stage.plan, lambda info: stage.advance(note=info))


def _split(value: str | None) -> list[str]:
    return [s.strip() for s in (value or "").split(",") if s.strip()]


def _models(specs: list[str], base_url: str | None, key_env: str | None, concurrency: int, no_cache: bool) -> list[Any]:
    from distillscope.cache import ResponseCache
    from distillscope.model import ModelLimits, get_model
    from distillscope.registry import BackendOptions

    options = BackendOptions(base_url=base_url, api_key_env=key_env)
    cache = None if no_cache else ResponseCache()
    limits = ModelLimits(max_concurrency=concurrency)
    return [get_model(s, options=options, cache=cache, limits=limits) for s in specs]


ModelsOpt = Annotated[str, typer.Option("--models", help="Comma-separated model specs (reference included).")]
PromptsOpt = Annotated[
    list[str],
    typer.Option(
        "--prompts",
        help="Prompt-set spec (repeatable): builtin, builtin:math, arenahard:PATH, sharegpt:PATH, jsonl:PATH#field ...",
    ),
]
SamplesOpt = Annotated[int, typer.Option("--samples-per-prompt", help="Answers per prompt.")]
TemperatureOpt = Annotated[float, typer.Option("--temperature", help="Sampling temperature.")]
MaxTokensOpt = Annotated[int, typer.Option("--max-tokens", help="Maximum tokens per answer.")]


@app.command("collect")
def collect_cmd(  # noqa: PLR0913 (a typer command: one parameter per flag)
    models: ModelsOpt,
    prompts: PromptsOpt,
    out: Annotated[Path, typer.Option("--out", help="Run directory (re-running resumes it).")],
    sample: Annotated[int | None, typer.Option("--sample", help="Prompts drawn per prompt set (seeded).")] = None,
    samples_per_prompt: SamplesOpt = RSE_DEFAULTS.samples_per_prompt,
    temperature: TemperatureOpt = RSE_DEFAULTS.temperature,
    max_tokens: MaxTokensOpt = RSE_DEFAULTS.max_tokens,
    seed: Annotated[int, typer.Option("--seed", help="Seed of prompt sampling and of generation.")] = 0,
    concurrency: ConcOpt = 8,
    base_url: BaseUrlOpt = None,
    api_key_env: KeyEnvOpt = None,
    no_cache: NoCacheOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Collect every model's answers to a prompt set into RUN_DIR/responses.jsonl (cached, resumable)."""
    from distillscope.prompts import load_prompt_set
    from distillscope.rse.collect import collect_responses
    from distillscope.rundir import RunDir
    from distillscope.types import GenerateParams

    with one_line_errors():
        specs = _split(models)
        if not specs:
            raise typer.BadParameter("give at least one model spec", param_hint="--models")
        pset = load_prompt_set(prompts, sample=sample, rng=random.Random(seed))
        built = _models(specs, base_url, api_key_env, concurrency, no_cache)
        params = GenerateParams(temperature=temperature, max_tokens=max_tokens, seed=seed)
        with _bar("rse collect") as bar:
            summary = run(
                collect_responses(
                    built,
                    pset.items,
                    RunDir(out),
                    params=params,
                    samples_per_prompt=samples_per_prompt,
                    planned=bar.plan,
                    progress=lambda r: bar.tick(f"{r.model} {r.status}"),
                )
            )
    rows = [m.__dict__ for m in summary.models]
    if json_out:
        print_json(
            {"run_dir": str(out), "prompt_hash": summary.prompt_hash, "n_prompts": summary.n_prompts, "models": rows}
        )
        return
    _table(f"collected into {out} ({summary.n_prompts} prompts, hash {summary.prompt_hash[:12]})", rows)
    if summary.errors:
        err_console.print(f"[yellow]{summary.errors} calls failed; re-run the same command to retry them[/yellow]")


def _table(title: str, rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table(title=title)
    for col in rows[0] if rows else []:
        table.add_column(str(col), overflow="fold")  # on a narrow terminal a long name folds, never "gpt-3.5-…"
    for r in rows:
        table.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in r.values()))
    console.print(table)


BothOrdersOpt = Annotated[
    bool, typer.Option("--both-orders/--one-order", help="Judge each pair with the reference as A and as B.")
]
IncludeSelfOpt = Annotated[
    bool,
    typer.Option("--include-self", help="Also judge the reference against itself (a sanity row that must score 5)."),
]


@app.command("judge")
def judge_cmd(  # noqa: PLR0913 (a typer command: one parameter per flag)
    run_dir: Annotated[Path, typer.Argument(help="Run directory written by `rse collect`.")],
    reference: Annotated[str, typer.Option("--reference", help="Model spec of the reference (as collected).")],
    judge: Annotated[list[str], typer.Option("--judge", help="Judge model spec (repeat for a panel).")],
    targets: Annotated[str | None, typer.Option("--targets", help="Comma-separated targets (default: all).")] = None,
    both_orders: BothOrdersOpt = RSE_DEFAULTS.both_orders,
    include_self: IncludeSelfOpt = False,
    sanity: Annotated[bool, typer.Option("--sanity", help="First check each judge scores self-pairs 5.")] = False,
    concurrency: ConcOpt = 8,
    base_url: BaseUrlOpt = None,
    api_key_env: KeyEnvOpt = None,
    no_cache: NoCacheOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Judge each (reference, target) answer pair with one or more LLM judges; append to judgements.jsonl."""
    from distillscope.rse.llm_judge import judge_run, note_judges, sanity_check
    from distillscope.rundir import RunDir

    with one_line_errors():
        judges = _models(judge, base_url, api_key_env, concurrency, no_cache)
        if sanity:
            for j in judges:
                _print_sanity(run(sanity_check(j)))
        with _bar("rse judge") as bar:
            summary = run(
                judge_run(
                    RunDir(run_dir),
                    reference,
                    judges,
                    targets=_split(targets) or None,
                    both_orders=both_orders,
                    include_self=include_self,
                    planned=bar.plan,
                    progress=lambda j: bar.tick(f"{j.judge} {j.label}"),
                )
            )
        note_judges(RunDir(run_dir), judges, reference)
    for w in summary.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {w}")
    if json_out:
        print_json(summary.__dict__)
        return
    console.print(
        f"{summary.n_pairs} pairs x {summary.orders} order(s) x {len(summary.judges)} judge(s): "
        f"{summary.scored} scored, {summary.unscored} unscored, {summary.errors} errors, "
        f"{summary.skipped} already judged. Next: distillscope rse score {run_dir}"
    )


def _print_sanity(result: Any) -> None:
    mark = "[green]passed[/green]" if result.passed else "[red]FAILED[/red]"
    err_console.print(
        f"sanity {result.judge}: {mark} ({result.n_five}/{result.n} self-pairs scored 5, "
        f"{result.n_unscored} unscored; overall {list(result.overall)})"
    )


@app.command("sanity")
def sanity_cmd(
    judge: Annotated[str, typer.Option("--judge", help="Judge model spec to check.")],
    base_url: BaseUrlOpt = None,
    api_key_env: KeyEnvOpt = None,
    no_cache: NoCacheOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Check that a judge scores an answer compared with itself as 5 (exit 1 when it does not)."""
    from distillscope.rse.llm_judge import sanity_check

    with one_line_errors():
        result = run(sanity_check(_models([judge], base_url, api_key_env, 1, no_cache)[0]))
    if json_out:
        print_json(result.__dict__)
    else:
        _print_sanity(result)
    if not result.passed:
        raise typer.Exit(1)


@app.command("score")
def score_cmd(
    run_dir: Annotated[Path, typer.Argument(help="Run directory written by `rse collect` (and `rse judge`).")],
    reference: Annotated[
        str | None,
        typer.Option(
            "--reference", help="Reference model (default: the judged reference, else the first collected model)."
        ),
    ] = None,
    null: Annotated[
        str | None,
        typer.Option(
            "--null",
            help="Comma-separated null-panel models, known not to "
            "descend from the reference (3 or more; 8 or more advised): calibrated verdicts.",
        ),
    ] = None,
    alpha: Annotated[
        float | None, typer.Option("--alpha", help="Test level of the verdicts (default: the experiment's, 0.05).")
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed of the bootstrap (default: the experiment's, 0).")
    ] = None,
    signal: Annotated[
        str | None,
        typer.Option(
            "--signal",
            help="Judge-free similarity of the table and matrix: "
            "tfidf, or embedding (MiniLM, [embed]); verdicts: word similarity (default: the experiment's, tfidf).",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Judge-free similarity, LLM-judge means per prompt set x model (Table 3) and verdicts; writes summary.json.
    Given an experiment's run directory, its reference, null panel, alpha, seed and signal are the defaults."""
    from distillscope.rse.scoring import ScoreOverrides, score_dir

    with one_line_errors():
        given = ScoreOverrides(
            reference=reference, null=tuple(_split(null)) or None, alpha=alpha, seed=seed, signal=signal
        )
        summary = score_dir(run_dir, given)
    if json_out:
        print_json(summary)
        return
    _print_score(summary)


def _print_score(summary: dict[str, Any]) -> None:
    jf, lj = summary["judge_free"], summary["llm_judge"]
    console.print(f"reference: {summary['reference']}")
    if jf.get("label") == "ok":
        _table("judge-free similarity to the reference", jf["table"])
        _verdicts("judge-free verdicts (word similarity, named-suspect test vs null panel)", jf.get("verdicts"))
    else:
        console.print(f"judge-free: {jf.get('reason')}")
    if lj is None:
        console.print("no LLM judgements yet: run `distillscope rse judge RUN_DIR --reference ... --judge ...`")
        return
    sets = sorted({c["prompt_set"] for c in lj["table"]})
    cell = {(c["target"], c["prompt_set"]): c["mean"] for c in lj["table"]}
    rows = [
        {"model": t, **{s: cell.get((t, s), float("nan")) for s in sets}, "Avg": avg}
        for t, avg in sorted(lj["avg"].items(), key=lambda kv: kv[1])
    ]
    _table("LLM-judge similarity (1-5, mean over prompts; Avg = unweighted mean over sets)", rows)
    for oc in lj["order_consistency"]:
        rate = f"{oc['rate']:.3f} ({oc['n_inconsistent']}/{oc['n_pairs']} pairs)"
        console.print(f"order inconsistency of {oc['judge']}: {rate}")
    ag = lj["agreement"]
    if ag["label"] == "ok":
        console.print(f"panel agreement: Krippendorff alpha (ordinal) {ag['alpha']:.3f} over {ag['n_units']} units")
    console.print(f"unscored judge replies: {lj['n_unscored']} of {lj['n_judgements']}")
    _verdicts("LLM-judge verdicts (vs null panel)", lj.get("verdicts"))


def _verdicts(title: str, verdicts: dict[str, dict[str, Any]] | None) -> None:
    if verdicts:
        _table(
            title,
            [
                {
                    "model": m,
                    "verdict": d["verdict"],
                    "effect (null SDs)": _num(d["degree"]),
                    "95% CI": _ci(d["lo"], d["hi"]),
                    "p": _num(d["p_value"]),
                    "p_adjusted": _num(d["p_adjusted"]),
                    "n_null": d["n_null"],
                    "reason": d["reason"] or (d["caveat"] and f"caveat: {d['caveat']}"),
                }
                for m, d in verdicts.items()
            ],
        )


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}"


def _ci(lo: float | None, hi: float | None) -> str:
    return "-" if lo is None or hi is None else f"[{lo:.2f}, {hi:.2f}]"


def _no_null_note() -> str:
    from distillscope.rse.suspect import ADVISED_NULL_MODELS

    return (
        f"note: --suspect needs --null, models known not to descend from the suspects ({ADVISED_NULL_MODELS} or more "
        "advised); without it their verdicts are inconclusive. The other candidates cannot stand in: as the null they "
        "made the test liberal on students of known lineage (false-positive rate 0.08 at alpha 0.05; BENCHMARKS.md)"
    )


CandidatesOpt = Annotated[
    str | None,
    typer.Option(
        "--candidates",
        help="Comma-separated candidate teachers (default: the models of --families, else every other model; "
        "never --null).",
    ),
]
SuspectOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--suspect", help="A candidate to test by name: was the student distilled from it? (repeatable or comma list)"
    ),
]
NullOpt = Annotated[
    str | None,
    typer.Option(
        "--null",
        help="Comma-separated models known not to descend from the suspects: the named-suspect test's null "
        "(needed for a verdict; the more the better, see the README's limits).",
    ),
]


@app.command("attribute")
def attribute_cmd(  # noqa: PLR0913 (a typer command: one parameter per flag)
    responses: Annotated[
        list[Path],
        typer.Option(
            "--responses", help="Responses file (model, instruction, output) or an RSE run directory; repeatable."
        ),
    ],
    student: Annotated[str, typer.Option("--student", help="The model whose teacher is sought.")],
    candidates: CandidatesOpt = None,
    suspect: SuspectOpt = None,
    null: NullOpt = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the classifier and the bootstrap.")] = 0,
    families: Annotated[
        Path | None,
        typer.Option("--families", help="CSV model,family: groups candidates by vendor (default: each model alone)."),
    ] = None,
    top: Annotated[int, typer.Option("--top", help="Families shown with their probabilities.")] = 5,
    json_out: JsonOpt = False,
) -> None:
    """Posterior over the candidates' families (and "none"), ranked candidates, named-suspect verdicts."""
    import tempfile

    from distillscope.rse.store import export_responses
    from distillscope.rundir import RunDir

    suspects = [s for value in suspect or [] for s in _split(value)]
    with one_line_errors(), tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, path in enumerate(responses):
            if path.is_dir():  # an RSE run directory: export its answers in the (model, instruction, output) form
                files.append(export_responses(RunDir(path), Path(tmp) / f"run{i}.jsonl"))
            else:
                files.append(path)
        result = _attribute(files, student, _split(candidates) or None, suspects, _split(null), seed, families)
    if suspects and not null:
        err_console.print(f"[yellow]{_no_null_note()}[/yellow]")
    if json_out:
        print_json(result)
        return
    _print_attribution(result, top)


def _print_attribution(result: dict[str, Any], top: int) -> None:
    student, fams = result["student"], list(result["family_probabilities"].items())
    _table(
        f"families of {student}'s teacher ({result['n_prompts']} prompts; 'none': none of these)",
        [{"family": f, "probability": p} for f, p in fams[:top]],
    )
    _table(
        "candidate teachers",
        [{k: c[k] for k in ("rank", "candidate", "family", "probability", "similarity")} for c in result["candidates"]],
    )
    rows = [_suspect_row(v) for v in result["verdicts"]]
    if rows:
        _table("named suspects (effect in null-model SDs; p Holm-corrected across the suspects)", rows)
    for v in result["verdicts"]:  # below the table, where a long reason stays readable on a narrow terminal
        for note in (v["reason"], v["caveat"] and f"caveat: {v['caveat']}"):
            if note:
                console.print(f"{v['suspect']}: {note}", highlight=False, soft_wrap=True)


def _suspect_row(v: dict[str, Any]) -> dict[str, Any]:
    effect = v["effect"] or {}
    return {
        "suspect": v["suspect"],
        "verdict": v["verdict"],
        "effect": _num(effect.get("estimate")),
        "95% CI": _ci(effect.get("low"), effect.get("high")),
        "p": _num(v["p_value"]),
        "p Holm": _num(v["p_adjusted"]),
        "nulls": len(v["null_models"]),
    }


def _attribute(
    files: list[Path],
    student: str,
    candidates: list[str] | None,
    suspects: list[str],
    null: list[str],
    seed: int,
    families: Path | None,
) -> dict[str, Any]:
    import dataclasses

    from distillscope.rse.attribution import AttributionSettings, attribute_from_files

    result = attribute_from_files(
        files,
        student,
        candidates=candidates,
        families_csv=families,
        suspects=suspects,
        null_models=null,
        settings=AttributionSettings(seed=seed),
    )
    out = dataclasses.asdict(result)
    out["family_probabilities"] = dict(sorted(result.family_probabilities.items(), key=lambda kv: -kv[1]))
    return out
