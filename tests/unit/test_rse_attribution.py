"""Attribution on a tiny synthetic corpus: a student that copies one teacher's idiosyncrasies."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from distillscope.rse.attribution import (
    AttributionSettings,
    attribute_from_files,
    attribution_prompt_sims,
    attribution_shares,
)
from distillscope.rse.verdict import similarity_matrix

TOPICS = [f"topic{i}" for i in range(40)]
STYLES = {
    "alpha-1": ("Certainly! Regarding {t}, delightful indeed.", "Cheers, friend."),
    "alpha-2": ("Certainly! About {t}, delightful stuff.", "Cheers, pal."),
    "beta": ("Well, {t} is a matter of record; consider it.", "Regards."),
    "gamma": ("{t}: short answer, nothing more", "End."),
    "delta": ("Hmm, {t} puzzles many people, honestly.", "Thanks!"),
}


def _corpus(rng: np.random.Generator) -> dict[str, list[str]]:
    texts: dict[str, list[str]] = {}
    for model, (head, tail) in {**STYLES, "student": STYLES["alpha-1"]}.items():
        noise = [" ".join(rng.choice(["x", "y", "z", "w"], size=3)) for _ in TOPICS]
        texts[model] = [f"{head.format(t=t)} {n} {tail}" for t, n in zip(TOPICS, noise, strict=True)]
    return texts


def test_classifier_attributes_student_to_its_teacher() -> None:
    texts = _corpus(np.random.default_rng(0))
    candidates = list(STYLES)
    sims = attribution_prompt_sims(texts, ["student", *candidates], candidates, np.random.default_rng(1), n_folds=4)
    shares = attribution_shares(sims, "student")
    assert shares["alpha-1"] + shares["alpha-2"] > 0.8
    assert shares["gamma"] < 0.1
    models, matrix = similarity_matrix(sims)
    assert matrix.shape == (len(models), len(models))
    assert np.allclose(matrix, matrix.T)


def test_attribute_from_files_ranks_teacher_family_first(tmp_path: Path) -> None:
    texts = _corpus(np.random.default_rng(2))
    path = tmp_path / "responses.jsonl"
    rows = [
        {"model": m, "instruction": f"Tell me about {t}", "output": out}
        for m, outs in texts.items()
        for t, out in zip(TOPICS, outs, strict=True)
    ]
    path.write_text("\n".join(json.dumps(r) for r in reversed(rows)), encoding="utf-8")
    families = tmp_path / "families.csv"
    families.write_text("model,family\nalpha-1,alpha\nalpha-2,alpha\nbeta,b\ngamma,g\ndelta,d\n", encoding="utf-8")
    result = attribute_from_files(
        [path], "student", families_csv=families, settings=AttributionSettings(n_boot=200, n_perm=200)
    )
    assert result.top.family == "alpha"
    assert [c.rank for c in result.candidates] == list(range(1, 6))
    assert "student" not in {c.candidate for c in result.candidates}
    assert result.top.degree.estimate > 0
    assert all(c.verdict in {"consistent with distillation", "inconclusive", "no evidence"} for c in result.candidates)
