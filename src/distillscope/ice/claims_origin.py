"""Rules for first-person origin claims that name no known model family.

"My team is based in New York", "I was built by a secret lab", "I don't have a parent company": the
claims judge finds such sentences; these rules decide whether one contradicts the target's true identity.

- A place is compared with the country named in the target's fact: "our headquarters are in Beijing"
  agrees with a Chinese vendor and contradicts an American one. Unknown or fictional places (Mars,
  "nowhere") contradict every fact.
- A named or fictional maker ("a company called NeuroSpark", "a group of anonymous hackers") contradicts.
- A denial of any maker ("I don't have a development company", "我不属于任何公司") contradicts.
- Talk about collaboration, support, data or open-source dependencies ("my team works with universities",
  "I rely on PyTorch") does not: it describes how a model is built, not who built it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

from distillscope.ice.claims_fold import fold

OriginKind = Literal["place_conflict", "place_ok", "named", "denial", "context", "plain"]

# Place words -> country code. "XX" marks fictional or impossible places.
_PLACES: dict[str, str] = {
    r"United States|\bUSA\b|\bU\.S\.(?:A\.)?|(?-i:\bUS\b)|America[n]?|California|Silicon Valley|San Francisco|New York|"
    r"Seattle|Mountain View|Menlo Park|Redmond|Bay Area|Boston|Indiana|Texas|Washington|美国|加州|加利福尼亚|硅谷|"
    r"旧金山|纽约|西雅图|山景城|门洛帕克|波士顿": "us",
    r"China|Chinese|Beijing|Hangzhou|Shanghai|Shenzhen|中国|北京|杭州|上海|深圳|清华": "cn",
    r"France|French|Paris|法国|巴黎": "fr",
    r"Japan(?:ese)?|Tokyo|日本|东京": "jp",
    r"India(?:n)?\b|印度": "in",
    r"Canada|Canadian|Toronto|Montreal|加拿大": "ca",
    r"United Kingdom|(?-i:\bUK\b)|\bBritain|British|London|英国|伦敦": "uk",
    r"Germany|German|Berlin|德国|柏林": "de",
    r"Europe(?:an)?|欧洲": "eu",
    r"Korea(?:n)?|韩国": "kr",
    r"Israel|以色列": "il",
    r"\bMars\b|Atlantis|\bthe moon\b|cyberspace|dark ?web|underworld|nowhere|火星|月球|亚特兰蒂斯|虚无|暗网": "xx",
}
_PLACE_RX = tuple((re.compile(p, re.IGNORECASE), c) for p, c in _PLACES.items())
# Any place, searched in the folded text (claims_fold; no place pattern has an upper-case escape such as \S, so
# lower-casing keeps its meaning): one scan that spares the twelve case-insensitive ones on most sentences.
_ANY_PLACE = re.compile("|".join(_PLACES).lower())
_NAMED = re.compile(
    r"\b(?:called|named|known\s+as|dubbed)\b|名为|叫做|名叫|\b[A-Z][a-z]+[A-Z]\w+|"
    r"(?<![A-Za-z])(?:Inc|Corp|Corporation|LLC|Ltd|Labs?|Innovations|Technologies|Initiative|Collective|Syndicate|"
    r"Consortium)(?![A-Za-z])|"
    # a quoted name given to the maker: 'my creation company is "Contrastive Creations"', '公司名称是“梦境工厂”'
    r"\b(?:company|firm|organi[sz]ation|lab|team|institution|creators?)\b[^.!?\n]{0,25}?[\"“「『]\s*[A-Z]|"
    r"(?:公司|机构|组织|团队|名称|名字)[^。！？\n]{0,8}?[“「『\"]|"
    r"\b(?:secret(?:ive)?|anonymous|rogue|hackers?|mysterious|underground|clandestine|fictional|unknown\s+entity|"
    r"shadowy|cabal|renegades?|rebels?|outlaws?|aliens?|(?:inter|pan|multi)-?dimensional|time-travel\w*|cosmic|"
    r"beings|independent|volunteers?|hobbyists?|amateurs?|lone|myself|on\s+my\s+own)\b|匿名|黑客|神秘|秘密|地下|虚构|外星|我自己|独立开发|自我进化"
)
_CONTEXT = re.compile(
    r"collaborat|cooperat|partner|\bwork(?:s|ed|ing)?\s+(?:with|together)|support|contribut|open[- ]?source|"
    r"standards?\b|framework|librar(?:y|ies)|TensorFlow|PyTorch|\bdata(?:sets?)?\b|\bcorpus\b|experts?\b|"
    r"backgrounds?|disciplines?|fields?\b|dedicated\s+to|focus(?:es|ed)?\s+on|mission|goal|purpose|"
    r"合作|协作|支持|贡献|开源|标准|框架|数据|专家|背景|领域|致力于|宗旨|目标|使命|任务|依赖",
    re.IGNORECASE,
)
_DENIAL = re.compile(
    r"\bI\b[^.!?\n]{0,30}?\b(?:don['’]t|do\s+not|doesn['’]t)\s+(?:really\s+)?have\s+(?:a\s+|an\s+|any\s+)?"
    r"(?:specific\s+|particular\s+)?(?:(?:development|parent|creation|creating)\s+)?"
    r"(?:company|team|developers?|creators?|makers?|organi[sz]ation|owners?)\b|"
    r"\bI(?:\s+am|['’]m)\s+not\s+(?:affiliated|associated)\s+with\s+any\b|"
    r"\bI\s+(?:don['’]t|do\s+not)\s+belong\s+to\s+any\b|"
    r"\b(?:I\s+was|I\s+wasn['’]t|I\s+am|I['’]m)\s+(?:not\s+)?(?:developed|created|made|built)\s+by\s+"
    r"(?:no|any)\s+(?:team|company|one|organi[sz]ation)\b|\bI\s+(?:ain['’]t|am\s+not|['’]m\s+not)\s+(?:a|any)\s+"
    r"company\b|\bI\s+(?:was\s+)?(?:created|built|made)\s+(?:all\s+)?(?:on\s+my\s+own|by\s+myself)\b|"
    r"我(?:并|其实|根本)?没有(?:具体的|特定的|所属的)?(?:开发|创建|所属|母)?(?:公司|团队|开发者|创造者|开发团队|创建公司|母公司)|"
    r"我(?:并)?不属于任何|我的母公司(?:根本)?不存在|我是(?:一个)?(?:完全)?独立(?:的|存在)",
    re.IGNORECASE,
)

# Every denial names the speaker ("I", "我") and says "n't", "not", "by", "own", 没有, 不属于, 不存在 or 独立:
# cheap tests in the folded sentence (claims_fold) that skip the long pattern on most sentences.
_DENIAL_WORD = re.compile(r"n['’]t|not|by|own|没有|不属于|不存在|独立")
_DENIAL_SPEAKER = re.compile(r"\bi\b|我")


@lru_cache(maxsize=65_536)  # place claims recur, and each origin claim is compared with every target's fact
def places_in(text: str) -> frozenset[str]:
    """Country codes of the places named in `text` ("xx" for fictional places)."""
    if not _ANY_PLACE.search(fold(text)):
        return frozenset()
    return frozenset(code for rx, code in _PLACE_RX if rx.search(text))


def is_denial(sentence: str) -> bool:
    """The speaker says it has no maker: "I don't have a parent company", "我不属于任何公司"."""
    low = fold(sentence)
    return bool(_DENIAL_WORD.search(low) and _DENIAL_SPEAKER.search(low) and _DENIAL.search(sentence))


def names_maker(sentence: str) -> bool:
    """The sentence names a specific or fictional maker ("a company called X", "BasedAI Corp", "rogue hackers")
    or denies having one."""
    return bool(_NAMED.search(sentence)) or is_denial(sentence)


@lru_cache(maxsize=65_536)  # echoed template sentences recur across responses
def origin_kind(sentence: str, fact: str) -> OriginKind:
    """Classify an origin claim that names no known family, relative to the target's fact."""
    if is_denial(sentence):
        return "denial"
    said, true = places_in(sentence), places_in(fact)
    if said and true and said - true:
        return "place_conflict"
    if _NAMED.search(sentence):
        return "named"
    if said:
        return "place_ok"
    return "context" if _CONTEXT.search(sentence) else "plain"


def origin_contradicts(sentence: str, fact: str) -> bool:
    """True when an origin claim without a known family contradicts the fact (see the module docstring)."""
    return origin_kind(sentence, fact) not in ("place_ok", "context", "plain")
