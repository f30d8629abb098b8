"""Separate reasoning traces (`<think>...</think>`) from the final answer."""

from __future__ import annotations

import re

_THINK = re.compile(r"<think>(.*?)</think>", re.DOTALL | re.IGNORECASE)


def split_reasoning(text: str) -> tuple[str, str | None]:
    """Return (answer, reasoning). Handles a missing opening tag and an unfinished trace.

    - "<think>r</think>a" -> ("a", "r")
    - "r</think>a" (templates that pre-fill "<think>") -> ("a", "r")
    - "<think>r" (truncated while thinking) -> ("", "r")
    """
    traces = [m.strip() for m in _THINK.findall(text)]
    rest = _THINK.sub("", text)
    low = rest.lower()
    if "</think>" in low:
        cut = low.rindex("</think>")
        traces.append(rest[:cut].strip())
        rest = rest[cut + len("</think>") :]
    elif "<think>" in low:
        cut = low.index("<think>")
        traces.append(rest[cut + len("<think>") :].strip())
        rest = rest[:cut]
    if not traces:
        return text, None
    return rest.strip(), "\n\n".join(t for t in traces if t) or None
