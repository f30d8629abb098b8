"""Lineage benchmark: scoring logic on toy orders, and a smoke run on the real AlpacaEval data."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from distillscope.bench.lineage import LineageRow, ranking_scores, run_lineage_bench
from distillscope.rse.attribution import AttributionSettings

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "lineage"


def test_ranking_scores_on_toy_orders() -> None:
    families = {"t": "f1", "s1": "f1", "o": "f2"}
    rows = [
        LineageRow("a", "t", "f1", "distilled"),
        LineageRow("b", "t", "f1", "distilled"),
        LineageRow("h", "", "", "none"),
    ]
    scores = ranking_scores({"a": ["t", "o", "s1"], "b": ["s1", "t", "o"], "h": ["o", "t", "s1"]}, rows, families)
    assert scores.exact_top1 == 0.5 and scores.family_top1 == 1.0
    assert scores.mrr == pytest.approx(0.75)
    assert scores.auroc == pytest.approx(0.75)


@pytest.mark.data
def test_lineage_bench_smoke_on_real_subset(tmp_path: Path) -> None:
    outputs = DATA / "alpacaeval_outputs.jsonl.gz"
    if not outputs.is_file():
        pytest.skip(f"real lineage data absent ({outputs}); it lives in ../shared/data next to the repo")
    keep_candidates = ["gpt-3.5-turbo-0301", "gpt4_0314", "claude-2", "Meta-Llama-3-8B-Instruct",
                       "mistral-medium", "guanaco-65b", "zephyr-7b-beta"]
    with (DATA / "families.csv").open(encoding="utf-8") as fh:
        fams = [r for r in csv.DictReader(fh) if r["model"] in keep_candidates]
    families = tmp_path / "families.csv"
    families.write_text("model,family\n" + "".join(f"{r['model']},{r['family']}\n" for r in fams), encoding="utf-8")
    with (DATA / "lineage.csv").open(encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    keep_students = ("student,", "vicuna-13b,", "Llama-3-Instruct-8B-SimPO,", "guanaco-7b,")
    lineage = tmp_path / "lineage.csv"
    lineage.write_text("\n".join(ln for ln in lines if ln.startswith(keep_students)) + "\n", encoding="utf-8")
    result = run_lineage_bench([outputs], lineage, families, AttributionSettings(n_boot=200, n_perm=200))
    out = result.to_dict()
    assert out["n_students"] == 2 and out["negatives"]["n"] == 1
    assert set(out["students"]) == {"vicuna-13b", "Llama-3-Instruct-8B-SimPO", "guanaco-7b"}
    assert out["family_top1"] == 1.0
    assert out["students"]["Llama-3-Instruct-8B-SimPO"]["predicted"] == "Meta-Llama-3-8B-Instruct"
