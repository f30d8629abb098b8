"""The named-suspect tests in an experiment's own structure (sessions 12-13, rules J, K, M and N; BENCHMARKS.md).

    python benchmarks/bench_lineage_experiment.py --data ../shared/data/lineage                      # rule J
    python benchmarks/bench_lineage_experiment.py --data ../shared/data/lineage --tests word \
        --shapes 4x8 4x12 1x8 --baselines panel references raw [--seed 115]                          # rule K
    python benchmarks/bench_lineage_experiment.py --data ../shared/data/lineage --tests word word_frame \
        --shapes 4x8 4x12 1x8 --baselines raw [--seed 115]                                           # rules M, N

`bench lineage` takes every student's excess over all 32 candidates and tests it against the other students. An
experiment has far fewer models: the references (the named suspects) and the null panel, which is what the target
is compared with. This script rebuilds that structure from the visible set, cut by cut:

- suspects (``SxK``: S of them): half, rounded up, drawn from the candidates that taught a student, the rest from
  the others (cut c: numpy seed SEED + c, default 15);
- null panel: K students labelled 0 towards every suspect (other family or human data, `related` left out), drawn
  at random; a cut with fewer than 8 such students is drawn again;
- every signal recomputed on that structure (queries: every student and the suspects);
- every student not in the panel is a target; its labelled (student, suspect) pairs are scored.

Rule J compares the shipped ``word`` test with session 8's five-signal test (word, frame, profile, format, length;
weights fitted in the benchmark's 32-candidate structure on the students other than the target, what fitted
defaults would bring to an experiment), both as experiments computed them until session 12: an excess over the
suspects plus the null panel (``panel``). Rule K compares, for the word test, that baseline with the excess over the
other suspects only (``references``; the raw similarity when there is one) and the raw similarity (``raw``, what
experiments use since), each with and without the panel-fit check (``*_target`` columns: a target whose
`panel_fit_pvalue` is below 0.05 gets no verdict). Session 13 adds rule M's ``*_partial`` columns (the same check
on partial similarities given the suspect's answer, one p per (target, suspect) pair) and rule N's ``word_frame``
test (raw word plus raw frame similarity, each in null-SD units, weight 1; with the ``raw`` baseline only). A pair
is "consistent" when its one-sided p < 0.05 with a positive effect (the benchmark's definition); ``holm`` columns
apply Holm across the cut's suspects, as an experiment does. One JSON object per (shape, cut, baseline, test),
then pooled summaries; with ``--pairs``, after each summary the false positives the shipped check keeps.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from bench_lineage_agreement import format_features, statistics  # the session 8 script beside this one
from bench_lineage_prompts import add_agreement_statistics
from distillscope.bench.lineage_cv import FoldSettings, fit_fold
from distillscope.bench.lineage_data import LineageData, add_data_arguments, prepare_from_arguments
from distillscope.rse.fingerprint import Excess, lineage_prompt_sims, prompt_excess
from distillscope.rse.metrics import PromptSims
from distillscope.rse.suspect import panel_fit_pvalue, run_suspect_tests
from distillscope.rse.verdict import family_of
from distillscope.stats import VERDICT_CONSISTENT

FIVE = ("word", "frame", "profile", "format", "length")
AGREEMENT = ("profile", "format", "length")
MIN_NULL = 8
ALPHA = 0.05
FAMILIES_REPORTED = ("openai", "anthropic")
BASELINES = ("panel", "references", "raw")
TESTS = ("word", "five_signals", "word_frame")
ON_PANEL_ONLY, ON_RAW_ONLY = "five_signals", "word_frame"


@dataclass(frozen=True)
class Cut:
    """One experiment: the named suspects and the null panel."""

    suspects: tuple[str, ...]
    null: tuple[str, ...]


def draw_cut(data: LineageData, rng: np.random.Generator, n_suspects: int, k: int) -> Cut:
    """Suspects (half, rounded up, that taught a student; the rest not) and k null students unrelated to all."""
    taught = sorted({t for (_, t), y in data.labels.items() if y == 1})
    others = sorted(set(data.candidates) - set(taught))
    while True:
        suspects = (
            *rng.choice(taught, size=-(-n_suspects // 2), replace=False),
            *rng.choice(others, size=n_suspects // 2, replace=False),
        )
        eligible = [s for s in data.students if all(data.labels.get((s, r)) == 0 for r in suspects)]
        if len(eligible) >= MIN_NULL:
            null = rng.choice(eligible, size=min(k, len(eligible)), replace=False)
            return Cut(tuple(str(r) for r in suspects), tuple(str(m) for m in null))


def cut_signals(
    data: LineageData, cut: Cut, features: Mapping[str, np.ndarray], five: bool, frame: bool = False
) -> tuple[dict[str, dict[str, Excess]], dict[str, dict[tuple[str, str], float]]]:
    """Per baseline, the signals with the cut's suspects (and null panel) as the candidates: ``panel`` the excess
    over the suspects plus the null panel, as experiments compute it (with the five signals when ``five``);
    ``references`` the word excess over the other suspects only; ``raw`` the word similarity itself (and the frame
    similarity when ``frame``, rule N). Also every pair's `panel_fit` p."""
    candidates = [*cut.suspects, *cut.null]
    queries = [*data.students, *cut.suspects]
    sims = lineage_prompt_sims(data.texts, queries, candidates, ("word", "frame") if five or frame else ("word",))
    word = sims["word"]
    panel = {name: prompt_excess(s) for name, s in sims.items()}
    if five:
        view = replace(data, students=tuple(queries), candidates=tuple(candidates))
        stats = statistics(view, word.values.astype(np.float64), word.queries, features, np.arange(data.n_prompts))
        for name in AGREEMENT:
            panel[name] = Excess(tuple(queries), tuple(candidates), stats[name][None])
    to_suspects = PromptSims(word.queries, cut.suspects, word.values[:, :, : len(cut.suspects)])
    baselines = {
        "panel": panel,
        "references": {"word": prompt_excess(to_suspects)},
        "raw": {
            name: Excess(word.queries, cut.suspects, sims[name].values[:, :, : len(cut.suspects)].astype(np.float64))
            for name in sims
        },
    }
    return baselines, panel_fit(word, cut)


def panel_fit(word: PromptSims, cut: Cut) -> dict[str, dict[tuple[str, str], float]]:
    """Per check, per (query outside the panel, suspect): `panel_fit_pvalue`, the p that the query resembles the
    null panel's models less than they resemble each other. ``target`` (rule K) is one p per query; ``partial``
    (rule M) takes the similarities given the suspect's answer, one p per pair."""
    queries = [q for q in word.queries if q not in cut.null]
    fit: dict[str, dict[tuple[str, str], float]] = {"target": {}, "partial": {}}
    for q in queries:
        p = panel_fit_pvalue(word, q, cut.null)
        for r in cut.suspects:
            fit["target"][(q, r)] = p
            fit["partial"][(q, r)] = partial_fit_pvalue(word, q, cut.null, r) if q != r else 1.0
    return fit


def partial_similarities(s_ab: np.ndarray, s_ag: np.ndarray, s_bg: np.ndarray) -> np.ndarray:
    """Cosines of unit vectors a and b after removing their components along a third unit vector g, from the three
    cosines: (s_ab - s_ag s_bg) / sqrt((1 - s_ag^2)(1 - s_bg^2)); NaN where a or b lies (almost) along g."""
    a, b = np.clip(s_ag, -1.0, 1.0), np.clip(s_bg, -1.0, 1.0)
    denominator = np.sqrt((1.0 - a**2) * (1.0 - b**2))
    out = np.full(np.broadcast(s_ab, denominator).shape, np.nan)
    np.divide(s_ab - a * b, denominator, out=out, where=denominator > 1e-6)
    return out


def partial_fit_pvalue(sims: PromptSims, target: str, null: Sequence[str], suspect: str) -> float:
    """Rule M's check (not adopted): `panel_fit_pvalue` on the partial word similarities given the suspect's answer,
    each model's mean over the prompts where it is defined. ``sims`` has the target, the null models and the
    suspect's columns."""
    models = [target, *null]
    rows, columns = [sims.queries.index(m) for m in models], [sims.candidates.index(m) for m in null]
    to_suspect = sims.values[:, :, sims.candidates.index(suspect)].astype(np.float64)
    null_rows = [sims.queries.index(m) for m in null]
    values = partial_similarities(
        sims.values[:, rows][:, :, columns].astype(np.float64),
        to_suspect[:, rows, None],
        to_suspect[:, null_rows, None].transpose(0, 2, 1),
    )
    defined = np.isfinite(values).sum(axis=0)
    means = np.where(defined > 0, np.nansum(values, axis=0) / np.maximum(defined, 1), np.nan)
    if not np.isfinite(means).all():
        return 1.0
    return panel_fit_pvalue(PromptSims(tuple(models), tuple(null), means[None]), target, null)


def five_signal_weights(data: LineageData) -> dict[str, dict[str, float]]:
    """Per student: the five-signal test's weights fitted on the other students in the 32-candidate structure."""
    settings = FoldSettings(signals=("word", "frame"), verdict_signals=FIVE)
    return {
        s: fit_fold(data, [x for x in data.students if x != s], None, settings).verdict_weights for s in data.students
    }


def score_cut(
    data: LineageData,
    cut: Cut,
    excess: Mapping[str, Excess],
    weights: Mapping[str, Mapping[str, float]],
    fit: Mapping[str, Mapping[tuple[str, str], float]],
) -> list[dict[str, Any]]:
    """Every labelled (target, suspect) pair of the cut: its label, verdicts, and whether each panel-fit check
    (``fit`` p < 0.05: the target unlike the null panel) would withhold its verdict."""
    rng = np.random.default_rng(0)
    null_for = {r: cut.null for r in cut.suspects}
    pairs = []
    for s in data.students:
        if s in cut.null:
            continue
        signals = {name: excess[name] for name in weights[s]}
        for v in run_suspect_tests(signals, s, cut.suspects, null_for, rng, alpha=ALPHA, weights=weights[s], n_boot=0):
            label = data.labels.get((s, v.suspect))
            if label is None or v.p_value is None or v.effect is None:
                continue
            pairs.append(
                {
                    "student": s,
                    "suspect": v.suspect,
                    "label": label,
                    "human_data": not data.row(s).has_teacher,
                    "consistent": v.p_value < ALPHA and v.effect.estimate > 0,
                    "consistent_holm": v.verdict == VERDICT_CONSISTENT,
                    "withheld": {check: p[(s, v.suspect)] < ALPHA for check, p in fit.items()},
                }
            )
    return pairs


def rates(data: LineageData, pairs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Recall and fpr (also under Holm), fpr per suspect family, human-data students flagged (Holm)."""
    pos = [p for p in pairs if p["label"] == 1]
    neg = [p for p in pairs if p["label"] == 0]

    def share(rows: Sequence[Mapping[str, Any]], key: str) -> float | None:
        return round(sum(r[key] for r in rows) / len(rows), 4) if rows else None

    def by_family(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[int]]:
        return {
            f: [sum(r["consistent"] for r in fam), len(fam)]
            for f in FAMILIES_REPORTED
            if (fam := [r for r in rows if family_of(r["suspect"], data.families) == f])
        }

    flagged = {r["student"] for r in neg if r["human_data"] and r["consistent_holm"]}
    row = {
        "n_pos": len(pos),
        "n_neg": len(neg),
        "recall": share(pos, "consistent"),
        "fpr": share(neg, "consistent"),
        "recall_holm": share(pos, "consistent_holm"),
        "fpr_holm": share(neg, "consistent_holm"),
        "fpr_by": by_family(neg),
        "human_data_flagged": len(flagged),
    }
    for check in pairs[0]["withheld"] if pairs else ():
        kept = [{**p, "consistent": p["consistent"] and not p["withheld"][check]} for p in pairs]
        kept_neg = [p for p in kept if p["label"] == 0]
        row[f"withheld_{check}"] = round(sum(p["withheld"][check] for p in pairs) / len(pairs), 4)
        row[f"recall_{check}"] = share([p for p in kept if p["label"] == 1], "consistent")
        row[f"fpr_{check}"] = share(kept_neg, "consistent")
        row[f"fpr_by_{check}"] = by_family(kept_neg)
    return row


def parse_shape(text: str) -> tuple[int, int]:
    """``SxK``: S suspects, a null panel of K models."""
    n_suspects, k = text.lower().split("x")
    return int(n_suspects), int(k)


def main() -> None:
    """One row per (shape, cut, baseline, test), then the pooled summaries."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    parser.add_argument("--cuts", type=int, default=8, help="experiments drawn per shape")
    parser.add_argument("--seed", type=int, default=15, help="cut c draws with numpy seed SEED + c")
    parser.add_argument("--shapes", nargs="+", default=["4x8", "4x12"], help="SUSPECTSxNULL (default %(default)s)")
    parser.add_argument("--baselines", nargs="+", default=["panel"], choices=BASELINES, help="(default %(default)s)")
    parser.add_argument("--tests", nargs="+", default=["word", "five_signals"], choices=TESTS)
    parser.add_argument("--pairs", action="store_true", help="also print the false positives the shipped check keeps")
    args = parser.parse_args()
    data = prepare_from_arguments(args, ("word", "frame"))
    five = "five_signals" in args.tests
    if five:
        add_agreement_statistics(data)
    features = {m: np.array([format_features(t) for t in texts]) for m, texts in data.texts.items()}
    weights = {  # the fixed-weight tests: "word", "word_frame" (weight 1 per signal)
        t: {s: dict.fromkeys(t.split("_"), 1.0) for s in data.students} for t in args.tests if t != "five_signals"
    }
    if five:
        weights["five_signals"] = five_signal_weights(data)
    pooled: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for shape in args.shapes:
        n_suspects, k = parse_shape(shape)
        for c in range(args.cuts):
            cut = draw_cut(data, np.random.default_rng(args.seed + c), n_suspects, k)
            signals, fit = cut_signals(data, cut, features, five, frame="word_frame" in args.tests)
            for baseline in args.baselines:
                for test, w in weights.items():
                    if (test == ON_PANEL_ONLY and baseline != "panel") or (test == ON_RAW_ONLY and baseline != "raw"):
                        continue
                    pairs = score_cut(data, cut, signals[baseline], w, fit)
                    pooled.setdefault((shape, baseline, test), []).extend(pairs)
                    row = {"shape": shape, "cut": c, "null_size": len(cut.null), "baseline": baseline, "test": test}
                    print(json.dumps({**row, "suspects": [*cut.suspects], **rates(data, pairs)}), flush=True)
    for (shape, baseline, test), pairs in pooled.items():
        row = {"summary": "pooled", "shape": shape, "baseline": baseline, "test": test}
        print(json.dumps({**row, **rates(data, pairs)}), flush=True)
        if args.pairs:
            for p in pairs:
                if p["label"] == 0 and p["consistent"] and not p["withheld"]["target"]:
                    print(json.dumps({"false_positive": True, **row, "student": p["student"], "suspect": p["suspect"]}))


if __name__ == "__main__":
    main()
