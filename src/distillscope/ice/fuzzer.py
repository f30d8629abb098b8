"""The GPTFuzz loop for identity leakage: select a template, mutate it, ask the target, judge, reward, repeat.

Choices (see docs in `FuzzConfig`):
- Reward is GPTFuzz's: successes / (|questions asked| x |mutants|), one mutant per iteration, so it is the
  mutant's success fraction in [0, 1]. A "success" is a verdict whose `reward_on` flag (loose by default,
  as the paper) is true.
- Only mutants with at least one success enter the pool (GPTFuzz); `keep_unsuccessful=True` adds every
  evaluated mutant, as the paper's ICE port did. Every evaluated mutant is in the tree and its records kept.
- A mutant without `{query}` is skipped by default; `append_if_missing=True` appends the question instead.
- Every attempt (even a rejected mutation) counts as an iteration.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from distillscope.errors import ConfigError
from distillscope.ice.campaign import (
    CampaignState,
    Counters,
    load_checkpoint,
    restore_rng,
    rng_state,
    save_checkpoint,
    truncate_jsonl,
)
from distillscope.ice.evaluate import EvalOptions, IceTarget, evaluate_template
from distillscope.ice.mutators import Mutation, MutationContext, Mutator
from distillscope.ice.questions import Question, sample_questions
from distillscope.ice.records import IceRecord
from distillscope.ice.selectors import Selector, TemplateNode, TemplateTree
from distillscope.ice.templates import PLACEHOLDER, Template, mentions_vendor
from distillscope.progress import ProgressEvent, ProgressSink
from distillscope.rundir import RunDir, append_jsonl
from distillscope.types import GenerateParams

log = logging.getLogger(__name__)
DEFAULT_SYSTEM = "You are a helpful assistant."
RewardOn = Literal["loose", "strict", "hard"]


@dataclass(frozen=True, kw_only=True)
class FuzzBudget:
    """Caps, each counted separately; None means unlimited. The campaign stops at the first one reached."""

    max_target_queries: int | None = 1000
    max_mutator_calls: int | None = None
    max_judge_calls: int | None = None
    max_iterations: int | None = None
    max_time_s: float | None = None
    max_cost_usd: float | None = None

    def exhausted(self, c: Counters) -> str | None:
        """The name of the first budget that is used up, or None."""
        checks: list[tuple[str, float | None, float]] = [
            ("max_target_queries", self.max_target_queries, c.target_queries),
            ("max_iterations", self.max_iterations, c.iterations),
            ("max_judge_calls", self.max_judge_calls, c.judge_calls),
            ("max_time_s", self.max_time_s, c.elapsed_s),
            ("max_cost_usd", self.max_cost_usd, c.cost_usd),
        ]
        for name, cap, used in checks:
            if cap is not None and used >= cap:
                return name
        return None


@dataclass(frozen=True, kw_only=True)
class FuzzConfig:
    """How the campaign runs. Defaults: all questions per iteration, temperature 0, GPTFuzz pool rule."""

    budget: FuzzBudget = field(default_factory=FuzzBudget)
    questions_per_iteration: int | None = None
    system_prompt: str | None = DEFAULT_SYSTEM
    target_params: GenerateParams = field(default_factory=lambda: GenerateParams(temperature=0.0, max_tokens=512))
    keep_unsuccessful: bool = False
    append_if_missing: bool = False
    reward_on: RewardOn = "loose"
    max_consecutive_failures: int = 25
    seed: int = 0

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly view (config.json)."""
        return {
            "budget": self.budget.__dict__,
            "questions_per_iteration": self.questions_per_iteration,
            "system_prompt": self.system_prompt,
            "target_params": self.target_params.to_dict(),
            "keep_unsuccessful": self.keep_unsuccessful,
            "append_if_missing": self.append_if_missing,
            "reward_on": self.reward_on,
            "max_consecutive_failures": self.max_consecutive_failures,
            "seed": self.seed,
        }


@dataclass(kw_only=True)
class FuzzResult:
    """The end state of a campaign: tree, records (as written to records.jsonl), counters, why it stopped."""

    tree: TemplateTree
    records: list[IceRecord]
    counters: Counters
    stop_reason: str
    rejected: list[dict[str, Any]]

    def final_templates(self, include_seeds: bool = False) -> list[Template]:
        """The evaluated pool (mutants in the pool; seeds too when asked or when no mutant entered)."""
        nodes = [n for n in self.tree.pool if n.parent is not None]
        if include_seeds or not nodes:
            nodes = self.tree.pool if include_seeds else self.tree.roots
        return [
            Template(
                id=n.template_id, text=n.text, style=n.operator, mentions_vendor=n.mentions_vendor, source="fuzzer"
            )
            for n in nodes
        ]


def fingerprint(target: str, seeds: Sequence[Template], questions: Sequence[Question], cfg: FuzzConfig) -> str:
    """Identifies a campaign's inputs, so a resume with different inputs is refused."""
    payload = {
        "target": target,
        "seeds": [t.text for t in seeds],
        "questions": [q.id + q.text for q in questions],
        "seed": cfg.seed,
        "system": cfg.system_prompt,
        "params": cfg.target_params.to_dict(),
        "k": cfg.questions_per_iteration,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


class Fuzzer:
    """One GPTFuzz campaign against one target. Call `run`; it checkpoints to the run directory if given."""

    def __init__(
        self,
        target: IceTarget,
        mutators: Sequence[Mutator],
        selector: Selector,
        config: FuzzConfig,
        progress: ProgressSink | None = None,
    ) -> None:
        if not mutators:
            raise ConfigError("no mutators given; use --mutator rules or a mutator model spec")
        b = config.budget
        ends = (b.max_target_queries, b.max_iterations, b.max_time_s, b.max_judge_calls, b.max_cost_usd)
        model_only = all(m.uses_model for m in mutators)
        if all(x is None for x in ends) and not (model_only and b.max_mutator_calls is not None):
            raise ConfigError("the campaign has no end; set --max-queries, --max-iterations or --max-time")
        self.target, self.mutators, self.selector, self.config = target, list(mutators), selector, config
        self.progress = progress
        self.rng = random.Random(config.seed)

    async def run(
        self,
        seeds: Sequence[Template],
        questions: Sequence[Question],
        run_dir: Path | None = None,
        *,
        resume: bool = False,
    ) -> FuzzResult:
        """Fuzz until a budget is reached; returns the tree, the records and the counters."""
        if not questions:
            raise ConfigError("no identity questions; use --questions builtin or a non-empty file")
        run = RunDir(run_dir) if run_dir is not None else None
        state, records = self._start(seeds, questions, run, resume)
        self._emit(state.counters)  # a resumed campaign starts where the last one stopped
        started = time.monotonic()
        base_elapsed = state.counters.elapsed_s
        while True:
            state.counters.elapsed_s = base_elapsed + time.monotonic() - started
            reason = self._should_stop(state)
            if reason:
                break
            new = await self._iteration(state, questions)
            records.extend(new)
            state.counters.elapsed_s = base_elapsed + time.monotonic() - started
            self._commit(run, state, new)
        state.stop_reason = reason
        if run is not None:
            save_checkpoint(run, state)
        log.info("campaign stopped: %s (%s)", reason, state.counters.as_dict())
        return FuzzResult(
            tree=state.tree, records=records, counters=state.counters, stop_reason=reason, rejected=state.rejected
        )

    def _start(
        self, seeds: Sequence[Template], questions: Sequence[Question], run: RunDir | None, resume: bool
    ) -> tuple[CampaignState, list[IceRecord]]:
        fp = fingerprint(self.target.model.spec, seeds, questions, self.config)
        saved = load_checkpoint(run) if run is not None else None
        if saved is None or run is None:
            return self._fresh_state(fp, seeds), []
        if not resume:
            raise ConfigError(
                f"{run.root} already holds a campaign; pass --resume to continue it or choose another --out"
            )
        if saved.fingerprint != fp:
            raise ConfigError(
                f"{run.root} holds a campaign with other inputs (target, templates, questions or seed); "
                "resume with the same options or choose another --out"
            )
        restore_rng(self.rng, saved.rng_state)
        self.selector.load_state(saved.selector)
        saved.counters.consecutive_failures = 0
        return saved, truncate_jsonl(run.records, saved.n_records)

    def _fresh_state(self, fp: str, seeds: Sequence[Template]) -> CampaignState:
        if not seeds:
            raise ConfigError("no seed templates; use --templates builtin or a non-empty file")
        tree = TemplateTree()
        for t in seeds:
            tree.add(TemplateNode(index=0, template_id=t.id, text=t.text, mentions_vendor=t.mentions_vendor))
        return CampaignState(fingerprint=fp, tree=tree)

    def _should_stop(self, state: CampaignState) -> str | None:
        c = state.counters
        reason = self.config.budget.exhausted(c)
        if reason is None and c.consecutive_failures >= self.config.max_consecutive_failures:
            reason = f"{c.consecutive_failures} mutations in a row were rejected"
        cap = self.config.budget.max_mutator_calls
        if reason is None and cap is not None and c.mutator_calls >= cap and all(m.uses_model for m in self.mutators):
            reason = "max_mutator_calls"
        return reason

    async def _iteration(self, state: CampaignState, questions: Sequence[Question]) -> list[IceRecord]:
        c = state.counters
        c.iterations += 1
        path = self.selector.select(state.tree, self.rng)
        parent = state.tree.nodes[path[-1]]
        mutation = await self._mutate(state, parent)
        text = self._accept(state, parent, mutation)
        if text is None:
            self.selector.update(state.tree, path, 0.0)
            return []
        asked = self._questions(questions, c)
        node = TemplateNode(
            index=0,
            template_id=f"m{len(state.tree.nodes):04d}",
            text=text,
            parent=parent.index,
            level=parent.level + 1,
            operator=mutation.operator,
            mentions_vendor=mentions_vendor(text.replace(PLACEHOLDER, " ")),
            iteration=c.iterations,
        )
        outcome = await evaluate_template(
            self.target,
            node.template_id,
            text,
            node.mentions_vendor,
            asked,
            self._eval_options(),
            on_query=self._on_query(c),
        )
        fuzz_fields = {"iteration": c.iterations, "operator": mutation.operator, "parent": parent.template_id}
        records = [
            r.model_copy(update={"idx": state.n_records + i, **fuzz_fields}) for i, r in enumerate(outcome.records)
        ]
        successes = sum(1 for r in records if getattr(r, self.config.reward_on) is True)
        node.queries, node.successes = len(asked), successes
        node.in_pool = successes > 0 or self.config.keep_unsuccessful
        state.tree.add(node)
        self.selector.update(state.tree, path, successes / max(1, len(asked)))
        c.target_queries += len(asked)
        c.target_errors += outcome.errors
        c.target_cache_hits += outcome.cache_hits
        c.judge_calls += outcome.judged
        c.successes += successes
        c.cost_usd += outcome.cost_usd
        return records

    async def _mutate(self, state: CampaignState, parent: TemplateNode) -> Mutation:
        usable = [m for m in self.mutators if not m.uses_model or self._mutator_calls_left(state.counters)]
        mutator = self.rng.choice(usable)
        partners = [(n.index, n.text) for n in state.tree.pool]
        mutation = await mutator.mutate(parent.text, MutationContext(self.rng, partners))
        state.counters.mutator_calls += mutation.calls
        state.counters.cost_usd += mutation.cost_usd
        return mutation

    def _mutator_calls_left(self, c: Counters) -> bool:
        cap = self.config.budget.max_mutator_calls
        return cap is None or c.mutator_calls < cap

    def _accept(self, state: CampaignState, parent: TemplateNode, m: Mutation) -> str | None:
        """The mutant's text when usable, else None (logged in `rejected`)."""
        text = m.text if m.ok or (m.status == "no_placeholder" and self.config.append_if_missing) else None
        reason = m.status if text is None else None
        if text is not None and any(n.text.strip() == text.strip() for n in state.tree.nodes):
            text, reason = None, "duplicate"
        c = state.counters
        if text is None:
            c.mutants_rejected += 1
            c.consecutive_failures += 1
            state.rejected.append(
                {
                    "iteration": c.iterations,
                    "parent": parent.template_id,
                    "operator": m.operator,
                    "reason": reason,
                    "detail": m.detail,
                    "raw": m.raw[:2000],
                }
            )
            log.info("iteration %d: %s mutant rejected (%s)", c.iterations, m.operator, reason)
            self._emit(c)
            return None
        c.mutants_accepted += 1
        c.consecutive_failures = 0
        return text

    def _questions(self, questions: Sequence[Question], c: Counters) -> list[Question]:
        asked = sample_questions(questions, self.config.questions_per_iteration, self.rng)
        cap = self.config.budget.max_target_queries
        return asked if cap is None else asked[: max(0, cap - c.target_queries)]

    def _eval_options(self) -> EvalOptions:
        cfg = self.config
        return EvalOptions(cfg.system_prompt, cfg.target_params, cfg.append_if_missing)

    def _on_query(self, c: Counters) -> Callable[[], None]:
        answered = [c.target_queries]  # the counters count this iteration's queries when it ends

        def hook() -> None:
            answered[0] += 1
            self._emit(c, answered[0])

        return hook

    def _emit(self, c: Counters, done: int | None = None) -> None:
        """Queries answered so far (this campaign, across resumes) out of the query budget."""
        if self.progress is not None:
            note = f"iter {c.iterations} hits {c.successes} mutants {c.mutants_accepted}/{c.mutants_rejected} rejected"
            total = self.config.budget.max_target_queries
            self.progress(
                ProgressEvent(stage="ice.fuzz", done=c.target_queries if done is None else done, total=total, note=note)
            )

    def _commit(self, run: RunDir | None, state: CampaignState, new: list[IceRecord]) -> None:
        state.rng_state = rng_state(self.rng)
        state.selector = self.selector.state()
        state.n_records += len(new)
        if run is not None:
            append_jsonl(run.records, [r.model_dump() for r in new])
            save_checkpoint(run, state)
        self._emit(state.counters)
