"""Attribution on a tiny synthetic corpus: a student that copies one teacher's idiosyncrasies."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from distillscope.rse.attribution import (
    NONE,
    AttributionSettings,
    FamilyEvidence,
    attribute_from_files,
    attribute_students,
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


FAMILIES = {"alpha-1": "alpha", "alpha-2": "alpha", "beta": "b", "gamma": "g", "delta": "d"}


def test_student_of_alpha_1_gets_the_alpha_family_with_the_highest_probability() -> None:
    texts = _corpus(np.random.default_rng(0))
    result = attribute_students(texts, ["student"], list(STYLES), FAMILIES, AttributionSettings(n_boot=50))["student"]
    probs = result.family_probabilities
    assert set(probs) == {"alpha", "b", "g", "d", NONE}
    assert sum(probs.values()) == pytest.approx(1.0)
    assert max(probs, key=lambda f: probs[f]) == "alpha"
    assert result.top.candidate == "alpha-1" and result.top.family == "alpha"  # the copied member leads its family
    # Candidates' probabilities share out their families' posteriors: with "none" they sum to 1.
    assert sum(c.probability for c in result.candidates) + probs[NONE] == pytest.approx(1.0)
    assert [c.rank for c in result.candidates] == list(range(1, 6))
    assert result.candidates[-1].probability < result.top.probability


def test_similarity_matrix_is_symmetric() -> None:
    from distillscope.rse.metrics import tfidf_prompt_sims

    texts = _corpus(np.random.default_rng(3))
    models, matrix = similarity_matrix(tfidf_prompt_sims(texts, list(texts), list(texts)))
    assert matrix.shape == (len(models), len(models)) and np.allclose(matrix, matrix.T)


def _write_corpus(tmp_path: Path, texts: dict[str, list[str]]) -> tuple[Path, Path]:
    path = tmp_path / "responses.jsonl"
    rows = [
        {"model": m, "instruction": f"Tell me about {t}", "output": out}
        for m, outs in texts.items()
        for t, out in zip(TOPICS, outs, strict=True)
    ]
    path.write_text("\n".join(json.dumps(r) for r in reversed(rows)), encoding="utf-8")
    families = tmp_path / "families.csv"
    families.write_text("model,family\n" + "".join(f"{m},{f}\n" for m, f in FAMILIES.items()), encoding="utf-8")
    return path, families


def test_attribute_from_files_ranks_teacher_family_first_and_tests_named_suspects(tmp_path: Path) -> None:
    texts = _corpus(np.random.default_rng(2))
    rng = np.random.default_rng(3)  # a third null model, in a style of its own
    texts["epsilon"] = [f"Right, {t}: the gist. {' '.join(rng.choice(['x', 'y', 'z'], size=3))} Bye." for t in TOPICS]
    path, families = _write_corpus(tmp_path, texts)
    result = attribute_from_files(
        [path],
        "student",
        families_csv=families,
        suspects=["alpha-1", "gamma"],
        null_models=["beta", "delta", "epsilon"],
        settings=AttributionSettings(n_boot=100),
    )
    assert result.top.family == "alpha" and result.n_prompts == len(TOPICS)
    assert "student" not in {c.candidate for c in result.candidates}
    by_suspect = {v.suspect: v for v in result.verdicts}
    assert set(by_suspect) == {"alpha-1", "gamma"}
    assert by_suspect["alpha-1"].effect is not None and by_suspect["alpha-1"].effect.estimate > 0
    assert by_suspect["gamma"].verdict != "consistent with distillation"
    for v in result.verdicts:  # Holm across the two named suspects: never below the raw p-value
        assert v.p_adjusted is not None and v.p_value is not None and v.p_adjusted >= v.p_value
        assert v.verdict != "inconclusive" or v.reason


def test_a_families_file_defines_the_candidate_pool_and_the_models_left_out_are_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    texts = _corpus(np.random.default_rng(4))
    texts["stray"] = list(texts["beta"])  # answers in the file, absent from families.csv
    texts["epsilon"] = list(texts["delta"])
    path, families = _write_corpus(tmp_path, texts)
    with caplog.at_level("WARNING", logger="distillscope.rse.attribution"):
        result = attribute_from_files([path], "student", families_csv=families, suspects=["epsilon"])
    names = {c.candidate for c in result.candidates}
    assert names == {*FAMILIES, "epsilon"}  # the families file's models, plus the named suspect; not "stray"
    assert "stray" in caplog.text and "epsilon" not in caplog.text
    everyone = attribute_from_files([path], "student")  # without a families file: every other model
    assert {c.candidate for c in everyone.candidates} == {*FAMILIES, "stray", "epsilon"}


def _noise_evidence(rng: np.random.Generator, fams: tuple[str, ...], calibrated: np.ndarray | None) -> FamilyEvidence:
    """A student's evidence whose classifier and similarity are noise; only ``calibrated`` may carry information."""
    return FamilyEvidence(
        families=fams,
        classifier=np.log(rng.dirichlet(np.ones(len(fams)))),
        similarity=rng.normal(0.0, 1.0, size=len(fams)),
        candidates=fams,
        candidate_similarity=np.zeros(len(fams)),
        calibrated=calibrated,
    )


def test_a_calibrated_evidence_term_gets_its_own_coefficient_and_moves_the_posterior() -> None:
    from distillscope.rse.attribution import family_posterior, fit_attribution_weights

    rng = np.random.default_rng(0)
    fams = ("a", "b", "c")

    def evidence(truth: int, calibrated: bool) -> FamilyEvidence:
        cal = rng.normal(0.0, 1.0, size=3)
        cal[truth] += 3.0  # only the calibrated term knows the teacher; the other two are noise
        return _noise_evidence(rng, fams, cal if calibrated else None)

    truths = [int(t) for t in rng.integers(0, 3, size=60)]
    with_term = [evidence(t, True) for t in truths]
    w = fit_attribution_weights(with_term, [fams[t] for t in truths])
    assert w.calibrated > 1.0 and abs(w.classifier) < w.calibrated
    posteriors = [family_posterior(e, w) for e in with_term]
    hits = sum(max(p, key=p.__getitem__) == fams[t] for p, t in zip(posteriors, truths, strict=True))
    assert hits >= 50
    without = fit_attribution_weights([evidence(t, False) for t in truths], [fams[t] for t in truths])
    assert without.calibrated == 0.0  # evidence without the term fits the three shipped coefficients only


def test_balanced_fit_weighs_every_class_equally() -> None:
    from distillscope.rse.attribution import fit_attribution_weights

    rng = np.random.default_rng(1)
    fams = ("a", "b")

    def evidence(truth: int) -> FamilyEvidence:
        clf, sim = rng.normal(0.0, 1.0, size=2), rng.normal(0.0, 1.0, size=2)
        if truth == 0:
            clf[0] += 2.0  # the classifier finds family a's students
        else:
            sim[1] += 2.0  # only the similarity finds family b's
        return FamilyEvidence(
            families=fams, classifier=clf, similarity=sim, candidates=fams, candidate_similarity=np.zeros(2)
        )

    even = [0, 1] * 20
    ev = [evidence(t) for t in even]
    truths = [fams[t] for t in even]
    assert fit_attribution_weights(ev, truths, balanced=True) == fit_attribution_weights(ev, truths)
    skewed = [0] * 36 + [1] * 4  # most students of family a: the pooled fit leans on the classifier
    ev = [evidence(t) for t in skewed]
    truths = [fams[t] for t in skewed]
    pooled, balanced = fit_attribution_weights(ev, truths), fit_attribution_weights(ev, truths, balanced=True)
    assert balanced.similarity / balanced.classifier > pooled.similarity / pooled.classifier


def test_the_largest_test_score_can_make_none_of_these_likely() -> None:
    from distillscope.rse.attribution import family_posterior, fit_attribution_weights

    rng = np.random.default_rng(2)
    fams = ("a", "b", "c")

    def evidence(truth: str) -> FamilyEvidence:
        cal = rng.normal(0.0, 0.5, size=3)
        if truth != NONE:  # a taught student stands out towards its teacher; a "none" student towards nobody
            cal[fams.index(truth)] += 4.0
        return _noise_evidence(rng, fams, cal)

    truths = [NONE, "a", "b", "c"] * 15
    ev = [evidence(t) for t in truths]
    w = fit_attribution_weights(ev, truths, calibrated_terms=("none",))
    assert w.calibrated == 0.0 and w.none_calibrated < -0.5  # only the utility of "none" uses the scores
    tops = [max(p := family_posterior(e, w), key=p.__getitem__) for e in ev]
    assert sum(top == NONE for top, t in zip(tops, truths, strict=True) if t == NONE) >= 12


def _words(rng: np.random.Generator, source: list[str] | None = None, share: float = 0.0) -> list[str]:
    """30 answers of 40 random words; with ``source``, each word is its answer's word with probability ``share``."""
    vocab = [f"w{i}" for i in range(400)]
    out = []
    for p in range(30):
        words = list(rng.choice(vocab, 40))
        if source is not None:
            words = [s if rng.random() < share else w for w, s in zip(words, source[p].split(), strict=True)]
        out.append(" ".join(words))
    return out


def test_a_suspect_verdict_against_null_models_unlike_the_student_is_withheld_with_the_reason() -> None:
    """The student and the suspect are of one kind, the null models of another: the test alone flags the suspect
    (p < 0.05) though it taught nothing; the panel-fit check withholds the verdict and says why."""
    rng = np.random.default_rng(5)
    kind, panel_kind = _words(rng), _words(rng)
    texts = {"suspect": _words(rng, kind, 0.4), "student": _words(rng, kind, 0.4), "other": _words(rng)}
    nulls = [f"sibling-{i}" for i in range(8)]
    texts.update({m: _words(rng, panel_kind, 0.6) for m in nulls})
    result = attribute_students(
        texts,
        ["student"],
        ["suspect", "other"],
        {"suspect": "s", "other": "o"},
        AttributionSettings(n_boot=50),
        suspects={"student": ["suspect"]},
        null_models=nulls,
    )["student"]
    [v] = result.verdicts
    assert v.p_value is not None and v.p_value < 0.05 and v.effect is not None and v.effect.estimate > 0
    assert v.verdict == "inconclusive" and v.reason.startswith("the null panel is not of the target's kind")
