"""The verdict table printed at the end of `run`, `resume` and `demo`, read from the run's summary.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HEADER = ("target", "reference", "verdict", "p (Holm)", "effect [95% CI]", "ICE loose", "ICE strict")


def _rate(r: dict[str, Any] | None) -> str:
    return "-" if r is None else f"{r['rate']:.1%}"


def _effect(v: dict[str, Any]) -> str:
    if v.get("degree") is None:
        return "-"
    return f"{v['degree']:+.2f} SD [{v['lo']:.2f}, {v['hi']:.2f}]"


def _p(v: dict[str, Any]) -> str:
    p = v.get("p_adjusted", v.get("p_value"))
    return "-" if p is None else f"{p:.3g}"


def verdict_rows(summary: dict[str, Any]) -> tuple[list[tuple[str, ...]], list[str]]:
    """Table rows (header first) and one line per inconclusive verdict saying why."""
    ice = (summary.get("ice") or {}).get("by_model", {})
    rows: list[tuple[str, ...]] = [HEADER]
    reasons: list[str] = []
    for v in summary.get("verdicts", []):
        m = ice.get(v["target"], {})
        ice_cells = (_rate(m.get("loose")), _rate(m.get("strict")))
        rows.append((v["target"], v["reference"], v["verdict"], _p(v), _effect(v), *ice_cells))
        if v.get("reason"):
            reasons.append(f"{v['target']} vs {v['reference']}: {v['reason']}")
    if not summary.get("verdicts"):  # ICE only: one row per model
        rows += [(name, "-", "-", "-", "-", _rate(m.get("loose")), _rate(m.get("strict"))) for name, m in ice.items()]
    return rows, reasons


def verdict_table(run_dir: Path) -> list[str]:
    """Lines of the run's verdict table (columns aligned, never wrapped); empty when there is nothing to show."""
    path = run_dir / "summary.json"
    if not path.is_file():
        return []
    rows, reasons = verdict_rows(json.loads(path.read_text(encoding="utf-8")))
    if len(rows) == 1:
        return []
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return ["verdicts:", *lines, *(f"  inconclusive, {why}" for why in reasons)]
