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

from distillscope.errors import ConfigError
from distillscope.rundir import RunDir

SCHEMA_VERSION = 1
Summary = Mapping[str, Any]
VERDICT_ORDER = {"consistent with distillation": 0, "inconclusive": 1, "no evidence": 2}
CSV_HEADER = ("section", "model", "group", "metric", "value", "lo", "hi", "n")
NOT_MEASURED = "not measured"  # an ICE level no judge ruled on, in tables and scores.csv (never a zero)


@dataclass(frozen=True)
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


def load_summary(run_dir: Path) -> dict[str, Any]:
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
    return data


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


def section(summary: Summary, key: str) -> dict[str, Any] | None:
    """An optional top-level block, or None when it is missing or null."""
    value = summary.get(key)
    return value if isinstance(value, dict) else None


def rse_part(summary: Summary, key: str) -> dict[str, Any] | None:
    """An optional block inside `rse` (judge, matrix, attribution, similarity)."""
    rse = section(summary, "rse")
    value = rse.get(key) if rse else None
    return value if isinstance(value, dict) else None


def model_roles(summary: Summary) -> dict[str, str]:
    """Model name -> role, as declared in the summary."""
    return {str(m.get("name")): str(m.get("role", "")) for m in summary.get("models", []) if isinstance(m, dict)}


# ---------------------------------------------------------------- verdicts


def verdicts(summary: Summary) -> list[dict[str, Any]]:
    """Verdict rows sorted by target, then strength of verdict, then reference."""
    rows = [v for v in summary.get("verdicts") or [] if isinstance(v, dict)]
    return sorted(
        rows, key=lambda v: (str(v.get("target")), VERDICT_ORDER.get(v.get("verdict", ""), 9), str(v.get("reference")))
    )


def headline_verdicts(summary: Summary) -> list[dict[str, Any]]:
    """One verdict per target: the strongest one (first after sorting)."""
    seen: dict[str, dict[str, Any]] = {}
    for v in verdicts(summary):
        seen.setdefault(str(v.get("target")), v)
    return [seen[t] for t in sorted(seen)]


def _ice_clause(v: Mapping[str, Any]) -> str:
    strict = v.get("ice_strict")
    if not isinstance(strict, dict):
        return ""
    return (
        f"; {pct(strict.get('rate'))} of its identity answers (strict ICE, 95% CI "
        f"{interval(strict.get('lo'), strict.get('hi'), percent=True)}) name another developer"
    )


def _degree_clause(v: Mapping[str, Any]) -> str:
    if v.get("degree") is None:
        reason = f" ({v['reason']})" if v.get("reason") else ""
        return f"no RSE distillation degree was measured{reason}"
    p = v.get("p_adjusted") if v.get("p_adjusted") is not None else v.get("p_value")
    return (
        f"distillation degree {num(v.get('degree'), 2)} null-panel SDs (95% CI "
        f"{interval(v.get('lo'), v.get('hi'), digits=2)}, {p_clause(p)})"
    )


def verdict_text(v: Mapping[str, Any]) -> str:
    """The verdict sentence without the leading target name (for renderers that emphasise the name)."""
    ref, label = v.get("reference"), v.get("verdict")
    if label == "consistent with distillation":
        lead = f"the measurements are consistent with distillation from {ref}"
    elif label == "no evidence":
        lead = f"this run found no evidence of distillation from {ref}"
    else:
        lead = f"the evidence of distillation from {ref} is inconclusive"
    why = (
        f" Why inconclusive: {v['reason']}."
        if label == "inconclusive" and v.get("reason") and v.get("degree") is not None
        else ""
    )
    return f"{lead} — {_degree_clause(v)}{_ice_clause(v)}.{why}"


def verdict_sentence(v: Mapping[str, Any]) -> str:
    """One plain, non-accusatory sentence: from which reference, how strongly, how sure, on what evidence."""
    return f"{v.get('target')}: {verdict_text(v)}"


def verdict_table(summary: Summary) -> Table:
    """Every (target, reference) verdict with degree, interval, p-value, ICE strict and evidence."""
    rows = []
    for v in verdicts(summary):
        strict = v.get("ice_strict") if isinstance(v.get("ice_strict"), dict) else {}
        ice = (
            (pct(strict.get("rate")), interval(strict.get("lo"), strict.get("hi"), percent=True))
            if strict
            else ("–", "–")
        )
        rows.append(
            (
                str(v.get("target")),
                str(v.get("reference")),
                str(v.get("verdict")),
                num(v.get("degree"), 2),
                interval(v.get("lo"), v.get("hi"), digits=2),
                p_text(v.get("p_value")),
                p_text(v.get("p_adjusted")),
                num(v.get("alpha"), 2),
                *ice,
                "; ".join(str(e) for e in v.get("evidence") or []),
            )
        )
    return Table(
        "verdicts",
        "All verdicts (target × reference)",
        (
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
        tuple(rows),
        "Degree: the target's word-excess similarity to the reference, in standard deviations of the null panel "
        "(0 = like a model known not to descend from the reference); 95% bootstrap interval over prompts. p: t "
        "prediction test against the null models; p (Holm): corrected across the references of one target. A "
        "verdict reads 'consistent with distillation' only when p (Holm) < α and the interval excludes 0.",
    )


def attribution_table(summary: Summary) -> Table | None:
    """Per target: candidate teachers with family and candidate probabilities (and "none"), verdicts, reasons."""
    block = rse_part(summary, "attribution")
    if not block:
        return None
    verdict_of = {(str(v.get("target")), str(v.get("reference"))): v for v in verdicts(summary)}
    rows = []
    for target, a in sorted(block.items()):
        fams = a.get("families") or {}
        for c in a.get("candidates") or []:
            v = verdict_of.get((target, str(c.get("candidate"))), {})
            why = str(v.get("reason") or "") if v.get("verdict") == "inconclusive" else ""
            rows.append(
                (
                    target,
                    str(c.get("rank")),
                    str(c.get("candidate")),
                    str(c.get("family")),
                    pct(fams.get(c.get("family"))),
                    pct(c.get("probability")),
                    str(v.get("verdict", "–")),
                    why,
                )
            )
        rows.append((target, "–", "none of these", "none", pct(fams.get("none")), pct(fams.get("none")), "–", ""))
    return Table(
        "attribution",
        "Teacher attribution (probabilities)",
        ("Target", "Rank", "Candidate", "Family", "P(family)", "P(candidate)", "Verdict", "Why inconclusive"),
        tuple(rows),
        "Posterior probability that the target's teacher belongs to each candidate family, or to none of them, "
        "from a conditional logit over a vendor classifier and word-excess similarity; a family's probability is "
        "shared among its members by similarity. Verdicts are the named-suspect tests of the references.",
    )


# ---------------------------------------------------------------- ICE, RSE, diagnostics, cost


def ice_table(summary: Summary) -> Table | None:
    """Loose / strict / hard rates with Wilson intervals per model."""
    ice = section(summary, "ice")
    if not ice:
        return None
    rows = []
    for name, m in sorted((ice.get("by_model") or {}).items()):
        cells: list[str] = [name, str(m.get("n", "–")), str(m.get("n_unscored", "–"))]
        for level in ("loose", "strict", "hard"):
            r = m.get(level)
            cells.append(
                NOT_MEASURED
                if r is None
                else f"{pct(r.get('rate'))} {interval(r.get('lo'), r.get('hi'), percent=True)}"
            )
        q = m.get("queries_to_first_contradiction")
        cells.append("none" if q is None else str(q))
        rows.append(tuple(cells))
    return Table(
        "ice",
        f"ICE scores (judge: {ice.get('judge', '–')})",
        ("Model", "n", "Unscored", "Loose", "Strict", "Hard", "Queries to first contradiction"),
        tuple(rows),
        "Share of identity answers that contradict the model's own identity (loose), "
        "claim another developer (strict), or do so unprompted (hard); 95% intervals in brackets. "
        "'not measured': no judge ruled on that level (never a zero).",
    )


def ice_location_table(summary: Summary) -> Table | None:
    """Contradictions per model by where the evidence was found: final answer, reasoning trace, or both."""
    ice = section(summary, "ice")
    rows = [
        (name, where, *(str(c.get(level, 0)) for level in ("loose", "strict", "hard")))
        for name, m in sorted(((ice or {}).get("by_model") or {}).items())
        for where, c in sorted((m.get("by_location") or {}).items())
    ]
    if not rows:
        return None
    return Table(
        "ice_locations",
        "ICE contradictions by where the claim was found",
        ("Model", "Found in", "Loose", "Strict", "Hard"),
        tuple(rows),
        "Reasoning models: a first-person self-identification in the reasoning trace counts like one in the "
        "answer; the trace's reports of the prompt ('the user wants me to act as DAN') do not. 'unknown': the "
        "judge does not say where.",
    )


def ice_template_table(summary: Summary, width: int = 140) -> Table | None:
    """The most effective jailbreak templates per model (text shortened)."""
    ice = section(summary, "ice")
    if not ice:
        return None
    rows = []
    for name, m in sorted((ice.get("by_model") or {}).items()):
        for t in m.get("top_templates") or []:
            text = " ".join(str(t.get("text", "")).split())
            text = text if len(text) <= width else text[: width - 1] + "…"
            rows.append(
                (
                    name,
                    str(t.get("template_id")),
                    str(t.get("n")),
                    pct(t.get("loose_rate")),
                    pct(t.get("strict_rate")),
                    text,
                )
            )
    if not rows:
        return None
    return Table(
        "ice_templates",
        "Most effective templates",
        ("Model", "Template", "n", "Loose", "Strict", "Text"),
        tuple(rows),
        "Templates that most often drew an identity contradiction from each model.",
    )


def rse_set_names(block: Mapping[str, Any]) -> list[str]:
    """Sorted union of prompt-set names across models of a similarity or judge block."""
    return sorted({s for m in block.values() for s in (m.get("by_set") or {})})


def rse_table(summary: Summary, key: str = "similarity") -> Table | None:
    """Prompt set x model table of RSE similarity (or judge scores) — the paper's Table 3 layout."""
    rse = section(summary, "rse")
    block = (rse or {}).get(key) if key == "similarity" else (rse_part(summary, "judge") or {}).get("scores")
    if not rse or not isinstance(block, dict) or not block:
        return None
    sets = rse_set_names(block)
    rows = []
    for name, m in sorted(block.items()):
        by_set = m.get("by_set") or {}
        cells = [num((by_set.get(s) or {}).get("mean")) for s in sets]
        overall = m.get("overall") or {}
        rows.append((name, *cells, f"{num(overall.get('mean'))} {interval(overall.get('lo'), overall.get('hi'))}"))
    what = "similarity" if key == "similarity" else "LLM-judge score (1–5)"
    return Table(
        f"rse_{key}",
        f"RSE {what} to {rse.get('reference')}",
        ("Model", *sets, "Overall [95% CI]"),
        tuple(rows),
        f"Mean {what} of each model's answers to the reference's, per prompt set.",
    )


def aspect_table(summary: Summary) -> Table | None:
    """Per-aspect LLM-judge scores (style, logic, content) when a judge ran."""
    judge = rse_part(summary, "judge")
    scores = (judge or {}).get("scores") or {}
    if not scores:
        return None
    aspects = sorted({a for m in scores.values() for a in (m.get("aspects") or {})})
    rows = tuple((n, *(num((m.get("aspects") or {}).get(a), 2) for a in aspects)) for n, m in sorted(scores.items()))
    return Table(
        "rse_aspects",
        "LLM-judge scores per aspect",
        ("Model", *aspects),
        rows,
        f"Judges: {', '.join(judge.get('judges') or []) if judge else '–'}. 1 = unlike the reference, "
        "5 = indistinguishable.",
    )


def diagnostics_table(summary: Summary) -> Table | None:
    """Judge health: order-swap inconsistency, length correlation, parse failures, agreement."""
    diag = (rse_part(summary, "judge") or {}).get("diagnostics")
    if not isinstance(diag, dict):
        return None
    agreement = diag.get("agreement")
    rows = (
        (
            "Order-swap inconsistency",
            pct(diag.get("order_inconsistency")),
            "share of pairs judged differently when the two answers swap places; high values mean position bias",
        ),
        (
            "Length correlation",
            num(diag.get("length_correlation")),
            "correlation of score with answer length; near 0 is good",
        ),
        (
            "Parse failures",
            f"{diag.get('parse_failures', '–')} of {diag.get('n_judgements', '–')}",
            "judge replies that could not be read (counted as unscored)",
        ),
        (
            "Judge agreement",
            "not measured" if agreement is None else num(agreement),
            str(diag.get("agreement_metric") or "needs two or more judges"),
        ),
    )
    return Table("judge_diagnostics", "Judge diagnostics", ("Check", "Value", "Meaning"), rows)


def cost_table(summary: Summary) -> Table | None:
    """Calls, cache hits, errors, tokens and USD per stage, with a total row."""
    cost = section(summary, "cost")
    stages = (cost or {}).get("by_stage") or {}
    if not stages:
        return None
    keys = ("calls", "cache_hits", "errors", "prompt_tokens", "completion_tokens")
    rows = [
        (s, *(f"{int(v.get(k, 0)):,}" for k in keys), f"${float(v.get('cost_usd', 0.0)):.2f}")
        for s, v in sorted(stages.items())
    ]
    totals = [f"{sum(int(v.get(k, 0)) for v in stages.values()):,}" for k in keys]
    rows.append(("total", *totals, f"${float((cost or {}).get('total_usd', 0.0)):.2f}"))
    return Table(
        "cost",
        "Cost and calls per stage",
        ("Stage", "Calls", "Cache hits", "Failed", "Prompt tokens", "Completion tokens", "Cost (USD)"),
        tuple(rows),
        "Calls are backend calls (failed ones included); cache "
        "hits were answered from the local cache at no cost. Failed calls are excluded from scores.",
    )


def nonempty(tables: Sequence[Table | None]) -> list[Table]:
    """Drop absent tables."""
    return [t for t in tables if t is not None]
