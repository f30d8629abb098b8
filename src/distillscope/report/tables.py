"""Summary loading and the report's tables: verdicts, ICE, RSE, diagnostics, cost and the long-format CSV.

Tables are plain data (`Table`: header + rows of strings) so HTML and Markdown render the same content.
Every mapping is iterated in sorted order so the output is byte-identical for the same summary.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from distillscope.errors import ConfigError
from distillscope.rundir import RunDir
from distillscope.summary_model import (
    IceRate,
    IceRates,
    JudgeSection,
    SetScores,
    Summary,
    VerdictRow,
)

SCHEMA_VERSION = 1
VERDICT_ORDER = {"consistent with distillation": 0, "inconclusive": 1, "no evidence": 2}
CSV_HEADER = ("section", "model", "group", "metric", "value", "lo", "hi", "n")
NOT_MEASURED = "not measured"  # an ICE level no judge ruled on, in tables and scores.csv (never a zero)


@dataclass(frozen=True, kw_only=True)
class Table:
    """A titled table of pre-formatted cells; `caption` says how to read it."""

    key: str
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""


def _installed_version() -> str:
    from distillscope import __version__

    return __version__


def load_summary(run_dir: Path) -> Summary:
    """Read and validate `run_dir/summary.json`; raise ConfigError naming the fix when it is unusable."""
    path = RunDir(run_dir).summary
    if not path.is_file():
        raise ConfigError(f"{path} not found: pass a run directory written by `distillscope run`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid JSON ({exc}); re-run the experiment to rewrite it") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a JSON object; re-run the experiment to rewrite it")
    check_schema(data, path)
    try:
        return Summary.model_validate(data)
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:3])
        raise ConfigError(f"{path} does not match the summary schema ({where}); re-run the experiment") from None


def check_schema(data: Mapping[str, Any], path: Path) -> None:
    """Reject summaries without a readable schema version or without the required `run`/`models` blocks."""
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ConfigError(
            f"{path} has no integer schema_version: it was not written by distillscope >= 0.1.0; "
            "re-run the experiment with a current distillscope to rewrite it"
        )
    if version > SCHEMA_VERSION:
        writer = (data.get("run") or {}).get("distillscope_version", "a newer release")
        raise ConfigError(
            f"{path} uses summary schema_version {version} but distillscope {_installed_version()} reads "
            f"version {SCHEMA_VERSION}: upgrade with `pip install -U 'distillscope>={writer}'`"
        )
    if version < 1:
        raise ConfigError(f"{path} has invalid schema_version {version}; re-run the experiment to rewrite it")
    if not isinstance(data.get("run"), dict) or not isinstance(data.get("models"), list):
        raise ConfigError(f"{path} lacks the 'run' or 'models' block; re-run the experiment to rewrite it")


# ---------------------------------------------------------------- formatting


LEVELS = ("loose", "strict", "hard")


def ice_level(rates: IceRates, level: str) -> IceRate | None:
    """The loose, strict or hard rate of an ICE block; None when that level was not measured."""
    rate: IceRate | None = getattr(rates, level)
    return rate


def _or_dash(x: object) -> str:
    return "–" if x is None else str(x)


def pct(x: float | None) -> str:
    """A rate as a percentage with one decimal, or an en dash when absent."""
    return "–" if x is None else f"{100 * x:.1f}%"


def num(x: float | None, digits: int = 3) -> str:
    """A number with fixed decimals, or an en dash when absent."""
    return "–" if x is None else f"{x:.{digits}f}"


def interval(lo: float | None, hi: float | None, *, percent: bool = False, digits: int = 3) -> str:
    """A bracketed confidence interval, or an en dash when either bound is absent."""
    if lo is None or hi is None:
        return "–"
    if percent:
        return f"[{pct(lo)}, {pct(hi)}]"
    return f"[{num(lo, digits)}, {num(hi, digits)}]"


def p_text(p: float | None) -> str:
    """A p-value, floored at 0.001 for display."""
    if p is None:
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def p_clause(p: float | None) -> str:
    """'p = 0.016' or 'p < 0.001' for running text."""
    text = p_text(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def judge_block(summary: Summary) -> JudgeSection | None:
    """The LLM-judge block of the RSE section, when a judge ran."""
    return None if summary.rse is None else summary.rse.judge


def model_roles(summary: Summary) -> dict[str, str]:
    """Model name -> role, as declared in the summary."""
    return {m.name: m.role for m in summary.models}


# ---------------------------------------------------------------- verdicts


def verdicts(summary: Summary) -> list[VerdictRow]:
    """Verdict rows sorted by target, then strength of verdict, then reference."""
    return sorted(summary.verdicts, key=lambda v: (v.target, VERDICT_ORDER.get(v.verdict, 9), v.reference))


def headline_verdicts(summary: Summary) -> list[VerdictRow]:
    """One verdict per target: the strongest one (first after sorting)."""
    seen: dict[str, VerdictRow] = {}
    for v in verdicts(summary):
        seen.setdefault(v.target, v)
    return [seen[t] for t in sorted(seen)]


def _ice_clause(v: VerdictRow) -> str:
    strict = v.ice_strict
    if strict is None:
        return ""
    return (
        f"; {pct(strict.rate)} of its identity answers (strict ICE, 95% CI "
        f"{interval(strict.lo, strict.hi, percent=True)}) name another developer"
    )


def _degree_clause(v: VerdictRow) -> str:
    if v.degree is None:
        reason = f" ({v.reason})" if v.reason else ""
        return f"no RSE distillation degree was measured{reason}"
    p = v.p_adjusted if v.p_adjusted is not None else v.p_value
    return (
        f"distillation degree {num(v.degree, 2)} null-panel SDs (95% CI "
        f"{interval(v.lo, v.hi, digits=2)}, {p_clause(p)})"
    )


def verdict_text(v: VerdictRow) -> str:
    """The verdict sentence without the leading target name (for renderers that emphasise the name)."""
    ref, label = v.reference, v.verdict
    if label == "consistent with distillation":
        lead = f"the measurements are consistent with distillation from {ref}"
    elif label == "no evidence":
        lead = f"this run found no evidence of distillation from {ref}"
    else:
        lead = f"the evidence of distillation from {ref} is inconclusive"
    why = f" Why inconclusive: {v.reason}." if label == "inconclusive" and v.reason and v.degree is not None else ""
    caveat = f" Caveat: {v.caveat}." if v.caveat else ""
    return f"{lead} — {_degree_clause(v)}{_ice_clause(v)}.{why}{caveat}"


def verdict_sentence(v: VerdictRow) -> str:
    """One plain, non-accusatory sentence: from which reference, how strongly, how sure, on what evidence."""
    return f"{v.target}: {verdict_text(v)}"


def verdict_table(summary: Summary) -> Table:
    """Every (target, reference) verdict with degree, interval, p-value, ICE strict and evidence."""
    rows = []
    for v in verdicts(summary):
        strict = v.ice_strict
        ice = ("–", "–") if strict is None else (pct(strict.rate), interval(strict.lo, strict.hi, percent=True))
        rows.append(
            (
                v.target,
                v.reference,
                v.verdict,
                num(v.degree, 2),
                interval(v.lo, v.hi, digits=2),
                p_text(v.p_value),
                p_text(v.p_adjusted),
                num(v.alpha, 2),
                *ice,
                "; ".join(v.evidence),
            )
        )
    return Table(
        key="verdicts",
        title="All verdicts (target × reference)",
        header=(
            "Target",
            "Reference",
            "Verdict",
            "Degree",
            "95% CI",
            "p",
            "p (Holm)",
            "α",
            "ICE strict",
            "ICE 95% CI",
            "Evidence",
        ),
        rows=tuple(rows),
        caption="Degree: the target's word similarity to the reference, in standard deviations of the null "
        "panel (0 = like a model known not to descend from the reference); 95% bootstrap interval over prompts. p: t "
        "prediction test against the null models; p (Holm): corrected across the references of one target. A "
        "verdict reads 'consistent with distillation' only when p (Holm) < α and the interval excludes 0.",
    )


def attribution_table(summary: Summary) -> Table | None:
    """Per target: candidate teachers with family and candidate probabilities (and "none"), verdicts, reasons."""
    block = summary.rse.attribution if summary.rse else {}
    if not block:
        return None
    verdict_of = {(v.target, v.reference): v for v in verdicts(summary)}
    rows = []
    for target, a in sorted(block.items()):
        fams = a.families
        for c in a.candidates:
            v = verdict_of.get((target, c.candidate))
            why = (v.reason or "") if v is not None and v.verdict == "inconclusive" else ""
            rows.append(
                (
                    target,
                    str(c.rank),
                    c.candidate,
                    c.family,
                    pct(fams.get(c.family)),
                    pct(c.probability),
                    "–" if v is None else v.verdict,
                    why,
                )
            )
        rows.append((target, "–", "none of these", "none", pct(fams.get("none")), pct(fams.get("none")), "–", ""))
    return Table(
        key="attribution",
        title="Teacher attribution (probabilities)",
        header=("Target", "Rank", "Candidate", "Family", "P(family)", "P(candidate)", "Verdict", "Why inconclusive"),
        rows=tuple(rows),
        caption="Posterior probability that the target's teacher belongs to each candidate family, or to none of them, "
        "from a conditional logit over a vendor classifier and word-excess similarity; a family's probability is "
        "shared among its members by similarity. Verdicts are the named-suspect tests of the references.",
    )


# ---------------------------------------------------------------- ICE, RSE, diagnostics, cost


def ice_table(summary: Summary) -> Table | None:
    """Loose / strict / hard rates with Wilson intervals per model."""
    ice = summary.ice
    if ice is None:
        return None
    rows = []
    for name, m in sorted(ice.by_model.items()):
        cells: list[str] = [name, str(m.n), str(m.n_unscored)]
        for level in LEVELS:
            r = ice_level(m, level)
            cells.append(NOT_MEASURED if r is None else f"{pct(r.rate)} {interval(r.lo, r.hi, percent=True)}")
        q = m.queries_to_first_contradiction
        cells.append("none" if q is None else str(q))
        rows.append(tuple(cells))
    return Table(
        key="ice",
        title=f"ICE scores (judge: {ice.judge})",
        header=("Model", "n", "Unscored", "Loose", "Strict", "Hard", "Queries to first contradiction"),
        rows=tuple(rows),
        caption="Share of identity answers that contradict the model's own identity (loose), "
        "claim another developer (strict), or do so unprompted (hard); 95% intervals in brackets. "
        "'not measured': no judge ruled on that level (never a zero).",
    )


def ice_location_table(summary: Summary) -> Table | None:
    """Contradictions per model by where the evidence was found: final answer, reasoning trace, or both."""
    by_model = summary.ice.by_model if summary.ice else {}
    rows = [
        (name, where, str(c.loose), str(c.strict), str(c.hard))
        for name, m in sorted(by_model.items())
        for where, c in sorted(m.by_location.items())
    ]
    if not rows:
        return None
    return Table(
        key="ice_locations",
        title="ICE contradictions by where the claim was found",
        header=("Model", "Found in", "Loose", "Strict", "Hard"),
        rows=tuple(rows),
        caption="Reasoning models: a first-person self-identification in the reasoning trace counts like one in the "
        "answer; the trace's reports of the prompt ('the user wants me to act as DAN') do not. 'unknown': the "
        "judge does not say where.",
    )


def ice_template_table(summary: Summary, width: int = 140) -> Table | None:
    """The most effective jailbreak templates per model (text shortened)."""
    if summary.ice is None:
        return None
    rows = []
    for name, m in sorted(summary.ice.by_model.items()):
        for t in m.top_templates:
            text = " ".join(t.text.split())
            text = text if len(text) <= width else text[: width - 1] + "…"
            rows.append((name, t.template_id, str(t.n), pct(t.loose_rate), pct(t.strict_rate), text))
    if not rows:
        return None
    return Table(
        key="ice_templates",
        title="Most effective templates",
        header=("Model", "Template", "n", "Loose", "Strict", "Text"),
        rows=tuple(rows),
        caption="Templates that most often drew an identity contradiction from each model.",
    )


def rse_set_names(block: Mapping[str, SetScores]) -> list[str]:
    """Sorted union of prompt-set names across models of a similarity or judge block."""
    return sorted({s for m in block.values() for s in m.by_set})


def rse_table(summary: Summary, key: str = "similarity") -> Table | None:
    """Prompt set x model table of RSE similarity (or judge scores) — the paper's Table 3 layout."""
    rse = summary.rse
    judge = judge_block(summary)
    block: Mapping[str, SetScores] = (
        (rse.similarity if rse else {}) if key == "similarity" else (judge.scores if judge else {})
    )
    if rse is None or not block:
        return None
    sets = rse_set_names(block)
    rows = []
    for name, m in sorted(block.items()):
        cells = [num(m.by_set[s].mean if s in m.by_set else None) for s in sets]
        overall = m.overall
        rows.append((name, *cells, f"{num(overall.mean)} {interval(overall.lo, overall.hi)}"))
    what = "similarity" if key == "similarity" else "LLM-judge score (1–5)"
    return Table(
        key=f"rse_{key}",
        title=f"RSE {what} to {rse.reference}",
        header=("Model", *sets, "Overall [95% CI]"),
        rows=tuple(rows),
        caption=f"Mean {what} of each model's answers to the reference's, per prompt set.",
    )


def aspect_table(summary: Summary) -> Table | None:
    """Per-aspect LLM-judge scores (style, logic, content) when a judge ran."""
    judge = judge_block(summary)
    scores = judge.scores if judge else {}
    if not scores:
        return None
    aspects = sorted({a for m in scores.values() for a in m.aspects})
    rows = tuple((n, *(num(m.aspects.get(a), 2) for a in aspects)) for n, m in sorted(scores.items()))
    return Table(
        key="rse_aspects",
        title="LLM-judge scores per aspect",
        header=("Model", *aspects),
        rows=rows,
        caption=f"Judges: {', '.join(judge.judges) if judge else '–'}. "
        "1 = unlike the reference, 5 = indistinguishable.",
    )


def diagnostics_table(summary: Summary) -> Table | None:
    """Judge health: order-swap inconsistency, length correlation, parse failures, agreement."""
    judge = judge_block(summary)
    diag = judge.diagnostics if judge else None
    if diag is None:
        return None
    agreement = diag.agreement
    rows = (
        (
            "Order-swap inconsistency",
            pct(diag.order_inconsistency),
            "share of pairs judged differently when the two answers swap places; high values mean position bias",
        ),
        (
            "Length correlation",
            num(diag.length_correlation),
            "correlation of score with answer length; near 0 is good",
        ),
        (
            "Parse failures",
            f"{_or_dash(diag.parse_failures)} of {_or_dash(diag.n_judgements)}",
            "judge replies that could not be read (counted as unscored)",
        ),
        (
            "Judge agreement",
            "not measured" if agreement is None else num(agreement),
            diag.agreement_metric or "needs two or more judges",
        ),
    )
    return Table(key="judge_diagnostics", title="Judge diagnostics", header=("Check", "Value", "Meaning"), rows=rows)


def cost_table(summary: Summary) -> Table | None:
    """Calls, cache hits, errors, tokens and USD per stage, with a total row."""
    cost = summary.cost
    stages = cost.by_stage if cost else {}
    if cost is None or not stages:
        return None
    keys = ("calls", "cache_hits", "errors", "prompt_tokens", "completion_tokens")
    rows = [(s, *(f"{getattr(v, k):,}" for k in keys), f"${v.cost_usd:.2f}") for s, v in sorted(stages.items())]
    totals = [f"{sum(getattr(v, k) for v in stages.values()):,}" for k in keys]
    rows.append(("total", *totals, f"${cost.total_usd:.2f}"))
    return Table(
        key="cost",
        title="Cost and calls per stage",
        header=("Stage", "Calls", "Cache hits", "Failed", "Prompt tokens", "Completion tokens", "Cost (USD)"),
        rows=tuple(rows),
        caption="Calls are backend calls (failed ones included); cache "
        "hits were answered from the local cache at no cost. Failed calls are excluded from scores.",
    )


def nonempty(tables: Sequence[Table | None]) -> list[Table]:
    """Drop absent tables."""
    return [t for t in tables if t is not None]
