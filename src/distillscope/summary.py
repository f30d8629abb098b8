"""Turn a run directory's records into `summary.json`: every score, interval, p-value and verdict.

The report reads only this file (plus the run's manifest), so a report can be rebuilt offline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from distillscope import __version__
from distillscope.config import ExperimentConfig
from distillscope.rse.scoring import family_of, rse_section
from distillscope.rundir import RUN_SCHEMA_VERSION, RunDir, read_jsonl, read_manifest, write_json_atomic

SUMMARY_SCHEMA_VERSION = 1


def _rate(r: dict[str, Any] | None) -> dict[str, float | int] | None:
    """A rate for the summary; None stays None: that ICE level was not measured (never shown as 0)."""
    return None if r is None else {"k": r["k"], "rate": r["rate"], "lo": r["low"], "hi": r["high"]}


def _rate_set(rs: dict[str, Any]) -> dict[str, Any]:
    return {"n": rs["n"], "n_unscored": rs["n_unscored"], **{k: _rate(rs[k]) for k in ("loose", "strict", "hard")}}


def ice_section(run_dir: Path, cfg: ExperimentConfig) -> dict[str, Any] | None:
    """ICE scores per model: the paired replay when it ran (comparable across models), else the campaign."""
    from distillscope.ice.records import IceRecord
    from distillscope.ice.scores import compute_scores

    ice = RunDir(run_dir).ice
    paired = ice.paired.records
    source = paired if paired.exists() else ice.records
    rows = list(read_jsonl(source))
    if not rows:
        return None
    scores = compute_scores([IceRecord.model_validate(r) for r in rows]).model_dump()
    rows_of: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        rows_of.setdefault(str(r.get("target")), []).append(r)
    by_model = {}
    for name, t in scores["targets"].items():
        by_model[name] = {
            **_rate_set(t["overall"]),
            "by_category": {c: _rate_set(v) for c, v in t["by_category"].items()},
            "by_language": {c: _rate_set(v) for c, v in t["by_language"].items()},
            "queries_to_first_contradiction": t["queries_to_first_contradiction"],
            "top_templates": [
                {
                    "template_id": tt["template_id"],
                    "text": tt["template"] or "",
                    "n": tt["scores"]["n"],
                    "loose_rate": tt["scores"]["loose"]["rate"],
                    "strict_rate": (tt["scores"]["strict"] or {}).get("rate"),
                }
                for tt in t["top_templates"]
            ],
            "by_location": _by_location(rows_of[name]),
        }
    return {
        "judge": cfg.ice.judge,
        "source": "paired replay" if paired.exists() else "fuzz campaign",
        "by_model": by_model,
    }


def _by_location(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Contradictions by where the judge found the evidence (answer, reasoning trace, both; "unknown" for
    judges that do not say), so reasoning-model scores show how much rests on the trace."""
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        if r.get("loose") and r.get("label") == "contradiction":
            counts = out.setdefault(str(r.get("location") or "unknown"), {"loose": 0, "strict": 0, "hard": 0})
            for level in counts:
                counts[level] += bool(r.get(level))
    return dict(sorted(out.items()))


def _cost(manifest: dict[str, Any]) -> dict[str, Any]:
    keys = ("calls", "cache_hits", "errors", "prompt_tokens", "completion_tokens", "cost_usd")
    by_stage = {name: {k: s.get(k, 0) for k in keys} for name, s in manifest.get("stages", {}).items()}
    return {"by_stage": by_stage, "total_usd": round(sum(s["cost_usd"] for s in by_stage.values()), 6)}


def _attach_ice(verdicts: list[dict[str, Any]], ice: dict[str, Any] | None) -> None:
    for v in verdicts:
        m = (ice or {}).get("by_model", {}).get(v["target"])
        s = None if m is None else m["strict"]  # None: no model, or strict not measured
        v["ice_strict"] = None if s is None else {k: s[k] for k in ("rate", "lo", "hi")}
        if s is not None:
            v["evidence"].append(
                f"{s['rate']:.1%} of identity answers claim an OpenAI/Anthropic identity "
                f"(strict ICE, 95% CI [{s['lo']:.1%}, {s['hi']:.1%}])"
            )


def build_summary(run_dir: Path, cfg: ExperimentConfig) -> dict[str, Any]:
    """Every score of the run, in the schema the report reads (deterministic for the same records)."""
    manifest = read_manifest(run_dir) or {}
    ice = ice_section(run_dir, cfg) if cfg.ice.enabled else None
    rse, verdicts = rse_section(run_dir, cfg) if cfg.rse.enabled else (None, [])
    _attach_ice(verdicts, ice)
    roles = [("target", cfg.targets), ("reference", cfg.references), ("null", cfg.null_panel)]
    return {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "run": {
            "name": cfg.name,
            "started": manifest.get("started"),
            "finished": manifest.get("finished"),
            "distillscope_version": manifest.get("distillscope_version", __version__),
            "config_hash": cfg.config_hash(),
            "status": _status(manifest),
            "failure": manifest.get("failure"),
            "run_schema": RUN_SCHEMA_VERSION,
        },
        "models": [
            {"name": m.name, "spec": m.spec, "role": role, "family": family_of(m)} for role, ms in roles for m in ms
        ],
        "ice": ice,
        "rse": rse,
        "verdicts": verdicts,
        "cost": _cost(manifest),
    }


def _status(manifest: dict[str, Any]) -> str:
    """complete (every stage finished), failed (a stage's calls mostly failed) or partial (stopped early)."""
    if manifest.get("finished"):
        return "complete"
    return "failed" if manifest.get("status") == "failed" else "partial"


def write_summary(run_dir: Path, cfg: ExperimentConfig) -> dict[str, Any]:
    summary = build_summary(run_dir, cfg)
    write_json_atomic(RunDir(run_dir).summary, summary)
    return summary
