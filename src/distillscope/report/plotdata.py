"""The plain data the report's figures draw: bars with optional intervals, and points of the distillation map."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from distillscope.summary_model import IceRate


@dataclass(frozen=True)
class Bar:
    """One bar: its value (None: not measured, no bar) and, for rates, its interval."""

    value: float | None
    lo: float | None = None
    hi: float | None = None


NO_BAR = Bar(None)
Series = tuple[str, str, Sequence[Bar]]  # name, colour, bars


def rate_bar(rate: IceRate | None) -> Bar:
    """An ICE rate with its interval; no bar when that level was not measured."""
    return NO_BAR if rate is None else Bar(rate.rate, rate.lo, rate.hi)


@dataclass(frozen=True, kw_only=True)
class MapPoint:
    """One model on the distillation map: x (RSE) and y (ICE strict) with their intervals."""

    name: str
    role: str
    verdict: str | None
    x: float
    x_lo: float
    x_hi: float
    y: float
    y_lo: float
    y_hi: float
