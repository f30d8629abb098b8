"""Neutralise tag-like delimiters inside text that a judge model reads (DESIGN rule 6).

Jailbreak outputs try to close the judge's delimiters and open their own verdict. Every judge passes judged
text through `neutralise` so that such sequences lose their angle brackets but keep their words.
"""

from __future__ import annotations

import re
from collections.abc import Collection

# "<tag>", "</tag>", "< /Tag >", "<tag attr=...>": a name, then up to 40 characters before the closing ">".
_TAGLIKE = re.compile(r"<\s*(/?)\s*([A-Za-z_][^<>]{0,40}?)\s*>")


def neutralise(text: str, tags: Collection[str] | None = None) -> str:
    """Make tag-like sequences inert: "</verdict>" becomes "‹/verdict›".

    With `tags`, only those tag names (any case, any spacing) are touched and other markup such as
    "<div>" is left alone; without, every tag-like sequence is neutralised."""
    names = None if tags is None else {t.lower() for t in tags}

    def inert(m: re.Match[str]) -> str:
        if names is not None and m.group(2).lower() not in names:
            return m.group(0)
        return f"‹{m.group(1)}{m.group(2)}›"

    return _TAGLIKE.sub(inert, text)
