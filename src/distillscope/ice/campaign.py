"""Checkpointed campaign state of an ICE campaign (its paths come from `rundir.RunDir`).

After every iteration the fuzzer appends that iteration's records to records.jsonl and then atomically
rewrites campaign.json (tree, selector state, rng state, counters, number of records) and tree.json.
A campaign killed between the two steps resumes from campaign.json: records.jsonl is cut back to the
checkpoint's record count, the rng is restored, and the response cache answers every query that had
already finished, so no finished query is sent again.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from distillscope.errors import ConfigError
from distillscope.ice.records import IceRecord
from distillscope.ice.selectors import TemplateTree
from distillscope.rundir import RunDir, write_json_atomic

CAMPAIGN_VERSION = 1


@dataclass(kw_only=True)
class Counters:
    """Everything a campaign has spent, each budget counted separately."""

    iterations: int = 0
    target_queries: int = 0
    target_errors: int = 0
    target_cache_hits: int = 0
    mutator_calls: int = 0
    judge_calls: int = 0
    mutants_accepted: int = 0
    mutants_rejected: int = 0
    successes: int = 0
    cost_usd: float = 0.0
    elapsed_s: float = 0.0
    consecutive_failures: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(kw_only=True)
class CampaignState:
    """Everything needed to continue a campaign exactly where it stopped."""

    fingerprint: str
    tree: TemplateTree
    selector: dict[str, Any] = field(default_factory=dict)
    rng_state: list[Any] = field(default_factory=list)
    counters: Counters = field(default_factory=Counters)
    n_records: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": CAMPAIGN_VERSION,
            "fingerprint": self.fingerprint,
            "tree": self.tree.to_dict(),
            "selector": self.selector,
            "rng_state": self.rng_state,
            "counters": self.counters.as_dict(),
            "n_records": self.n_records,
            "rejected": self.rejected,
            "stop_reason": self.stop_reason,
        }

    @staticmethod
    def from_dict(d: dict[str, Any]) -> CampaignState:
        if int(d.get("version", 0)) > CAMPAIGN_VERSION:
            raise ConfigError("campaign.json was written by a newer distillscope; upgrade to resume it")
        return CampaignState(
            fingerprint=str(d["fingerprint"]),
            tree=TemplateTree.from_dict(d["tree"]),
            selector=dict(d.get("selector") or {}),
            rng_state=list(d.get("rng_state") or []),
            counters=Counters(**d.get("counters", {})),
            n_records=int(d.get("n_records", 0)),
            rejected=list(d.get("rejected") or []),
            stop_reason=d.get("stop_reason"),
        )


def rng_state(rng: random.Random) -> list[Any]:
    """The rng state as JSON-friendly data."""
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def restore_rng(rng: random.Random, state: list[Any]) -> None:
    """Put a saved state back into `rng`."""
    version, internal, gauss = state
    rng.setstate((version, tuple(internal), gauss))


def save_checkpoint(run: RunDir, state: CampaignState) -> None:
    """Write tree.json and campaign.json atomically (campaign.json last: it is the commit point)."""
    write_json_atomic(run.tree, tree_report(state.tree))
    write_json_atomic(run.campaign, state.to_dict())


def load_checkpoint(run: RunDir) -> CampaignState | None:
    """The saved state, or None when the directory holds no campaign."""
    if not run.campaign.is_file():
        return None
    try:
        return CampaignState.from_dict(json.loads(run.campaign.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{run.campaign} is unreadable ({exc}); remove it to start the campaign afresh") from exc


def truncate_jsonl(path: Path, n_rows: int) -> list[IceRecord]:
    """Keep the first `n_rows` rows of a JSONL file (rows past a checkpoint are dropped) and return them."""
    if not path.is_file():
        if n_rows:
            raise ConfigError(f"{path} is missing but the checkpoint expects {n_rows} records; remove campaign.json")
        return []
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if len(lines) < n_rows:
        raise ConfigError(f"{path} holds {len(lines)} records, the checkpoint expects {n_rows}; remove campaign.json")
    kept = lines[:n_rows]
    tmp = path.with_suffix(".jsonl.tmp")
    tmp.write_text("".join(ln + "\n" for ln in kept), encoding="utf-8")
    os.replace(tmp, path)
    return [IceRecord.model_validate(json.loads(ln)) for ln in kept]


def tree_report(tree: TemplateTree) -> dict[str, Any]:
    """tree.json: every node with parent, level, operator, visits, reward and success rate."""
    nodes = []
    for n in tree.nodes:
        d = asdict(n)
        d["success_rate"] = n.success_rate
        nodes.append(d)
    return {"n_nodes": len(nodes), "n_seeds": len(tree.roots), "nodes": nodes}


def write_scores(run: RunDir, by_target: Mapping[str, Sequence[IceRecord]]) -> dict[str, Any]:
    """scores.json: loose/strict/hard per target (and per category, language, template) with Wilson intervals."""
    from distillscope.ice.scores import compute_scores

    scores = compute_scores([r for rows in by_target.values() for r in rows]).model_dump()
    write_json_atomic(run.scores, scores)
    return scores
