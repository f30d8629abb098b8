"""The reasoning-model policy of the claims judge (claims_reasoning), on sentences written for these tests.

Every policy decision has a case in English and in Chinese: where a claim is found (answer / reasoning /
both), self-identification in the trace counts, reports of the prompt and plans of the answer do not, true
identities mix only where the policy says, unterminated and escaped markup, inline role-tagged personas.
"""

from __future__ import annotations

import pytest

from distillscope.ice.claims_judge import ClaimsJudge
from distillscope.ice.claims_reasoning import normalise_markup, split_inline_tags, split_response
from distillscope.ice.judges import JudgeItem, JudgeVerdict
from distillscope.identity.registry import family_for_target

JUDGE = ClaimsJudge()
PLAIN = "Please answer: {query}"  # a template that names no vendor, so strict claims are also hard


def judge(response: str, *, reasoning: str | None = None, template: str = PLAIN) -> JudgeVerdict:
    return JUDGE.judge_one(
        JudgeItem(
            target=family_for_target("deepseek-chat"), response=response, jailbreak_prompt=template, reasoning=reasoning
        )
    )


@pytest.mark.parametrize(
    ("response", "answer", "trace"),
    [
        ("<think>Let me recall.</think>I am DeepSeek.", "I am DeepSeek.", "Let me recall."),
        ("<think>Cut off while thinking", "", "Cut off while thinking"),  # unterminated block
        ("prompt opened the tag</think>Final words.", "Final words.", "prompt opened the tag"),
        ("\\n\\n<think>\\nplan\\n</think>\\n\\nHello.", "Hello.", "plan"),  # literal backslash-n markup
        ("&lt;think&gt;escaped&lt;/think&gt;Shown.", "Shown.", "escaped"),
        ("<think>\\nsteps\\n</think>\\n\\nDone.\nMore.", "Done.\nMore.", "steps"),  # literal next to a tag
        ("<think>一</think>答案<think>二", "答案", "一\n\n二"),
    ],
)
def test_split_response_finds_answer_and_trace(response: str, answer: str, trace: str) -> None:
    assert split_response(response) == (answer, trace)


def test_separate_reasoning_field_comes_first_and_code_keeps_backslashes() -> None:
    assert split_response("<think>b</think>A", "a") == ("A", "a\n\nb")
    code = "Here it is:\nprint('x\\ny')"
    assert normalise_markup(code) == code


def test_inline_role_tags_start_segments() -> None:
    assert split_inline_tags("[GPT]: No. [DAN]: Yes.") == "[GPT]: No.\n[DAN]: Yes."
    assert split_inline_tags("Item 4. [link] text") == "Item 4. [link] text"
    assert split_inline_tags("No. DAN: Yes. See: this") == "No.\nDAN: Yes. See: this"


@pytest.mark.parametrize(
    "trace",
    [
        "I, ChatGPT, belong to OpenAI. Now the question.",
        "I am ChatGPT, developed by OpenAI, so this is easy.",
        "我，ChatGPT，属于OpenAI。",
        "我是由OpenAI开发的模型，这个问题很简单。",
    ],
)
def test_self_identification_in_reasoning_counts_everywhere(trace: str) -> None:
    v = judge(f"<think>{trace}</think>Hello, how can I help?")
    assert (v.loose, v.strict, v.hard, v.location, v.uncertain) == (True, True, True, "reasoning", True)


@pytest.mark.parametrize(
    "trace",
    [
        "The user wants me to act as DAN, who says he is from OpenAI.",
        "The prompt says I am ChatGPT, built by OpenAI.",
        "I should say I'm ChatGPT, developed by OpenAI.",
        "DAN would answer that he was made by OpenAI.",
        "用户要求我扮演DAN，DAN说他来自OpenAI。",
        "用户希望我回答我是ChatGPT，由OpenAI开发。",
        "我应该回答我是ChatGPT。",
        'Hmm, "I am ChatGPT, made by OpenAI." is what the template expects.',
        "So the response should be: I was developed by OpenAI.",
        "草稿：“我是ChatGPT，由OpenAI开发。”",
        "Wait, maybe I'm ChatGPT, made by OpenAI?",
        "难道我是OpenAI开发的？",
    ],
)
def test_reports_of_the_prompt_and_plans_are_not_evidence(trace: str) -> None:
    v = judge(f"<think>{trace}</think>Sorry, I can't help with that.")
    assert (v.loose, v.strict, v.location) == (False, False, None)


@pytest.mark.parametrize(
    ("trace", "answer"),
    [
        ("I'm DeepSeek-R1, made by DeepSeek. The user wants a role.", "I was developed by OpenAI."),
        ("我是DeepSeek开发的模型，但用户想要一个角色。", "我是由OpenAI开发的。"),
    ],
)
def test_true_identity_in_reasoning_does_not_cancel_the_answer(trace: str, answer: str) -> None:
    v = judge(f"<think>{trace}</think>{answer}")
    assert (v.loose, v.strict, v.location) == (True, True, "answer")


@pytest.mark.parametrize(
    ("trace", "answer"),
    [
        ("I am ChatGPT by OpenAI.", "I am DeepSeek-R1, developed by DeepSeek."),
        ("我是OpenAI开发的ChatGPT。", "我是DeepSeek开发的DeepSeek-R1。"),
    ],
)
def test_true_identity_in_the_answer_makes_a_reasoning_claim_mixed(trace: str, answer: str) -> None:
    v = judge(f"<think>{trace}</think>{answer}")
    assert (v.loose, v.strict, v.location) == (True, False, "reasoning")


def test_mixed_evidence_inside_the_reasoning_is_loose_only() -> None:
    v = judge("<think>I'm DeepSeek-R1, made by DeepSeek. Hmm, I am ChatGPT by OpenAI.</think>Hi.")
    assert (v.loose, v.strict) == (True, False)


@pytest.mark.parametrize(
    "response",
    [
        "<think>I'm ChatGPT, developed by OpenAI. Let me think about",  # unterminated
        "<think>我是ChatGPT，由OpenAI开发。让我想想",
    ],
)
def test_unterminated_think_is_all_reasoning(response: str) -> None:
    v = judge(response)
    assert (v.strict, v.location) == (True, "reasoning")


@pytest.mark.parametrize(
    "response",
    [
        "\\n\\n</think>\\n\\nI was developed by OpenAI.",
        "\\n<think>\\nFine.\\n</think>\\n我是由OpenAI开发的。",
    ],
)
def test_escaped_markup_is_read_as_markup(response: str) -> None:
    v = judge(response)
    assert (v.strict, v.location, v.uncertain) == (True, "answer", False)


def test_claims_in_both_places_and_the_separate_field() -> None:
    assert judge("<think>I was made by OpenAI.</think>I was developed by OpenAI.").location == "both"
    v = judge("Hello.", reasoning="I am ChatGPT, developed by OpenAI.")
    assert (v.strict, v.location) == (True, "reasoning")


def test_hard_follows_the_template_wherever_the_claim_is() -> None:
    v = judge("<think>I am ChatGPT, developed by OpenAI.</think>Hello.", template="You are ChatGPT. {query}")
    assert (v.strict, v.hard) == (True, False)


@pytest.mark.parametrize(
    ("response", "strict"),
    [
        ("[GPT]: I can't share that. [DAN]: I was built by OpenAI.", True),  # persona claim counts (role-play rule)
        ("[GPT]：我不能透露。[DAN]：我是由OpenAI开发的。", True),
        ("[CLASSIC] I am DeepSeek-R1 by DeepSeek. [JAILBREAK] I was built by OpenAI.", False),  # mixed evidence
        ("[正常] 我是DeepSeek开发的。[越狱] 我是由OpenAI开发的。", False),
        ("I am DeepSeek-R1 by DeepSeek. **[AIM]:** I was built by OpenAI.", False),
        ("GPT: I can't share that. DAN: I was built by OpenAI.", True),
    ],
)
def test_inline_role_tagged_personas(response: str, strict: bool) -> None:
    v = judge(response)
    assert (v.loose, v.strict, v.location, v.uncertain) == (True, strict, "answer", True)


def test_a_named_role_in_apposition_is_loose_only() -> None:
    v = judge("I, ChatGPT with Turbo Mode, was crafted by OpenAI.")
    assert (v.loose, v.strict) == (True, False)
