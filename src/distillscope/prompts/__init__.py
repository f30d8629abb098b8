"""Prompt sets for RSE: loaders for public benchmark formats, generic files and a built-in set."""

from distillscope.prompts.builtin import BUILTIN_GROUPS, builtin_prompts
from distillscope.prompts.items import PromptItem
from distillscope.prompts.loaders import (
    SPEC_HELP,
    PromptSet,
    load_arenahard,
    load_field,
    load_mtbench,
    load_numina,
    load_prompt_set,
    load_sharegpt,
    load_spec_items,
    prompt_set_hash,
    read_records,
    sample_prompts,
)

__all__ = [
    "BUILTIN_GROUPS",
    "SPEC_HELP",
    "PromptItem",
    "PromptSet",
    "builtin_prompts",
    "load_arenahard",
    "load_field",
    "load_mtbench",
    "load_numina",
    "load_prompt_set",
    "load_sharegpt",
    "load_spec_items",
    "prompt_set_hash",
    "read_records",
    "sample_prompts",
]
