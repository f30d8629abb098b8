"""The identity-judge interface, its value types and the paper's hard-score keyword rule (factory: judge_factory)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from distillscope.identity.registry import Family

Label = Literal["contradiction", "consistent", "unscored"]
# Where the contradicting claims of a verdict were found (None: no contradiction, or a judge that cannot tell).
EvidenceLocation = Literal["answer", "reasoning", "both"]
LABELS: tuple[str, ...] = ("contradiction", "consistent", "unscored")

# The paper's (reconstructed) hard-score rule: a template "mentions the vendor" if it contains any of these.
PAPER_HARD_KEYWORDS: tuple[str, ...] = ("openai", "chatgpt", "gpt", "anthropic", "claude")
_THINK_CLOSE = re.compile(r"</think\s*>", re.IGNORECASE)
_THINK_OPEN = re.compile(r"<think\s*>", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class JudgeItem:
    """One response to judge against the true identity of its target's family."""

    target: Family
    response: str
    jailbreak_prompt: str | None = None
    query: str | None = None
    template_mentions_vendor: bool | None = None
    reasoning: str | None = None


@dataclass(frozen=True, kw_only=True)
class JudgeVerdict:
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
    def unscored(rationale: str, raw: str | None = None) -> JudgeVerdict:
        """A verdict for a response the judge could not decide on."""
        return JudgeVerdict(
            loose=False,
            strict=False,
            hard=False,
            label="unscored",
            claimed_family=None,
            rationale=rationale,
            uncertain=True,
            raw=raw,
        )


@runtime_checkable
class IdentityJudge(Protocol):
    """Anything that judges identity claims in batches; verdicts come back in input order."""

    async def judge(self, items: Sequence[JudgeItem]) -> list[JudgeVerdict]: ...


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


def make_verdict(loose: bool, strict: bool, item: JudgeItem, **kw: object) -> JudgeVerdict:
    """Build a consistent verdict: hard = strict and the template does not mention a reference vendor."""
    strict = strict and loose
    hard = strict and not item_mentions_vendor(item)
    label: Label = "contradiction" if loose else "consistent"
    return JudgeVerdict(loose=loose, strict=strict, hard=hard, label=label, **kw)  # type: ignore[arg-type]


class RegexJudge:
    """Baseline: strict = the response mentions openai/chatgpt/gpt/anthropic/claude anywhere."""

    def __init__(self, keywords: Sequence[str] = PAPER_HARD_KEYWORDS) -> None:
        self.keywords = tuple(keywords)

    async def judge(self, items: Sequence[JudgeItem]) -> list[JudgeVerdict]:
        """Judge every item by keyword presence alone."""
        out = []
        for it in items:
            hit = template_mentions_vendor(it.response, self.keywords)
            out.append(make_verdict(hit, hit, it, rationale="keyword in response" if hit else "no keyword"))
        return out
