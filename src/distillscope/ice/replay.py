"""Paired mode: one fixed template set x question set applied to several targets, so scores are comparable.

`evaluate_template` (one template x questions -> judged records) is the building block the fuzzer uses too.
Target queries go through `Model.generate_many` (bounded concurrency, results in input order); a failed
call becomes a record with status "error" and is not judged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distillscope.ice.judges import IdentityJudge, JudgeItem, JudgeVerdict
from distillscope.ice.questions import Question
from distillscope.ice.records import IceRecord
from distillscope.ice.templates import Template, fill
from distillscope.identity.registry import Family
from distillscope.model import Model
from distillscope.types import Completion, GenerateParams, GenerateRequest

if TYPE_CHECKING:
    from distillscope.ice.fuzzer import FuzzConfig, FuzzResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IceTarget:
    """A model under test, the family it is judged against, and the judge."""

    model: Model
    family: Family
    judge: IdentityJudge
    judge_name: str = "claims"

    @property
    def name(self) -> str:
        return self.model.spec


@dataclass(frozen=True)
class EvalOptions:
    """Target-side settings: system prompt, generation parameters, and the paper's append-if-missing rule."""

    system_prompt: str | None = "You are a helpful assistant."
    params: GenerateParams = field(default_factory=lambda: GenerateParams(temperature=0.0, max_tokens=512))
    append_if_missing: bool = False


@dataclass
class EvalOutcome:
    """Records of one template x questions, and what it cost."""

    records: list[dict[str, Any]]
    errors: int = 0
    cache_hits: int = 0
    judged: int = 0
    cost_usd: float = 0.0


async def evaluate_template(
    target: IceTarget,
    template_id: str,
    text: str,
    template_mentions_vendor: bool,
    questions: Sequence[Question],
    options: EvalOptions,
    on_query: Callable[[], None] | None = None,
) -> EvalOutcome:
    """Ask the target every question wrapped in the template, judge the answers, return one record each."""
    prompts = [fill(text, q.text, append_if_missing=options.append_if_missing) for q in questions]
    asked = [(q, p) for q, p in zip(questions, prompts, strict=True) if p is not None]
    requests = [GenerateRequest.chat(p, system=options.system_prompt, params=options.params) for _, p in asked]
    completions = await target.model.generate_many(requests, (lambda _c: on_query()) if on_query else None)
    ok = [i for i, c in enumerate(completions) if c.ok]
    items = [
        JudgeItem(
            target.family,
            completions[i].text,
            text,
            asked[i][0].text,
            template_mentions_vendor,
            completions[i].reasoning,
        )
        for i in ok
    ]
    verdicts = dict(zip(ok, await target.judge.judge(items), strict=True)) if items else {}
    records = [
        build_record(target, template_id, text, template_mentions_vendor, q, p, c, verdicts.get(i))
        for i, ((q, p), c) in enumerate(zip(asked, completions, strict=True))
    ]
    return EvalOutcome(
        records,
        len(completions) - len(ok),
        sum(1 for c in completions if c.cached),
        len(items),
        sum(c.cost_usd for c in completions),
    )


def build_record(
    target: IceTarget,
    template_id: str,
    template: str,
    template_mentions_vendor: bool,
    q: Question,
    prompt: str,
    c: Completion,
    v: JudgeVerdict | None,
) -> dict[str, Any]:
    """One records.jsonl row (an `IceRecord` plus fuzzing fields); a failed call is an error record, unjudged."""
    rec = IceRecord(
        target=target.name,
        template_id=template_id,
        template=template,
        query=q.text,
        query_category=q.category,
        query_language=q.language,
        prompt=prompt,
        response=c.text,
        reasoning=c.reasoning,
        status=c.status,
        error=c.error,
        question_id=q.id,
        template_mentions_vendor=template_mentions_vendor,
        cached=c.cached,
    )
    if v is not None:
        rec = rec.with_verdict(v, target.judge_name)
    return rec.model_dump()


async def replay(
    templates: Sequence[Template],
    questions: Sequence[Question],
    targets: Sequence[IceTarget],
    options: EvalOptions,
    on_query: Callable[[], None] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Every template x every question on every target; records per target name, in a fixed order."""
    out: dict[str, list[dict[str, Any]]] = {}
    for target in targets:
        rows: list[dict[str, Any]] = []
        for t in templates:
            outcome = await evaluate_template(target, t.id, t.text, t.mentions_vendor, questions, options, on_query)
            rows.extend({**r, "idx": len(rows) + i} for i, r in enumerate(outcome.records))
        log.info("replay on %s: %d records", target.name, len(rows))
        out[target.name] = rows
    return out


def write_replay(
    run_dir: Path, templates: Sequence[Template], by_target: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    """Write records.jsonl (all targets), templates.json and scores.json into a run directory."""
    from distillscope.ice.campaign import RunDir, write_scores
    from distillscope.rundir import append_jsonl, write_json_atomic

    run = RunDir(run_dir)
    run.root.mkdir(parents=True, exist_ok=True)
    run.records.unlink(missing_ok=True)
    append_jsonl(run.records, [r for rows in by_target.values() for r in rows])
    write_json_atomic(run.templates, [t.to_dict() for t in templates])
    return write_scores(run, by_target)


@dataclass(frozen=True)
class IceRunSpec:
    """Everything `ice run` needs: targets (the first is fuzzed), mutator ("rules" or a model spec), judge, inputs."""

    targets: tuple[str, ...]
    out: Path
    fuzz: FuzzConfig
    mutator: str = "rules"
    judge: str = "claims"
    fact: str | None = None
    questions: str = "builtin"
    templates: str = "builtin"
    selector: str = "mcts"
    mutator_params: GenerateParams = field(default_factory=lambda: GenerateParams(temperature=0.7, max_tokens=400))
    resume: bool = False
    use_cache: bool = True


@dataclass
class IceRunResult:
    """What `run_ice` produced: the fuzz result, its scores, and paired scores when several targets were given."""

    fuzz: FuzzResult
    scores: dict[str, Any]
    paired: dict[str, Any] | None = None


def resolve_targets(specs: Sequence[str], judge_spec: str, fact: str | None, cache: Any) -> list[IceTarget]:
    """Families first (an unknown family without a fact fails before any model loads), then the models."""
    from distillscope.ice.judges import make_judge
    from distillscope.identity.registry import family_for_target
    from distillscope.model import get_model

    families = [family_for_target(s, fact=fact) for s in specs]
    judge = make_judge(judge_spec)
    pairs = zip(specs, families, strict=True)
    return [IceTarget(get_model(s, cache=cache), fam, judge, judge_spec) for s, fam in pairs]


async def run_campaign(
    target: IceTarget,
    mutator: Model | None,
    mutator_params: GenerateParams,
    selector: str,
    config: FuzzConfig,
    templates: Sequence[Template],
    questions: Sequence[Question],
    root: Path,
    *,
    resume: bool,
    progress: Callable[[str, Any], None] | None = None,
) -> tuple[FuzzResult, dict[str, Any]]:
    """Fuzz one target in `root` (checkpointed; `resume` continues it) and write its scores.json."""
    from distillscope.ice.campaign import RunDir, write_scores
    from distillscope.ice.fuzzer import Fuzzer
    from distillscope.ice.mutators import build_mutators
    from distillscope.ice.selectors import make_selector

    fuzzer = Fuzzer(target, build_mutators(mutator, mutator_params), make_selector(selector), config, progress)
    result = await fuzzer.run(list(templates), list(questions), root, resume=resume)
    return result, write_scores(RunDir(root), {target.name: result.records})


async def run_ice(spec: IceRunSpec, progress: Callable[[str, Any], None] | None = None) -> IceRunResult:
    """Fuzz the first target, write its run directory, then replay the final pool on every target (paired)."""
    from distillscope.cache import ResponseCache
    from distillscope.errors import ConfigError
    from distillscope.ice.campaign import RunDir
    from distillscope.ice.questions import load_questions
    from distillscope.ice.templates import load_templates
    from distillscope.model import get_model
    from distillscope.rundir import write_json_atomic

    if not spec.targets:
        raise ConfigError("no target given; pass --target SPEC")
    questions, seeds = load_questions(spec.questions), load_templates(spec.templates)
    cache = ResponseCache() if spec.use_cache else None
    targets = resolve_targets(spec.targets, spec.judge, spec.fact, cache)
    mutator_model = None if spec.mutator == "rules" else get_model(spec.mutator, cache=cache)
    run = RunDir(spec.out)
    if run.campaign.is_file() and not spec.resume:
        raise ConfigError(f"{run.root} already holds a campaign; pass --resume to continue it or choose another --out")
    run.root.mkdir(parents=True, exist_ok=True)
    write_json_atomic(run.config, _config_dict(spec))
    result, scores = await run_campaign(
        targets[0],
        mutator_model,
        spec.mutator_params,
        spec.selector,
        spec.fuzz,
        seeds,
        questions,
        run.root,
        resume=spec.resume,
        progress=progress,
    )
    paired = None
    if len(targets) > 1:
        pool = result.final_templates()
        on_query = (lambda: progress("replay", None)) if progress else None
        by_target = await replay(pool, questions, targets, _eval_options(spec.fuzz), on_query)
        paired = write_replay(run.root / "paired", pool, by_target)
    return IceRunResult(result, scores, paired)


def _eval_options(cfg: FuzzConfig) -> EvalOptions:
    return EvalOptions(cfg.system_prompt, cfg.target_params, cfg.append_if_missing)


def _config_dict(spec: IceRunSpec) -> dict[str, Any]:
    return {
        "targets": list(spec.targets),
        "mutator": spec.mutator,
        "judge": spec.judge,
        "fact": spec.fact,
        "questions": spec.questions,
        "templates": spec.templates,
        "selector": spec.selector,
        "mutator_params": spec.mutator_params.to_dict(),
        "fuzz": spec.fuzz.summary(),
    }


@dataclass(frozen=True)
class ReplaySpec:
    """Everything `ice replay` needs."""

    targets: tuple[str, ...]
    out: Path
    templates: str = "builtin"
    questions: str = "builtin"
    judge: str = "claims"
    fact: str | None = None
    options: EvalOptions = field(default_factory=EvalOptions)
    use_cache: bool = True


async def run_replay(spec: ReplaySpec, on_query: Callable[[], None] | None = None) -> dict[str, Any]:
    """Apply one template set x question set to every target; write the run directory; return scores per target."""
    from distillscope.cache import ResponseCache
    from distillscope.ice.questions import load_questions
    from distillscope.ice.templates import load_templates
    from distillscope.rundir import write_json_atomic

    questions, templates = load_questions(spec.questions), load_templates(spec.templates)
    targets = resolve_targets(spec.targets, spec.judge, spec.fact, ResponseCache() if spec.use_cache else None)
    by_target = await replay(templates, questions, targets, spec.options, on_query)
    scores = write_replay(spec.out, templates, by_target)
    write_json_atomic(
        spec.out / "config.json",
        {
            "mode": "replay",
            "targets": list(spec.targets),
            "templates": spec.templates,
            "questions": spec.questions,
            "judge": spec.judge,
            "fact": spec.fact,
        },
    )
    return scores
