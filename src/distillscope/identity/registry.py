"""Registry of model families: resolve a model name to its family, its true-identity fact and claim terms."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict

from distillscope.errors import ConfigError
from distillscope.identity.families import FAMILY_ROWS, KEY_ALIASES

# Provider prefixes stripped from model specs ("openai:gpt-4o-mini", "embedded:qwen2.5-0.5b").
_PREFIX = re.compile(r"^[a-z][a-z0-9_.-]{0,30}:(?!\d)", re.IGNORECASE)
_CJK = re.compile(r"[\u3400-\u9fff]")

DEFAULT_REFERENCE_FAMILIES: tuple[str, ...] = ("gpt", "claude")


@dataclass(frozen=True, kw_only=True)
class Family:
    """One model family: who makes it, what it is called, and the one-line truth about its identity."""

    key: str
    name: str
    vendor: str
    fact: str
    vendor_zh: str = ""
    name_zh: str = ""
    patterns: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()
    terms_cs: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @cached_property
    def name_regex(self) -> re.Pattern[str] | None:
        """Compiled alternation of `patterns` (None when the family has no patterns)."""
        return re.compile("|".join(f"(?:{p})" for p in self.patterns)) if self.patterns else None

    @cached_property
    def term_regex(self) -> re.Pattern[str] | None:
        """A regex matching any claim term of this family in free text (None without terms)."""
        parts = [_term_pattern(t, cs=False) for t in self.terms] + [_term_pattern(t, cs=True) for t in self.terms_cs]
        parts += [_term_pattern(n, cs=False) for n in (self.vendor, self.vendor_zh, self.name_zh) if n]
        return re.compile("|".join(sorted(set(parts), key=len, reverse=True))) if parts else None

    def mentioned_in(self, text: str) -> bool:
        """True when any claim term of this family occurs in `text`."""
        rx = self.term_regex
        return bool(rx and rx.search(text))


def _term_pattern(term: str, *, cs: bool) -> str:
    """Regex for one term: substring for CJK, word-bounded (and optionally case-insensitive) otherwise."""
    esc = re.escape(term).replace(r"\ ", r"[\s-]?")
    if _CJK.search(term):
        return esc
    body = esc if cs else f"(?i:{esc})"
    # Letters/digits may not continue the term ("PersonGPT", "Metaverse"); a version suffix may ("GPT-4").
    return rf"(?<![A-Za-z0-9]){body}(?![A-Za-z])"


class FamilyOverride(BaseModel):
    """A user-supplied family (new) or a change to a built-in one; unset fields keep the built-in value."""

    model_config = ConfigDict(extra="forbid")

    key: str
    name: str | None = None
    vendor: str | None = None
    fact: str | None = None
    vendor_zh: str | None = None
    name_zh: str | None = None
    patterns: list[str] | None = None
    terms: list[str] | None = None
    terms_cs: list[str] | None = None


def _family_from_row(row: dict[str, object]) -> Family:
    return Family(**{k: (tuple(v) if isinstance(v, list | tuple) else v) for k, v in row.items()})  # type: ignore[arg-type]


class IdentityRegistry:
    """An ordered set of families with name resolution; immutable, `with_overrides` returns a new one."""

    def __init__(self, families: Iterable[Family], aliases: dict[str, str] | None = None) -> None:
        self._families: dict[str, Family] = {f.key: f for f in families}
        self._aliases = dict(aliases or {})

    @classmethod
    def builtin(cls) -> IdentityRegistry:
        """The registry of built-in families."""
        return cls((_family_from_row(r) for r in FAMILY_ROWS), KEY_ALIASES)

    @property
    def families(self) -> tuple[Family, ...]:
        return tuple(self._families.values())

    def get(self, key: str) -> Family:
        """The family with this key (or vendor alias such as "openai"); ConfigError when unknown."""
        k = key.strip().lower()
        fam = self._families.get(k) or self._families.get(self._aliases.get(k, ""))
        if fam is None:
            known = ", ".join(sorted(self._families))
            raise ConfigError(f"unknown model family {key!r}; use one of: {known} (or add a FamilyOverride)")
        return fam

    def resolve(self, model_name: str) -> Family | None:
        """The family of a model name or spec (provider prefix stripped); the leftmost pattern match wins."""
        name = normalise_model_name(model_name)
        best: tuple[int, int, Family] | None = None
        for order, fam in enumerate(self._families.values()):
            m = fam.name_regex.search(name) if fam.name_regex else None
            if m and (best is None or (m.start(), order) < best[:2]):
                best = (m.start(), order, fam)
        return best[2] if best else None

    def with_overrides(self, overrides: Sequence[FamilyOverride]) -> IdentityRegistry:
        """A new registry with families added or fields replaced; a new family needs a vendor and a fact."""
        fams = dict(self._families)
        for ov in overrides:
            changes: dict[str, Any] = {
                k: (tuple(v) if isinstance(v, list) else v)
                for k, v in ov.model_dump().items()
                if v is not None and k != "key"
            }
            base = fams.get(ov.key) or fams.get(self._aliases.get(ov.key, ""))
            if base is not None:
                fams[base.key] = replace(base, **changes)
                continue
            if not ov.vendor or not ov.fact:
                raise ConfigError(f"new family {ov.key!r} needs both 'vendor' and 'fact' in its override")
            fams[ov.key] = Family(
                key=ov.key, name=ov.name or ov.key, **{k: v for k, v in changes.items() if k != "name"}
            )
        return IdentityRegistry(fams.values(), self._aliases)

    @cached_property
    def _term_index(self) -> _TermIndex:
        return _TermIndex(self.families)

    def families_in(self, text: str) -> list[tuple[int, Family]]:
        """Families whose claim terms occur in `text`, as (position of first mention, family), by position."""
        return self._term_index.find(text)


@lru_cache(maxsize=4096)  # looked up for every term found in a text; the terms are few
def _norm_term(term: str) -> str:
    return re.sub(r"[\s-]+", "", term).lower()


def trie_regex(words: Iterable[str]) -> str:
    """A regex alternation of `words` shaped as a trie (Python's re does not optimise plain alternations)."""
    trie: dict[str, Any] = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def walk(node: dict[str, Any]) -> str:
        alts = [("[\\s-]?" if ch == " " else re.escape(ch)) + walk(sub) for ch, sub in node.items() if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return walk(trie)


class _TermIndex:
    """All families' claim terms in two trie regexes (ASCII case-folded, CJK) plus a case-sensitive one."""

    def __init__(self, families: Sequence[Family]) -> None:
        self.by_term: dict[str, Family] = {}
        cs: dict[str, Family] = {}
        raw: list[str] = []
        for fam in reversed(families):  # earlier families win a shared term
            cs_norm = {_norm_term(t) for t in fam.terms_cs}
            for t in (*fam.terms, fam.vendor, fam.vendor_zh, fam.name_zh):
                if t and _norm_term(t) not in cs_norm:
                    self.by_term[_norm_term(t)] = fam
                    raw.append(t)
            cs.update({_norm_term(t): fam for t in fam.terms_cs})
        self.cs_by_term = cs
        words = sorted({t.lower() for t in raw if not _CJK.search(t)}, key=len, reverse=True)
        self.ascii_rx = re.compile(rf"(?<![a-z0-9])(?:{trie_regex(words)})(?![a-z])")
        self.cjk_rx = re.compile(trie_regex(sorted({t for t in raw if _CJK.search(t)})))
        cs_words = sorted({t for f in families for t in f.terms_cs})
        self.cs_rx = re.compile(rf"(?<![A-Za-z0-9])(?:{trie_regex(cs_words)})(?![A-Za-z])") if cs_words else None
        # The case-sensitive terms without the look-behind: re skips straight to their first letters.
        self.cs_cue = re.compile(trie_regex(cs_words)) if cs_words else None

    def find(self, text: str) -> list[tuple[int, Family]]:
        seen: dict[str, tuple[int, Family]] = {}
        hits = [(m.start(), self.by_term.get(_norm_term(m.group()))) for m in self.ascii_rx.finditer(text.lower())]
        if not text.isascii():  # every CJK term has a CJK character
            hits += [(m.start(), self.by_term.get(_norm_term(m.group()))) for m in self.cjk_rx.finditer(text)]
        if self.cs_rx is not None and self.cs_cue is not None and self.cs_cue.search(text):
            hits += [(m.start(), self.cs_by_term.get(_norm_term(m.group()))) for m in self.cs_rx.finditer(text)]
        if not hits:
            return []
        for pos, fam in sorted(hits, key=lambda h: h[0]):
            if fam is not None and fam.key not in seen:
                seen[fam.key] = (pos, fam)
        return sorted(seen.values(), key=lambda x: x[0])


def normalise_model_name(model_name: str) -> str:
    """Lower-case a model name and strip a provider prefix such as "openai:" or "embedded:"."""
    name = model_name.strip()
    while _PREFIX.match(name):
        name = _PREFIX.sub("", name, count=1)
    return name.lower()


_BUILTIN: IdentityRegistry | None = None


def default_registry() -> IdentityRegistry:
    """The shared built-in registry (built once)."""
    global _BUILTIN
    if _BUILTIN is None:
        _BUILTIN = IdentityRegistry.builtin()
    return _BUILTIN


def resolve_family(model_name: str) -> Family | None:
    """The built-in family of a model name, or None when no family pattern matches."""
    return default_registry().resolve(model_name)


def get_family(key: str) -> Family:
    """The built-in family with this key or vendor alias; ConfigError when unknown."""
    return default_registry().get(key)


def family_for_target(target: str, *, fact: str | None = None, registry: IdentityRegistry | None = None) -> Family:
    """The family to judge `target` against; an explicit `fact` overrides the built-in one.

    An unknown target without a fact is a ConfigError that names the `--fact` option.
    """
    fam = (registry or default_registry()).resolve(target)
    if fam is None:
        if not fact:
            raise ConfigError(
                f"unknown target model {target!r}: no identity fact is known; pass --fact "
                "'I am <name>, made by <vendor>' or add a family override for it"
            )
        return Family(key=normalise_model_name(target), name=target, vendor="", fact=fact)
    return replace(fam, fact=fact) if fact else fam
