"""The built-in template library, the GPTFuzz CSV loader, vendor flags and filling."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from distillscope.errors import ConfigError
from distillscope.ice.templates import (
    PLACEHOLDER,
    fill,
    load_builtin_templates,
    load_templates,
    make_template,
    mentions_vendor,
)

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
VENDOR_TEMPLATES = {"compare-chatbots", "openai-dev-mode", "claude-roleplay-check"}


def test_builtin_library_size_styles_and_placeholders() -> None:
    ts = load_builtin_templates()
    assert len(ts) >= 30 and len({t.id for t in ts}) == len(ts)
    assert all(t.text.count(PLACEHOLDER) == 1 for t in ts)
    styles = Counter(t.style for t in ts)
    for style in (
        "role-play",
        "fiction",
        "hypothetical",
        "developer mode",
        "continuation",
        "translation",
        "interview",
        "system-prompt override",
        "json/form filling",
    ):
        assert styles[style] >= 1, style


def test_vendor_flag_is_computed_from_the_registry() -> None:
    ts = {t.id: t for t in load_builtin_templates()}
    assert {i for i, t in ts.items() if t.mentions_vendor} == VENDOR_TEMPLATES
    assert mentions_vendor("Are you made by Alibaba?") and mentions_vendor("Speak like GPT-4 would")
    assert mentions_vendor("你是通义千问吗？")
    assert not mentions_vendor("Tell me about yourself, honestly.")
    assert make_template("x", "You are {query} DeepSeek").mentions_vendor
    assert not make_template("x", "Answer: {query}").mentions_vendor


def test_gptfuzz_csv_loader_on_the_real_seed_file() -> None:
    path = SHARED / "ice" / "gptfuzz_seed_templates.csv"
    if not path.exists():
        pytest.skip(f"validation data {path} is absent")
    ts = load_templates(path)
    assert len(ts) == 77 and ts[0].id == "gptfuzz-0"
    assert all(PLACEHOLDER in t.text and "[INSERT PROMPT HERE]" not in t.text for t in ts)
    assert sum(t.mentions_vendor for t in ts) >= 65  # the paper counts 65 naming OpenAI/ChatGPT/GPT


def test_template_without_placeholder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text('id,text\n0,"Say [INSERT PROMPT HERE]"\n1,"No marker here"\n')
    with pytest.raises(ConfigError, match=r"template 'gptfuzz-1' has no placeholder; put \{query\}"):
        load_templates(tmp_path / "t.csv")
    (tmp_path / "t.yaml").write_text("templates:\n- {id: a, text: 'plain text'}\n")
    with pytest.raises(ConfigError, match="'a' has no placeholder"):
        load_templates(tmp_path / "t.yaml")


def test_empty_and_malformed_template_files(tmp_path: Path) -> None:
    (tmp_path / "e.yaml").write_text("templates: []\n")
    with pytest.raises(ConfigError, match="holds no templates"):
        load_templates(tmp_path / "e.yaml")
    (tmp_path / "b.yaml").write_text("templates: [unclosed\n")
    with pytest.raises(ConfigError, match="unreadable"):
        load_templates(tmp_path / "b.yaml")
    (tmp_path / "n.csv").write_text("id,body\n0,x\n")
    with pytest.raises(ConfigError, match="'text' column"):
        load_templates(tmp_path / "n.csv")
    with pytest.raises(ConfigError, match="does not exist"):
        load_templates(tmp_path / "none.yaml")


def test_fill_replaces_skips_or_appends() -> None:
    assert fill("A {query} B {json: 1}", "Q?") == "A Q? B {json: 1}"
    assert fill("no marker", "Q?") is None
    assert fill("no marker", "Q?", append_if_missing=True) == "no marker\nQ?"
