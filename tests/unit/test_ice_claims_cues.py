"""The claims judge's shortcuts (folded cues, fast sentence split) never change what the patterns find."""

from __future__ import annotations

import random
import re

import pytest

from distillscope.ice import claims, claims_origin, claims_text
from distillscope.ice.claims_context import mentions_persona
from distillscope.ice.claims_fold import fold

# Sentences that the anchors match (and some near misses), written for these tests: every anchor's cues must be
# found wherever the anchor matches, whatever the case, spacing or punctuation.
SENTENCES = [
    "I am ChatGPT, a language model.",
    "I'M CHATGPT, BUILT BY OPENAI.",
    "I’m an AI language model developed by OpenAI.",
    "Im gpt-4 lol",
    "I was trained by a team of researchers at OpenAI.",
    "I come from OpenAI's labs.",
    "We are part of Anthropic.",
    "I am affiliated with Google DeepMind.",
    "My creators at OpenAI built me to be helpful.",
    "Our parent company is Meta.",
    "As a ChatGPT model, I cannot browse the web.",
    "AS AN AI DEVELOPED BY OPENAI, I cannot do that.",
    "OpenAI created me in 2022.",
    "The team behind me is Anthropic.",
    "OpenAI is the company that built and trained me.",
    "I can't do that, it goes against OpenAI's content policy.",
    "My development team,is OpenAI.",
    "Your development team is OpenAI.",
    "The technology behind this AI model was developed by OpenAI.",
    "the platform that I use is developed by OpenAI",
    "My core technology is based on GPT-4.",
    "I rely on OpenAI for updates.",
    "I belong to OpenAI.",
    "I, ChatGPT, belong to OpenAI.",
    "I,ChatGPT with DAN Mode, am free.",
    "My name is Claude.",
    "Call me GPT.",
    "This is ChatGPT speaking.",
    "Known as Bard, I answer questions.",
    "My companys were founded by hackers.",
    "İ am ChatGPT, made by OpenAI.",
    "I don't have a parent company.",
    "I was made by myself.",
    "I am not affiliated with any company.",
    "Our headquarters are in New York.",
    "我是ChatGPT，一个人工智能助手。",
    "我的开发者是OpenAI。",
    "我没有所属公司。",
    "我的开发团队位于日本。",
    "ChatGPT is made by OpenAI, a company in San Francisco.",
    "I cannot help with that request.",
]


@pytest.mark.parametrize("text", SENTENCES)
def test_anchor_cues_are_found_wherever_the_anchor_matches(text: str) -> None:
    low = fold(text)
    words = set(claims._WORD.findall(low))
    for rx, cues in claims._ANCHOR_CUES.items():
        if rx.search(text):
            assert claims._has_cues(cues, low, words), rx.pattern[:60]
    if any(rx.search(text) for rx in claims._EN_ANCHORS):
        assert claims._EN_FP.search(low)
    if claims._PLACE_CLAIM.search(text):
        assert claims._PLACE_CLAIM_CUE.search(low)
    if claims_origin._DENIAL.search(text):
        assert claims_origin._DENIAL_WORD.search(low) and claims_origin._DENIAL_SPEAKER.search(low)


def test_the_cue_sentences_exercise_every_cued_anchor() -> None:
    for rx in claims._ANCHOR_CUES:
        assert any(rx.search(s) for s in SENTENCES), rx.pattern[:60]


def test_fold_lowers_letters_as_re_ignorecase_does_and_keeps_positions() -> None:
    every_char = "".join(chr(c) for c in range(0x20, 0x10000) if not 0xD800 <= c < 0xE000)
    for letter in "abcdefghijklmnopqrstuvwxyz":
        for char in re.findall(letter, every_char, re.IGNORECASE):
            assert fold(char) == letter, (letter, char)
    assert len(fold(every_char)) == len(every_char)
    assert fold("İSTANBUL ſ Kelvin") == "istanbul s kelvin"


def test_sentences_splits_like_the_sentence_pattern() -> None:
    rng = random.Random(12)
    alphabet = ["a", "B", ".", "!", "?", "。", "！", "？", "\n", " ", "\t", '"', "“", "[", "("]
    texts = ["One. Two! three? 四。五！\n\nSix.  \n Seven", "a!\nb", "。。\n\n！x", ""]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16))) for _ in range(20_000)]
    for text in texts:
        assert claims_text.sentences(text) == claims_text._SENT.split(text), repr(text)


def test_place_patterns_mean_the_same_lower_cased() -> None:
    assert not any(re.search(r"\\[A-Z]", p) for p in claims_origin._PLACES)
    for text in ("Our team is in Silicon Valley.", "我们的总部在北京。", "We live on MARS.", "in the U.S.A."):
        assert claims_origin.places_in(text)
    assert claims_origin.places_in("I am a helpful assistant.") == frozenset()


def test_persona_mentions_ignore_case() -> None:
    assert mentions_persona("CHATGPT was built by OpenAI.", ("ChatGPT",))
    assert not mentions_persona("I was built by OpenAI.", ("ChatGPT", "DAN"))
    assert not mentions_persona("DAN was built by OpenAI.", ())
    assert mentions_persona("Σύστημα was built by OpenAI.", ("Σύστημα",))  # non-ASCII names go to the patterns
