"""The run's budget at batch submission: a batch is paid for once it is submitted, long before its results (and
their real cost) come back, so each chunk is cut to what the caps leave after the estimated cost of the batches
this process submitted and has not collected yet. The estimate is an upper bound: the prompt's characters / 4
tokens in and `max_tokens` out, at the batch price."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from distillscope.errors import BudgetExceededError


class Spend(Protocol):
    """The run's caps and what it has spent (`model.Budget`)."""

    max_calls: int | None
    max_usd: float | None
    calls: int
    cost_usd: float


@dataclass
class BatchBudget:
    """Caps of the run, with what submitted batches are expected to add reserved until they are collected."""

    spend: Spend | None
    reserved_calls: int = 0
    reserved_usd: float = 0.0

    def fit(self, estimates: list[float]) -> int:
        """How many of these requests (in order) the caps leave room for."""
        if self.spend is None:
            return len(estimates)
        calls_left = len(estimates)
        if self.spend.max_calls is not None:
            calls_left = max(0, self.spend.max_calls - self.spend.calls - self.reserved_calls)
        usd_left = float("inf") if self.spend.max_usd is None else self.spend.max_usd - self.spend.cost_usd
        usd_left -= self.reserved_usd
        n, total = 0, 0.0
        for estimate in estimates[:calls_left]:
            if total + estimate > usd_left:
                break
            n, total = n + 1, total + estimate
        return n

    def reserve(self, calls: int, usd: float) -> None:
        self.reserved_calls += calls
        self.reserved_usd += usd

    def release(self, calls: int, usd: float) -> None:
        self.reserved_calls = max(0, self.reserved_calls - calls)
        self.reserved_usd = max(0.0, self.reserved_usd - usd)

    def exceeded(self, left_out: int) -> BudgetExceededError:
        """The error of the requests that did not fit."""
        caps = []
        if self.spend is not None and self.spend.max_calls is not None:
            caps.append(f"max_calls {self.spend.max_calls}")
        if self.spend is not None and self.spend.max_usd is not None:
            caps.append(f"max_usd ${self.spend.max_usd:.2f}")
        return BudgetExceededError(
            f"the budget ({', '.join(caps)}) leaves no room to submit {left_out} more batched requests (each "
            "estimated at its prompt and max_tokens, at the batch price); raise it and resume"
        )
