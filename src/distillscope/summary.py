"""Turn a run directory's records into a `Summary` (summary.json): every score, interval, p-value and verdict.

The report reads only this file (plus the run's manifest), so a report can be rebuilt offline. ICE scores are
the scores.json written with the records; RSE scores come from `rse.scoring` (shared with `rse score`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from distillscope import __version__
from distillscope.config import ExperimentConfig
from distillscope.ice.records import IceRecord
from distillscope.ice.scores import Rate, RateSet, saved_scores
from distillscope.rse.scoring import family_of, rse_section
from distillscope.rundir import RUN_SCHEMA_VERSION, RunDir, read_jsonl, read_manifest, write_json_atomic
from distillscope.summary_model import (
    Cost,
    IceModelScores,
    IceRate,
    IceRates,
    IceSection,
    IceStrict,
    LocationCounts,
    ModelInfo,
    RseSection,
    RunInfo,
    StageCost,
    Summary,
    TopTemplate,
    VerdictRow,
)

SUMMARY_SCHEMA_VERSION = 1


def _rate(r: Rate | None) -> IceRate | None:
    """A rate for the summary; None stays None: that ICE level was not measured (never shown as 0)."""
    return None if r is None else IceRate(k=r.k, rate=r.rate, lo=r.low, hi=r.high)


def _rates(rs: RateSet) -> IceRates:
    return IceRates(
        n=rs.n, n_unscored=rs.n_unscored, loose=_rate(rs.loose), strict=_rate(rs.strict), hard=_rate(rs.hard)
    )


def ice_section(run_dir: Path, cfg: ExperimentConfig) -> IceSection | None:
    """ICE scores per model: the paired replay when it ran (comparable across models), else the campaign."""
    ice = RunDir(run_dir).ice
    folder = ice.paired if ice.paired.records.exists() else ice
    records = [IceRecord.model_validate(r) for r in read_jsonl(folder.records)]
    if not records:
        return None
    scores = saved_scores(folder.scores, records)
    by_model = {}
    for name, t in scores.targets.items():
        overall = _rates(t.overall)
        by_model[name] = IceModelScores(
            **{k: getattr(overall, k) for k in IceRates.model_fields},
            by_category={c: _rates(v) for c, v in t.by_category.items()},
            by_language={c: _rates(v) for c, v in t.by_language.items()},
            queries_to_first_contradiction=t.queries_to_first_contradiction,
            top_templates=[
                TopTemplate(
                    template_id=tt.template_id,
                    text=tt.template or "",
                    n=tt.scores.n,
                    loose_rate=None if tt.scores.loose is None else tt.scores.loose.rate,
                    strict_rate=None if tt.scores.strict is None else tt.scores.strict.rate,
                )
                for tt in t.top_templates
            ],
            by_location=_by_location([r for r in records if r.target == name]),
        )
    return IceSection(
        judge=cfg.ice.judge, source="paired replay" if folder == ice.paired else "fuzz campaign", by_model=by_model
    )


def _by_location(records: list[IceRecord]) -> dict[str, LocationCounts]:
    """Contradictions by where the judge found the evidence (answer, reasoning trace, both; "unknown" for
    judges that do not say), so reasoning-model scores show how much rests on the trace."""
    out: dict[str, LocationCounts] = {}
    for r in records:
        if r.loose and r.label == "contradiction":
            counts = out.setdefault(r.location or "unknown", LocationCounts(loose=0, strict=0, hard=0))
            counts.loose += bool(r.loose)
            counts.strict += bool(r.strict)
            counts.hard += bool(r.hard)
    return dict(sorted(out.items()))


def _cost(manifest: dict[str, Any]) -> Cost:
    keys = ("calls", "cache_hits", "errors", "prompt_tokens", "completion_tokens", "cost_usd")
    by_stage = {
        name: StageCost.model_validate({k: s.get(k, 0) for k in keys}) for name, s in manifest.get("stages", {}).items()
    }
    return Cost(by_stage=by_stage, total_usd=round(sum(s.cost_usd for s in by_stage.values()), 6))


def _attach_ice(verdicts: list[VerdictRow], ice: IceSection | None) -> None:
    for v in verdicts:
        m = None if ice is None else ice.by_model.get(v.target)
        s = None if m is None else m.strict  # None: no model, or strict not measured
        v.ice_strict = None if s is None else IceStrict(rate=s.rate, lo=s.lo, hi=s.hi)
        if s is not None:
            v.evidence.append(
                f"{s.rate:.1%} of identity answers claim an OpenAI/Anthropic identity "
                f"(strict ICE, 95% CI [{s.lo:.1%}, {s.hi:.1%}])"
            )


def build_summary(run_dir: Path, cfg: ExperimentConfig) -> Summary:
    """Every score of the run, in the schema the report reads (deterministic for the same records)."""
    manifest = read_manifest(run_dir) or {}
    ice = ice_section(run_dir, cfg) if cfg.ice.enabled else None
    rse, rows = rse_section(run_dir, cfg) if cfg.rse.enabled else (None, [])
    verdicts = [VerdictRow.model_validate(v) for v in rows]
    _attach_ice(verdicts, ice)
    roles = [("target", cfg.targets), ("reference", cfg.references), ("null", cfg.null_panel)]
    return Summary(
        schema_version=SUMMARY_SCHEMA_VERSION,
        run=RunInfo(
            name=cfg.name,
            started=manifest.get("started"),
            finished=manifest.get("finished"),
            distillscope_version=manifest.get("distillscope_version", __version__),
            config_hash=cfg.config_hash(),
            status=_status(manifest),
            failure=manifest.get("failure"),
            run_schema=RUN_SCHEMA_VERSION,
        ),
        models=[ModelInfo(name=m.name, spec=m.spec, role=role, family=family_of(m)) for role, ms in roles for m in ms],
        ice=ice,
        rse=None if rse is None else RseSection.model_validate(rse),
        verdicts=verdicts,
        cost=_cost(manifest),
    )


def _status(manifest: dict[str, Any]) -> str:
    """complete (every stage finished), failed (a stage's calls mostly failed) or partial (stopped early)."""
    if manifest.get("finished"):
        return "complete"
    return "failed" if manifest.get("status") == "failed" else "partial"


def write_summary(run_dir: Path, cfg: ExperimentConfig) -> Summary:
    """Build the run's `Summary` and write it as summary.json."""
    summary = build_summary(run_dir, cfg)
    write_json_atomic(RunDir(run_dir).summary, summary.to_json())
    return summary
