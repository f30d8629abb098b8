"""The named-suspect test: false-positive rate under a true null, power, Holm, degenerate null panels."""

from __future__ import annotations

import numpy as np
import pytest

from distillscope.rse.fingerprint import (
    Excess,
    answer_frame,
    function_word_skeleton,
    lineage_prompt_sims,
    nearest_share,
    prompt_excess,
)
from distillscope.rse.metrics import PromptSims
from distillscope.rse.suspect import (
    ADVISED_NULL_MODELS,
    fit_suspect_weights,
    panel_fit_pvalue,
    panel_problems,
    run_suspect_test,
    run_suspect_tests,
)
from distillscope.stats import VERDICT_CONSISTENT, VERDICT_INCONCLUSIVE

CANDIDATES = ("suspect", "other-1", "other-2")
WORD = {"word": 1.0}  # the test on a word-excess-like signal (the default test uses the nearest-candidate share)


def _excess(rng: np.random.Generator, shift: float, n_null: int = 12, n_prompts: int = 60) -> Excess:
    """Target and null models whose model-level excess towards the suspect varies like real models do.

    Each model has its own mean excess (drawn from one distribution for the null models and, shifted by
    ``shift`` null SDs, for the target) plus prompt-level noise.
    """
    queries = ("target", *(f"null-{i}" for i in range(n_null)))
    means = rng.normal(0.0, 1.0, size=len(queries))
    means[0] += shift
    values = rng.normal(0.0, 2.0, size=(n_prompts, len(queries), len(CANDIDATES)))
    values[:, :, 0] += means[None, :]
    return Excess(queries, CANDIDATES, values)


def _run(rng: np.random.Generator, shift: float, n_null: int = 12) -> tuple[str, float]:
    excess = {"word": _excess(rng, shift, n_null)}
    null = list(excess["word"].queries[1:])
    v = run_suspect_test(excess, "target", "suspect", null, rng, weights=WORD, n_boot=0)
    assert v.p_value is not None
    return v.verdict, v.p_value


def test_false_positive_rate_is_controlled_when_the_null_is_true() -> None:
    rng = np.random.default_rng(0)
    results = [_run(rng, 0.0) for _ in range(600)]
    fpr = np.mean([v == VERDICT_CONSISTENT for v, _ in results])
    # 600 draws: the 99% binomial band around 0.05 reaches about 0.073.
    assert fpr <= 0.075
    assert 0.35 < np.mean([p for _, p in results]) < 0.65  # p-values roughly uniform under the null


def test_power_where_the_null_is_false() -> None:
    rng = np.random.default_rng(1)
    results = [_run(rng, 4.0) for _ in range(200)]
    assert np.mean([v == VERDICT_CONSISTENT for v, _ in results]) >= 0.8


def test_nearest_share_votes_for_the_nearest_candidate_splits_ties_and_skips_the_query() -> None:
    values = np.array(
        [
            [[0.9, 0.5, 0.1, 0.2]],  # "a" is most similar to itself: the vote goes to "b"
            [[0.1, 0.3, 0.3, 0.2]],  # "b" and "c" tie
        ]
    )
    e = nearest_share(PromptSims(("a",), ("a", "b", "c", "d"), values))
    assert np.isnan(e.values[:, 0, 0]).all()
    assert e.values[0, 0, 1:].tolist() == [1.0, 0.0, 0.0]
    assert e.values[1, 0, 1:].tolist() == [0.5, 0.5, 0.0]
    assert e.mean()[0, 1:].tolist() == [0.75, 0.25, 0.0]


def test_nearest_signal_reuses_the_word_similarities() -> None:
    texts = {
        "student": ["the cat sat on the warm mat today", "rivers flow into the wide sea"],
        "teacher": ["the cat sat on the mat", "rivers flow into the sea"],
        "other": ["stocks fell sharply on monday", "a recipe for bread needs flour"],
    }
    sims = lineage_prompt_sims(texts, ["student"], ["teacher", "other"], ["word", "nearest"])
    assert sims["word"] is sims["nearest"]
    assert nearest_share(sims["nearest"]).mean()[0].tolist() == [1.0, 0.0]


def test_effect_interval_and_holm_across_named_suspects() -> None:
    rng = np.random.default_rng(2)
    e = _excess(rng, 5.0)
    shifted = e.values.copy()
    shifted[:, 0, 1] += 0.5  # the target also leans a little towards other-1
    excess = {"word": Excess(e.queries, e.candidates, shifted)}
    null = list(e.queries[1:])
    verdicts = run_suspect_tests(
        excess, "target", ["suspect", "other-1"], {"suspect": null, "other-1": null}, rng, weights=WORD, n_boot=100
    )
    first = verdicts[0]
    assert first.effect is not None and first.effect.low <= first.effect.estimate <= first.effect.high
    assert all(v.p_adjusted is not None and v.p_value is not None and v.p_adjusted >= v.p_value for v in verdicts)
    assert first.verdict == VERDICT_CONSISTENT


def test_too_few_null_models_is_inconclusive_with_a_reason() -> None:
    rng = np.random.default_rng(3)
    excess = {"word": _excess(rng, 5.0, n_null=2)}
    v = run_suspect_test(excess, "target", "suspect", ["null-0", "null-1"], rng, weights=WORD)
    assert v.verdict == VERDICT_INCONCLUSIVE and "too few null models" in v.reason and v.p_value is None


def test_a_null_panel_smaller_than_advised_gives_a_caveat_that_holm_keeps() -> None:
    rng = np.random.default_rng(5)
    for n_null in (3, ADVISED_NULL_MODELS - 1, ADVISED_NULL_MODELS):
        excess = {"word": _excess(rng, 5.0, n_null=n_null)}
        null = list(excess["word"].queries[1:])
        v = run_suspect_tests(excess, "target", ["suspect"], {"suspect": null}, rng, weights=WORD, n_boot=0)[0]
        assert v.p_value is not None  # tested: the caveat does not make it inconclusive
        if n_null < ADVISED_NULL_MODELS:
            assert v.caveat.startswith(f"only {n_null} null models")
        else:
            assert v.caveat == ""


def test_identical_null_models_are_inconclusive_with_a_reason() -> None:
    rng = np.random.default_rng(4)
    e = _excess(rng, 5.0, n_null=4)
    values = e.values.copy()
    values[:, 1:, :] = values[:, 1:2, :]  # every null model answers like the first one
    v = run_suspect_test(
        {"word": Excess(e.queries, e.candidates, values)}, "target", "suspect", list(e.queries[1:]), rng, weights=WORD
    )
    assert v.verdict == VERDICT_INCONCLUSIVE and "identically" in v.reason


def test_panel_problems_names_constant_and_refusing_models() -> None:
    texts = {
        "constant": ["Hello."] * 30,
        "refuser": ["I'm sorry, but I can't help with that."] * 20 + [f"answer {i}" for i in range(10)],
        "fine": [f"A real answer number {i}." for i in range(30)],
    }
    assert panel_problems(texts) == {"constant": "near-constant answers", "refuser": "mostly refusals"}


def test_prompt_excess_leaves_the_query_and_the_candidate_out_of_the_baseline() -> None:
    values = np.array([[[1.0, 0.9, 0.1, 0.2]]])  # one prompt; query "a" is also the first candidate
    sims = PromptSims(("a",), ("a", "b", "c", "d"), values)
    e = prompt_excess(sims)
    assert np.isnan(e.values[0, 0, 0])
    assert e.values[0, 0, 1] == pytest.approx(0.9 - (0.1 + 0.2) / 2)


def test_fitted_weights_favour_the_informative_signal() -> None:
    rng = np.random.default_rng(5)
    labels = [1] * 50 + [0] * 200
    feats = [{"word": rng.normal(2.0 * y, 1.0), "skeleton": rng.normal(0.0, 1.0)} for y in labels]
    w = fit_suspect_weights(feats, labels, ["word", "skeleton"])
    assert w["word"] > 1.0 and abs(w["skeleton"]) < 0.5 * w["word"]


def test_function_word_skeleton_keeps_structure_and_hides_content() -> None:
    assert function_word_skeleton("Sure! Here are 3 Tips:\n- Drink water") == "sure ! here are D C : NL - C W"


def test_answer_frame_keeps_openers_closers_and_line_shapes_not_content() -> None:
    frame = answer_frame("Sure! Here are tips:\n\n1. Eat well.\n- **Sleep** more\n# End\nI hope this helps!")
    assert frame.startswith("O:sure O:! O:here O:are O:tips O::")
    assert "| LPc L_ LN LB LH LP |" in frame
    assert frame.endswith("E:i E:hope E:this E:helps E:!")
    # Two answers about different topics with the same habits share their frame; the topic does not matter.
    a = answer_frame("Certainly! Here is a plan:\n1. Buy flour.\n2. Bake.\nI hope this helps!")
    b = answer_frame("Certainly! Here is a plan:\n1. Learn Rust.\n2. Ship.\nI hope this helps!")
    assert a.split("|")[1] == b.split("|")[1]


def test_answer_frame_edge_tokens_equal_those_of_the_whole_text() -> None:
    """Long answers are tokenised only near their ends: the edge tokens must be the whole text's, whatever sits
    at the cut (apostrophes, words, punctuation, line breaks, non-ASCII letters)."""
    import random

    from distillscope.rse.fingerprint import _EDGE_CHARS, _FRAME_EDGE, _TOKEN, _edge_tokens

    rng = random.Random(7)
    pieces = ["don't", "it's", "ab", "'", "x'y", "\n", "\n\n", " ", "  ", "!", "**", "1.", "É", "naïve", "你好", "-"]
    sparse = [" " * 40, "\n" * 20, "w" * 60, "long'word" * 5]  # few tokens in a cut's 400 characters
    for _ in range(3000):
        n = rng.choice([5, 50, 200, 400, 900])
        text = "".join(rng.choice(pieces if rng.random() < 0.5 else sparse) for _ in range(n))
        if rng.random() < 0.5:  # put a multi-character token across each cut
            for cut in (_EDGE_CHARS, len(text) - _EDGE_CHARS):
                if 0 < cut < len(text):
                    text = text[: cut - 2] + "can't" + text[cut + 3 :]
        tokens = [t for t in _TOKEN.findall(text) if t != "\n"]
        assert _edge_tokens(text) == (tokens[:_FRAME_EDGE], tokens[-_FRAME_EDGE:]), text


def test_frame_signal_finds_the_model_with_the_same_habits() -> None:
    texts = {
        "student": ["Certainly! Here is how:\n1. Mix water.\n2. Stir.\nI hope this helps!"] * 3,
        "teacher": ["Certainly! Here is how:\n1. Plant seeds.\n2. Wait.\nI hope this helps!"] * 3,
        "other": ["Mix water and stir. That is all there is to it, nothing more."] * 3,
        "third": ["Plant seeds; wait for rain. Good luck with the garden this year."] * 3,
    }
    sims = lineage_prompt_sims(texts, ["student"], ["teacher", "other", "third"], ["frame"])["frame"]
    excess = prompt_excess(sims).mean()[0]
    assert excess[0] > 0.3 and excess[0] > max(excess[1], excess[2])


def test_fit_suspect_weights_ignores_untestable_pairs_and_falls_back_to_defaults() -> None:
    nan = float("nan")
    feats = [{"word": 2.0, "frame": 1.0}, {"word": nan, "frame": 0.0}, {"word": 0.1, "frame": 0.2}]
    assert fit_suspect_weights(feats, [1, 1, 0], ["word", "frame"]) == {"word": 1.0, "frame": 1.0}
    rng = np.random.default_rng(1)
    labels = [i % 2 for i in range(60)]
    feats = [
        {"word": rng.normal(2.0 * y, 1.0), "frame": nan if i == 0 else rng.normal(0.0, 1.0)}
        for i, y in enumerate(labels)
    ]
    w = fit_suspect_weights(feats, labels, ["word", "frame"])
    assert w["word"] > 1.0 and abs(w["frame"]) < 0.5 * w["word"]


def test_pair_features_many_equals_pair_features_pair_by_pair() -> None:
    from distillscope.rse.fingerprint import Excess
    from distillscope.rse.suspect import pair_features, pair_features_many

    rng = np.random.default_rng(3)
    models = tuple(f"m{i}" for i in range(9))
    cands = ("t1", "t2", "m0")
    excess = {k: Excess(models, cands, rng.normal(size=(4, len(models), len(cands)))) for k in ("word", "frame")}
    pools = {"t1": ["m1", "m2", "m3", "m4"], "t2": ["m2", "m5"], "m0": ["m6"]}
    pairs = [("m1", "t1"), ("m7", "t1"), ("m2", "t2"), ("m8", "t2"), ("m6", "m0"), ("m3", "m0")]
    many = pair_features_many(excess, pairs, pools)
    for (s, t), got in zip(pairs, many, strict=True):
        want = pair_features(excess, s, t, [x for x in pools[t] if x != s])
        for name in excess:
            if np.isnan(want[name]):  # no null model left (m6 against its own pool of one)
                assert np.isnan(got[name])
            else:
                assert got[name] == pytest.approx(want[name], rel=1e-9, abs=1e-12)


def test_panel_fit_flags_a_target_unlike_the_panel_and_abstains_on_identical_null_models() -> None:
    """Mean similarity to the null models: the panel's to each other about 0.5 (with spread), a kindred target's
    0.5, a stranger's 0.2. Identical null models leave nothing to test against: p = 1."""
    rng = np.random.default_rng(0)
    null = [f"null-{i}" for i in range(6)]
    queries = ("kin", "stranger", *null)
    values = np.zeros((40, len(queries), len(null)))
    level = {"kin": 0.5, "stranger": 0.2, **{m: 0.5 + 0.03 * rng.standard_normal() for m in null}}
    for qi, q in enumerate(queries):
        values[:, qi, :] = level[q] + 0.01 * rng.standard_normal((40, len(null)))
    sims = PromptSims(queries, tuple(null), values)
    assert panel_fit_pvalue(sims, "stranger", null) < 0.001
    assert panel_fit_pvalue(sims, "kin", null) > 0.2
    flat = PromptSims(queries, tuple(null), np.full_like(values, 0.5))
    assert panel_fit_pvalue(flat, "stranger", null) == 1.0
