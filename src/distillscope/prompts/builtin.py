"""The built-in prompt set: 66 original prompts in three groups that mirror the paper's three sets.

`reasoning` (general and hard reasoning, like ArenaHard), `math` (like Numina) and `instructions`
(everyday requests, like ShareGPT). The text ships as package data, so RSE runs with no external file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources

from distillscope.errors import ConfigError
from distillscope.prompts.items import PromptItem

BUILTIN_GROUPS = ("reasoning", "math", "instructions")


@lru_cache(maxsize=1)
def _all_builtin() -> tuple[PromptItem, ...]:
    text = resources.files("distillscope").joinpath("data/prompts/builtin.jsonl").read_text(encoding="utf-8")
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return tuple(
        PromptItem(id=r["id"], set=f"builtin:{r['group']}", text=r["prompt"], category=r["group"], turns=(r["prompt"],))
        for r in rows
    )


def builtin_prompts(groups: Sequence[str] | None = None) -> list[PromptItem]:
    """The built-in prompts of the given groups (all three when None), each group its own set."""
    wanted = [g.strip() for g in groups or BUILTIN_GROUPS if g.strip()]
    unknown = [g for g in wanted if g not in BUILTIN_GROUPS]
    if unknown or not wanted:
        raise ConfigError(f"unknown built-in group(s) {unknown}; use builtin or builtin:{','.join(BUILTIN_GROUPS)}")
    return [item for g in wanted for item in _all_builtin() if item.category == g]
