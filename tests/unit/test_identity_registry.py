"""Identity registry: name resolution, aliases, overrides, claim-term search."""

from __future__ import annotations

import pytest

from distillscope.errors import ConfigError
from distillscope.identity import (
    FamilyOverride,
    IdentityRegistry,
    default_registry,
    family_for_target,
    get_family,
    resolve_family,
)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("deepseek-chat", "deepseek"),
        ("qwen2.5-14b", "qwen"),
        ("claude-3-5-sonnet-20241022", "claude"),
        ("gpt4_0314", "gpt"),
        ("glm-4-plus", "glm"),
        ("llama3.1-70b-instruct", "llama"),
        ("Phi4", "phi"),
        ("embedded:smollm2-135m", "smollm"),
        ("embedded:qwen2.5-0.5b", "qwen"),
        ("openai:gpt-4o-mini", "gpt"),
        ("deepseek-r1-distill-qwen-7b", "deepseek"),
        ("meta-llama/Llama-3.1-8B-Instruct", "llama"),
        ("o1-mini", "gpt"),
        ("QwQ-32B", "qwen"),
        ("doubao-pro-32k", "doubao"),
        ("mixtral-8x7b", "mistral"),
        ("yi-34b-chat", "yi"),
        ("zephyr-7b-beta", "smollm"),
        ("gemini-2.0-flash-exp", "gemini"),
    ],
)
def test_resolve_family(name: str, key: str) -> None:
    fam = resolve_family(name)
    assert fam is not None and fam.key == key


def test_unknown_name_resolves_to_none() -> None:
    assert resolve_family("my-own-model-v1") is None
    assert resolve_family("dolphin-2.2") is None  # "phi" inside a word is not Phi


def test_registry_has_many_families_with_facts() -> None:
    fams = default_registry().families
    assert len(fams) >= 30
    assert all(f.fact and f.vendor for f in fams)


def test_get_family_accepts_vendor_aliases() -> None:
    assert get_family("OpenAI").key == "gpt"
    assert get_family("anthropic").key == "claude"
    with pytest.raises(ConfigError, match="unknown model family"):
        get_family("nope")


def test_families_in_english_and_chinese() -> None:
    reg = default_registry()
    found = [f.key for _, f in reg.families_in("I was built by Open AI, not 阿里云 or 智谱AI; see GPT-4.")]
    assert found == ["gpt", "qwen", "glm"]
    assert reg.families_in("PersonGPT and the metaverse") == []  # persona names and common words
    assert [f.key for _, f in reg.families_in("由字节跳动开发的豆包")] == ["doubao"]


def test_with_overrides_adds_and_changes_families() -> None:
    reg = IdentityRegistry.builtin().with_overrides(
        [
            FamilyOverride(
                key="acme",
                vendor="Acme Labs",
                fact="I am Acme, made by Acme Labs.",
                patterns=["acme"],
                terms=["Acme Labs"],
            ),
            FamilyOverride(key="qwen", fact="I am Qwen from Alibaba."),
        ]
    )
    acme = reg.resolve("acme-7b")
    assert acme is not None and acme.vendor == "Acme Labs"
    assert reg.get("qwen").fact == "I am Qwen from Alibaba."
    assert [f.key for _, f in reg.families_in("made by Acme Labs")] == ["acme"]
    assert default_registry().get("qwen").fact != "I am Qwen from Alibaba."  # the built-in one is untouched


def test_new_override_needs_vendor_and_fact() -> None:
    with pytest.raises(ConfigError, match="fact"):
        IdentityRegistry.builtin().with_overrides([FamilyOverride(key="acme", vendor="Acme")])


def test_unknown_target_without_fact_names_the_option() -> None:
    with pytest.raises(ConfigError, match="--fact"):
        family_for_target("my-own-model-v1")
    fam = family_for_target("my-own-model-v1", fact="I am Mine, made by Me Inc.")
    assert fam.fact == "I am Mine, made by Me Inc."
