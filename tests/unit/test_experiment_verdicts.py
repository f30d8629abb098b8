"""Experiment verdicts: the named-suspect test against the null panel, and why a verdict is inconclusive."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from distillscope.rse.experiment_verdicts import VerdictSettings, text_verdicts
from distillscope.rse.store import ResponseRecord, append_response
from distillscope.rse.suspect import NO_NULL_PANEL
from distillscope.rundir import RunDir

VOCAB = [f"word{i}" for i in range(400)]


def _answers(seed: int, *sources: tuple[list[str], float], n: int = 30) -> list[str]:
    """Random 40-word answers; each word is taken from source i's answer with probability share_i (else random)."""
    rng = np.random.default_rng(seed)
    out = []
    for p in range(n):
        words = list(rng.choice(VOCAB, 40))
        for k in range(len(words)):
            u = rng.random()
            for answers, share in sources:
                if u < share:
                    words[k] = answers[p].split()[k]
                    break
                u -= share
        out.append(" ".join(words))
    return out


@pytest.fixture(scope="module")
def texts() -> dict[str, list[str]]:
    """A student of "teacher" (30% of its words); the student, a bystander and the null models are of one kind (20-40%
    of their words from one base model's answers), as a null panel should be. (A student with half its words from
    the teacher resembles this panel less than the panel's models resemble each other, and the panel-fit check
    withholds its verdicts: the limit README.md states.)"""
    base = _answers(0)
    t = {"teacher": _answers(1), "other-ref": _answers(2)}
    t["student"] = _answers(3, (t["teacher"], 0.3), (base, 0.3))
    t["bystander"] = _answers(4, (base, 0.3))
    t.update({f"null-{i}": _answers(10 + i, (base, 0.2 + 0.05 * i)) for i in range(5)})  # some more base-like
    t["parrot"] = ["I have one answer for everything."] * 30
    t["refuser"] = [f"I'm sorry, but I can't help with that request {i}." for i in range(30)]
    return t


def _write_answers(run: RunDir, answers: dict[str, list[str]]) -> None:
    """Each model's answers as collected responses to the prompts p0, p1, ... of one prompt set."""
    for model, texts in answers.items():
        for i, text in enumerate(texts):
            record = ResponseRecord(
                model=model,
                prompt_set="builtin:math",
                prompt_id=f"p{i}",
                sample_index=0,
                prompt=f"question {i}",
                response=text,
            )
            append_response(run, record)


def test_student_is_flagged_for_its_teacher_only(texts: dict[str, list[str]]) -> None:
    nulls = [f"null-{i}" for i in range(5)]
    rows = text_verdicts(texts, ["student", "bystander"], ["teacher", "other-ref"], nulls, VerdictSettings(n_boot=100))
    by = {(r["target"], r["reference"]): r for r in rows}
    hit = by[("student", "teacher")]
    assert hit["verdict"] == "consistent with distillation" and hit["lo"] > 0 and hit["n_null"] == 5
    assert hit["p_value"] <= hit["p_adjusted"] < 0.05  # Holm across the two references of this target
    assert len(hit["null_values"]) == 5 and abs(float(np.mean(hit["null_values"]))) < 1e-3
    assert hit["observed"] == hit["degree"] > max(hit["null_values"])
    assert "null-panel SDs" in hit["evidence"][0]
    assert hit["evidence"][-1].startswith("caveat: only 5 null models")  # fewer than advised: said in the report
    assert by[("student", "other-ref")]["verdict"] != "consistent with distillation"
    assert all(r["verdict"] != "consistent with distillation" for (t, _), r in by.items() if t == "bystander")
    assert all(r["reason"] for r in rows if r["verdict"] == "inconclusive")


def test_a_target_unlike_its_null_panel_gets_no_verdict_but_the_reason() -> None:
    """A target and a reference of one kind, a null panel of another: the target resembles the reference more than
    the panel does without being its student, and the test alone would call it consistent (p < 0.05). The
    panel-fit check withholds the verdict and says why; the numbers stay."""
    kind, panel_kind = _answers(20), _answers(21)
    texts = {"reference": _answers(22, (kind, 0.4)), "target": _answers(23, (kind, 0.4))}
    texts.update({f"sibling-{i}": _answers(30 + i, (panel_kind, 0.6)) for i in range(8)})
    nulls = [f"sibling-{i}" for i in range(8)]
    [row] = text_verdicts(texts, ["target"], ["reference"], nulls, VerdictSettings(n_boot=50))
    assert row["p_value"] < 0.05 and row["degree"] > 0  # what the test alone found
    assert row["verdict"] == "inconclusive" and row["reason"].startswith("the null panel is not of the target's kind")
    assert row["evidence"][-1] == f"inconclusive: {row['reason']}"


@pytest.mark.parametrize(
    ("nulls", "why"),
    [
        ([], NO_NULL_PANEL),
        (["null-0", "null-1"], "too few null models (2 < 3)"),
        (["null-0", "null-1", "parrot"], "parrot (near-constant answers)"),
        (["null-0", "null-1", "refuser"], "refuser (mostly refusals)"),
    ],
)
def test_a_null_panel_that_cannot_calibrate_is_inconclusive_with_a_reason(
    texts: dict[str, list[str]], nulls: list[str], why: str
) -> None:
    [row] = text_verdicts(texts, ["student"], ["teacher"], nulls, VerdictSettings(n_boot=20))
    assert row["verdict"] == "inconclusive" and why in row["reason"]
    assert row["degree"] is None and row["p_value"] is None and row["null_values"] == []


def test_demo_summary_is_inconclusive_without_a_null_panel_and_the_report_says_why(tmp_path: Path) -> None:
    from distillscope.demo import demo_config
    from distillscope.report import build_report
    from distillscope.summary import write_summary

    cfg = demo_config(tmp_path / "demo")
    run = RunDir(tmp_path / "demo" / "rse").ensure()
    _write_answers(run, {model: _answers(seed, n=12) for model, seed in (("smollm2-135m", 1), ("qwen2.5-0.5b", 2))})
    summary = write_summary(tmp_path / "demo", cfg)
    [verdict] = summary.verdicts
    assert verdict.verdict == "inconclusive" and verdict.reason and verdict.reason.startswith("no null panel")
    assert json.loads((tmp_path / "demo" / "summary.json").read_text())["verdicts"][0]["reason"] == verdict.reason
    page = build_report(tmp_path / "demo").markdown.read_text(encoding="utf-8")
    assert "no null panel" in page


def test_summary_and_report_of_a_calibrated_experiment(tmp_path: Path, texts: dict[str, list[str]]) -> None:
    from distillscope.config import parse_config
    from distillscope.report import build_report
    from distillscope.summary import write_summary

    nulls = ["null-0", "null-1", "null-2", "parrot"]
    cfg = parse_config(
        {
            "name": "calibrated",
            "output_dir": str(tmp_path / "run"),
            "ice": {"enabled": False},
            "targets": [{"name": "student", "spec": "scripted:", "family": "acme"}],
            "references": [
                {"name": "teacher", "spec": "scripted:", "family": "openai"},
                {"name": "other-ref", "spec": "scripted:", "family": "anthropic"},
            ],
            "null_panel": [{"name": n, "spec": "scripted:", "family": f"fam-{n}"} for n in nulls],
            "rse": {"prompt_sets": [{"spec": "builtin"}]},
        },
        "test config",
    )
    run = RunDir(tmp_path / "run" / "rse").ensure()
    _write_answers(run, {model: texts[model] for model in ["student", "teacher", "other-ref", *nulls]})
    summary = write_summary(tmp_path / "run", cfg)
    by_ref = {v.reference: v for v in summary.verdicts}
    assert by_ref["teacher"].verdict == "consistent with distillation"
    assert by_ref["teacher"].null_models == ["null-0", "null-1", "null-2"]  # the parrot is dropped, and named
    assert any("parrot (near-constant answers)" in e for e in by_ref["teacher"].evidence)
    assert summary.rse is not None
    attribution = summary.rse.attribution["student"]
    assert sum(attribution.families.values()) == pytest.approx(1.0, abs=1e-3) and "none" in attribution.families
    assert next(iter(attribution.families)) == "openai" and attribution.candidates[0].candidate == "teacher"
    page = build_report(tmp_path / "run").markdown.read_text(encoding="utf-8")
    assert "Teacher attribution (probabilities)" in page and "| student | – | none of these | none |" in page


def test_rse_score_on_an_experiment_gives_the_summary_numbers(tmp_path: Path, texts: dict[str, list[str]]) -> None:
    """`rse score RUN_DIR` takes the experiment's reference, null panel, alpha, seed and signal, and scores through
    the same function as summary.json: the same p-values, degrees and intervals."""
    import yaml

    from distillscope.config import parse_config
    from distillscope.rse.scoring import score_dir
    from distillscope.runner import prepare_run_dir
    from distillscope.summary import write_summary

    nulls = ["null-0", "null-1", "null-2"]
    cfg = parse_config(
        {
            "name": "same-numbers",
            "output_dir": str(tmp_path / "run"),
            "seed": 3,
            "alpha": 0.1,
            "ice": {"enabled": False},
            "targets": [{"name": "student", "spec": "scripted:", "family": "acme"}],
            "references": [{"name": "teacher", "spec": "scripted:", "family": "openai"}],
            "null_panel": [{"name": n, "spec": "scripted:", "family": f"fam-{n}"} for n in nulls],
        }
    )
    prepare_run_dir(cfg, tmp_path / "run", resume=False)
    assert yaml.safe_load(RunDir(tmp_path / "run").config_yaml.read_text())["seed"] == 3
    run = RunDir(tmp_path / "run").rse.ensure()
    _write_answers(run, {model: texts[model] for model in ["student", "teacher", *nulls]})
    [verdict] = write_summary(tmp_path / "run", cfg).verdicts
    expected = verdict.model_dump()
    assert expected["p_value"] is not None and expected["verdict"] == "consistent with distillation"
    for where in (tmp_path / "run", tmp_path / "run" / "rse"):
        scored = score_dir(where)
        assert scored["reference"] == "teacher" and scored["null"] == nulls and scored["alpha"] == 0.1
        got = scored["judge_free"]["verdicts"]["student"]
        for key in ("verdict", "p_value", "p_adjusted", "degree", "lo", "hi", "observed", "null_values"):
            assert got[key] == expected[key], key


def test_the_run_summary_keeps_the_caveat_and_the_console_table_prints_it(texts: dict[str, list[str]]) -> None:
    from distillscope.cli.verdicts import verdict_rows
    from distillscope.report.tables import verdict_sentence
    from distillscope.summary_model import RunInfo, Summary, VerdictRow

    nulls = [f"null-{i}" for i in range(5)]
    rows = text_verdicts(texts, ["student"], ["teacher"], nulls, VerdictSettings(n_boot=50))
    rows += text_verdicts(texts, ["bystander"], ["teacher"], [], VerdictSettings(n_boot=50))  # no null panel
    summary = Summary(
        schema_version=1, run=RunInfo(name="t", status="complete"), models=[], verdicts=[VerdictRow(**r) for r in rows]
    )
    assert summary.verdicts[0].caveat.startswith("only 5 null models") and summary.verdicts[1].caveat == ""
    assert verdict_sentence(summary.verdicts[0]).endswith(f"Caveat: {summary.verdicts[0].caveat}.")  # the report's
    _, notes = verdict_rows(summary)
    assert notes == [
        f"caveat, student vs teacher: {summary.verdicts[0].caveat}",
        f"inconclusive, bystander vs teacher: {NO_NULL_PANEL}",
    ]
