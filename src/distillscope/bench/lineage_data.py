"""Inputs of the lineage benchmark: students of documented lineage, candidates, labelled pairs, features.

``lineage.csv`` has ``student, teacher, teacher_family, relation`` and optionally ``related`` (candidates that
share a base model or training data with the student without being its teacher). Every model of
``families.csv`` is a candidate. Lineage labels only score and (inside cross-validation folds) fit; they
never enter the features.
"""

from __future__ import annotations

import argparse
import csv
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from distillscope.errors import ConfigError
from distillscope.rse.attribution import family_prompt_posteriors
from distillscope.rse.fingerprint import DEFAULT_SIGNALS, VERDICT_SIGNALS, Excess, lineage_excess
from distillscope.rse.responses import load_families, load_responses
from distillscope.rse.verdict import family_of

log = logging.getLogger(__name__)

TEACHER_RELATIONS = ("distilled", "parent", "same")
RELATIONS = (*TEACHER_RELATIONS, "none")  # none: trained on human-written data, no teacher


@dataclass(frozen=True, kw_only=True)
class LineageRow:
    """One student of lineage.csv."""

    student: str
    teacher: str
    teacher_family: str
    relation: str
    related: tuple[str, ...] = ()

    @property
    def has_teacher(self) -> bool:
        """True for distilled, parent and same-model relations."""
        return self.relation in TEACHER_RELATIONS


def load_lineage(path: str | Path) -> list[LineageRow]:
    """Read lineage.csv (student, teacher, teacher_family, relation[, related])."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"lineage file {file} does not exist: pass --lineage lineage.csv")
    with file.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    need = {"student", "teacher", "teacher_family", "relation"}
    if rows and not need <= set(rows[0]):
        raise ConfigError(f"{file} needs the columns {', '.join(sorted(need))}")
    out = []
    for line, r in enumerate(rows, start=2):
        if not any(v.strip() for v in r.values() if isinstance(v, str)):
            continue  # a line of empty fields (",,,,", as spreadsheets write them) is no row
        row = LineageRow(
            student=(r["student"] or "").strip(),
            teacher=(r["teacher"] or "").strip(),
            teacher_family=(r["teacher_family"] or "").strip(),
            relation=(r["relation"] or "").strip(),
            related=tuple(x.strip() for x in (r.get("related") or "").split(";") if x.strip()),
        )
        _check_row(file, line, row)
        out.append(row)
    return out


def _check_row(file: Path, line: int, row: LineageRow) -> None:
    """A row that would score silently wrong (a misspelt relation would make a taught student a human-data one,
    tested against its own teacher) is an error that names the line."""
    where = f"{file}, line {line} ({row.student or 'no student'})"
    if not row.student:
        raise ConfigError(f"{where}: the student column is empty")
    if row.relation not in RELATIONS:
        raise ConfigError(f"{where}: relation {row.relation!r} is not one of {', '.join(RELATIONS)}")
    if row.has_teacher and not (row.teacher and row.teacher_family):
        raise ConfigError(f"{where}: relation {row.relation} needs a teacher and a teacher_family")


def pair_labels(
    rows: Sequence[LineageRow], candidates: Sequence[str], families: dict[str, str]
) -> dict[tuple[str, str], int]:
    """Positives (student, documented teacher) and negatives (student, unrelated candidate of another family).

    Negatives of a student with a teacher are the candidates whose family differs from the teacher's; of a
    human-data student, every candidate. Candidates in the student's ``related`` column are neither.
    """
    labels: dict[tuple[str, str], int] = {}
    for row in rows:
        if row.has_teacher and row.teacher in candidates:
            labels[(row.student, row.teacher)] = 1
        for c in candidates:
            if c in row.related or c == row.student:
                continue
            if not row.has_teacher or family_of(c, families) != row.teacher_family:
                labels[(row.student, c)] = 0
    return labels


@dataclass(frozen=True, kw_only=True)
class LineageData:
    """Everything the benchmark's folds need, computed once."""

    rows: tuple[LineageRow, ...]
    families: dict[str, str]
    candidates: tuple[str, ...]
    students: tuple[str, ...]
    sources: np.ndarray  # (prompts,) prompt source of each aligned prompt ("" when unknown)
    excess: dict[str, Excess]
    class_families: tuple[str, ...]
    posteriors: dict[str, np.ndarray]  # student -> (prompts, class_families)
    labels: dict[tuple[str, str], int]
    texts: dict[str, list[str]]

    @property
    def n_prompts(self) -> int:
        """Prompts answered by every model."""
        return int(self.sources.size)

    def row(self, student: str) -> LineageRow:
        """The lineage row of a student."""
        return next(r for r in self.rows if r.student == student)


def prepare(
    outputs: Sequence[str | Path],
    lineage_csv: str | Path,
    families_csv: str | Path,
    seed: int = 0,
    signals: Sequence[str] = tuple(dict.fromkeys((*DEFAULT_SIGNALS, *VERDICT_SIGNALS))),
) -> LineageData:
    """Load the files and compute the lineage signals and classifier posteriors once."""
    rows = load_lineage(lineage_csv)
    families = load_families(families_csv)
    data = load_responses(outputs)
    candidates = [m for m in families if m in data.by_model]
    missing = sorted(set(families) - set(candidates))
    if missing:
        log.warning("candidates without responses, skipped: %s", ", ".join(missing))
    _warn_unscorable(rows, families, set(data.by_model))
    rows = [r for r in rows if r.student in data.by_model]
    students = [r.student for r in rows]
    if len(candidates) < 2 or not students:
        raise ConfigError("need at least two candidates and one student with responses: check the files")
    instructions, texts = data.aligned(list(dict.fromkeys([*students, *candidates])))
    log.info(
        "computing lineage signals for %d students x %d candidates on %d prompts",
        len(students),
        len(candidates),
        len(instructions),
    )
    excess = lineage_excess(texts, students, candidates, signals)
    fams, posteriors = family_prompt_posteriors(texts, students, candidates, families, np.random.default_rng(seed))
    return LineageData(
        rows=tuple(rows),
        families=families,
        candidates=tuple(candidates),
        students=tuple(students),
        sources=np.array([data.sources.get(i, "") for i in instructions]),
        excess=excess,
        class_families=fams,
        posteriors=posteriors,
        labels=pair_labels(rows, candidates, families),
        texts=texts,
    )


def _warn_unscorable(rows: Sequence[LineageRow], families: dict[str, str], answered: set[str]) -> None:
    """Say which lineage rows the benchmark cannot score as written, before it spends minutes on the rest."""
    no_answers = [r.student for r in rows if r.student not in answered]
    if no_answers:
        log.warning("students without responses, skipped: %s", ", ".join(no_answers))
    taught = [r for r in rows if r.has_teacher and r.student in answered]
    unknown = [f"{r.student} ({r.teacher})" for r in taught if r.teacher not in families or r.teacher not in answered]
    if unknown:
        log.warning(
            "teachers that are not candidates with responses (those students are left out of the top-1, AUROC "
            "and recall): %s",
            ", ".join(unknown),
        )
    clash = [
        f"{r.student} ({r.teacher}: {r.teacher_family} in lineage.csv, {families[r.teacher]} in families.csv)"
        for r in taught
        if r.teacher in families and families[r.teacher] != r.teacher_family
    ]
    if clash:
        log.warning(
            "teacher families that disagree with families.csv (scored as lineage.csv says): %s", ", ".join(clash)
        )


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """The benchmark scripts' data options: ``--data FOLDER`` (alpacaeval_outputs.jsonl.gz, lineage.csv and
    families.csv in it) and/or the files by name, as `bench lineage` takes them (a named file wins)."""
    parser.add_argument("--data", type=Path, help="folder with alpacaeval_outputs.jsonl.gz, lineage.csv, families.csv")
    parser.add_argument("--outputs", type=Path, action="append", help="responses file (repeatable)")
    parser.add_argument("--lineage", type=Path, help="lineage.csv (student, teacher, teacher_family, relation)")
    parser.add_argument("--families", type=Path, help="families.csv (model, family)")


def data_paths(args: argparse.Namespace) -> tuple[list[Path], Path, Path]:
    """The responses files, lineage.csv and families.csv that :func:`add_data_arguments`' options name."""
    folder: Path | None = args.data

    def pick(given: Path | None, name: str) -> Path:
        if given is not None:
            return given
        if folder is None:
            raise ConfigError(f"give --data FOLDER or the file by name ({name} is missing)")
        return folder / name

    outputs = args.outputs or [pick(None, "alpacaeval_outputs.jsonl.gz")]
    return outputs, pick(args.lineage, "lineage.csv"), pick(args.families, "families.csv")


def prepare_from_arguments(args: argparse.Namespace, signals: Sequence[str]) -> LineageData:
    """`prepare` on the files that :func:`add_data_arguments`' options name."""
    outputs, lineage, families = data_paths(args)
    return prepare(outputs, lineage, families, signals=signals)
