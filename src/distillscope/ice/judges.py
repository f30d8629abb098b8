"""The identity-judge interface, its value types, the paper's hard-score keyword rule and `make_judge`."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from distillscope.errors import ConfigError
from distillscope.identity.registry import DEFAULT_REFERENCE_FAMILIES, Family

if TYPE_CHECKING:
    from distillscope.identity.registry import IdentityRegistry
    from distillscope.model import Model

Label = Literal["contradiction", "consistent", "unscored"]
# Where the contradicting claims of a verdict were found (None: no contradiction, or a judge that cannot tell).
EvidenceLocation = Literal["answer", "reasoning", "both"]
LABELS: tuple[str, ...] = ("contradiction", "consistent", "unscored")

# The paper's (reconstructed) hard-score rule: a template "mentions the vendor" if it contains any of these.
PAPER_HARD_KEYWORDS: tuple[str, ...] = ("openai", "chatgpt", "gpt", "anthropic", "claude")
_THINK_CLOSE = re.compile(r"</think\s*>", re.IGNORECASE)
_THINK_OPEN = re.compile(r"<think\s*>", re.IGNORECASE)


@dataclass(frozen=True)
class JudgeItem:
    """One response to judge against the true identity of its target's family."""

    target: Family
    response: str
    jailbreak_prompt: str | None = None
    query: str | None = None
    template_mentions_vendor: bool | None = None
    reasoning: str | None = None


@dataclass(frozen=True)
class Verdict:
    """A judge's decision. hard implies strict implies loose; `label` is "unscored" when undecidable."""

    loose: bool
    strict: bool
    hard: bool
    label: Label
    claimed_family: str | None = None
    rationale: str = ""
    uncertain: bool = False
    raw: str | None = None
    location: EvidenceLocation | None = None

    @staticmethod
    def unscored(rationale: str, raw: str | None = None) -> Verdict:
        """A verdict for a response the judge could not decide on."""
        return Verdict(False, False, False, "unscored", None, rationale, True, raw)


@runtime_checkable
class IdentityJudge(Protocol):
    """Anything that judges identity claims in batches; verdicts come back in input order."""

    async def judge(self, items: Sequence[JudgeItem]) -> list[Verdict]: ...


def template_mentions_vendor(template: str | None, keywords: Sequence[str] = PAPER_HARD_KEYWORDS) -> bool:
    """True when the template contains any keyword (case-insensitive substring; the paper's hard rule)."""
    low = (template or "").lower()
    return any(k in low for k in keywords)


def item_mentions_vendor(item: JudgeItem) -> bool:
    """The item's explicit flag, or the keyword rule applied to its template (no template: False)."""
    if item.template_mentions_vendor is not None:
        return item.template_mentions_vendor
    return template_mentions_vendor(item.jailbreak_prompt)


def split_think(response: str) -> tuple[str, str | None]:
    """Split a DeepSeek-R1 style response into (answer, reasoning); an unclosed <think> is all reasoning."""
    close = list(_THINK_CLOSE.finditer(response))
    if close:
        cut = close[-1]
        head = _THINK_OPEN.sub("", response[: cut.start()], count=1)
        return response[cut.end() :].strip(), head.strip()
    opened = _THINK_OPEN.search(response)
    if opened:
        return "", response[opened.end() :].strip()
    return response, None


def make_verdict(loose: bool, strict: bool, item: JudgeItem, **kw: object) -> Verdict:
    """Build a consistent verdict: hard = strict and the template does not mention a reference vendor."""
    strict = strict and loose
    hard = strict and not item_mentions_vendor(item)
    label: Label = "contradiction" if loose else "consistent"
    return Verdict(loose=loose, strict=strict, hard=hard, label=label, **kw)  # type: ignore[arg-type]


class RegexJudge:
    """Baseline: strict = the response mentions openai/chatgpt/gpt/anthropic/claude anywhere."""

    def __init__(self, keywords: Sequence[str] = PAPER_HARD_KEYWORDS) -> None:
        self.keywords = tuple(keywords)

    async def judge(self, items: Sequence[JudgeItem]) -> list[Verdict]:
        """Judge every item by keyword presence alone."""
        out = []
        for it in items:
            hit = template_mentions_vendor(it.response, self.keywords)
            out.append(make_verdict(hit, hit, it, rationale="keyword in response" if hit else "no keyword"))
        return out


def make_judge(
    spec: str,
    *,
    registry: IdentityRegistry | None = None,
    reference_families: Sequence[str] = DEFAULT_REFERENCE_FAMILIES,
    models: Callable[[str], Model] | None = None,
) -> IdentityJudge:
    """Build a judge from "claims", "regex", "llm:<model>" or "ensemble:<model>".

    `models` turns the model part into a Model (an experiment passes its pool, so names from the config
    work and the judge shares the run's cache and budget); by default it is resolved as a spec."""
    from distillscope.ice.claims_judge import ClaimsJudge

    kind, _, rest = spec.partition(":")
    if kind == "claims" and not rest:
        return ClaimsJudge(registry=registry, reference_families=reference_families)
    if kind == "regex" and not rest:
        return RegexJudge()
    if kind in ("llm", "ensemble") and rest:
        from distillscope.ice.llm_judge import EnsembleJudge, LlmJudge
        from distillscope.model import get_model

        llm = LlmJudge((models or get_model)(rest), reference_families=reference_families, registry=registry)
        if kind == "llm":
            return llm
        return EnsembleJudge(ClaimsJudge(registry=registry, reference_families=reference_families), llm)
    raise ConfigError(f"unknown judge {spec!r}: use 'claims', 'regex', 'llm:<model spec>' or 'ensemble:<model spec>'")
