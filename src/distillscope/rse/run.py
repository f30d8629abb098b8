"""The RSE run directory: `manifest.json`, `responses.jsonl`, `judgements.jsonl`, `summary.json`.

Records are appended one JSON line at a time as calls finish, so an interrupted run loses at most the line
being written (a torn last line is skipped on read) and a re-run resumes from what is on disk.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from distillscope.errors import ConfigError
from distillscope.rse.experiment_verdicts import VerdictSettings, score_verdicts, text_verdicts
from distillscope.rundir import append_jsonl, read_jsonl, write_json_atomic

log = logging.getLogger(__name__)
K = TypeVar("K", bound=Hashable)
RUN_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ResponseRecord:
    """One collected answer of one model to one prompt (one sample). `status="error"` keeps failures."""

    model: str
    prompt_set: str
    prompt_id: str
    sample_index: int
    prompt: str
    response: str
    status: str = "ok"
    reasoning: str | None = None
    category: str | None = None
    error: str | None = None
    error_kind: str | None = None
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    cost_usd: float = 0.0
    cached: bool = False
    created: float = field(default_factory=time.time)

    @property
    def key(self) -> tuple[str, str, str, int]:
        """(model, prompt_set, prompt_id, sample_index): what identifies a record across re-runs."""
        return (self.model, self.prompt_set, self.prompt_id, self.sample_index)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(d: dict[str, Any]) -> ResponseRecord:
        known = {k: v for k, v in d.items() if k in _RESPONSE_FIELDS}
        return ResponseRecord(**known)


_RESPONSE_FIELDS = frozenset(ResponseRecord.__dataclass_fields__)


def latest(records: Iterable[Any], key: Callable[[Any], K]) -> dict[K, Any]:
    """The last record for each key (later lines supersede earlier ones, e.g. a retried error)."""
    out: dict[K, Any] = {}
    for rec in records:
        out[key(rec)] = rec
    return out


class RunDir:
    """An RSE run directory. Appends are line-buffered writes of whole records."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def responses_path(self) -> Path:
        return self.path / "responses.jsonl"

    @property
    def judgements_path(self) -> Path:
        return self.path / "judgements.jsonl"

    @property
    def manifest_path(self) -> Path:
        return self.path / "manifest.json"

    @property
    def summary_path(self) -> Path:
        return self.path / "summary.json"

    def ensure(self) -> RunDir:
        """Create the folder (and parents)."""
        self.path.mkdir(parents=True, exist_ok=True)
        return self

    def require_responses(self) -> None:
        """ConfigError naming the fix when the folder holds no collected responses."""
        if not self.responses_path.exists():
            raise ConfigError(
                f"{self.path} holds no responses.jsonl; run `distillscope rse collect --out {self.path}` first"
            )

    @staticmethod
    def append(path: Path, record: dict[str, Any]) -> None:
        """Append one record as one JSON line and flush it."""
        append_jsonl(path, [record])

    def append_response(self, record: ResponseRecord) -> None:
        self.append(self.responses_path, record.to_dict())

    def responses(self) -> list[ResponseRecord]:
        """Every response record on disk, latest per key, in first-seen key order."""
        recs = (ResponseRecord.from_dict(d) for d in read_jsonl(self.responses_path))
        return list(latest(recs, lambda r: r.key).values())

    def judgement_dicts(self) -> list[dict[str, Any]]:
        """Raw judgement records on disk (every line; callers pick the latest per key)."""
        return list(read_jsonl(self.judgements_path))

    def read_json(self, path: Path) -> dict[str, Any]:
        if not path.exists():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path} is not valid JSON ({exc.msg}); fix or delete it") from exc
        return data if isinstance(data, dict) else {}

    def write_json(self, path: Path, data: dict[str, Any]) -> None:
        """Write JSON atomically, so a crash never leaves half a manifest."""
        write_json_atomic(path, data)

    def manifest(self) -> dict[str, Any]:
        return self.read_json(self.manifest_path)

    def update_manifest(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Merge `changes` into the manifest (list values are unioned, order kept) and save it."""
        data = self.manifest()
        data.setdefault("schema", RUN_SCHEMA_VERSION)
        data.setdefault("kind", "rse")
        for key, value in changes.items():
            old = data.get(key)
            if isinstance(old, list) and isinstance(value, list):
                data[key] = old + [v for v in value if v not in old]
            else:
                data[key] = value
        self.write_json(self.manifest_path, data)
        return data


def export_responses(run: RunDir, path: Path) -> Path:
    """Write the run's ok answers (sample 0) as `{"model", "instruction", "output"}` JSONL for attribution."""
    run.require_responses()
    with path.open("w", encoding="utf-8") as fh:
        for r in run.responses():
            if r.ok and r.sample_index == 0:
                fh.write(json.dumps({"model": r.model, "instruction": r.prompt, "output": r.response}) + "\n")
    return path


# ----------------------------------------------------------------------------------------------- scoring
@dataclass(frozen=True)
class ScoreOptions:
    """What `score_run` compares: the reference, the null panel, the test level, the seed, the bootstrap size."""

    reference: str | None = None
    null: tuple[str, ...] = ()
    alpha: float = 0.05
    seed: int = 0
    n_boot: int = 200
    signal: str = "tfidf"  # judge-free similarity behind the matrix (rse.similarity.SIGNALS)


def aligned(records: list[ResponseRecord], models: list[str]) -> tuple[list[tuple[str, str]], dict[str, list[str]]]:
    """(set, prompt id) answered (sample 0, ok, non-empty) by every model, and each model's texts on them."""
    by_model: dict[str, dict[tuple[str, str], str]] = {m: {} for m in models}
    for r in records:
        if r.ok and r.sample_index == 0 and r.response.strip() and r.model in by_model:
            by_model[r.model][(r.prompt_set, r.prompt_id)] = r.response
    common = set.intersection(*(set(v) for v in by_model.values())) if models else set()
    keys = sorted(common)
    return keys, {m: [by_model[m][k] for k in keys] for m in models}


def _pick_reference(run: RunDir, models: list[str], reference: str | None) -> str:
    ref = reference or next(iter(run.manifest().get("references") or []), None) or (models[0] if models else None)
    if ref is None or ref not in models:
        raise ConfigError(f"reference {ref!r} has no responses in {run.path}; pass --reference with one of {models}")
    return ref


def _settings(opts: ScoreOptions) -> VerdictSettings:
    return VerdictSettings(alpha=opts.alpha, seed=opts.seed, n_boot=opts.n_boot)


def judge_free_section(records: list[ResponseRecord], ref: str, opts: ScoreOptions) -> dict[str, Any]:
    """TF-IDF cosine and ROUGE-L of every model to `ref` per set (plus the chosen signal when it is another),
    the N x N matrix, and named-suspect verdicts of word-excess similarity against the null panel."""
    from distillscope.rse.metrics import rouge_prompt_sims, tfidf_prompt_sims
    from distillscope.rse.similarity import response_similarity
    from distillscope.rse.verdict import similarity_matrix

    models = list(dict.fromkeys(r.model for r in records))
    keys, texts = aligned(records, models)
    if len(keys) < 2 or len(models) < 2:
        return {"label": "insufficient", "reason": "need two models with ok answers to at least two shared prompts"}
    tfidf = tfidf_prompt_sims(texts, models, models)
    chosen = tfidf if opts.signal == "tfidf" else response_similarity(texts, models, opts.signal)[0]
    rouge = rouge_prompt_sims(texts, models, [ref])
    sets = sorted({k[0] for k in keys})
    ri = models.index(ref)
    rows = []
    for qi, m in enumerate(models):
        for pset in sets:
            idx = [i for i, k in enumerate(keys) if k[0] == pset]
            tf, rl = float(tfidf.values[idx, qi, ri].mean()), float(rouge.values[idx, qi, 0].mean())
            row = {"model": m, "prompt_set": pset, "n": len(idx), "tfidf": tf, "rouge_l": rl}
            if chosen is not tfidf:
                row[opts.signal] = float(chosen.values[idx, qi, ri].mean())
            rows.append(row)
    names, matrix = similarity_matrix(chosen)
    out: dict[str, Any] = {
        "label": "ok",
        "reference": ref,
        "n_prompts": len(keys),
        "table": rows,
        "signal": opts.signal,
        "matrix": {"models": list(names), opts.signal: matrix.round(4).tolist()},
    }
    null = [m for m in opts.null if m in models and m != ref]
    if null:
        targets = [m for m in models if m != ref and m not in null]
        out["verdicts"] = {v["target"]: v for v in text_verdicts(texts, targets, [ref], null, _settings(opts))}
    return out


def judge_section(run: RunDir, ref: str, opts: ScoreOptions) -> dict[str, Any] | None:
    """LLM-judge means per (target, set) and Avg, order consistency, panel agreement, null verdicts."""
    from distillscope.rse.agreement import judge_table, order_consistency, pair_scores, panel_agreement
    from distillscope.rse.llm_judge import load_judgements

    js = [j for j in load_judgements(run) if j.reference == ref]
    if not js:
        return None
    cells, avg = judge_table(js, ref)
    agreement = panel_agreement(js)
    out: dict[str, Any] = {
        "reference": ref,
        "n_judgements": len(js),
        "n_unscored": sum(j.label == "unscored" for j in js),
        "table": [asdict(c) for c in cells],
        "avg": avg,
        "order_consistency": [asdict(o) for o in order_consistency(js)],
        "agreement": asdict(agreement),
    }
    null = [m for m in opts.null if m in avg]
    if null:
        per: dict[str, dict[tuple[str, str], list[float]]] = {}
        for p in pair_scores(js):
            per.setdefault(p.target, {}).setdefault((p.prompt_set, p.prompt_id), []).append(p.overall)
        out["verdicts"] = {}
        for target in (t for t in avg if t not in null and t != ref):
            keys = sorted(set(per[target]).intersection(*(per[n] for n in null)))
            if len(keys) >= 2:
                scores = {m: np.array([np.mean(per[m][k]) for k in keys]) for m in (target, *null)}
                out["verdicts"][target] = score_verdicts(scores, target, ref, null, _settings(opts))
    return out


def score_run(run: RunDir, options: ScoreOptions | None = None) -> dict[str, Any]:
    """Judge-free similarity to the reference per (model, set), N x N matrix, LLM-judge table when judged,
    and null-panel verdicts when `options.null` names models. Writes and returns `summary.json`."""
    opts = options or ScoreOptions()
    run.require_responses()
    records = run.responses()
    models = list(dict.fromkeys(r.model for r in records))
    ref = _pick_reference(run, models, opts.reference)
    unknown = [m for m in opts.null if m not in models]
    if unknown:
        raise ConfigError(f"null-panel model(s) {unknown} have no responses in {run.path}; use some of {models}")
    summary = {
        "run_dir": str(run.path),
        "reference": ref,
        "models": models,
        "null": list(opts.null),
        "alpha": opts.alpha,
        "responses": {
            m: {
                "ok": sum(r.ok for r in records if r.model == m),
                "error": sum(not r.ok for r in records if r.model == m),
            }
            for m in models
        },
        "judge_free": judge_free_section(records, ref, opts),
        "llm_judge": judge_section(run, ref, opts),
    }
    run.write_json(run.summary_path, summary)
    return summary
