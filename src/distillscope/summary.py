"""Turn a run directory's records into `summary.json`: every score, interval, p-value and verdict.

The report reads only this file (plus the run's manifest), so a report can be rebuilt offline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from distillscope import __version__
from distillscope.config import ExperimentConfig, ModelEntry
from distillscope.rundir import RUN_SCHEMA_VERSION, read_jsonl, read_manifest, write_json_atomic
from distillscope.stats import mean_interval

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

    paired = run_dir / "ice" / "paired" / "records.jsonl"
    source = paired if paired.exists() else run_dir / "ice" / "records.jsonl"
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
                    "loose_rate": (tt["scores"]["loose"] or {}).get("rate"),
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


def rse_section(run_dir: Path, cfg: ExperimentConfig) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """Similarity of every model to each reference, the N x N matrix, LLM-judge scores and verdicts."""
    from distillscope.rse.similarity import SIGNALS, aligned_texts, response_similarity

    keys, texts = aligned_texts(run_dir / "rse")
    models = [m.name for m in (*cfg.targets, *cfg.references, *cfg.null_panel) if m.name in texts]
    if len(keys) < 2 or len(models) < 2:
        return None, []
    sims, signal = response_similarity({m: texts[m] for m in models}, models, cfg.rse.signal)
    rng = np.random.default_rng(cfg.seed)
    ref = next((r.name for r in cfg.references if r.name in models), models[0])
    sets = np.array([k[0] for k in keys])
    similarity = {}
    for m in models:
        v = sims.values[:, models.index(m), models.index(ref)]
        similarity[m] = {
            "overall": mean_interval(v, rng),
            "by_set": {s: mean_interval(v[sets == s], rng) for s in sorted(set(sets))},
        }
    matrix = sims.mean()
    section: dict[str, Any] = {
        "reference": ref,
        "signal": SIGNALS[signal],
        "n_prompts": len(keys),
        "similarity": similarity,
        "judge": judge_section(run_dir, cfg, ref),
        "matrix": {"models": models, "values": np.round(matrix, 4).tolist()},
        "attribution": attribution_section(texts, cfg, models),
    }
    return section, verdicts_section(texts, cfg, models)


def verdicts_section(texts: dict[str, list[str]], cfg: ExperimentConfig, models: list[str]) -> list[dict[str, Any]]:
    """The named-suspect test of every (target, reference) pair against the null panel (shared with `rse score`)."""
    from distillscope.rse.experiment_verdicts import VerdictSettings, text_verdicts

    def present(group: list[ModelEntry]) -> list[str]:
        return [m.name for m in group if m.name in models]

    return text_verdicts(
        {m: texts[m] for m in models},
        present(cfg.targets),
        present(cfg.references),
        present(cfg.null_panel),
        VerdictSettings(alpha=cfg.alpha, seed=cfg.seed),
    )


def attribution_section(texts: dict[str, list[str]], cfg: ExperimentConfig, models: list[str]) -> dict[str, Any]:
    """Each target's posterior over candidate families (references and null panel, plus "none") and its
    candidate teachers ranked with probabilities."""
    from distillscope.rse.attribution import AttributionSettings, attribute_students

    candidates = [m.name for m in (*cfg.references, *cfg.null_panel) if m.name in models]
    targets = [t.name for t in cfg.targets if t.name in models]
    n_prompts = len(next(iter(texts.values()), []))
    if len(candidates) < 2 or not targets or n_prompts < 10:
        return {}
    families = {m.name: _family(m.family, m.spec) or m.name for m in cfg.all_models()}
    results = attribute_students(
        {m: texts[m] for m in models},
        targets,
        candidates,
        families,
        AttributionSettings(alpha=cfg.alpha, seed=cfg.seed),
    )
    return {
        t: {
            "n_prompts": r.n_prompts,
            "families": {f: round(p, 4) for f, p in sorted(r.family_probabilities.items(), key=lambda kv: -kv[1])},
            "candidates": [
                {
                    "candidate": c.candidate,
                    "family": c.family,
                    "rank": c.rank,
                    "probability": round(c.probability, 4),
                    "similarity": round(c.similarity, 4),
                }
                for c in r.candidates
            ],
        }
        for t, r in results.items()
    }


def judge_section(run_dir: Path, cfg: ExperimentConfig, ref: str) -> dict[str, Any] | None:
    """LLM-judge means per model and set with intervals, aspect means and judge diagnostics."""
    from distillscope.rse.judge_summary import summarise_judgements

    return summarise_judgements(run_dir / "rse", ref, cfg.seed)


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
            {"name": m.name, "spec": m.spec, "role": role, "family": _family(m.family, m.spec)}
            for role, ms in roles
            for m in ms
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


def _family(family: str | None, spec: str) -> str | None:
    if family:
        return family
    from distillscope.identity.registry import resolve_family

    fam = resolve_family(spec.partition(":")[2] or spec)
    return fam.key if fam else None


def write_summary(run_dir: Path, cfg: ExperimentConfig) -> dict[str, Any]:
    summary = build_summary(run_dir, cfg)
    write_json_atomic(run_dir / "summary.json", summary)
    return summary
