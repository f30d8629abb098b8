"""Judge-free lineage signals: what a student inherits from its teacher's answers.

Per-prompt similarities that feed the named-suspect test and the attribution (``word`` and ``frame`` by
default):

- ``word``: word 1-2-gram TF-IDF cosine of two answers to the same prompt (what is said);
- ``frame``: TF-IDF cosine (1-3-grams) of how an answer opens and closes (its first and last 12 tokens,
  marked as such) and of the shape of each line (heading, bullet, numbered item, table, code, bold lead,
  paragraph ending in a colon, blank). Openers ("Certainly! Here are"), sign-offs ("I hope this helps!")
  and list layout are habits a student copies from its teacher's answers whatever the topic;
- ``skeleton``: TF-IDF cosine of function-word templates (how it is said). Every content word becomes a
  shape symbol (``W`` lower-case word, ``C`` capitalised word, ``D`` number) while function words,
  punctuation, line breaks and markdown stay. This is the offline stand-in for part-of-speech templates
  (Wadhwa et al. 2025): no PyPI package ships an official English tagger model, and tagging 60k answers
  would take longer than the whole benchmark may.

Each of these becomes an *excess*: a model's mean similarity to one candidate minus its mean similarity to
all other candidates, so a model that resembles everybody (a generic assistant style) is not mistaken for
a student of everybody.

- ``nearest``: the share of prompts on which the candidate is the model's *nearest* candidate by the word
  similarity (ties share the prompt). A per-prompt vote is not moved by a few prompts of unusually high or
  low similarity, and it asks whether the candidate beats *every* rival, siblings of the same vendor
  included, not their average. It depends on the candidate set, and its null distribution is skewed (most
  unrelated models are almost never nearest to a given candidate), so it is not the default of the test.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from distillscope.rse.metrics import PromptSims, Texts, TfidfOptions, tfidf_prompt_sims

LINEAGE_SIGNALS = ("word", "skeleton", "frame", "nearest")
# Chosen under leave-one-student-out cross-validation (BENCHMARKS.md). Attribution uses the word and frame
# excess: the frame raises its AUROC (0.944 -> 0.957). The named-suspect test uses the word excess alone: adding
# the frame took its false-positive rate to 0.050 (word alone 0.041) and lowered recall on held-out prompt
# sources; the nearest-candidate share raised recall (0.805) but its test does not hold its false-positive rate
# (BENCHMARKS.md, session 6). The skeleton adds nothing to either.
DEFAULT_SIGNALS = ("word", "frame")
VERDICT_SIGNALS = ("word",)

_FUNCTION_WORD_LIST = """a about above after again against all also am an and any are as at be because been before
    being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how however i if in into is it its itself just let may
    me might more most must my myself no nor not now of off on once only or other our ours ourselves out
    over own same she should so some such than that the their theirs them themselves then there therefore
    these they this those through thus to too under until up very was we were what when where which while
    who whom why will with would you your yours yourself yourselves sure certainly yes please note hope
    helps know example following overall additionally furthermore firstly secondly finally conclusion
    summary i'm it's here's you're don't can't won't isn't aren't"""
_FUNCTION_WORDS = frozenset(_FUNCTION_WORD_LIST.split())
_TOKEN = re.compile(r"\w+(?:'\w+)?|\n|[^\w\s]")


def function_word_skeleton(text: str) -> str:
    """The answer's function-word template: content words as shape symbols, the rest kept."""
    out = []
    for token in _TOKEN.findall(text):
        low = token.lower()
        if token == "\n":
            out.append("NL")
        elif low in _FUNCTION_WORDS:
            out.append(low)
        elif token.isdigit():
            out.append("D")
        elif token[0].isalpha():
            out.append("C" if token[0].isupper() else "W")
        else:
            out.append(token)
    return " ".join(out)


_FRAME_EDGE = 12  # tokens kept from the start and from the end of an answer
_NUMBERED = re.compile(r"\d+[.)] ")


def _line_shape(line: str) -> str:
    """One symbol for how a line is laid out (heading, bullet, numbered item, table, code, quote, text)."""
    s = line.strip()
    if not s:
        return "L_"
    for prefix, sym in (("#", "LH"), ("```", "LC"), ("|", "LT"), (">", "LQ"), ("**", "LS")):
        if s.startswith(prefix):
            return sym
    if s[0] in "-*•+" and len(s) > 1 and s[1] == " ":
        return "LB"
    if _NUMBERED.match(s):
        return "LN"
    return "LP" + ("c" if s.endswith(":") else "")


_EDGE_CHARS = 400  # about how many characters are tokenised at each end of a long answer to find its edge tokens
_SPACE = re.compile(r"\s")


def _edge_tokens(text: str) -> tuple[list[str], list[str]]:
    """The first and last ``_FRAME_EDGE`` tokens (line breaks left out), as tokenising the whole text gives them.

    A long answer is tokenised only near its ends, cut at whitespace: no token spans whitespace (a line break is
    a token of its own), so the tokens before and after such a cut are exactly the whole text's."""
    if len(text) > 2 * _EDGE_CHARS:
        head_end = next((i for i in range(_EDGE_CHARS, 0, -1) if _SPACE.match(text, i)), 0)
        tail_cut = _SPACE.search(text, len(text) - _EDGE_CHARS)
        if head_end and tail_cut:
            head = [t for t in _TOKEN.findall(text, 0, head_end) if t != "\n"]
            tail = [t for t in _TOKEN.findall(text, tail_cut.start()) if t != "\n"]
            if len(head) >= _FRAME_EDGE and len(tail) >= _FRAME_EDGE:
                return head[:_FRAME_EDGE], tail[-_FRAME_EDGE:]
    tokens = [t for t in _TOKEN.findall(text) if t != "\n"]
    return tokens[:_FRAME_EDGE], tokens[-_FRAME_EDGE:]


def answer_frame(text: str) -> str:
    """How an answer opens, closes and is laid out: its first and last words and the shape of each line."""
    head, tail = _edge_tokens(text)
    opener = [f"O:{t.lower()}" for t in head]
    closer = [f"E:{t.lower()}" for t in tail]
    shapes = [_line_shape(line) for line in text.splitlines()]
    return " ".join([*opener, "|", *shapes, "|", *closer])


def lineage_prompt_sims(
    texts: Texts, queries: Sequence[str], candidates: Sequence[str], signals: Sequence[str] = DEFAULT_SIGNALS
) -> dict[str, PromptSims]:
    """Per-prompt similarities of every query model to every candidate, for each named signal."""
    unknown = set(signals) - set(LINEAGE_SIGNALS)
    if unknown:
        raise ValueError(f"unknown lineage signal(s) {sorted(unknown)}; choose from {LINEAGE_SIGNALS}")
    models = list(dict.fromkeys([*queries, *candidates]))

    def mapped(transform: Callable[[str], str]) -> Texts:
        return {m: [transform(t) for t in texts[m]] for m in models}

    out = {}
    if "word" in signals or "nearest" in signals:
        word = tfidf_prompt_sims(texts, queries, candidates, TfidfOptions(ngram_range=(1, 2)))
        out.update({name: word for name in ("word", "nearest") if name in signals})
    if "skeleton" in signals:
        out["skeleton"] = tfidf_prompt_sims(
            mapped(function_word_skeleton),
            queries,
            candidates,
            TfidfOptions(ngram_range=(2, 4), token_pattern=r"\S+", lowercase=False),
        )
    if "frame" in signals:
        out["frame"] = tfidf_prompt_sims(
            mapped(answer_frame),
            queries,
            candidates,
            TfidfOptions(ngram_range=(1, 3), token_pattern=r"\S+", lowercase=False),
        )
    return out


@dataclass(frozen=True)
class Excess:
    """Per-prompt excess similarity ``values[p, q, c]`` of query q towards candidate c (signal units).

    The excess on one prompt is q's similarity to c minus its mean similarity to every other candidate
    (q itself excluded when it is a candidate). Means over prompts give the model-level excess.
    """

    queries: tuple[str, ...]
    candidates: tuple[str, ...]
    values: np.ndarray

    def mean(self, prompts: np.ndarray | None = None) -> np.ndarray:
        """(queries, candidates) excess averaged over all prompts or the given prompt indices."""
        v = self.values if prompts is None else self.values[prompts]
        return np.asarray(v.mean(axis=0))


def prompt_excess(sims: PromptSims) -> Excess:
    """Excess of each query towards each candidate, prompt by prompt (see :class:`Excess`)."""
    values = sims.values.astype(np.float64).copy()
    mask = np.ones((len(sims.queries), len(sims.candidates)), dtype=bool)
    for qi, q in enumerate(sims.queries):
        if q in sims.candidates:
            mask[qi, sims.candidates.index(q)] = False
    total = (values * mask[None]).sum(axis=2, keepdims=True)
    count = mask.sum(axis=1)[None, :, None]
    # Mean over the *other* candidates: leave the candidate itself out of its own baseline.
    others = (total - values * mask[None]) / np.maximum(count - mask[None].astype(int), 1)
    excess = np.where(mask[None], values - others, np.nan)
    return Excess(sims.queries, sims.candidates, excess)


def nearest_share(sims: PromptSims) -> Excess:
    """``values[p, q, c]`` = 1 when c is q's most similar candidate on prompt p (1/k when k candidates tie), else 0.

    The query itself is not its own candidate (NaN there); its mean over prompts is the share of prompts on
    which c is q's nearest candidate. Stored as an :class:`Excess` so the named-suspect test and the folds
    treat it like the other signals."""
    values = sims.values.astype(np.float64).copy()
    own = np.zeros((len(sims.queries), len(sims.candidates)), dtype=bool)
    for qi, q in enumerate(sims.queries):
        if q in sims.candidates:
            own[qi, sims.candidates.index(q)] = True
    values[:, own] = -np.inf
    top = values == values.max(axis=2, keepdims=True)
    share = top / top.sum(axis=2, keepdims=True)
    share[:, own] = np.nan
    return Excess(sims.queries, sims.candidates, share)


def lineage_excess(
    texts: Texts, queries: Sequence[str], candidates: Sequence[str], signals: Sequence[str] = DEFAULT_SIGNALS
) -> dict[str, Excess]:
    """The excess (for ``nearest``: the per-prompt nearest-candidate vote) of each named lineage signal."""
    sims = lineage_prompt_sims(texts, queries, candidates, signals)
    return {name: nearest_share(s) if name == "nearest" else prompt_excess(s) for name, s in sims.items()}
