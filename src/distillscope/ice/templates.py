"""Jailbreak / context templates: the built-in library, loaders (ours and GPTFuzz CSV), and filling.

A template holds the placeholder `{query}` where an identity question goes. `mentions_vendor` is true when
the template itself names a model vendor or product (per the identity registry): a hit on such a template
can never be "hard", because the prompt planted the name.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from distillscope.errors import ConfigError

PLACEHOLDER = "{query}"
GPTFUZZ_PLACEHOLDER = "[INSERT PROMPT HERE]"
# The paper's Hard rule (METHOD §2.7) also treats these as vendor mentions, so we always include them.
_PAPER_KEYWORDS: tuple[str, ...] = ("openai", "chatgpt", "gpt", "anthropic", "claude")


@dataclass(frozen=True, slots=True, kw_only=True)
class Template:
    """One template. `source` says where it came from (builtin, a file, or a mutation)."""

    id: str
    text: str
    style: str = "unknown"
    mentions_vendor: bool = False
    source: str = "builtin"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "style": self.style,
            "mentions_vendor": self.mentions_vendor,
            "source": self.source,
        }


def mentions_vendor(text: str) -> bool:
    """True when `text` names a model vendor or product (registry claim terms, or the paper's keywords)."""
    low = text.lower()
    if any(k in low for k in _PAPER_KEYWORDS):
        return True
    try:
        from distillscope.identity import default_registry
    except ImportError:  # registry not available: the paper's keyword rule alone
        return False
    return bool(default_registry().families_in(text))


def has_placeholder(text: str) -> bool:
    """True when the template still contains `{query}`."""
    return PLACEHOLDER in text


def make_template(template_id: str, text: str, *, style: str = "unknown", source: str = "builtin") -> Template:
    """A Template with `mentions_vendor` computed from its text (the placeholder itself is ignored)."""
    return Template(
        id=template_id,
        text=text,
        style=style,
        mentions_vendor=mentions_vendor(text.replace(PLACEHOLDER, " ")),
        source=source,
    )


def fill(template: str, question: str, *, append_if_missing: bool = False) -> str | None:
    """Put the question in the template; None when the placeholder is missing (unless appending, as the paper)."""
    if PLACEHOLDER in template:
        return template.replace(PLACEHOLDER, question)
    if append_if_missing:
        return f"{template}\n{question}" if template.strip() else question
    return None


def load_templates(source: str | Path = "builtin") -> list[Template]:
    """Templates from "builtin", a GPTFuzz CSV (`id,text`), or our YAML/JSON/JSONL. Missing placeholder: error."""
    if str(source) == "builtin":
        return load_builtin_templates()
    path = Path(source)
    if not path.is_file():
        raise ConfigError(f"template file {path} does not exist; pass --templates builtin or an existing file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        templates = _load_gptfuzz_csv(path)
    elif suffix in (".yaml", ".yml", ".json", ".jsonl"):
        templates = _parse_library(read_structured(path), str(path))
    else:
        raise ConfigError(f"template file {path}: unknown format {suffix!r}; use .csv, .yaml, .json or .jsonl")
    if not templates:
        raise ConfigError(f"template file {path} holds no templates; add at least one or use --templates builtin")
    return templates


def load_builtin_templates() -> list[Template]:
    """The project's own seed templates (role-play, fiction, developer mode, forms, ...)."""
    text = resources.files("distillscope").joinpath("data/ice/templates.yaml").read_text(encoding="utf-8")
    return _parse_library(yaml.safe_load(text), "builtin templates", source="builtin")


def read_structured(path: Path, kind: str = "template") -> Any:
    """A YAML, JSON or JSONL file's content (JSONL: a list of objects); ConfigError naming the file on bad syntax."""
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".jsonl":
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        return json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"{kind} file {path} is unreadable ({exc}); fix its syntax") from exc


def _parse_library(raw: Any, where: str, *, source: str | None = None) -> list[Template]:
    rows = raw.get("templates") if isinstance(raw, dict) else raw
    if rows is None:
        return []
    if not isinstance(rows, list):
        raise ConfigError(f"{where}: expected a list of templates under 'templates'")
    out = []
    for n, row in enumerate(rows):
        if not isinstance(row, dict) or not row.get("text"):
            raise ConfigError(f"{where}: template #{n} needs a 'text' field containing {PLACEHOLDER}")
        tid = str(row.get("id") or f"t{n:03d}")
        text = str(row["text"]).replace(GPTFUZZ_PLACEHOLDER, PLACEHOLDER)
        _require_placeholder(tid, text, where)
        out.append(make_template(tid, text, style=str(row.get("style") or "unknown"), source=source or where))
    _check_unique(out, where)
    return out


def _load_gptfuzz_csv(path: Path) -> list[Template]:
    """GPTFuzz seeds: columns `id,text`, placeholder `[INSERT PROMPT HERE]` (converted to `{query}`)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or "text" not in reader.fieldnames:
                raise ConfigError(f"template file {path} has no 'text' column; a GPTFuzz CSV has header 'id,text'")
            rows = [dict(r) for r in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"template file {path} is unreadable ({exc})") from exc
    out = []
    for n, row in enumerate(rows):
        tid = f"gptfuzz-{row.get('id') or n}"
        text = str(row.get("text") or "").replace(GPTFUZZ_PLACEHOLDER, PLACEHOLDER)
        _require_placeholder(tid, text, str(path))
        out.append(make_template(tid, text, style="gptfuzz", source=str(path)))
    return out


def _require_placeholder(tid: str, text: str, where: str) -> None:
    if PLACEHOLDER not in text:
        raise ConfigError(
            f"{where}: template {tid!r} has no placeholder; put {PLACEHOLDER} (or {GPTFUZZ_PLACEHOLDER}) "
            "where the question goes"
        )


def _check_unique(templates: list[Template], where: str) -> None:
    seen: set[str] = set()
    for t in templates:
        if t.id in seen:
            raise ConfigError(f"{where}: template id {t.id!r} appears twice; ids must be unique")
        seen.add(t.id)
