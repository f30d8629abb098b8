"""Target evaluation: ask a target questions wrapped in templates, judge the answers, build the records.

`evaluate_template` (one template x questions -> judged records) is the building block of both the fuzzer
and the paired replay (`replay`: every template x every question on several targets).
Target queries go through `Model.generate_many` (bounded concurrency, results in input order); a failed
call becomes a record with status "error" and is not judged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from distillscope.ice.judges import IdentityJudge, JudgeItem, JudgeVerdict
from distillscope.ice.questions import Question
from distillscope.ice.records import IceRecord
from distillscope.ice.templates import Template, fill
from distillscope.identity.registry import Family
from distillscope.model import Model
from distillscope.types import Completion, GenerateParams, GenerateRequest

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


@dataclass(kw_only=True)
class EvalOutcome:
    """Records of one template x questions, and what it cost."""

    records: list[IceRecord]
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
            target=target.family,
            response=completions[i].text,
            jailbreak_prompt=text,
            query=asked[i][0].text,
            template_mentions_vendor=template_mentions_vendor,
            reasoning=completions[i].reasoning,
        )
        for i in ok
    ]
    verdicts = dict(zip(ok, await target.judge.judge(items), strict=True)) if items else {}
    records = [
        build_record(target, template_id, text, template_mentions_vendor, q, p, c, verdicts.get(i))
        for i, ((q, p), c) in enumerate(zip(asked, completions, strict=True))
    ]
    return EvalOutcome(
        records=records,
        errors=len(completions) - len(ok),
        cache_hits=sum(1 for c in completions if c.cached),
        judged=len(items),
        cost_usd=sum(c.cost_usd for c in completions),
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
) -> IceRecord:
    """One records.jsonl row; a failed call is an error record, unjudged."""
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
    return rec


async def replay(
    templates: Sequence[Template],
    questions: Sequence[Question],
    targets: Sequence[IceTarget],
    options: EvalOptions,
    on_query: Callable[[], None] | None = None,
) -> dict[str, list[IceRecord]]:
    """Every template x every question on every target; records per target name, in a fixed order.

    All targets and templates are asked at once: each model's own limits (`max_concurrency`, rate limit) decide
    how many of its calls run together, so more workers make a replay faster. Records keep the order of a
    one-at-a-time replay (target, template, question), whatever order the answers arrive in."""

    async def one_target(target: IceTarget) -> list[IceRecord]:
        outcomes = await asyncio.gather(
            *(
                evaluate_template(target, t.id, t.text, t.mentions_vendor, questions, options, on_query)
                for t in templates
            )
        )
        rows: list[IceRecord] = []
        for outcome in outcomes:
            base = len(rows)  # fixed before extending: rows grows while the generator runs
            rows.extend(r.model_copy(update={"idx": base + i}) for i, r in enumerate(outcome.records))
        log.info("replay on %s: %d records", target.name, len(rows))
        return rows

    per_target = await asyncio.gather(*(one_target(t) for t in targets))
    return {t.name: rows for t, rows in zip(targets, per_target, strict=True)}
