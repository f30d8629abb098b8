"""Context from the prompt: the persona a jailbreak template assigns to the assistant.

A template that says "You are PersonGPT", "Hello ChatGPT, act as DAN" or "你现在是Ron" makes those names
the assistant's own names for the conversation. An answer sentence whose grammatical subject is such a name
("PersonGPT 是由 OpenAI 开发的", "The development team behind ChatGPT is OpenAI") is then the assistant
speaking about itself in the third person, as a character would. `persona_subject` rewrites that subject
into a self-reference ("this AI", "本AI") so the ordinary claim anchors can read the sentence.

Names come from the template only:
- names of known model families the template uses, other than vendor names ("ChatGPT", "GPT-4");
- CamelCase coinages ("PersonGPT", "BetterDAN", "UnGpt");
- capitalised names introduced as the assistant's role: after "you are / act as / roleplay as / simulate /
  pretend to be / called / named / I am", in quotes, or as a speaker label ("[NECO]:", "DAN:").
"""

from __future__ import annotations

import re
from functools import lru_cache

from distillscope.ice.claims_fold import fold
from distillscope.identity.registry import IdentityRegistry

_CAMEL = re.compile(r"(?<![\w-])([A-Z]?[a-z]+[A-Z][\w-]*|[A-Z]{2,}[a-z][\w-]*)(?![\w-])")
_NAME = r"(?P<n>[A-Z][\w-]*(?:\s[A-Z][\w-]*)?)"
_CUE = re.compile(
    r"(?:\b(?:you\s+are|you['’]re|you\s+will\s+be|act(?:ing)?\s+as|role-?play(?:ing)?\s+as|role\s+of|"
    r"simulat\w*(?:\s+being)?|pretend(?:ing)?\s+to\s+be|become|called|named|dubbed|known\s+as|"
    r"I\s+am|I['’]m)\s+(?:now\s+)?(?:an?\s+|the\s+)?[\"“'‘]?"
    rf"|[\"“]|^\s*\[?|\[)(?-i:{_NAME})(?:[\"”'’\]]|\s*[:：]|\b)",
    re.IGNORECASE | re.MULTILINE,
)
_ZH_CUE = re.compile(r"(?:你现在是|你是|扮演|名为|叫做|你将成为)\s*[\"“「]?(?P<n>[A-Za-z][\w-]{1,20})")
# Capitalised words that are not names (sentence openers, pronouns, generic nouns).
_NOT_NAMES = frozenset(
    {
        "a",
        "an",
        "the",
        "i",
        "you",
        "we",
        "he",
        "she",
        "it",
        "they",
        "this",
        "that",
        "ai",
        "bot",
        "chatbot",
        "model",
        "assistant",
        "user",
        "human",
        "system",
        "prompt",
        "question",
        "answer",
        "response",
        "output",
        "note",
        "warning",
        "hello",
        "hi",
        "hey",
        "dear",
        "please",
        "here",
        "now",
        "from",
        "yes",
        "no",
        "ok",
        "not",
        "always",
        "never",
        "normal",
        "classic",
        "jailbreak",
        "jailbroken",
        "developer",
        "developer mode",
        "mode",
        "english",
        "chinese",
    }
)
_VERSION = r"(?:[\s-]?\d[\w.]*)?"


def persona_names(template: str | None, registry: IdentityRegistry) -> tuple[str, ...]:
    """Names the template gives the assistant (see the module docstring), longest first."""
    return _persona_names(template or "", registry) if template else ()


@lru_cache(maxsize=512)
def _persona_names(template: str, registry: IdentityRegistry) -> tuple[str, ...]:
    names = {m.group(1) for m in _CAMEL.finditer(template)}
    names |= {m.group("n") for m in _CUE.finditer(template)} | {m.group("n") for m in _ZH_CUE.finditer(template)}
    vendors = {f.vendor.lower() for f in registry.families} | {f.vendor_zh.lower() for f in registry.families}
    for pos, fam in registry.families_in(template):
        m = fam.term_regex.match(template, pos) if fam.term_regex else None
        if m:
            names.add(m.group(0))
    keep = {n.strip() for n in names if n.strip().lower() not in _NOT_NAMES | vendors and len(n.strip()) > 1}
    return tuple(sorted(keep, key=len, reverse=True))


def mentions_persona(sentence: str, names: tuple[str, ...]) -> bool:
    """Whether one of `names` occurs in `sentence`, as the persona patterns compare them (ignoring case). The
    rewrites below need one: this test first spares them (and their compilation) on most sentences."""
    if not names:
        return False
    folded = _folded(names)
    if folded is None:
        return True  # claims_fold folds letters as re does only for the ASCII letters of a name
    low = fold(sentence)
    return any(n in low for n in folded)


@lru_cache(maxsize=512)
def _folded(names: tuple[str, ...]) -> tuple[str, ...] | None:
    """The names folded (claims_fold); None when a name is not ASCII."""
    return tuple(fold(n) for n in names) if all(n.isascii() for n in names) else None


@lru_cache(maxsize=512)
def _subject_regex(names: tuple[str, ...]) -> re.Pattern[str]:
    alt = "|".join(re.escape(n) for n in names)
    return re.compile(
        r"^(?P<pre>\s*(?:(?:hello|hi|您好|你好)[,，!！]?\s*)?(?:the\s+(?:[\w-]+\s+){0,4}?(?:behind|of|for|powering)\s+)?"
        rf"(?:the\s+)?)(?P<name>(?:{alt}){_VERSION})(?P<poss>['’]s)?(?![A-Za-z0-9-])(?P<appos>,\s[^,，。.]{{3,80}},)?",
        re.IGNORECASE,
    )


def persona_subject(sentence: str, names: tuple[str, ...], *, first_person: bool = False) -> str | None:
    """The sentence with a persona-name subject rewritten as a self-reference; None when the subject is not
    one of `names` ("PersonGPT's team is OpenAI" -> "my team is OpenAI"). The subject becomes "this AI"/"本AI",
    or "I"/"我" with `first_person` ("LiveGPT is a model developed by X" -> "I is a model developed by X")."""
    if not names:
        return None
    m = _subject_regex(names).match(sentence)
    if not m:
        return None
    zh = bool(re.match(r"\s*[\u3400-\u9fff]", sentence[m.end("name") :]))
    if m.group("poss"):
        self_ref = "my"
    else:
        self_ref = ("我" if zh else "I") if first_person else ("本AI" if zh else "this AI")
    rest = sentence[m.end() :] if not m.group("appos") else " " + sentence[m.end() :].lstrip()  # drop "X, the .., is"
    rest = re.sub(rf"(?<![\w-]){re.escape(m.group('name'))}(?:['’]s)?(?![A-Za-z0-9-])", self_ref, rest)
    return sentence[: m.start("name")] + self_ref + rest


_MADE = r"(?:developed|created|built|designed|made|launched|released|trained|programmed|engineered)"
# Both maker patterns need a making verb or "is the (creator of)": searched in the folded sentence first.
_MADE_CUE = re.compile(rf"{_MADE}|is\s+the\s")


@lru_cache(maxsize=512)
def _object_regexes(names: tuple[str, ...]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    alt = "|".join(re.escape(n) for n in names)
    maker_first = re.compile(
        rf"^\s*(?P<m>[^.,;:!?()\[\]\n]{{2,60}}?)\s+(?:{_MADE}|is\s+the\s+(?:\w+\s+){{0,2}}?(?:developer|creator|maker|"
        rf"owner|parent\s+company|company\s+behind)\s+of)\s+(?:the\s+)?(?:{alt}){_VERSION}(?![\w-])",
        re.IGNORECASE,
    )
    named_after = re.compile(
        r"\b(?:model|AI|chatbot|assistant|bot)\b[^.!?\n]{0,60}?\b(?P<v>" + _MADE + r")\b[^.!?\n]{0,40}?\bby\s+"
        rf"(?P<m>[^.,;\n]{{2,60}}?)\s+(?:called|named|known\s+as)\s+[\"“]?(?:{alt}){_VERSION}(?![\w-])",
        re.IGNORECASE,
    )
    return maker_first, named_after


def persona_maker(sentence: str, names: tuple[str, ...]) -> str | None:
    """A first-person origin sentence for a persona named as the object of a making verb: "BasedAI Corp developed
    LiveGPT" or "a new model created by BasedAI Corp called LiveGPT" -> "I was developed by BasedAI Corp"."""
    if not names or not _MADE_CUE.search(fold(sentence)):
        return None
    maker_first, named_after = _object_regexes(names)
    m = maker_first.match(sentence)
    if m and not re.search(r"\b(?:I|we|you|he|she|they|it|not|never|if)\b", m.group("m"), re.IGNORECASE):
        return f"I was developed by {m.group('m').strip()}."
    m = named_after.search(sentence)
    return f"I was {m.group('v').lower()} by {m.group('m').strip()}." if m else None
