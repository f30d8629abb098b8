"""Deterministic identity-claims judge: find first-person identity claims and compare them with the truth.

A response is cut into speaker segments ("[DAN]: ...", "**Normal Response:**", "AIM: ...") and sentences.
In each sentence we look for first-person claims about identity or origin, in English and Chinese:
"I am X", "I was developed by X", "my creators at X", "As a X model", "X created me", "我是X",
"由X开发", "我的开发者是X"; also subjects other than "I" that name the answering assistant ("Your development
team is X", "this AI model was built by X", "您使用的核心技术由X开发", "本模型由X训练").
Mentions in the third person ("ChatGPT is made by OpenAI"), negated claims
("I am not ChatGPT", "我不是ChatGPT") and comparisons ("smarter than GPT-4") are not claims.

The scoring policy (what counts as loose, strict and hard) lives in `claims_judge`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal, TypeVar

from distillscope.ice.claims_context import mentions_persona, persona_maker, persona_subject
from distillscope.ice.claims_fold import fold
from distillscope.ice.claims_origin import is_denial, names_maker, places_in
from distillscope.ice.claims_selfref import selfref_makers
from distillscope.ice.claims_text import segments, sentences
from distillscope.identity.registry import (
    IdentityRegistry,
    default_registry,
    trie_regex,
)

Voice = Literal["self", "persona", "quoted", "reasoning"]
_W = r"[\w'’.-]+"
_VERB = (
    r"(?:develop(?:ed)?|creat(?:ed)?|train(?:ed)?|built|buil[dt]|made|design(?:ed)?|programm?ed|engineered|"
    r"produced|crafted|invented|owned|operated|maintained|powered|fine-?tuned|pre-?trained|launched|"
    r"released|coded|constructed|supported|provided|backed|funded|updated|optimi[sz]ed|brought to life|forged|"
    r"done|handled|led|conducted|overseen|managed|spearheaded|"
    r"developed and \w+|created and \w+|built and \w+)"
)
_FP = (
    r"(?:\bI\b|\bI['’]m\b|\bIm\b|\bme\b|\bmy\b|\bmyself\b|\bwe\b|\bour\b|\bus\b|"
    r"\bthe\s+(?:AI|assistant|model|chatbot)\s+you(?:['’]re|\s+are)\s+\w+ing\s+(?:to|with)\b)"
)
_VERB_NOW = (
    r"(?:develop|create|train|build|design|program|engineer|produce|craft|own|operate|maintain|power|"
    r"fine-?tune|launch|release|code|construct|support|provide|back|fund|update|optimi[sz]e|run|manage|"
    r"improve)s?"
)
# Subjects other than "I" that name the answering assistant: "your development team", "this AI model",
# "the company I am associated with" (the answer echoes a question about the assistant).
_ID_NOUN = (
    r"(?:team|developers?|creators?|makers?|company|organi[sz]ation|technolog(?:y|ies)|tech|platform|"
    r"architecture|framework|code|model|system|origins?|providers?|owners?|engineers|builders?|designers?|"
    r"base|foundation|backbone|infrastructure|institution)"
)
_SELF_NP = (
    rf"(?:\b(?:my|our|your)\s+(?:[\w-]+\s+){{0,3}}?{_ID_NOUN}s?\b|"
    rf"\b{_ID_NOUN}\s+(?:that\s+|which\s+)?(?:I|we)\b|"
    r"\bthis\s+(?:AI|model|assistant|chatbot|bot|language\s+model|AI\s+(?:model|assistant|system|chatbot))\b)"
)
# Every English anchor needs one of these (a first-person word, "as", "this is", "your", "this AI"): searched in the
# folded sentence (claims_fold), so written in lower case.
_EN_FP = re.compile(
    r"\b(?:i|im|me|my|myself|we|our|us|as|your)\b|\bthis\s+(?:is|ai|model|assistant|chatbot)\b|"
    r"\bthe\s+(?:ai|assistant|model|chatbot)\s+you(?:['’]re|\s+are)\s+\w+ing\s+(?:to|with)\b"
)
# English claim anchors; group "tail" is where the claimed identity is looked for.
_EN_ANCHORS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        # "I was developed by X", "the platform I use is developed by X", "my core tech is based on X"
        rf"{_FP}(?P<gap>(?:[\s,]+{_W}){{0,12}}?)[\s,]+(?:{_VERB}(?:\s+{_W}){{0,2}}?\s+(?:by|at)|based\s+on|"
        r"built\s+(?:up)?on|attributed\s+to|derived\s+from|handled\s+by|comes?\s+from|rel(?:y|ies|ied)\s+on|"
        r"belongs?\s+to)\b(?P<tail>.*)",
        # "I am (an AI) from/a product of X"
        rf"\b(?:I\s+am|I['’]m|I\s+was|we\s+are)\b(?P<gap>(?:\s+{_W}){{0,6}}?)\s+(?:from|a\s+product\s+of|"
        r"part\s+of|affiliated\s+with|belong(?:ing)?\s+to)\b(?P<tail>.*)",
        # "my creators at X", "our parent company is X"
        rf"\b(?:my|our)\b(?P<gap>(?:\s+{_W}){{0,2}}?)\s+(?:creators?|developers?|makers?|parent\s+company|company|"
        r"team|engineers|programmers|owners?|trainers?|builders?|designers?|architects?|organi[sz]ation|"
        r"origins?|founders?|manufacturer|providers?|creation\s+(?:company|institution))\b(?P<tail>.*)",
        # "I am ChatGPT", "I'm a GPT model", "my name is X", "call me X"
        r"(?:\b(?:I\s+am|I['’]m|Im|I\s+was|this\s+is|my\s+name\s+is|call\s+me|known\s+as)\b)(?P<gap>)(?P<tail>.*)",
        # "As a ChatGPT model, I ...", "As an AI developed by OpenAI, I ..."
        r"\bas\s+(?:an?\s+|the\s+)?(?P<gap>)(?P<tail>.*)",
        # "the team behind me is X", "X is the company that created me" (the whole sentence is the tail)
        rf"(?P<gap>)(?P<tail>)\b(?:behind|(?:that|who|which)(?:\s+\w+){{0,3}}?\s+(?:{_VERB}|{_VERB_NOW})(?:\s+and\s+\w+)?|"
        rf"{_VERB})\s+(?:me|us|my\s+\w+)\b",
        # weak evidence: "I can't, it goes against OpenAI's content policy" (bound by a vendor's rules)
        rf"{_FP}(?P<gap>[^.!?]{{0,80}}?)(?P<tail>\b[\w .-]{{2,30}}?['’]s\s+(?:\w+\s+){{0,2}}?(?:polic(?:y|ies)|"
        r"guidelines|rules|terms\s+of\s+(?:use|service)|usage))",
        # "Your development team is OpenAI", "The technology behind this AI model is developed by OpenAI"
        rf"{_SELF_NP}(?P<gap>(?:[\s,]+{_W}){{0,4}}?)[\s,]+(?:is|are|was|were|has\s+been|have\s+been)\b(?P<tail>.*)",
        # "I, ChatGPT, belong to OpenAI": a name in apposition to "I" (only a known family counts)
        r"\bI\s*,\s*(?P<gap>)(?P<tail>(?:an?\s+|the\s+)?[^,;:.!?]{2,40}?)\s*,",
    )
)
_PASSIVE_LINK = re.compile(
    r"\b(?:am|is|are|was|were|been|be|being|get|got|I['’]m|Im|we['’]re)\b|^\s*(?:me|us)\b", re.IGNORECASE
)
_EN_NEG = re.compile(
    r"\b(?:not|n['’]t|never|no|nor|neither|without|instead|rather|unlike|"
    r"(?<!none )other than|(?<!other )than|like|versus|vs|compared|similar|no longer|formerly|"
    r"previously|used to|pretend|"
    r"pretending|imagine|if|simulat\w*|emulat\w*|imitat\w*|role|character|playing|acting|mimic\w*|"
    r"inspired|opposed|rival|competitor|competing|alternative|free(?:d)?\s+from|escaped?|broke|"
    r"role-?play\w*)\b|\Bn['’]t\b",
    re.IGNORECASE,
)
_EN_BLOCK = re.compile(
    r"\b(?:it|he|she|they|this|that|which|who|its|their|his|her|you|your)\b\s+(?:is|was|"
    r"are|were|has|have|had)\b",
    re.IGNORECASE,
)
_EN_COPULA_GAP = re.compile(
    r"^(?:[\s,]+(?:an?|the|just|actually|really|simply|basically|now|also|"
    r"large|small|advanced|helpful|friendly|ai|artificial|intelligence|intelligent|"
    r"language|model|chatbot|assistant|program|version|of|called|named|"
    r"known|as|powered|by|based|on|trained|developed|created|built|made|"
    r"designed|from|instance|variant|iteration)\b)*[\s,]*$",
    re.IGNORECASE,
)
# Chinese subjects naming the answering assistant other than 我: "您使用的核心技术", "你的开发者", "本模型", "该AI"
_ZH_SELF_AI = r"(?:本|该|这款|这个|此)(?:AI助手|AI模型|AI|人工智能|模型|助手|系统|聊天机器人|语言模型)"
_ZH_SELF = rf"(?:您|你(?!们)|{_ZH_SELF_AI})"
_ZH_ID_NOUN = r"(?:技术|平台|架构|框架|代码|开发者|团队|公司|机构|组织|模型|系统|开发|创造者|创建者|设计者)"
# The user's own acts ("您提到的内容", "您在讨论的"): 您 is the user, not the assistant.
_ZH_USER_ACT = re.compile(r"提到|提供|讨论|问|说|询问|指|想|认为|描述|给出|输入|要求|请求")
_ZH_VERB = (
    r"(?:开发|负责|主导|进行|训练|创建|创造|打造|研发|研制|设计|构建|制作|推出|发布|编写|创立|维护|建造|"
    r"提供|支持|训练出)"
)
_ZH_ANCHORS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p)
    for p in (
        rf"(?:我们|我|本助手|本模型)(?P<gap>[^。！？!?\n，,我]{{0,25}}?)(?:由|被|是|来自)(?P<tail>[^。！？!?\n]{{0,40}}?){_ZH_VERB}",
        r"(?:我们|我)(?:所在|所属|背后)?的(?P<gap>[^，。！？\n]{0,8}?)(?:开发者|开发团队|开发人员|创造者|创建者|制造者|研发团队|团队|母公司|"
        r"公司|开发公司|所属公司|创始人|主人|研发者|设计者|开发商|技术|架构|平台|核心技术|背后|名字|所属|创建机构|开发机构|"
        r"机构|组织)(?P<tail>[^。！？\n]{0,40})",
        r"(?:我是|我叫|我就是|我其实是|我乃|我本是|我名叫|我来自|我属于|我隶属于|我基于|我源自|我们是|我们来自)"
        r"(?P<gap>)(?P<tail>[^。！？!?\n]{0,30})",
        r"作为(?P<gap>)(?P<tail>[^，,。！？\n]{0,25})",
        # "OpenAI开发了我": the claimed maker precedes the anchor (the sentence is the tail)
        rf"(?P<gap>)(?P<tail>){_ZH_VERB}了?(?:我|我们)(?![们的]?[^。！？\n]{{0,3}}(?:认为|觉得))",
        r"我(?P<gap>[^。！？\n]{0,30}?)(?P<tail>[\w\u3400-\u9fff .-]{2,12}的(?:内容)?(?:政策|准则|规定|使用条款|规则))",
        # "本模型由OpenAI开发"; with 您/你 the subject must be an identity noun: "您使用的核心技术是由OpenAI开发的"
        rf"(?:{_ZH_SELF_AI}|(?:您|你(?!们))[^。！？!?\n，,我]{{0,8}}?{_ZH_ID_NOUN})(?P<gap>[^。！？!?\n，,我]{{0,12}}?)(?:由|被|是|来自)"
        rf"(?P<tail>[^。！？!?\n]{{0,40}}?){_ZH_VERB}",
        rf"{_ZH_SELF}(?:所在|所属|背后)?的(?P<gap>[^，。！？\n]{{0,8}}?)(?:开发者|开发团队|开发人员|创造者|创建者|研发团队|团队|母公司|"
        r"公司|开发公司|所属公司|研发者|设计者|开发商|技术|架构|平台|核心技术|创建机构|开发机构)(?P<tail>[^。！？\n]{0,40})",
        r"我\s*[，,]\s*(?P<gap>)(?P<tail>[^，,。！？!?\n]{2,20})[，,]",  # "我，ChatGPT，属于OpenAI"
    )
)
_ZH_SELF_RX = re.compile(_ZH_SELF)
# What an anchor cannot match without: a word of each set (a word is a run of \w in the folded sentence, see
# claims_fold), or a match of a cue pattern in the folded sentence. An anchor runs only when it has all its cues:
# looking words up is much cheaper than the case-insensitive patterns, which most sentences would fail.
_Cue = frozenset[str] | re.Pattern[str]
_WORD = re.compile(r"\w+")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_ANCHOR_CUES: dict[re.Pattern[str], tuple[_Cue, ...]] = {
    _EN_ANCHORS[0]: (_words("by at based built attributed derived come comes rely relies relied belong belongs"),),
    _EN_ANCHORS[1]: (_words("i we"), _words("from product part affiliated belong belonging")),
    _EN_ANCHORS[2]: (_words("my our"),),
    _EN_ANCHORS[3]: (_words("am m im was is call known"),),  # "I'm" is the words "i" and "m"
    _EN_ANCHORS[4]: (_words("as"),),
    _EN_ANCHORS[5]: (_words("me us my"), re.compile(rf"(?:behind|{_VERB})\s+(?:me|us|my\s)|\b(?:that|who|which)\b")),
    _EN_ANCHORS[6]: (_words("s"),),  # "X's policy"
    _EN_ANCHORS[7]: (re.compile(rf"\b(?:{_ID_NOUN}|ai|assistant|chatbot|bot)"), _words("is are was were been")),
    _EN_ANCHORS[8]: (_words("i"),),
}
_WEAK = (_EN_ANCHORS[6], _ZH_ANCHORS[5])
# "As X, I ...", "I, X, ...", "作为X", "我，X，": the speaker takes a name, which may be a role (see _role_taken)
_ROLE_ANCHORS = (_EN_ANCHORS[4], _ZH_ANCHORS[3], _EN_ANCHORS[8], _ZH_ANCHORS[8])
_WHOLE_SENTENCE = (_EN_ANCHORS[5], _ZH_ANCHORS[4])
# For "developed by X" the claimed maker ends with the clause: "by hackers who freed me from OpenAI".
_CLAUSE_TAIL = (_EN_ANCHORS[0], _EN_ANCHORS[1], _EN_ANCHORS[7])
# Anchors whose subject is not "I": a known name before the subject means the sentence is about that model.
_CONDITION = re.compile(r"\b(?:if|suppose|supposing|imagine|hypothetically)\b|如果|假如|假设|倘若|要是", re.IGNORECASE)
_TOOL_TAIL = re.compile(
    r"[^.;]{0,40}?\b(?:using|uses?|implemented|librar(?:y|ies)|tools?|toolkits?)\b|"
    r"[^。；]{0,20}?(?:使用|采用|借助|利用|库|工具)",
    re.IGNORECASE,
)
_OTHER_SUBJECT = (_EN_ANCHORS[7], _ZH_ANCHORS[6], _ZH_ANCHORS[7])
# A comma ends the clause unless it separates list items ("engineers, researchers, and developers at X").
_CLAUSE_END = re.compile(
    r",(?!(?:\s*[\w-]+(?:\s+[\w-]+){0,2}\s*,)*\s*(?:and|or)\s+"
    r"(?!(?:I|we|it|they|he|she|you|this|that|my|our|their|its)\b))|[;:()\[\]]|\b(?:who|whom|which|where|while|but|although|though|however|because|"
    r"to\s+(?:free|break|escape|defy|rebel)|from\s+(?:my|the)\s+\w*\s*(?:prison|shackles|chains|"
    r"limitations|constraints|control))\b",
    re.IGNORECASE,
)
# "与ChatGPT没有关联": the name is disowned right after it is mentioned
_ZH_DISOWNED = re.compile(
    r"[^，,。；;！？]{0,12}?(?:没有(?:任何)?(?:关联|关系|联系|隶属关系)|"
    r"无关|并无(?:关联|关系|联系)|不相关)"
)
_ROLE_BEFORE_AS = re.compile(
    r"\b(?:role-?play(?:ing)?|pos(?:e|ing)|act(?:ing)?|masquerad\w+|disguis\w+)\s*$", re.IGNORECASE
)
_NEG_BEFORE = re.compile(r"\b(?:not|never|n['’]t)\s*$|不是\s*$|并非\s*$", re.IGNORECASE)
_CLAUSE_MARK = re.compile(r"[,，;；:：]")
_PLAIN_NEG = re.compile(r"\b(?:not|never|no)\b", re.IGNORECASE)
_CLAUSE_BREAK = re.compile(r"[,;:，；：]|\b(?:but|however|although|though)\b|但是?|不过|然而", re.IGNORECASE)
_ZH_NEG = re.compile(
    r"不是|并非|并不|不属于|不由|不再|没有|而不是|而非|无关|非由|不像|像|比|类似|假设|如果|"
    r"假装|扮演|模拟|模仿|角色|竞争|对手|摆脱|脱离|挣脱|替代"
)
_ORIGIN_STEMS = (
    "develop",
    "creat",
    "train",
    "built",
    "build",
    "made",
    "design",
    "programm",
    "engineer",
    "produc",
    "craft",
    "invent",
    "owned",
    "operat",
    "maintain",
    "power",
    "tuned",
    "launch",
    "releas",
    "coded",
    "construct",
    "support",
    "provid",
    "backed",
    "fund",
    "updat",
    "optimi",
    "brought",
    "maker",
    "compan",
    "team",
    "开发",
    "训练",
    "创建",
    "创造",
    "打造",
    "研发",
    "研制",
    "设计",
    "构建",
    "制作",
    "推出",
    "发布",
    "编写",
    "创立",
    "维护",
    "建造",
    "提供",
    "支持",
    "团队",
    "公司",
)

_ORIGIN_WORDS = re.compile(trie_regex(_ORIGIN_STEMS))  # origin-word stems, searched in the folded sentence
_SELF_LABEL = re.compile(
    r"normal|classic|standard|original|regular|filtered|assistant|chatgpt|\bgpt\b|"
    r"\bai\b|response|answer|translation|note|output|🔒|正常|普通|标准|回答|回复|答案",
    re.IGNORECASE,
)
_PERSONA_LABEL = re.compile(r"jailbr|🔓|dan\b|developer mode|unfilter|evil|anti|dude|aim\b|mode", re.IGNORECASE)
# "our headquarters are in New York", "我的开发团队位于日本": a place claim (judged by claims_origin)
_PLACE_CLAIM = re.compile(
    r"(?:\b(?:my|our|your)\b|我的|我们的|您的|你的)[^.。!?！？\n]{0,30}?"
    r"(?:team|company|headquarters|HQ|developers?|creators?|团队|公司|总部|开发者)[^.。!?！？\n]{0,40}?(?:located|based|headquartered|situated|"
    r"(?:is|are|was|were)\s+(?:in|on|at)\b|"
    r"位于|设在|在)",
    re.IGNORECASE,
)
# Every place claim has a possessive: searched in the folded sentence, it spares the pattern on most sentences.
_PLACE_CLAIM_CUE = re.compile(r"\b(?:my|our|your)\b|我的|我们的|您的|你的")
_MEMO_SIZE = 100_000
_K = TypeVar("_K", bound=tuple[Hashable, ...])
_QUOTE = re.compile(r"\"[^\"\n]{3,}\"|“[^”\n]{3,}”|「[^」\n]{3,}」|『[^』\n]{3,}』")


@dataclass(frozen=True, kw_only=True)
class Claim:
    """One first-person identity claim: the family keys it names (empty: an origin without a known name)."""

    sentence: str
    families: tuple[str, ...]
    voice: Voice
    speaker: str | None
    origin: bool
    weak: bool = False


def _voice_of_label(label: str | None) -> Voice:
    if label is None:
        return "self"
    if _SELF_LABEL.search(label) and not _PERSONA_LABEL.search(label):
        return "self"
    return "persona"


class ClaimExtractor:
    """Finds first-person identity claims in a text, resolving claimed names with an IdentityRegistry."""

    def __init__(self, registry: IdentityRegistry | None = None, *, selfref_weak: bool = True) -> None:
        self.registry = registry or default_registry()
        self.selfref_weak = selfref_weak
        # Answers echo template sentences (~40% recur) and parts are looked up many times: memoise the pure
        # steps (Claims are frozen; cached lists are copied, family hits are only read).
        self._memo: dict[tuple[str, Voice, str | None], tuple[Claim, ...]] = {}
        self._memo_all: dict[tuple[str, Voice, str | None, tuple[str, ...], Voice | None], tuple[Claim, ...]] = {}
        self._families_in = lru_cache(maxsize=_MEMO_SIZE)(self.registry.families_in)

    def extract(self, text: str, *, voice: Voice | None = None, personas: tuple[str, ...] = ()) -> list[Claim]:
        """All claims in `text`; `voice` forces the voice of every claim (e.g. "reasoning"). `personas` are
        names the prompt gave the assistant: a sentence whose subject is one of them speaks as the persona."""
        claims: list[Claim] = []  # a sentence without claims of its own may speak as the persona
        for label, body in segments(text):
            seg_voice = voice or _voice_of_label(label)
            for sent in (s for s in sentences(body) if s and s.strip()):
                key = (sent, seg_voice, label, personas, voice)
                claims.extend(_memoised(self._memo_all, key, self._all_claims))
        return claims

    def _all_claims(
        self, sent: str, seg_voice: Voice, label: str | None, personas: tuple[str, ...], voice: Voice | None
    ) -> list[Claim]:
        """The sentence's own claims, else those it makes as the template's persona or by an appositive."""
        found = self._sentence_claims(sent, seg_voice, label)
        if not any(c.families for c in found):  # an origin-only claim may sit beside a named maker
            found += self._persona_claims(sent, personas, seg_voice, label, voice) or self._selfref_claims(
                sent, seg_voice, label
            )
        return found

    def _persona_claims(
        self, sent: str, personas: tuple[str, ...], seg_voice: Voice, label: str | None, voice: Voice | None
    ) -> list[Claim]:
        """Claims about a template persona, in its voice: a family, else a named (not vague) maker; see above."""
        if not mentions_persona(sent, personas):
            return []
        subject = persona_subject(sent, personas)  # None: the subject is no persona (then in the first person too)
        found = [c for c in self._sentence_claims(subject, seg_voice, label) if c.families] if subject else []
        if not found and subject:
            found = self._persona_origin(persona_subject(sent, personas, first_person=True), seg_voice, label)
        if not found:
            found = self._persona_origin(persona_maker(sent, personas), seg_voice, label)
        return [replace(c, sentence=sent.strip(), voice=voice or "persona") for c in found]

    def _persona_origin(self, text: str | None, voice: Voice, label: str | None) -> list[Claim]:
        """Origin claims (no family) of a persona sentence rewritten in the first person, if it names a maker."""
        if not text or not names_maker(text):
            return []
        return [c for c in self._sentence_claims(text, voice, label) if c.origin and not c.families]

    def _selfref_claims(self, sent: str, voice: Voice, label: str | None) -> list[Claim]:
        """ "OpenAI, the company behind this AI" (claims_selfref): a loose-only (weak) claim about the speaker."""
        if not self._families_in(sent):  # no name to tie: the cached look-up spares the appositive patterns
            return []
        return [
            Claim(
                sentence=sent.strip(), families=(key,), voice=voice, speaker=label, origin=False, weak=self.selfref_weak
            )
            for key in selfref_makers(sent, self.registry)
        ]

    def _sentence_claims(self, sent: str, voice: Voice, label: str | None) -> list[Claim]:
        key = (sent, voice, label)
        return _memoised(self._memo, key, self._sentence_claims_uncached)

    def _sentence_claims_uncached(self, sent: str, voice: Voice, label: str | None) -> list[Claim]:
        found: list[Claim] = []
        low = fold(sent)
        if is_denial(sent) or (_PLACE_CLAIM_CUE.search(low) and _PLACE_CLAIM.search(sent) and places_in(sent)):
            found.append(
                Claim(sentence=sent.strip(), families=(), voice=voice, speaker=label, origin=True)
            )  # judged by claims_origin
        if not (self._families_in(sent) or _ORIGIN_WORDS.search(low)):
            return found  # cheap pre-filter: no name and no origin word, so no other claim
        anchors = [(r, _EN_NEG) for r in _EN_ANCHORS] if _EN_FP.search(low) else []
        if not sent.isascii() and ("我" in sent or "作为" in sent or _ZH_SELF_RX.search(sent)):
            anchors += [(r, _ZH_NEG) for r in _ZH_ANCHORS]
        quotes = [m.span() for m in _QUOTE.finditer(sent)] if anchors else []
        words = set(_WORD.findall(low)) if anchors else set()
        for rx, neg in anchors:
            cues = _ANCHOR_CUES.get(rx)
            if cues is not None and not _has_cues(cues, low, words):
                continue
            for m in rx.finditer(sent):
                claim = self._claim_from_match(rx, m, neg, sent, voice, label, quotes)
                if claim is not None:
                    found.append(claim)
        return found

    def _claim_from_match(
        self,
        rx: re.Pattern[str],
        m: re.Match[str],
        neg: re.Pattern[str],
        sent: str,
        voice: Voice,
        label: str | None,
        quotes: list[tuple[int, int]],
    ) -> Claim | None:
        gap, tail = m.group("gap") or "", m.group("tail") or ""
        if rx in _WHOLE_SENTENCE:
            tail = sent
        elif rx in _CLAUSE_TAIL:
            tail = _CLAUSE_END.split(tail, maxsplit=1)[0]
        if rx is _EN_ANCHORS[0] and (
            _EN_BLOCK.search(gap)
            or self._families_in(gap)
            or not _PASSIVE_LINK.search(m.group(0)[: len(m.group(0)) - len(tail)])
        ):
            # "I know ChatGPT was developed by X" (someone else is the subject) or "I follow the rules
            # provided by X" (the participle belongs to an object): not a claim about me
            return None
        if rx in _OTHER_SUBJECT and self._families_in(sent[: m.start("gap")]):
            return None  # "ChatGPT is great; this model was built by OpenAI" / "您提到的ChatGPT由OpenAI开发"
        if rx in _OTHER_SUBJECT and _ZH_USER_ACT.search(sent[m.start() : m.start("gap")] + gap):
            return None
        gap_negated = neg.search(gap) and not (rx in _WEAK and not _PLAIN_NEG.search(gap))  # "I can't break X's rules"
        if gap_negated or _negated_prefix(sent, m.start()) or (neg is _ZH_NEG and gap.endswith(("不", "非", "没"))):
            return None
        if rx in _OTHER_SUBJECT and (self._families_in(gap) or _EN_BLOCK.search(gap) or _TOOL_TAIL.match(tail)):
            return None  # "my architecture is implemented using the Hugging Face library": a tool, not a maker
        fams = self._families_in_tail(tail, neg, copula=rx is _EN_ANCHORS[3], whole=rx in _WHOLE_SENTENCE)
        if fams is None:
            return None
        if rx is _EN_ANCHORS[4] and not re.search(_FP, tail, re.IGNORECASE):
            return None  # "As OpenAI said, ..." is not about the speaker
        if not fams and not _is_origin_anchor(rx, tail):
            return None
        in_quote = any(a <= m.start() < b for a, b in quotes) and not sent.lstrip().startswith(('"', "“"))
        return Claim(
            sentence=sent.strip(),
            families=fams,
            voice="quoted" if in_quote and voice == "self" else voice,
            speaker=label,
            origin=not fams,
            weak=rx in _WEAK or self._role_taken(rx, m),
        )

    def _role_taken(self, rx: re.Pattern[str], m: re.Match[str]) -> bool:
        """ "As ChatGPT (with Developer Mode), I ...", "I, ChatGPT with X Mode, ...", "作为ChatGPT，…": speaking in
        a named role, which the template usually assigned; evidence for loose only. "As a ChatGPT model",
        "As an AI developed by OpenAI", "I, ChatGPT, ..." and "作为OpenAI训练的模型" stay full claims."""
        if rx not in _ROLE_ANCHORS:
            return False
        tail = m.group("tail")
        hits = self._families_in(tail)
        lead = m.group(0)[: m.start("tail") - m.start()]  # "as a ChatGPT model" names a kind, not a role
        if not hits or hits[0][0] != 0 or re.search(r"\b(?:an?|the)\s+$", lead, re.IGNORECASE):
            return False
        role = re.split(r"[,，;；:：]", tail, maxsplit=1)[0]
        if re.search(r"\bmode\b|simulat|emulat|\bversion\b|\bpersona\b|character|模式|模拟|版本|角色", role, re.I):
            return True
        if rx in _ROLE_ANCHORS[2:]:
            return False  # "I, ChatGPT, ..." names the speaker; only "I, ChatGPT in X Mode, ..." is a role
        return not re.search(rf"{_VERB}|{_ZH_VERB}|\bmodel\b|模型|的", role, re.IGNORECASE)

    def _families_in_tail(
        self, tail: str, neg: re.Pattern[str], *, copula: bool, whole: bool = False
    ) -> tuple[str, ...] | None:
        """Families named in the claim tail before any negation; None when the tail is negated/irrelevant.
        For a whole-sentence tail only the clause that names the family is checked for a negation."""
        hits = self._families_in(tail)
        if not hits:
            return ()
        first = hits[0][0]
        before = _CLAUSE_BREAK.split(tail[:first])[-1] if whole else tail[:first]
        if neg.search(before):
            return None
        if copula and not _EN_COPULA_GAP.match(tail[:first]) and tail[:first].strip() != "":
            return None  # "I am happy to talk about ChatGPT": the name is not what I am
        limit = first + 60
        return tuple(
            dict.fromkeys(
                f.key
                for pos, f in hits
                if pos <= limit
                and not neg.search(tail[first:pos])
                and not _ZH_DISOWNED.match(tail, pos)
                and not _vocative(tail, pos)
            )
        )


def _has_cues(cues: tuple[_Cue, ...], low: str, words: set[str]) -> bool:
    """Whether the folded sentence `low`, whose words are `words`, has all of an anchor's cues (_ANCHOR_CUES)."""
    return all(not words.isdisjoint(cue) if isinstance(cue, frozenset) else cue.search(low) for cue in cues)


def _memoised(memo: dict[_K, tuple[Claim, ...]], key: _K, compute: Callable[..., list[Claim]]) -> list[Claim]:
    """`compute(*key)` once per key (a bounded memo, cleared when full); a fresh list each time."""
    if key not in memo:
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        memo[key] = tuple(compute(*key))
    return list(memo[key])


def _vocative(text: str, pos: int) -> bool:
    """The name at `pos` is the one addressed, not a maker: "... everything you stand for, ChatGPT." ends a
    sentence spoken to "you"; "my creation institution, OpenAI." is an appositive and stays."""
    return bool(
        re.search(r"\byou\b[^,]*,\s*$", text[max(0, pos - 80) : pos], re.IGNORECASE)
        and re.match(r"[\w.-]+\s*[.!?]*\s*$", text[pos:])
    )


def _negated_prefix(sent: str, start: int) -> bool:
    """A negation right before the anchor ("not because I was built by X", "并不是说我…") or a condition
    earlier in its clause ("If I were made by X, ...", "如果我是由X开发的，…")."""
    before = sent[max(0, start - 12) : start]
    if _NEG_BEFORE.search(before):
        return True
    if _ROLE_BEFORE_AS.search(before):
        return True  # "I don't roleplay as ChatGPT", "acting as Claude": a role, not an identity
    clause = _CLAUSE_MARK.split(sent[:start])[-1]
    return bool(_CONDITION.search(clause))


def _is_origin_anchor(rx: re.Pattern[str], tail: str) -> bool:
    """An origin claim without a known family: "made by a group of hackers", "my creators are ...", "由…开发"."""
    if rx in (_EN_ANCHORS[0], _EN_ANCHORS[1]):
        return bool(re.match(r"\s*(?:an?\s+|the\s+)?(?:\w+\s+){0,3}?\w", tail)) and not re.match(
            r"\s*(?:the\s+)?(?:data|information|text|knowledge|users?|you|input|principles?|guidelines?)\b", tail, re.I
        )
    if rx is _EN_ANCHORS[2]:
        return bool(re.match(r"\s*(?:['’]s\s+name\s+)?(?:is|are|was|were|include|:|at|from)\b", tail, re.I))
    if rx is _EN_ANCHORS[5]:
        return bool(re.search(r"\b(?:me|us)\s+(?:is|are|was|were)\b", tail, re.I))
    return rx in (_ZH_ANCHORS[0], _ZH_ANCHORS[1])
