"""The named-suspect test with the null's own slope (session 14, rule O; BENCHMARKS.md).

    python benchmarks/bench_lineage_slope.py --data ../shared/data/lineage [--sources] [--pairs]

The shipped test compares a student's word excess towards the suspect T, y - x (y: its model-level word TF-IDF
similarity to T; x: its mean similarity to the other candidates), with the same quantity for its null models (the
other students labelled 0 towards T): a slope of 1 fixed in advance. The candidate fits y = a + b x on the null by
least squares and tests the student's residual with a one-sided t prediction interval (leverage term, n - 2
degrees of freedom), so that a student more polished than its null (higher x) is not read as a descendant of every
vendor it resembles. Nothing is learned from lineage labels.

Leave-one-student-out on all prompts (and, with ``--sources``, on each prompt source's prompts). For both tests it
prints recall, fpr, the fpr for OpenAI and Anthropic suspects (with a 95% interval over students resampled), the
human-data students flagged (Holm across every candidate) and the same with `rse attribute`'s panel-fit check; the
shipped rows must reproduce `bench lineage`'s.
``--pairs`` lists the pairs on which the two tests disagree.

Outcome (session 14): not adopted. The null's slope is below 1 for the older Claude versions, so the candidate
called more polished students Claude descendants, not fewer (fpr 0.055, Anthropic 27/270 against 22/270).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import stats as sps

from distillscope.bench.lineage import FLAG_FAMILIES
from distillscope.bench.lineage_data import LineageData, add_data_arguments, prepare_from_arguments
from distillscope.bench.lineage_metrics import FAMILY_FPR, StudentContribution, student_intervals
from distillscope.rse.fingerprint import lineage_prompt_sims
from distillscope.rse.metrics import PromptSims
from distillscope.rse.suspect import MIN_NULL_MODELS, panel_fit_pvalue, prediction_pvalue
from distillscope.rse.verdict import family_of
from distillscope.stats import holm_adjust

ALPHA = 0.05
Test = Callable[[float, float, np.ndarray, np.ndarray], tuple[float, float]]  # (effect, p)


def shipped(y: float, x: float, ny: np.ndarray, nx: np.ndarray) -> tuple[float, float]:
    """The shipped test: the excess y - x against the null's, a t prediction p-value."""
    e, ne = y - x, ny - nx
    sd = float(ne.std(ddof=1))
    return (e - float(ne.mean())) / sd, prediction_pvalue(e, ne)


def slope(y: float, x: float, ny: np.ndarray, nx: np.ndarray) -> tuple[float, float]:
    """Rule O: y regressed on x over the null, the student's residual tested with a t prediction interval."""
    n = ny.size
    xbar, sxx = float(nx.mean()), float(((nx - nx.mean()) ** 2).sum())
    b = float(((nx - xbar) * (ny - ny.mean())).sum()) / sxx
    a = float(ny.mean()) - b * xbar
    s = float(np.sqrt(((ny - a - b * nx) ** 2).sum() / (n - 2)))
    residual = y - a - b * x
    t = residual / (s * np.sqrt(1.0 + 1.0 / n + (x - xbar) ** 2 / sxx))
    return residual / s, float(sps.t.sf(t, df=n - 2))


TESTS: dict[str, Test] = {"shipped": shipped, "slope": slope}
NULL_NEEDED = {"shipped": MIN_NULL_MODELS, "slope": max(MIN_NULL_MODELS, 4)}  # the slope needs n - 2 >= 2


def model_level(sims: PromptSims, prompts: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """(y, x): each student's mean word similarity to each candidate, and to the other candidates."""
    v = sims.values.astype(np.float64) if prompts is None else sims.values[prompts].astype(np.float64)
    own = np.array([[q == c for c in sims.candidates] for q in sims.queries])
    v = np.where(own[None], np.nan, v)
    count = (~own).sum(axis=1)[None, :, None]
    others = (np.nansum(v, axis=2, keepdims=True) - v) / (count - 1)
    return v.mean(axis=0), others.mean(axis=0), {q: i for i, q in enumerate(sims.queries)}


def null_of(data: LineageData, student: str, suspect: str) -> list[str]:
    """The test's null: the other students labelled 0 towards the suspect."""
    return [m for m in data.students if m != student and data.labels.get((m, suspect)) == 0]


def run_tests(
    data: LineageData, y: np.ndarray, x: np.ndarray, row: dict[str, int], fits: dict[tuple[str, str], float]
) -> list[dict[str, Any]]:
    """Every labelled (student, suspect) pair under both tests, leave-one-student-out."""
    col = {c: j for j, c in enumerate(data.candidates)}
    out = []
    for (s, t), label in data.labels.items():
        null = null_of(data, s, t)
        pair: dict[str, Any] = {"student": s, "suspect": t, "label": label, "family": family_of(t, data.families)}
        pair["misfit"] = fits.get((s, t), 1.0) < ALPHA
        for name, test in TESTS.items():
            if len(null) < NULL_NEEDED[name]:
                pair[name] = (0.0, 1.0)
                continue
            idx = [row[m] for m in null]
            effect, p = test(y[row[s], col[t]], x[row[s], col[t]], y[idx, col[t]], x[idx, col[t]])
            pair[name] = (effect, p)
        out.append(pair)
    return out


def summarise(data: LineageData, pairs: Sequence[dict[str, Any]], name: str, checked: bool) -> dict[str, Any]:
    """Recall, fpr, per-family fpr and human-data flags of one test, without and (``checked``) with the panel-fit
    check."""
    out: dict[str, Any] = {"test": name}
    for check in ("none", "panel_fit") if checked else ("none",):
        called = [p[name][1] < ALPHA and p[name][0] > 0 and not (check == "panel_fit" and p["misfit"]) for p in pairs]
        pos = [c for p, c in zip(pairs, called, strict=True) if p["label"] == 1]
        neg = [(p["family"], c) for p, c in zip(pairs, called, strict=True) if p["label"] == 0]
        key = "" if check == "none" else "_checked"
        out[f"recall{key}"] = f"{sum(pos)}/{len(pos)} = {sum(pos) / len(pos):.3f}"
        out[f"fpr{key}"] = f"{sum(c for _, c in neg)}/{len(neg)} = {sum(c for _, c in neg) / len(neg):.4f}"
        for f in FLAG_FAMILIES:
            mine = [c for g, c in neg if g == f]
            out[f"fpr_{f}{key}"] = f"{sum(mine)}/{len(mine)}"
        if check == "none":
            out.update(family_intervals(data, pairs, called))
    out["flagged"] = flagged(data, pairs, name)
    return out


def family_intervals(data: LineageData, pairs: Sequence[dict[str, Any]], called: Sequence[bool]) -> dict[str, Any]:
    """The 95% interval over students resampled of each suspect family's fpr, as `bench lineage` computes it."""
    by_student: dict[str, dict[str, tuple[int, int]]] = {s: {} for s in data.students}
    for p, c in zip(pairs, called, strict=True):
        if p["label"] == 0:
            n, hits = by_student[p["student"]].get(p["family"], (0, 0))
            by_student[p["student"]][p["family"]] = (n + 1, hits + c)
    spans = student_intervals([StudentContribution(family=None, negatives_by_family=b) for b in by_student.values()])
    return {f"fpr_{f}_interval": [round(v, 3) for v in spans[FAMILY_FPR + f]] for f in FLAG_FAMILIES}


def flagged(data: LineageData, pairs: Sequence[dict[str, Any]], name: str) -> str:
    """Human-data students called OpenAI or Anthropic descendants with Holm across every candidate."""
    human = [r.student for r in data.rows if not r.has_teacher]
    hits = 0
    for s in human:
        mine = [p for p in pairs if p["student"] == s]
        adjusted = holm_adjust([p[name][1] for p in mine])
        calls = zip(mine, adjusted, strict=True)
        hits += any(q < ALPHA and p[name][0] > 0 and p["family"] in FLAG_FAMILIES for p, q in calls)
    return f"{hits} of {len(human)}"


def panel_fits(data: LineageData) -> dict[tuple[str, str], float]:
    """`rse attribute`'s panel-fit p-value of every (student, suspect) pair's test, once per distinct null."""
    among = lineage_prompt_sims(data.texts, data.students, data.students, ("word",))["word"]
    by_null: dict[tuple[str, ...], float] = {}
    out = {}
    for s, t in data.labels:
        null = null_of(data, s, t)
        if len(null) < MIN_NULL_MODELS:
            continue
        key = (s, *null)
        if key not in by_null:
            by_null[key] = panel_fit_pvalue(among, s, null)
        out[(s, t)] = by_null[key]
    return out


def main() -> None:
    """Both tests on all prompts, then (``--sources``) on each prompt source."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    parser.add_argument("--sources", action="store_true", help="also each prompt source's prompts (the veto)")
    parser.add_argument("--pairs", action="store_true", help="list the pairs on which the tests disagree")
    args = parser.parse_args()
    data = prepare_from_arguments(args, ("word",))
    fits = panel_fits(data)
    sims = lineage_prompt_sims(data.texts, data.students, data.candidates, ("word",))["word"]
    y, x, row = model_level(sims, None)
    shipped_excess = data.excess["word"]
    assert list(shipped_excess.queries) == list(sims.queries)
    assert np.allclose(y - x, shipped_excess.mean(), equal_nan=True), "y - x must be the shipped word excess"
    pairs = run_tests(data, y, x, row, fits)
    for name in TESTS:
        print(json.dumps({"prompts": "all", **summarise(data, pairs, name, True)}), flush=True)
    if args.pairs:
        for p in pairs:
            a, b = (p[n][1] < ALPHA and p[n][0] > 0 for n in TESTS)
            if a != b:
                print(json.dumps({k: p[k] for k in ("student", "suspect", "label", "shipped", "slope")}))
    if args.sources:
        for source in sorted({s for s in data.sources if s}):
            y, x, row = model_level(sims, np.flatnonzero(data.sources == source))
            source_pairs = run_tests(data, y, x, row, {})  # no check: all prompts' check is not this fold's
            for name in TESTS:
                print(json.dumps({"prompts": source, **summarise(data, source_pairs, name, False)}), flush=True)


if __name__ == "__main__":
    main()
