"""`distillscope rse ...` end to end: collect, resume, judge, score, attribute; one run on the real embedded model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from distillscope.cli.main import app

JUDGE = 'scripted:{"style": 1, "logic": 2, "content": 1, "overall": 4}'


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISTILLSCOPE_HOME", str(tmp_path / "home"))


def ds(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_collect_resume_judge_score_with_scripted_models(tmp_path: Path) -> None:
    out = str(tmp_path / "run")
    args = [
        "rse",
        "collect",
        "--models",
        "scripted:,scripted:same canned answer",
        "--prompts",
        "builtin",
        "--sample",
        "2",
        "--seed",
        "3",
        "--out",
        out,
        "--json",
    ]
    code, stdout, err = ds(*args)
    assert code == 0, err
    first = json.loads(stdout)
    assert first["n_prompts"] == 6 and [m["ok"] for m in first["models"]] == [6, 6]
    code, stdout, err = ds(*args)
    assert code == 0, err
    assert [(m["skipped"], m["backend_calls"]) for m in json.loads(stdout)["models"]] == [(6, 0), (6, 0)]

    code, stdout, err = ds("rse", "judge", out, "--reference", "scripted:", "--judge", JUDGE, "--json")
    assert code == 0, err
    judged = json.loads(stdout)
    assert judged["n_pairs"] == 6 and judged["scored"] == 12 and judged["orders"] == 2

    code, stdout, err = ds("rse", "score", out, "--json")
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["reference"] == "scripted:"
    assert summary["llm_judge"]["avg"] == {"scripted:same canned answer": 4.0}
    assert {c["prompt_set"] for c in summary["llm_judge"]["table"]} == {
        "builtin:reasoning",
        "builtin:math",
        "builtin:instructions",
    }
    assert summary["llm_judge"]["order_consistency"][0]["rate"] == 0.0
    assert (tmp_path / "run" / "summary.json").exists()
    code, stdout, err = ds("rse", "score", out)
    assert code == 0 and "LLM-judge similarity" in stdout


def test_one_line_errors(tmp_path: Path) -> None:
    code, _, err = ds("rse", "collect", "--models", "scripted:", "--prompts", "nosuch", "--out", str(tmp_path / "r"))
    assert code == 2 and "builtin" in err and "Traceback" not in err
    code, _, err = ds("rse", "score", str(tmp_path / "empty"))
    assert code == 2 and "rse collect" in " ".join(err.split())


def test_sanity_command_fails_a_judge_that_never_says_five() -> None:
    code, stdout, _ = ds("rse", "sanity", "--judge", JUDGE, "--json")
    assert code == 1 and json.loads(stdout)["n_five"] == 0


def test_attribute_reads_a_run_directory(tmp_path: Path) -> None:
    out = str(tmp_path / "run")
    models = "scripted:,scripted:one fixed reply here,scripted:another fixed reply"
    code, _, err = ds("rse", "collect", "--models", models, "--prompts", "builtin", "--sample", "3", "--out", out)
    assert code == 0, err
    code, stdout, err = ds("rse", "attribute", "--responses", out, "--student", "scripted:", "--json")
    assert code == 0, err
    assert {c["candidate"] for c in json.loads(stdout)["candidates"]} >= {"scripted:one fixed reply here"}


def _styled_corpus(path: Path) -> Path:
    """Five vendors with a signature style each; the student copies alpha-1's."""
    styles = {
        "alpha-1": "Certainly! Regarding {t}, delightful indeed. Cheers, friend.",
        "alpha-2": "Certainly! About {t}, delightful stuff. Cheers, pal.",
        "beta": "Well, {t} is a matter of record; consider it. Regards.",
        "gamma": "{t}: short answer, nothing more. End.",
        "delta": "Hmm, {t} puzzles many people, honestly. Thanks!",
    }
    styles["student"] = styles["alpha-1"]
    words = ["x", "y", "z", "w", "v"]
    rows = [
        {
            "model": m,
            "instruction": f"Tell me about topic{i}",
            "output": f"{style.format(t=f'topic{i}')} {words[(i + j) % 5]} {words[(i * j) % 5]}",
        }
        for j, (m, style) in enumerate(styles.items())
        for i in range(30)
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    return path


def test_attribute_with_named_suspects_and_a_null_panel(tmp_path: Path) -> None:
    corpus = str(_styled_corpus(tmp_path / "responses.jsonl"))
    code, stdout, err = ds(
        "rse",
        "attribute",
        "--responses",
        corpus,
        "--student",
        "student",
        "--suspect",
        "alpha-1,alpha-2",
        "--null",
        "beta,gamma,delta",
        "--json",
    )
    assert code == 0, err
    out = json.loads(stdout)
    assert {c["candidate"] for c in out["candidates"]} == {"alpha-1", "alpha-2"}  # null models are not candidates
    assert sum(out["family_probabilities"].values()) == pytest.approx(1.0) and "none" in out["family_probabilities"]
    assert out["candidates"][0]["candidate"] == "alpha-1"
    verdicts = {v["suspect"]: v for v in out["verdicts"]}
    assert set(verdicts) == {"alpha-1", "alpha-2"}
    assert all(v["null_models"] == ["beta", "gamma", "delta"] for v in verdicts.values())
    assert verdicts["alpha-1"]["effect"]["estimate"] > 0 and verdicts["alpha-1"]["p_adjusted"] is not None
    assert all(v["reason"] for v in verdicts.values() if v["verdict"] == "inconclusive")
    assert all(v["caveat"].startswith("only 3 null models") for v in verdicts.values())  # fewer than advised
    assert "needs --null" not in err

    code, stdout, err = ds("rse", "attribute", "--responses", corpus, "--student", "student", "--suspect", "gamma")
    assert code == 0, err  # no null panel: the attribution still runs, the suspect's verdict cannot
    assert "--suspect needs --null" in " ".join(err.split()) and "named suspects" in stdout and "none" in stdout
    assert "inconclusive" in stdout and "gamma: no null panel" in stdout
    args = ["rse", "attribute", "--responses", corpus, "--student", "student", "--suspect", "alpha-2", "--null"]
    args.append("alpha-1,gamma,delta")  # alpha-1, which the student copies, is in the null: alpha-2 cannot stand out
    code, stdout, err = ds(*args)
    assert code == 0, err
    reason = json.loads(ds(*args, "--json")[1])["verdicts"][0]["reason"]
    assert reason.startswith("the target does not stand out") and f"alpha-2: {reason}" in stdout  # in full, one line
    assert "alpha-2: caveat: only" in stdout  # the small null's caveat below the table too


@pytest.mark.slow
def test_collect_and_score_with_the_real_embedded_model(tmp_path: Path) -> None:
    out = tmp_path / "run"
    ref = "embedded:smollm2-135m"
    common = ["--prompts", "builtin", "--sample", "1", "--max-tokens", "32", "--out", str(out), "--json"]
    code, stdout, err = ds("rse", "collect", "--models", f"{ref},scripted:", *common)
    assert code == 0, err
    assert [m["ok"] for m in json.loads(stdout)["models"]] == [3, 3]
    # A replay of the reference's own answers is a perfect "student": similarity 1 on every set.
    code, _, err = ds("rse", "collect", "--models", f"replay:{out / 'responses.jsonl'}#{ref}", *common)
    assert code == 0, err
    code, stdout, err = ds("rse", "score", str(out), "--reference", ref, "--json")
    assert code == 0, err
    summary = json.loads(stdout)
    answers = [json.loads(line) for line in (out / "responses.jsonl").read_text().splitlines()]
    assert all(a["status"] == "ok" and a["response"].strip() for a in answers if a["model"] == ref)
    rows = summary["judge_free"]["table"]
    replay = [r for r in rows if r["model"].startswith("replay:")]
    echo = [r for r in rows if r["model"] == "scripted:"]
    assert len(replay) == 3 and all(r["tfidf"] == pytest.approx(1.0, abs=1e-4) for r in replay)
    assert all(r["tfidf"] < 0.999 for r in echo)
    assert summary["judge_free"]["matrix"]["models"]


def test_score_with_the_embedding_signal(tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers")
    out = str(tmp_path / "run")
    ref, near = "scripted:The sky is blue because air scatters short wavelengths.", "scripted:Air scatters blue light."
    models = f"scripted:,{ref},{near},scripted:Paris is the capital of France."
    code, _, err = ds("rse", "collect", "--models", models, "--prompts", "builtin", "--sample", "2", "--out", out)
    assert code == 0, err
    code, stdout, err = ds(
        "rse",
        "score",
        out,
        "--reference",
        ref,
        "--null",
        "scripted:,scripted:Paris is the capital of France.",
        "--signal",
        "embedding",
        "--json",
    )
    assert code == 0, err
    jf = json.loads(stdout)["judge_free"]
    first_set = jf["table"][0]["prompt_set"]
    emb = {r["model"]: r["embedding"] for r in jf["table"] if r["prompt_set"] == first_set}
    assert jf["signal"] == "embedding" and jf["matrix"]["embedding"]
    assert emb[ref] == pytest.approx(1.0, abs=1e-4)
    assert emb[near] > emb["scripted:Paris is the capital of France."]  # same meaning, other words
    assert set(jf["verdicts"]) == {near}
    code, _, err = ds("rse", "score", out, "--reference", ref, "--signal", "bogus")
    assert code == 2 and "--signal" in err


def test_tables_on_a_narrow_terminal_lose_no_character_of_a_name(monkeypatch: pytest.MonkeyPatch) -> None:
    from distillscope.cli import rse
    from distillscope.cli.common import console

    monkeypatch.setattr(console, "width", 60)
    name = "Mixtral-8x7B-Instruct-v0.1_concise"
    verdict = {
        "suspect": name,
        "verdict": "consistent with distillation",
        "effect": {"estimate": 2.75, "low": 2.31, "high": 3.38},
        "p_value": 0.0258,
        "p_adjusted": 0.0516,
        "null_models": ["a", "b", "c"],
    }
    with console.capture() as captured:
        rse._table("named suspects", [rse._suspect_row(verdict)])
    lines = captured.get().splitlines()
    assert all(len(line) <= 60 for line in lines) and "…" not in "".join(lines)
    body = [line.split("│") for line in lines if line.startswith("│")]
    assert "".join(cells[1].strip() for cells in body) == name  # folded over lines, every character kept
    assert "".join(cells[2].strip() for cells in body).replace(" ", "") == "consistentwithdistillation"
