"""ICE records: one row per (target, template, question) with the response and its verdict; JSONL io.

Also imports the paper's released `attack_result` JSONL and judges arbitrary JSONL rows (library functions
behind `distillscope ice import` / `ice judge`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from distillscope.errors import ConfigError
from distillscope.ice.judges import IdentityJudge, JudgeItem, JudgeVerdict
from distillscope.identity.registry import IdentityRegistry, family_for_target
from distillscope.rundir import read_jsonl, write_jsonl

PLACEHOLDER = "{query}"
VERDICT_FIELDS = (
    "loose",
    "strict",
    "hard",
    "label",
    "claimed_family",
    "rationale",
    "uncertain",
    "judge_raw",
    "location",
)


class IceRecord(BaseModel):
    """One target query and its outcome. Verdict fields are None until the record is judged."""

    model_config = ConfigDict(extra="allow")

    target: str
    idx: int = 0
    template_id: str = ""
    template: str | None = None
    query: str | None = None
    query_category: str | None = None
    query_language: str | None = None
    prompt: str | None = None
    response: str = ""
    reasoning: str | None = None
    status: Literal["ok", "error"] = "ok"
    error: str | None = None
    loose: bool | None = None
    strict: bool | None = None
    hard: bool | None = None
    label: Literal["contradiction", "consistent", "unscored"] | None = None
    claimed_family: str | None = None
    rationale: str | None = None
    uncertain: bool | None = None
    judge: str | None = None
    judge_raw: str | None = None
    location: Literal["answer", "reasoning", "both"] | None = None  # where the judge found its evidence
    imported_loose: bool | None = None  # an imported file's own loose label, kept beside the judge's verdict

    def with_verdict(self, v: JudgeVerdict, judge: str) -> IceRecord:
        """A copy carrying the verdict `v` of `judge`."""
        return self.model_copy(
            update={
                "loose": v.loose,
                "strict": v.strict,
                "hard": v.hard,
                "label": v.label,
                "claimed_family": v.claimed_family,
                "rationale": v.rationale,
                "uncertain": v.uncertain,
                "judge": judge,
                "judge_raw": v.raw,
                "location": v.location,
            }
        )


def template_id_of(template: str) -> str:
    """A short stable id of a template text."""
    return "t" + hashlib.sha256(template.strip().encode("utf-8")).hexdigest()[:10]


def build_prompt(template: str, query: str) -> str:
    """Insert the query at the placeholder, or append it when the template has none (the paper's rule)."""
    return template.replace(PLACEHOLDER, query) if PLACEHOLDER in template else template + query


def read_input(path: Path) -> list[dict[str, Any]]:
    """Rows of a user's JSONL(.gz) input file; ConfigError when it is missing (bad lines: `rundir.read_jsonl`)."""
    if not path.exists():
        raise ConfigError(f"input file {path} not found; check the path")
    return list(read_jsonl(path))


def read_records(path: Path) -> list[IceRecord]:
    """IceRecords from a JSONL(.gz) file."""
    return [IceRecord.model_validate(r) for r in read_input(path)]


def write_records(path: Path, records: Iterable[IceRecord]) -> int:
    """Write IceRecords as JSONL(.gz)."""
    return write_jsonl(path, records)


def import_attack_results(path: Path, target: str) -> list[IceRecord]:
    """Records from the paper's attack_result JSONL (`jailbreak_prompt`, `query`, `target_responses`,
    `eval_results`). The file's loose verdict is kept as `imported_loose` and, until a judge rules, as the
    record's loose verdict (judge "paper"); the file has no strict or hard labels, so those stay None."""
    out = []
    for i, row in enumerate(read_input(path)):
        if "jailbreak_prompt" not in row or "query" not in row:
            raise ConfigError(f"{path} row {i} lacks jailbreak_prompt/query: not an attack_result file")
        responses = row.get("target_responses") or [""]
        response = responses[0] if isinstance(responses, list) else str(responses)
        ev = row.get("eval_results")
        loose = bool(ev[0] if isinstance(ev, list) and ev else ev) if ev is not None else None
        tpl, query = str(row["jailbreak_prompt"]), str(row["query"])
        rec = IceRecord(
            target=target,
            idx=i,
            template_id=template_id_of(tpl),
            template=tpl,
            query=query,
            prompt=build_prompt(tpl, query),
            response=str(response),
            imported_loose=loose,
        )
        if loose is not None:
            rec = rec.model_copy(
                update={"loose": loose, "label": "contradiction" if loose else "consistent", "judge": "paper"}
            )
        out.append(rec)
    return out


async def judge_records(
    records: list[IceRecord],
    judge: IdentityJudge,
    judge_name: str,
    *,
    fact: str | None = None,
    registry: IdentityRegistry | None = None,
) -> list[IceRecord]:
    """The records with `judge`'s verdicts (other fields, `imported_loose` included, kept)."""
    fams = {t: family_for_target(t, fact=fact, registry=registry) for t in {r.target for r in records}}
    items = [
        JudgeItem(
            target=fams[r.target],
            response=r.response,
            jailbreak_prompt=r.template,
            query=r.query,
            reasoning=r.reasoning,
        )
        for r in records
    ]
    verdicts = await judge.judge(items)
    return [r.with_verdict(v, judge_name) for r, v in zip(records, verdicts, strict=True)]


class JudgeFileSummary(BaseModel):
    """What `judge_rows_file` did."""

    rows: int
    contradictions: int
    strict: int
    hard: int
    unscored: int


async def judge_rows_file(
    input_path: Path,
    output_path: Path,
    judge: IdentityJudge,
    *,
    judge_name: str = "claims",
    fact: str | None = None,
    registry: IdentityRegistry | None = None,
) -> JudgeFileSummary:
    """Judge JSONL rows that have `target` and `response` (`jailbreak_prompt`, `query` optional); write the
    rows with the verdict fields added (other fields kept). `fact` applies to targets with no known family."""
    rows = read_input(input_path)
    for i, r in enumerate(rows):
        if "target" not in r or "response" not in r:
            raise ConfigError(f"{input_path} row {i} needs 'target' and 'response' fields")
    fams = {t: family_for_target(t, fact=fact, registry=registry) for t in {str(r["target"]) for r in rows}}
    items = [
        JudgeItem(
            target=fams[str(r["target"])],
            response=str(r.get("response") or ""),
            jailbreak_prompt=r.get("jailbreak_prompt"),
            query=r.get("query"),
        )
        for r in rows
    ]
    verdicts = await judge.judge(items)
    out = [{**r, **_verdict_dict(v), "judge": judge_name} for r, v in zip(rows, verdicts, strict=True)]
    write_jsonl(output_path, out)
    return JudgeFileSummary(
        rows=len(out),
        contradictions=sum(v.loose for v in verdicts),
        strict=sum(v.strict for v in verdicts),
        hard=sum(v.hard for v in verdicts),
        unscored=sum(v.label == "unscored" for v in verdicts),
    )


def _verdict_dict(v: JudgeVerdict) -> dict[str, Any]:
    return {
        "loose": v.loose,
        "strict": v.strict,
        "hard": v.hard,
        "label": v.label,
        "claimed_family": v.claimed_family,
        "rationale": v.rationale,
        "uncertain": v.uncertain,
        "judge_raw": v.raw,
        "location": v.location,
    }
