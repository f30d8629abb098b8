"""RSE scoring, the one path behind `distillscope run` (summary.json) and `distillscope rse score`.

Defaults (test level, seed, similarity signal) come from the config models, in one place (`ScoreOptions`), so
the two commands give the same numbers on the same responses. Storage lives in `rse.store`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from distillscope.config import ExperimentConfig, ModelEntry, RseSettings
from distillscope.errors import ConfigError
from distillscope.rse.experiment_verdicts import VerdictSettings, score_verdicts, text_verdicts
from distillscope.rse.store import ResponseRecord, aligned, read_manifest, read_responses, require_responses
from distillscope.rundir import RunDir, write_json_atomic
from distillscope.stats import mean_interval

_DEFAULT_ALPHA: float = ExperimentConfig.model_fields["alpha"].default
_DEFAULT_SEED: int = ExperimentConfig.model_fields["seed"].default
_DEFAULT_SIGNAL: str = RseSettings.model_fields["signal"].default


@dataclass(frozen=True, kw_only=True)
class ScoreOptions:
    """What is compared (the reference, the null panel) and how (test level, seed, bootstrap size, signal)."""

    reference: str | None = None
    null: tuple[str, ...] = ()
    alpha: float = _DEFAULT_ALPHA
    seed: int = _DEFAULT_SEED
    n_boot: int = VerdictSettings.n_boot
    signal: str = _DEFAULT_SIGNAL  # judge-free similarity behind the matrix (rse.similarity.SIGNALS)

    @property
    def verdicts(self) -> VerdictSettings:
        return VerdictSettings(alpha=self.alpha, seed=self.seed, n_boot=self.n_boot)


def options_from_config(cfg: ExperimentConfig) -> ScoreOptions:
    """The scoring options of an experiment: its first reference, its null panel, alpha, seed and signal."""
    return ScoreOptions(
        reference=cfg.references[0].name,
        null=tuple(m.name for m in cfg.null_panel),
        alpha=cfg.alpha,
        seed=cfg.seed,
        signal=cfg.rse.signal,
    )


def verdict_rows(
    texts: dict[str, list[str]], targets: list[str], references: list[str], null: list[str], opts: ScoreOptions
) -> list[dict[str, Any]]:
    """The named-suspect test of every (target, reference) pair against the null panel (word similarity)."""
    return text_verdicts(texts, targets, references, null, opts.verdicts)


# ------------------------------------------------------------------------------- the experiment summary
def rse_section(run_dir: Path, cfg: ExperimentConfig) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """Similarity of every model to each reference, the N x N matrix, LLM-judge scores and verdicts."""
    from distillscope.rse.judge_summary import summarise_judgements
    from distillscope.rse.similarity import SIGNALS, aligned_texts, response_similarity

    keys, texts = aligned_texts(RunDir(run_dir).rse.root)
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
    section: dict[str, Any] = {
        "reference": ref,
        "signal": SIGNALS[signal],
        "n_prompts": len(keys),
        "similarity": similarity,
        "judge": summarise_judgements(RunDir(run_dir).rse.root, ref, cfg.seed),
        "matrix": {"models": models, "values": np.round(sims.mean(), 4).tolist()},
        "attribution": attribution_section(texts, cfg, models),
    }

    def present(group: list[ModelEntry]) -> list[str]:
        return [m.name for m in group if m.name in models]

    texts = {m: texts[m] for m in models}
    opts = options_from_config(cfg)
    return section, verdict_rows(texts, present(cfg.targets), present(cfg.references), present(cfg.null_panel), opts)


def attribution_section(texts: dict[str, list[str]], cfg: ExperimentConfig, models: list[str]) -> dict[str, Any]:
    """Each target's posterior over candidate families (references and null panel, plus "none") and its
    candidate teachers ranked with probabilities."""
    from distillscope.rse.attribution import AttributionSettings, attribute_students

    candidates = [m.name for m in (*cfg.references, *cfg.null_panel) if m.name in models]
    targets = [t.name for t in cfg.targets if t.name in models]
    n_prompts = len(next(iter(texts.values()), []))
    if len(candidates) < 2 or not targets or n_prompts < 10:
        return {}
    families = {m.name: family_of(m) or m.name for m in cfg.all_models()}
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


def family_of(entry: ModelEntry) -> str | None:
    """The configured identity family of a model, else the registry's match for its spec."""
    if entry.family:
        return entry.family
    from distillscope.identity.registry import resolve_family

    fam = resolve_family(entry.spec.partition(":")[2] or entry.spec)
    return fam.key if fam else None


# ------------------------------------------------------------------------------- `rse score`
def judge_free_section(records: list[ResponseRecord], ref: str, opts: ScoreOptions) -> dict[str, Any]:
    """TF-IDF cosine and ROUGE-L of every model to `ref` per set (plus the chosen signal when it is another),
    the N x N matrix, and named-suspect verdicts of word similarity against the null panel."""
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
    ri = models.index(ref)
    rows = []
    for qi, m in enumerate(models):
        for pset in sorted({k[0] for k in keys}):
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
        out["verdicts"] = {v["target"]: v for v in verdict_rows(texts, targets, [ref], null, opts)}
    return out


def judge_table_section(run: RunDir, ref: str, opts: ScoreOptions) -> dict[str, Any] | None:
    """LLM-judge means per (target, set) and Avg, order consistency, panel agreement, null verdicts."""
    from distillscope.rse.agreement import judge_table, order_consistency, pair_scores, panel_agreement
    from distillscope.rse.llm_judge import load_judgements

    js = [j for j in load_judgements(run) if j.reference == ref]
    if not js:
        return None
    cells, avg = judge_table(js, ref)
    out: dict[str, Any] = {
        "reference": ref,
        "n_judgements": len(js),
        "n_unscored": sum(j.label == "unscored" for j in js),
        "table": [asdict(c) for c in cells],
        "avg": avg,
        "order_consistency": [asdict(o) for o in order_consistency(js)],
        "agreement": asdict(panel_agreement(js)),
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
                out["verdicts"][target] = score_verdicts(scores, target, ref, null, opts.verdicts)
    return out


def _pick_reference(run: RunDir, models: list[str], reference: str | None) -> str:
    ref = reference or next(iter(read_manifest(run).get("references") or []), None) or (models[0] if models else None)
    if ref is None or ref not in models:
        raise ConfigError(f"reference {ref!r} has no responses in {run.root}; pass --reference with one of {models}")
    return ref


def score_run(run: RunDir, options: ScoreOptions | None = None) -> dict[str, Any]:
    """Judge-free similarity to the reference per (model, set), N x N matrix, LLM-judge table when judged,
    and null-panel verdicts when `options.null` names models. Writes and returns `summary.json`."""
    opts = options or ScoreOptions()
    require_responses(run)
    records = read_responses(run)
    models = list(dict.fromkeys(r.model for r in records))
    ref = _pick_reference(run, models, opts.reference)
    unknown = [m for m in opts.null if m not in models]
    if unknown:
        raise ConfigError(f"null-panel model(s) {unknown} have no responses in {run.root}; use some of {models}")
    summary = {
        "run_dir": str(run.root),
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
        "llm_judge": judge_table_section(run, ref, opts),
    }
    write_json_atomic(run.summary, summary)
    return summary


@dataclass(frozen=True, kw_only=True)
class ScoreOverrides:
    """Options given on the command line; None keeps the default (the experiment's, else `ScoreOptions`')."""

    reference: str | None = None
    null: tuple[str, ...] | None = None
    alpha: float | None = None
    seed: int | None = None
    signal: str | None = None


def experiment_options(run_dir: Path) -> tuple[RunDir, ScoreOptions]:
    """The RSE folder to score and its default options: when `run_dir` is an experiment (or its rse/ folder),
    that experiment's reference, null panel, alpha, seed and signal, so `rse score` matches its summary."""
    from distillscope.config import load_run_config

    parent = RunDir(run_dir.parent)
    root = run_dir.parent if parent.rse.root == run_dir and parent.config_yaml.exists() else run_dir
    if not RunDir(root).config_yaml.exists():
        return RunDir(run_dir), ScoreOptions()
    return RunDir(root).rse, options_from_config(load_run_config(root))


def score_dir(run_dir: Path, given: ScoreOverrides | None = None) -> dict[str, Any]:
    """`rse score`: score an RSE folder (or an experiment's) with its default options, overridden by `given`."""
    from dataclasses import replace

    from distillscope.rse.similarity import SIGNALS

    given = given or ScoreOverrides()
    if given.signal is not None and given.signal not in SIGNALS:
        raise ConfigError(f"unknown --signal {given.signal!r}: use one of {', '.join(SIGNALS)}")
    run, options = experiment_options(run_dir)
    changes = {k: v for k, v in asdict(given).items() if v is not None}
    return score_run(run, replace(options, **changes))
