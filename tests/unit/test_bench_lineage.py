"""Lineage benchmark: metrics on toy inputs, and a cross-validated run on a real AlpacaEval subset."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from distillscope.bench.lineage import run_lineage_bench
from distillscope.bench.lineage_cv import SuspectOutcome
from distillscope.bench.lineage_data import LineageData, LineageRow, pair_labels
from distillscope.bench.lineage_metrics import (
    FAMILY_FPR,
    calibration,
    macro_family_top1,
    ranking_scores,
    verdict_scores,
)
from distillscope.bench.lineage_plots import roc_points, write_plots

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "lineage"
FAMILIES = {"t": "f1", "s1": "f1", "o": "f2", "q": "f3"}


def test_ranking_and_macro_top1_on_toy_orders() -> None:
    rows = [
        LineageRow(student="a", teacher="t", teacher_family="f1", relation="distilled"),
        LineageRow(student="b", teacher="t", teacher_family="f1", relation="distilled"),
        LineageRow(student="c", teacher="t", teacher_family="f1", relation="distilled"),
        LineageRow(student="d", teacher="o", teacher_family="f2", relation="parent"),
        LineageRow(student="h", teacher="", teacher_family="", relation="none"),
    ]
    orders = {
        "a": ["t", "o", "s1"],
        "b": ["s1", "t", "o"],
        "c": ["o", "t", "s1"],
        "d": ["t", "o", "s1"],
        "h": ["o", "t", "s1"],
    }
    scores = ranking_scores(orders, rows, FAMILIES)
    assert scores.exact_top1 == pytest.approx(1 / 4) and scores.family_top1 == pytest.approx(2 / 4)
    assert scores.mrr == pytest.approx((1 + 0.5 + 0.5 + 0.5) / 4)
    # Per family: f1 gets 2 of 3 right, f2 0 of 1; the macro mean weighs the families equally.
    assert macro_family_top1(orders, rows, FAMILIES) == pytest.approx((2 / 3 + 0) / 2)


def test_pair_labels_follow_the_issue_definition() -> None:
    rows = [
        LineageRow(student="a", teacher="t", teacher_family="f1", relation="distilled", related=("q",)),
        LineageRow(student="h", teacher="", teacher_family="", relation="none"),
    ]
    labels = pair_labels(rows, ["t", "s1", "o", "q"], FAMILIES)
    assert labels == {("a", "t"): 1, ("a", "o"): 0, ("h", "t"): 0, ("h", "s1"): 0, ("h", "o"): 0, ("h", "q"): 0}


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("a,t,f1,distiled,", "line 3 \\(a\\): relation 'distiled' is not one of distilled, parent, same, none"),
        ("a,,,parent,", "line 3 \\(a\\): relation parent needs a teacher and a teacher_family"),
        (",t,f1,distilled,", "line 3 \\(no student\\): the student column is empty"),
    ],
)
def test_a_lineage_row_that_would_score_silently_wrong_is_an_error_naming_its_line(
    tmp_path: Path, row: str, message: str
) -> None:
    from distillscope.bench.lineage_data import load_lineage
    from distillscope.errors import ConfigError

    path = tmp_path / "lineage.csv"
    path.write_text(f"student,teacher,teacher_family,relation,related\nh,,,none,\n{row}\n,,,,\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_lineage(path)
    path.write_text("student,teacher,teacher_family,relation,related\nh,,,none,\n,,,,\n", encoding="utf-8")
    assert [r.student for r in load_lineage(path)] == ["h"]  # a spreadsheet's empty line is no row


def test_lineage_rows_the_benchmark_cannot_score_as_written_are_named_in_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from distillscope.bench.lineage_data import _warn_unscorable

    rows = [
        LineageRow(student="a", teacher="t", teacher_family="f1", relation="distilled"),  # fine
        LineageRow(student="b", teacher="t", teacher_family="f9", relation="distilled"),  # family clash
        LineageRow(student="c", teacher="gpt-9", teacher_family="f1", relation="distilled"),  # not a candidate
        LineageRow(student="gone", teacher="t", teacher_family="f1", relation="same"),  # no responses
    ]
    with caplog.at_level("WARNING", logger="distillscope.bench.lineage_data"):
        _warn_unscorable(rows, FAMILIES, {"a", "b", "c", "t", "o"})
    text = caplog.text
    assert "students without responses, skipped: gone" in text
    assert "not candidates with responses" in text and "c (gpt-9)" in text and "a (t)" not in text
    assert "b (t: f9 in lineage.csv, f1 in families.csv)" in text
    caplog.clear()
    with caplog.at_level("WARNING", logger="distillscope.bench.lineage_data"):
        _warn_unscorable(rows[:1], FAMILIES, {"a", "t"})
    assert caplog.text == ""


def test_verdict_scores_and_roc() -> None:
    labels = {("a", "t"): 1, ("a", "o"): 0, ("b", "t"): 1, ("b", "o"): 0, ("b", "q"): 0}
    tests = {
        "a": {"t": SuspectOutcome(3.0, 0.001, True, n_null=9), "o": SuspectOutcome(0.2, 0.4, False)},
        "b": {
            "t": SuspectOutcome(0.0, 1.0, False, tested=False, n_null=2),
            "o": SuspectOutcome(2.5, 0.01, True),
            "q": SuspectOutcome(-1.0, 0.9, False),
        },
    }
    scores, pairs = verdict_scores(labels, tests, families=FAMILIES)
    assert (scores.recall, scores.n_pos, scores.n_neg) == (0.5, 2, 3) and scores.fpr == pytest.approx(1 / 3)
    assert scores.auroc == pytest.approx(3 / 6) and scores.n_pos_untested == 1
    assert scores.fpr_by_suspect_family == {"f2": 0.5, "f3": 0.0}  # o is of family f2, q of f3
    assert scores.null_models == {"min": 2, "median": 5.5, "max": 9}  # the positives' nulls only
    assert verdict_scores(labels, tests)[0].fpr_by_suspect_family == {}  # without families
    fpr, tpr = roc_points(pairs)
    assert fpr[0] == tpr[0] == 0.0 and fpr[-1] == tpr[-1] == 1.0


def test_calibration_brier_and_ece() -> None:
    probs = {"a": {"f1": 0.9, "f2": 0.1, "none": 0.0}, "b": {"f1": 0.6, "f2": 0.4, "none": 0.0}}
    cal = calibration(probs, {"a": "f1", "b": "f2"})
    assert cal["brier"] == pytest.approx(((0.1**2 + 0.1**2) + (0.6**2 + 0.6**2)) / 2)
    assert cal["ece"] == pytest.approx((0.1 + 0.6) / 2)
    assert cal["top_label_accuracy"] == 0.5


def test_student_intervals_resample_students_and_keep_their_pairs_together() -> None:
    from distillscope.bench.lineage_metrics import StudentContribution, student_intervals

    same = [StudentContribution(family="f1", family_hit=True, auroc=1.0, positives=1, positives_found=1)] * 20
    assert student_intervals(same)["recall"] == [1.0, 1.0]  # no variation between students, none in the interval
    # 30 students find their teacher, 10 do not: the recall interval is about the binomial one (0.75 +- 0.13).
    found = [StudentContribution(family="f1", positives=1, positives_found=int(i < 30)) for i in range(40)]
    low, high = student_intervals(found)["recall"]
    assert 0.58 < low < 0.66 and 0.84 < high < 0.91
    # fpr counts pairs, but a student's pairs move together: one student holding every false positive gives a
    # far wider interval than the same 10 false positives spread over 10 students.
    clustered = [
        StudentContribution(family=None, negatives=30, negatives_flagged=10 if i == 0 else 0) for i in range(30)
    ]
    spread = [StudentContribution(family=None, negatives=30, negatives_flagged=int(i < 10)) for i in range(30)]
    width = {k: (lambda iv: iv[1] - iv[0])(student_intervals(v)["fpr"]) for k, v in (("c", clustered), ("s", spread))}
    assert width["c"] > 1.5 * width["s"]
    # The same per suspect family: family a's 10 false positives held by one student, family b's spread over 10.
    mixed = [
        StudentContribution(family=None, negatives_by_family={"a": (30, 10 if i == 0 else 0), "b": (30, int(i < 10))})
        for i in range(30)
    ]
    spans = student_intervals(mixed)
    assert set(spans) >= {FAMILY_FPR + "a", FAMILY_FPR + "b"}
    (a_low, a_high), (b_low, b_high) = spans[FAMILY_FPR + "a"], spans[FAMILY_FPR + "b"]
    assert a_low <= 10 / 900 <= a_high and b_low <= 10 / 900 <= b_high
    assert a_high - a_low > 1.5 * (b_high - b_low)
    # The macro mean weighs families equally: one family always right, one of 2 students half right.
    two = [StudentContribution(family="a", family_hit=True)] * 10 + [
        StudentContribution(family="b", family_hit=bool(i % 2)) for i in range(2)
    ]
    low, high = student_intervals(two)["macro_family_top1"]
    assert low == 0.5 and high == 1.0


def _subset(tmp_path: Path) -> tuple[Path, Path, Path]:
    outputs = DATA / "alpacaeval_outputs.jsonl.gz"
    if not outputs.is_file():
        pytest.skip(f"real lineage data absent ({outputs}); it lives in ../shared/data next to the repo")
    keep = [
        "gpt-3.5-turbo-0301",
        "gpt4_0314",
        "claude-2",
        "Meta-Llama-3-8B-Instruct",
        "mistral-medium",
        "guanaco-65b",
        "zephyr-7b-beta",
    ]
    with (DATA / "families.csv").open(encoding="utf-8") as fh:
        fams = [r for r in csv.DictReader(fh) if r["model"] in keep]
    families = tmp_path / "families.csv"
    families.write_text("model,family\n" + "".join(f"{r['model']},{r['family']}\n" for r in fams), encoding="utf-8")
    with (DATA / "lineage.csv").open(encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    students = (
        "student,",
        "vicuna-13b,",
        "vicuna-7b,",
        "Llama-3-Instruct-8B-SimPO,",
        "REBEL-Llama-3-8B-Instruct,",
        "guanaco-7b,",
        "oasst-sft-pythia-12b,",
        "humpback-llama-65b,",
    )
    lineage = tmp_path / "lineage.csv"
    lineage.write_text("\n".join(ln for ln in lines if ln.startswith(students)) + "\n", encoding="utf-8")
    return outputs, lineage, families


@pytest.mark.data
def test_lineage_bench_cv_on_a_real_subset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from distillscope.cli.bench import _print_lineage

    outputs, lineage, families = _subset(tmp_path)
    result = run_lineage_bench([outputs], lineage, families, cv=True)
    _print_lineage(result, [])  # the table output of `bench lineage --cv`: one line per prompt-source fold
    printed = capsys.readouterr().out
    assert printed.count("  fold ") == 5 and "fold koala" in printed and "REBEL-Llama-3-8B-Instruct" in printed
    out = json.loads(json.dumps(result.to_dict()))
    assert out["n_students"] == 4 and out["negatives"]["n"] == 3
    assert out["scheme"] == "leave-one-student-out"
    sources = {f["held_out"] for f in out["folds"] if f["scheme"] == "leave-one-source-out"}
    assert sources == {"helpful_base", "koala", "oasst", "selfinstruct", "vicuna"}
    assert len([f for f in out["folds"] if f["scheme"] == "leave-one-student-out"]) == 7
    assert set(out["verdict"]) == {
        *("alpha", "n_pos", "n_neg", "recall", "fpr", "auroc"),
        *("fpr_by_suspect_family", "null_models", "n_pos_untested"),
    }
    kept = {line.split(",")[1] for line in families.read_text(encoding="utf-8").splitlines()[1:]}
    assert set(out["verdict"]["fpr_by_suspect_family"]) <= kept and len(out["verdict"]["fpr_by_suspect_family"]) >= 2
    assert "fpr per suspect family (95% interval, students resampled): " in printed
    assert "null models per positive test: median " in printed
    assert f"{out['verdict']['n_pos_untested']} of 4 positive pairs untested" in printed
    assert out["verdict"]["n_pos"] == 4  # every documented teacher is tested, untestable pairs included
    assert out["students"]["Llama-3-Instruct-8B-SimPO"]["predicted"] == "Meta-Llama-3-8B-Instruct"
    assert out["students"]["REBEL-Llama-3-8B-Instruct"]["verdict"] == "consistent with distillation"
    assert out["macro_family_top1"] >= 0.5 and out["verdict"]["fpr"] <= 0.2
    row = result.metrics_row()  # the benchmark scripts' one-line summary of the same result
    assert row["recall"] == round(out["verdict"]["recall"], 3) and row["auroc"] == round(out["auroc"], 3)
    assert row["human_data_flagged"] == out["negatives"]["flagged"]
    by_family = out["verdict"]["fpr_by_suspect_family"]
    assert {k for k in out["intervals"] if k.startswith(FAMILY_FPR)} == {FAMILY_FPR + f for f in by_family}
    for name, (low, high) in out["intervals"].items():  # each interval brackets its point estimate
        if name.startswith(FAMILY_FPR):
            point = by_family[name.removeprefix(FAMILY_FPR)]
        else:
            point = out["verdict"][name] if name in ("recall", "fpr") else out[name]
        assert low <= point + 1e-9 and point <= high + 1e-9, name
    assert "95% intervals, students resampled: macro_family_top1 [" in printed
    assert FAMILY_FPR not in printed.split("95% intervals, students resampled:")[1]  # said on the family line
    probs = out["students"]["guanaco-7b"]["family_probabilities"]
    assert all(0.0 <= p <= 1.0 for p in probs.values())
    pngs = write_plots(result, tmp_path / "plots", 0.05)
    assert all(p.stat().st_size > 1000 for p in pngs)


@pytest.mark.data
def test_a_set_that_cannot_test_its_teachers_says_so_in_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outputs, lineage, families = _subset(tmp_path)
    lines = lineage.read_text(encoding="utf-8").splitlines()
    only_chatgpt = [ln for ln in lines if ln.startswith(("student,", "vicuna-13b,", "vicuna-7b,"))]
    lineage.write_text("\n".join(only_chatgpt) + "\n", encoding="utf-8")  # no student is known not to descend
    with caplog.at_level("WARNING", logger="distillscope.bench.lineage"):
        result = run_lineage_bench([outputs], lineage, families, with_baseline=False)
    assert result.verdict.n_pos_untested == result.verdict.n_pos == 2 and result.verdict.recall == 0.0
    assert "2 of 2 positive pairs untested (counted as missed)" in caplog.text


@pytest.mark.data
def test_a_verdict_signal_outside_the_attribution_evidence_changes_the_tests_only(tmp_path: Path) -> None:
    from distillscope.bench.lineage import leave_one_student_out
    from distillscope.bench.lineage_cv import FoldSettings
    from distillscope.bench.lineage_data import prepare

    outputs, lineage, families = _subset(tmp_path)
    data = prepare([outputs], lineage, families, signals=("word", "frame", "nearest"))
    word = leave_one_student_out(data, FoldSettings())
    nearest = leave_one_student_out(data, FoldSettings(verdict_signals=("nearest",)))
    for s in data.students:  # the attribution is the same; the named-suspect tests are not
        assert nearest[s].order == word[s].order and nearest[s].family_probabilities == word[s].family_probabilities
    rebel = "REBEL-Llama-3-8B-Instruct", "Meta-Llama-3-8B-Instruct"
    assert nearest[rebel[0]].tests[rebel[1]].effect != word[rebel[0]].tests[rebel[1]].effect
    assert nearest[rebel[0]].tests[rebel[1]].effect > 2.0


@pytest.fixture(scope="module")
def word_subset(tmp_path_factory: pytest.TempPathFactory) -> LineageData:
    """The real subset prepared once with the word signal, the way the benchmark scripts prepare it."""
    import argparse

    from distillscope.bench.lineage_data import add_data_arguments, prepare_from_arguments

    folder = tmp_path_factory.mktemp("subset")
    outputs, _, _ = _subset(folder)  # lineage.csv and families.csv in the folder, the responses elsewhere
    parser = argparse.ArgumentParser()
    add_data_arguments(parser)
    args = parser.parse_args(["--data", str(folder), "--outputs", str(outputs)])
    return prepare_from_arguments(args, ("word",))  # the named responses file, the folder's two csv files


@pytest.mark.data
def test_benchmark_scripts_take_a_folder_and_files_by_name(word_subset: LineageData) -> None:
    import argparse

    from distillscope.bench.lineage_data import add_data_arguments, prepare_from_arguments
    from distillscope.errors import ConfigError

    data = word_subset
    assert len(data.students) == 7 and len(data.candidates) == 7
    parser = argparse.ArgumentParser()
    add_data_arguments(parser)
    with pytest.raises(ConfigError, match="--data FOLDER"):
        prepare_from_arguments(parser.parse_args([]), ("word",))


@pytest.mark.data
def test_prompt_source_folds_need_two_sources_and_say_when_they_are_skipped(
    word_subset: LineageData, caplog: pytest.LogCaptureFixture
) -> None:
    import dataclasses

    import numpy as np

    from distillscope.bench.lineage import leave_one_source_out
    from distillscope.bench.lineage_cv import FoldSettings

    data = word_subset
    settings = FoldSettings(signals=("word",))
    for sources in (np.full(data.n_prompts, ""), np.full(data.n_prompts, "koala")):  # no `dataset` field; one source
        with caplog.at_level("WARNING", logger="distillscope.bench.lineage"):
            assert leave_one_source_out(dataclasses.replace(data, sources=sources), settings) == []
    assert "no prompt source" in caplog.text and "only one prompt source (koala)" in caplog.text


@pytest.mark.data
def test_the_calibrated_attribution_changes_the_probabilities_not_the_tests(word_subset: LineageData) -> None:
    from distillscope.bench.lineage import leave_one_student_out
    from distillscope.bench.lineage_cv import FoldSettings

    plain = leave_one_student_out(word_subset, FoldSettings(signals=("word", "classifier")))
    calibrated = leave_one_student_out(
        word_subset, FoldSettings(signals=("word", "classifier"), calibrated=("family",))
    )
    for s in word_subset.students:
        assert calibrated[s].tests == plain[s].tests  # the named-suspect test does not depend on the attribution
        assert sum(calibrated[s].family_probabilities.values()) == pytest.approx(1.0)
    assert any(calibrated[s].family_probabilities != plain[s].family_probabilities for s in word_subset.students)


@pytest.mark.data
def test_the_null_size_diagnostic_cuts_every_tests_null(word_subset: LineageData) -> None:
    from distillscope.bench.lineage import leave_one_student_out
    from distillscope.bench.lineage_cv import FoldSettings
    from distillscope.rse.suspect import MIN_NULL_MODELS

    def tests(null_size: int | None = None, null_seed: int = 0) -> dict[str, dict[str, SuspectOutcome]]:
        settings = FoldSettings(signals=("word",), null_size=null_size, null_seed=null_seed)
        return {s: dict(p.tests) for s, p in leave_one_student_out(word_subset, settings).items()}

    full = tests()
    assert tests(null_size=len(word_subset.students)) == full  # no null is larger: nothing is cut
    assert any(t.tested for by in full.values() for t in by.values())
    cut = tests(null_size=MIN_NULL_MODELS - 1)  # every null cut below the minimum: no test can run
    assert not any(t.tested for by in cut.values() for t in by.values())
    smallest = tests(null_size=MIN_NULL_MODELS, null_seed=3)
    assert smallest != full and smallest == tests(null_size=MIN_NULL_MODELS, null_seed=3)  # cut, reproducibly


@pytest.mark.data
def test_the_null_source_diagnostic_tests_against_students_candidates_or_both(word_subset: LineageData) -> None:
    import dataclasses

    from distillscope.bench.lineage import leave_one_student_out
    from distillscope.bench.lineage_cv import FoldSettings
    from distillscope.rse.fingerprint import lineage_excess

    queries = [*word_subset.students, *word_subset.candidates]  # the candidates as null models need their excess
    data = dataclasses.replace(word_subset, excess=lineage_excess(word_subset.texts, queries, word_subset.candidates))
    effects = {}
    for source in ("students", "candidates", "both", "matched"):
        preds = leave_one_student_out(data, FoldSettings(signals=("word",), null_source=source))
        effects[source] = {(s, c): t.effect for s, p in preds.items() for c, t in p.tests.items() if t.tested}
    assert effects["students"] == {
        (s, c): t.effect
        for s, p in leave_one_student_out(word_subset, FoldSettings(signals=("word",))).items()
        for c, t in p.tests.items()
        if t.tested
    }  # the shipped null, whatever the queries
    assert len(effects["candidates"]) > len(effects["students"])  # 7 candidates: more pairs reach 3 null models
    assert all(effects["candidates"][k] != e for k, e in effects["students"].items())  # another null, other units
    assert set(effects["both"]) >= set(effects["students"]) | set(effects["candidates"])
    assert effects["matched"] == effects["students"]  # a matched null keeps at least 8: these nulls of 6 stay whole
