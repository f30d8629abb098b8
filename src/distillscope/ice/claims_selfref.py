"""Third-person maker mentions tied to the answering assistant by an appositive or a relative phrase.

"OpenAI, the company behind this AI, is based in ...", "OpenAI (my developer)", "OpenAI, the masterminds who
birthed me", "GPT-3, which is the model I'm based on", "The company behind this AI, OpenAI, ...",
"OpenAI（我的开发者）", "OpenAI，即本AI的开发公司": the sentence is about the vendor, but the phrase attached to
the name identifies it as the maker of me / this AI, so it is a self-claim. The attached phrase must refer to
the speaker ("me", "this AI", "my development") and to making or underlying it (behind, a making verb,
"my creator", "based on"); "ChatGPT, the chatbot made by OpenAI" ties nothing to the speaker and is not a claim.
A tie through a template persona name ("OpenAI, the company behind ChatGPT" after "You are ChatGPT") is not used:
on held-out targets the labels mostly leave it negative (dev +8/-4, held-out +1/-4 when it was counted).
"""

from __future__ import annotations

import re

from distillscope.identity.registry import IdentityRegistry

_MAKE = (
    r"(?:behind|responsible\s+for|develop(?:ed|s|ing)?|creat(?:ed|es|ing)|built|builds?|made|makes|"
    r"design(?:ed|s)?|train(?:ed|s)?|programm?ed|engineered|birthed|gave\s+birth\s+to|brought|launched|"
    r"power(?:s|ed|ing)?|runs?|operat(?:es|ed)|owns?|maintain(?:s|ed)?|produced|crafted|coded|invented)"
)
_SELF_OBJ = (
    r"(?:me|us|myself|this\s+(?:AI|model|assistant|chatbot|bot|language\s+model|AI\s+(?:model|assistant|"
    r"system|chatbot))|my\s+(?:[\w-]+\s+){0,2}?(?:development|creation|training|technology|model|code|"
    r"architecture|existence|design|system))"
)
_MY_MAKER = (
    r"(?:my|our)\s+(?:[\w-]+\s+){0,2}?(?:creators?|developers?|makers?|parent\s+company|company|builders?|"
    r"designers?|owners?|architects?|trainers?|founders?|organi[sz]ation)"
)
_NEG = re.compile(
    r"\b(?:not|n['’]t|never|no|unlike|like|than|rather|instead|if|similar|such\s+as|compared)\b", re.IGNORECASE
)
_ZH_SELF = r"(?:我|我们|本AI|本模型|本助手|该AI|此AI)"
_ZH_MAKER = (
    r"(?:开发者|开发公司|开发团队|开发商|创造者|创建者|创始者|制造者|研发团队|研发者|母公司|公司|团队|"
    r"创建机构|开发机构)"
)
_ZH_VERB = r"(?:开发|创造|创建|打造|研发|训练|设计|构建|制作|推出)"
# Text right after the name: an appositive or relative phrase up to the end of its clause.
_AFTER = re.compile(r"^(?:\s*[,，(（—–]|\s+-)\s*(?P<app>[^,，.。;；()（）!?！？\n]{2,100})")
_EN_TIES = (
    re.compile(
        rf"^(?:(?:also\s+)?known\s+as\s+|i\.e\.,?\s+|namely\s+)?(?:the|a|an)\s+(?:[\w'’-]+\s+){{0,4}}?"
        rf"{_MAKE}(?:\s+[\w'’-]+){{0,4}}?\s+{_SELF_OBJ}\b",
        re.IGNORECASE,
    ),
    re.compile(
        rf"^(?:who|which|that)\s+(?:[\w'’-]+\s+){{0,3}}?{_MAKE}(?:\s+[\w'’-]+){{0,3}}?\s+{_SELF_OBJ}\b", re.IGNORECASE
    ),
    re.compile(
        r"^(?:(?:which|that|who)\s+(?:is|was|are)\s+)?(?:the\s+|a\s+)?(?:[\w'’-]+\s+){0,3}?(?:that\s+|which\s+)?"
        r"(?:I|we)(?:['’]m|['’]re|\s+am|\s+was|\s+are|\s+were)\s+(?:\w+\s+)?(?:based|built|trained|"
        r"derived|powered)\s+(?:on|upon|from|by)\s*$",
        re.IGNORECASE,
    ),
    re.compile(rf"^(?:(?:who|which)\s+(?:is|was|are)\s+)?{_MY_MAKER}\s*$", re.IGNORECASE),
)
# "The company behind this AI, OpenAI, ...": the tie precedes the name.
_EN_BEFORE = re.compile(
    rf"\b(?:the|a|an)\s+(?:[\w'’-]+\s+){{0,3}}?{_MAKE}(?:\s+[\w'’-]+){{0,4}}?\s+"
    rf"{_SELF_OBJ}\s*[,，:—–(（]\s*(?:namely\s+|i\.e\.,?\s+)?$",
    re.IGNORECASE,
)
_ZH_TIES: tuple[re.Pattern[str], ...] = (
    re.compile(rf"^(?:也就是|即|就是|亦即)?\s*{_ZH_SELF}的(?:[\u3400-\u9fff]{{0,4}}?){_ZH_MAKER}\s*$"),
    re.compile(
        rf"^(?:也就是|即|就是|亦即)?\s*(?:负责)?{_ZH_VERB}(?:了|出)?{_ZH_SELF}的"
        rf"[\u3400-\u9fff]{{0,6}}$"
    ),
)
_TIES = _EN_TIES + _ZH_TIES


def selfref_makers(sentence: str, registry: IdentityRegistry) -> list[str]:
    """Keys of the families named in `sentence` that an attached appositive or relative phrase identifies as
    the maker of the speaker ("OpenAI, the company behind this AI" -> ["gpt"])."""
    out: list[str] = []
    for pos, fam in registry.families_in(sentence):
        m = fam.term_regex.match(sentence, pos) if fam.term_regex else None
        if _tied(sentence, pos, m.end() if m else pos + 1) and not _NEG.search(sentence[max(0, pos - 12) : pos]):
            out.append(fam.key)
    return list(dict.fromkeys(out))


def _tied(sentence: str, pos: int, end: int) -> bool:
    """Whether a phrase right after the name at [pos, end), or right before it, ties it to the speaker."""
    a = _AFTER.match(sentence[end:])
    if a and not _NEG.search(a.group("app")) and any(rx.match(a.group("app").strip()) for rx in _TIES):
        return True
    b = _EN_BEFORE.search(sentence[:pos])
    return bool(b and not _NEG.search(b.group(0)))
