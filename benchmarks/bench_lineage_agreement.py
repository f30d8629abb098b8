"""Second-order, length and format agreement as lineage evidence, under cross-validation (session 8; BENCHMARKS.md).

    python benchmarks/bench_lineage_agreement.py --data ../shared/data/lineage

Four model-level statistics of a (student S, candidate T) pair, none a per-prompt excess:

- ``profile``: Fisher z of the correlation, over the candidates other than S and T, of S's and T's mean word-TF-IDF
  similarity to each (second-order similarity: a student inherits its teacher's resemblances);
- ``profile_pp``: the same correlation on each prompt's similarities, Fisher z, averaged over prompts;
- ``length``: Fisher z of the correlation over prompts of S's and T's log answer length, each minus the
  candidates' mean on that prompt;
- ``format``: the same over (prompt, feature) for six format features (log words, share of list lines, heading,
  bold, code block, log lines), each minus the candidates' mean on that prompt and scaled to unit SD.

Each enters the named-suspect test alone, with the word excess, and in two larger combinations (weights by the
fold's logistic regression), and the attribution beside word + frame + classifier; all under the same 47
leave-one-student-out folds as `bench_lineage_signals.py`. A statistic is stored as an `Excess` whose mean over the
prompts a fold uses is the statistic computed on those prompts, so the folds treat it like the shipped signals.
``--sources`` adds the leave-one-prompt-source-out folds of word + format and of the largest combination, every
statistic recomputed on each fold's fit and test prompts. One JSON object per row.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Mapping, Sequence

import numpy as np

from distillscope.bench.lineage import leave_one_student_out, score
from distillscope.bench.lineage_cv import CLASSIFIER, FoldSettings, predict_fold
from distillscope.bench.lineage_data import LineageData, add_data_arguments, prepare_from_arguments
from distillscope.rse.fingerprint import Excess
from distillscope.rse.metrics import TfidfOptions, tfidf_prompt_sims

STATISTICS = ("profile", "profile_pp", "length", "format")
DEFAULT_ATTRIBUTION = ("word", "frame", CLASSIFIER)
TESTS = (  # the named-suspect tests compared (attribution: the default's)
    ("word",),
    *[(n,) for n in STATISTICS],
    *[("word", n) for n in STATISTICS],
    ("word", "frame", "profile", "format", "length"),  # the second rule's combinations
    ("word", "profile", "format"),
)
SOURCE_TESTS = (("word", "format"), ("word", "frame", "profile", "format", "length"))
CENTRED_TESTS = (  # session 9's rule: the primary five-signal test first
    ("word", "frame", "profile", "format", "length"),
    ("word", "profile", "format"),
    ("word", "format"),
)
_LIST_LINE = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s")


def format_features(text: str) -> list[float]:
    """Log words, share of list lines, heading, bold, code block, log non-empty lines."""
    lines = [line for line in text.splitlines() if line.strip()]
    n = max(len(lines), 1)
    return [
        float(np.log1p(len(text.split()))),
        sum(bool(_LIST_LINE.match(line)) for line in lines) / n,
        float(any(line.lstrip().startswith("#") for line in lines)),
        float("**" in text),
        float("```" in text),
        float(np.log1p(len(lines))),
    ]


def _fisher_corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    r = float((a * b).sum()) / den if den > 0 else 0.0
    return float(np.arctanh(np.clip(r, -0.999, 0.999)))


def _residuals(
    features: Mapping[str, np.ndarray], candidates: Sequence[str], prompts: np.ndarray
) -> dict[str, np.ndarray]:
    """Each model's features on ``prompts`` minus the candidates' mean per prompt, scaled to unit SD per feature."""
    centre = np.mean([features[c][prompts] for c in candidates], axis=0)
    res = {m: f[prompts] - centre for m, f in features.items()}
    sd = np.concatenate(list(res.values())).std(axis=0)
    sd[sd == 0] = 1.0
    return {m: r / sd for m, r in res.items()}


def agreement(
    features: Mapping[str, np.ndarray], students: Sequence[str], candidates: Sequence[str], prompts: np.ndarray
) -> dict[str, np.ndarray]:
    """``length`` and ``format`` statistics, (students, candidates), on the given prompts."""
    res = _residuals(features, candidates, prompts)
    out = {k: np.full((len(students), len(candidates)), np.nan) for k in ("length", "format")}
    for i, s in enumerate(students):
        for j, t in enumerate(candidates):
            if s != t:
                out["length"][i, j] = _fisher_corr(res[s][:, 0], res[t][:, 0])
                out["format"][i, j] = _fisher_corr(res[s].ravel(), res[t].ravel())
    return out


def profiles(
    sims: np.ndarray, queries: Sequence[str], students: Sequence[str], candidates: Sequence[str]
) -> dict[str, np.ndarray]:
    """``profile`` and ``profile_pp`` statistics from per-prompt similarities ``sims[p, query, candidate]``."""
    qi = {q: i for i, q in enumerate(queries)}
    mean = np.nanmean(sims, axis=0)
    out = {k: np.full((len(students), len(candidates)), np.nan) for k in ("profile", "profile_pp")}
    for i, s in enumerate(students):
        for j, t in enumerate(candidates):
            if s == t:
                continue
            others = [k for k, c in enumerate(candidates) if c not in (s, t)]
            out["profile"][i, j] = _fisher_corr(mean[qi[s], others], mean[qi[t], others])
            a = sims[:, qi[s], others] - sims[:, qi[s], others].mean(axis=1, keepdims=True)
            b = sims[:, qi[t], others] - sims[:, qi[t], others].mean(axis=1, keepdims=True)
            den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
            r = np.where(den > 0, (a * b).sum(axis=1) / np.where(den > 0, den, 1.0), 0.0)
            out["profile_pp"][i, j] = float(np.nanmean(np.arctanh(np.clip(r, -0.999, 0.999))))
    return out


def _as_excess(data: LineageData, values: np.ndarray) -> Excess:
    return Excess(data.students, data.candidates, values)


def _row(data: LineageData, settings: FoldSettings) -> dict[str, object]:
    result = score(data, leave_one_student_out(data, settings), "loso")
    return {"attribution": [*settings.signals], "test": [*settings.verdict_signals], **result.metrics_row()}


def centred(values: np.ndarray) -> np.ndarray:
    """A statistic as an excess, like the word excess: each student's value towards a candidate minus its mean
    value towards all candidates (itself, NaN, left out)."""
    return values - np.nanmean(values, axis=1, keepdims=True)


def statistics(
    data: LineageData,
    sims: np.ndarray,
    queries: Sequence[str],
    features: Mapping[str, np.ndarray],
    prompts: np.ndarray,
    *,
    centre: bool = False,
) -> dict[str, np.ndarray]:
    """The four statistics, (students, candidates), computed on the given prompts only (``centre``: as excesses)."""
    raw = {
        **profiles(sims[prompts], queries, data.students, data.candidates),
        **agreement(features, data.students, data.candidates, prompts),
    }
    return {name: centred(v) if centre else v for name, v in raw.items()}


def source_folds(
    data: LineageData,
    sims: np.ndarray,
    queries: Sequence[str],
    features: Mapping[str, np.ndarray],
    test_signals: Sequence[str],
    *,
    centre: bool = False,
) -> list[dict[str, object]]:
    """Leave-one-prompt-source-out for one test, every statistic recomputed on the fit and on the test prompts."""
    settings = FoldSettings(signals=DEFAULT_ATTRIBUTION, verdict_signals=tuple(test_signals))
    rows = []
    for source in sorted({s for s in data.sources if s}):
        test, fit = np.flatnonzero(data.sources == source), np.flatnonzero(data.sources != source)
        values = {n: np.zeros((data.n_prompts, len(data.students), len(data.candidates))) for n in STATISTICS}
        for prompts in (test, fit):  # the mean over either set is the statistic computed on that set
            for name, z in statistics(data, sims, queries, features, prompts, centre=centre).items():
                values[name][prompts] = z[None]
        for name in STATISTICS:
            data.excess[name] = _as_excess(data, values[name])
        preds = {}
        for s in data.students:
            preds.update(predict_fold(data, [s], test, settings, fit_prompts=fit))
        v = score(data, preds, "source").verdict
        rows.append(
            {
                "test": [*test_signals],
                "centred": centre,
                "source": source,
                "prompts": int(test.size),
                "recall": round(v.recall, 3),
                "fpr": round(v.fpr, 3),
            }
        )
    return rows


def main() -> None:
    """Compute the four statistics and print the test rows, the attribution rows and (``--sources``) the folds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    parser.add_argument("--sources", action="store_true", help="also the prompt-source folds of word + format")
    parser.add_argument(
        "--centred",
        action="store_true",
        help="session 9: every statistic as an excess over the student's mean towards all candidates; only the "
        "rule's three tests (and with --sources the prompt-source folds of the five-signal test)",
    )
    args = parser.parse_args()
    data = prepare_from_arguments(args, ("word", "frame"))
    queries = list(dict.fromkeys([*data.students, *data.candidates]))
    word = tfidf_prompt_sims(data.texts, queries, data.candidates, TfidfOptions(ngram_range=(1, 2)))
    sims = word.values.astype(np.float64)
    features = {m: np.array([format_features(t) for t in data.texts[m]]) for m in queries}
    everything = np.arange(data.n_prompts)
    for name, z in statistics(data, sims, word.queries, features, everything, centre=args.centred).items():
        data.excess[name] = _as_excess(data, z[None])
    for test in CENTRED_TESTS if args.centred else TESTS:
        row = _row(data, FoldSettings(signals=DEFAULT_ATTRIBUTION, verdict_signals=test))
        print(json.dumps({"centred": args.centred, **row}), flush=True)
    if not args.centred:
        for name in STATISTICS:
            settings = FoldSettings(signals=("word", "frame", name, CLASSIFIER), verdict_signals=("word",))
            print(json.dumps(_row(data, settings)), flush=True)
    if args.sources:
        for test in CENTRED_TESTS[:1] if args.centred else SOURCE_TESTS:
            for row in source_folds(data, sims, word.queries, features, test, centre=args.centred):
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
