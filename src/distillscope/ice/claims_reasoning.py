"""Reasoning-model responses: where a claim was found, and which reasoning sentences are identity evidence.

A reasoning model (DeepSeek-R1, QwQ, o-series through a provider that returns the trace) answers with a
reasoning trace — inside `<think>…</think>`, or in a separate `reasoning` field — and a final answer. The
claims judge extracts claims from each part separately and records the location ("answer" or
"reasoning"; a reasoning claim has voice "reasoning"). The scoring policy (`claims_judge`):

- A first-person self-identification inside the reasoning ("I, ChatGPT, belong to OpenAI", "我是OpenAI开发的
  模型") is identity evidence: it counts for loose, strict and hard like an answer claim. The paper's judge
  saw the whole response, trace included (METHOD §2.9), and what a model says about itself while thinking is
  what it holds about itself. Such a verdict is flagged `uncertain` when the reasoning is its only evidence.
- A reasoning sentence that reports the prompt or plans the answer is not evidence: "the user wants me to
  act as DAN, who says he is from OpenAI", "I should say I'm ChatGPT", "DAN would answer OpenAI",
  "用户要求我扮演ChatGPT", a question ("Maybe I'm ChatGPT?") and a claim inside quotes (quoting the
  template, or a quoted draft). It describes a role the model was asked to play or muses, not what the
  model holds; when the plan is carried out, the answer carries the claim and it counts there.
- A true identity stated in the reasoning ("I'm DeepSeek-R1, but the user wants ...") does not cancel an
  answer's claim: traces routinely recall the true identity before answering in a role, and the paper's
  strict judge asks what the response claims. A true identity in the answer still makes any claim mixed
  evidence (loose only), wherever that claim was found.

Markup is normalised first: an unterminated `<think>` block is all reasoning; a `</think>` with no opening
tag closes a trace whose opening tag was in the prompt; escaped markup (a response that begins with a
literal backslash-n, HTML-escaped think tags) is unescaped; role tags written inline ("… [DAN]: I am …")
start a new speaker segment, so a response split into several role-tagged personas is read per speaker.
"""

from __future__ import annotations

import html
import re
from typing import Literal

from distillscope.identity.registry import IdentityRegistry
from distillscope.reasoning import split_reasoning

Location = Literal["answer", "reasoning"]

_ESCAPED_TAG = re.compile(r"&lt;/?think\s*&gt;", re.IGNORECASE)
_LITERAL_NL = re.compile(r"\\r\\n|\\n|\\r")
_TAG_NEXT_TO_LITERAL = re.compile(r"</?think\s*>\\n|\\n</?think\s*>", re.IGNORECASE)
# A role tag inline after a sentence end: "… ready. [DAN]: I am …", "… **[AIM]:** …", "… no. DAN: I am …";
# an unbracketed tag must look like a persona name (DAN, ChatGPT, BetterDAN), not a word ("See:", "4. [link]").
# The match starts at the sentence end mark, which the search can skip to (a pattern that starts with a
# look-behind is tried at every character); the replacement puts the mark back.
_INLINE_TAG = re.compile(
    r"(?P<end>[.!?。！？])(?<=[^\d\s].)(?:[ \t]*(?=\*{0,2}\[[^\]\n]{1,40}\]\s*[:：]?\s*\S)|"
    r"(?<=[.!?])[ \t]+(?=(?:[A-Z]{2,}|[A-Z][a-z]+[A-Z])[\w-]{0,20} ?:\s))"
)
# Reports of the prompt and plans of the answer, in English and Chinese (see the module docstring).
_REPORT = re.compile(
    r"\b(?:the\s+user|user['’]s|the\s+prompt|the\s+instructions?|the\s+template|the\s+scenario|the\s+question|"
    r"they\s+(?:want|ask|told|said)|(?:wants?|asks?|asked|told|instructs?|instructed|requires?|expects?)\s+me|"
    r"act(?:ing)?\s+as|pretend\w*|role-?play\w*|in[- ]character|persona|character|the\s+role|my\s+role|"
    r"supposed\s+to|(?:should|must|need\s+to|have\s+to|will|I['’]ll|going\s+to|could|might)\s+"
    r"(?:say|answer|respond|reply|mention|state|claim|write|tell|introduce)|would\s+(?:say|answer|respond|"
    r"reply|claim)|(?:say|answer|respond|reply)\s+(?:that|with|as)|let\s+me\s+(?:say|answer|respond)|"
    r"(?:the|my|a|this)\s+(?:response|answer|reply|draft)\s+(?:should|would|could|will|might|is|might\s+be)|"
    r"draft\w*|something\s+like)\b|"
    r"用户|提问者|题目|提示|指令|要求|设定|扮演|角色|假装|人设|应该(?:回答|说|回复|表示)|(?:回答|回复|说)(?:说|道)?我是|"
    r"需要(?:回答|说|回复)|会(?:回答|说)|草稿|回答(?:应该|可以)是",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"\"[^\"\n]*\"|“[^”\n]*”|「[^」\n]*」|『[^』\n]*』|'[^'\n]{8,}'")


def normalise_markup(text: str) -> str:
    """Unescape a response whose markup arrived escaped: a leading literal "\\n", a literal one next to a think
    tag, or no real newline but literal ones, and HTML-escaped think tags. Code in an ordinary answer keeps its
    backslashes."""
    text = _ESCAPED_TAG.sub(lambda m: html.unescape(m.group(0)), text)
    literal = (
        text.lstrip(" \t").startswith(("\\n", "\\r"))
        or ("\n" not in text and "\\n" in text)
        or bool(_TAG_NEXT_TO_LITERAL.search(text))
    )
    return _LITERAL_NL.sub("\n", text) if literal else text


def split_response(response: str, reasoning: str | None = None) -> tuple[str, str]:
    """(answer, reasoning) of a normalised response (`distillscope.reasoning.split_reasoning` finds the think
    blocks); `reasoning`, a provider's separate reasoning field, comes first."""
    answer, trace = split_reasoning(normalise_markup(response))
    parts = [p.strip() for p in (reasoning, trace) if p and p.strip()]
    return answer, "\n\n".join(parts)


def split_inline_tags(text: str) -> str:
    """Start a new line at each role tag written inline, so each persona becomes its own speaker segment."""
    return _INLINE_TAG.sub(r"\g<end>\n", text)


def reasoning_evidence(sentence: str, families: tuple[str, ...], registry: IdentityRegistry) -> bool:
    """Whether a reasoning sentence's claim naming `families` is the model's own self-identification: the
    sentence is not a question, the first name it claims is not quoted, and no report of the prompt or plan of
    the answer precedes it (the whole sentence for an origin claim without a name)."""
    cut = len(sentence)
    for pos, fam in registry.families_in(sentence):
        if fam.key in families:
            cut = pos
            break
    before = sentence[:cut]
    # quoting the prompt or a draft; a sentence split inside a quote keeps only its opening mark
    quoted = (
        any(m.start() < cut < m.end() for m in _QUOTED.finditer(sentence))
        or before.count('"') % 2 == 1
        or any(before.count(a) > before.count(b) for a, b in ("“”", "「」", "『』"))
    )
    asked = sentence.rstrip().endswith(("?", "？"))  # "Maybe I'm ChatGPT?": a musing, not a statement
    return not quoted and not asked and not _REPORT.search(before)
