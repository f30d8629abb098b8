"""Token prices (USD per million tokens) for cost accounting and `plan` estimates.

The built-in table lists list prices published by vendors in 2025; prices change, so a config or
`DISTILLSCOPE_PRICES` (a JSON/YAML file mapping model-name prefixes to {"input":..., "output":...})
overrides it. Local backends (embedded, hf, replay, scripted) cost nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from distillscope.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million input and output tokens."""

    input_per_mtok: float = 0.0
    output_per_mtok: float = 0.0

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input_per_mtok + completion_tokens * self.output_per_mtok) / 1e6


FREE = Price()
PAID_PROVIDERS = ("openai", "anthropic")  # specs priced from the table; every other backend runs locally, free
BATCH_DISCOUNT = 0.5  # OpenAI Batch API and Anthropic Message Batches: 50% of the interactive price

# Longest matching prefix wins. Edit with DISTILLSCOPE_PRICES or the experiment config.
DEFAULT_PRICES: dict[str, Price] = {
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1": Price(2.00, 8.00),
    "o3-mini": Price(1.10, 4.40),
    "claude-3-5-haiku": Price(0.80, 4.00),
    "claude-3-5-sonnet": Price(3.00, 15.00),
    "claude-3-7-sonnet": Price(3.00, 15.00),
    "deepseek-chat": Price(0.27, 1.10),
    "deepseek-reasoner": Price(0.55, 2.19),
    "qwen-max": Price(1.60, 6.40),
    "glm-4-plus": Price(0.70, 0.70),
}


def load_price_table(path: str | Path | None = None) -> dict[str, Price]:
    """The default table updated by a JSON/YAML file (argument or $DISTILLSCOPE_PRICES)."""
    table = dict(DEFAULT_PRICES)
    source = path or os.environ.get("DISTILLSCOPE_PRICES")
    if not source:
        return table
    try:
        text = Path(source).read_text(encoding="utf-8")
        raw = json.loads(text) if str(source).endswith(".json") else yaml.safe_load(text)
        for name, p in (raw or {}).items():
            table[str(name)] = Price(float(p["input"]), float(p["output"]))
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"price table {source} is invalid ({exc}); expected a mapping name -> {{input: USD/Mtok, output: USD/Mtok}}"
        ) from exc
    return table


def price_for(model_name: str, table: dict[str, Price] | None = None) -> Price | None:
    """Price of the longest table prefix matching `model_name`, or None when unknown."""
    table = DEFAULT_PRICES if table is None else table
    matches = [k for k in table if model_name.lower().startswith(k.lower())]
    return table[max(matches, key=len)] if matches else None


def price_for_spec(spec: str, table: dict[str, Price] | None = None) -> Price | None:
    """Price of a model spec: free for local backends, else the table's price of its model name (None: unknown)."""
    provider, _, name = spec.partition(":")
    return price_for(name, table) if provider in PAID_PROVIDERS else FREE


def batch_price(price: Price) -> Price:
    """The price of a call sent through a provider batch API: OpenAI and Anthropic bill batches at half price."""
    return Price(price.input_per_mtok * BATCH_DISCOUNT, price.output_per_mtok * BATCH_DISCOUNT)
