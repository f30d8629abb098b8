"""HTML and Markdown rendering of report sections (split from render.py to keep modules small).

The HTML is self-contained: inline CSS, figures as base64 PNG, one tiny inline script that checks on
load that every figure decoded (its result goes to <div id="render-check">, read by the browser test).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import distillscope.report.tables as T
from distillscope.summary_model import RunInfo, Summary


@dataclass(frozen=True)
class FigureBlock:
    """A saved figure with its title and a caption that says how to read it."""

    key: str
    title: str
    caption: str
    png: Path


@dataclass(frozen=True)
class Note:
    """A short paragraph, e.g. why a figure was skipped."""

    text: str


Block = FigureBlock | T.Table | Note


@dataclass(frozen=True)
class Section:
    """A titled part of the report."""

    anchor: str
    title: str
    blocks: tuple[Block, ...]


def png_data_uri(path: Path) -> str:
    """A base64 data URI of a PNG file, for a self-contained HTML page."""
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def esc(text: object) -> str:
    """HTML-escape any value."""
    return html.escape(str(text), quote=True)


CSS = """
:root{--ink:#1d2433;--muted:#5b6475;--line:#dde2ea;--accent:#0b5cad;--bg:#f6f8fb}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);
background:#fff}
main{max-width:1120px;margin:0 auto;padding:28px 32px 48px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:36px 0 12px;padding-bottom:6px;
border-bottom:2px solid var(--line)}h3{font-size:16px;margin:22px 0 8px}
.meta{color:var(--muted);font-size:13px;margin:0 0 18px}
.answer{background:var(--bg);border:1px solid var(--line);border-left:5px solid var(--accent);border-radius:6px;
padding:14px 18px;margin:18px 0}
.answer ul{margin:6px 0 0;padding-left:20px}.answer li{margin:4px 0}
.note{background:#fff8e6;border:1px solid #f0d9a0;border-radius:6px;padding:10px 14px;font-size:13.5px;margin:14px 0}
.warn{background:#fdecea;border:1px solid #f5c2bd;border-radius:6px;padding:10px 14px;margin:14px 0}
.skip{color:var(--muted);font-style:italic;font-size:13.5px}
nav{font-size:13.5px;margin:8px 0 0}nav a{color:var(--accent);margin-right:14px;text-decoration:none}
table{border-collapse:collapse;width:100%;font-size:13px;margin:8px 0 4px;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{background:var(--bg);font-weight:600}tbody tr:nth-child(even){background:#fbfcfe}
.tcap{color:var(--muted);font-size:12.5px;margin:2px 0 14px}
figure{margin:18px 0 22px}figure img{max-width:100%;height:auto;border:1px solid var(--line);border-radius:4px}
figcaption{color:var(--muted);font-size:13px;margin-top:6px}figcaption b{color:var(--ink)}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;white-space:nowrap}
.b-consistent{background:#fbe3d6;color:#8a3300}.b-inconclusive{background:#fdf1d3;color:#7a5600}
.b-none{background:#dcecf9;color:#0b4f8a}
td.nw{white-space:nowrap}
footer{color:var(--muted);font-size:12px;margin-top:40px;border-top:1px solid var(--line);padding-top:10px}
@media print{main{max-width:none;padding:0}figure{break-inside:avoid}}
"""

CHECK_SCRIPT = """
window.addEventListener("load", function () {
  var bad = [], imgs = document.images;
  for (var i = 0; i < imgs.length; i++) {
    if (!imgs[i].complete || imgs[i].naturalWidth === 0) { bad.push(imgs[i].alt); }
  }
  var el = document.getElementById("render-check");
  el.textContent = bad.length ? "render-check: broken " + bad.join(" | ") : "render-check: ok " + imgs.length;
  if (bad.length) { console.error("report figures failed to render: " + bad.join(" | ")); }
});
"""

WRAP_COLUMNS = frozenset({"Evidence", "Text", "Meaning"})
BADGE = {"consistent with distillation": "b-consistent", "inconclusive": "b-inconclusive", "no evidence": "b-none"}


def _esc(text: object) -> str:
    return esc(text)


def _meta(summary: Summary) -> str:
    run = summary.run
    parts = [
        f"started {run.started or '–'}",
        f"finished {run.finished or 'not finished'}",
        f"status {run.status}",
        f"distillscope {run.distillscope_version or '–'}",
        f"config {run.config_hash or '–'}",
    ]
    return " · ".join(parts)


def _models_line(summary: Summary) -> str:
    groups: dict[str, list[str]] = {}
    for name, role in sorted(T.model_roles(summary).items()):
        groups.setdefault(role or "other", []).append(name)
    labels = {"target": "Targets", "reference": "References", "null": "Null panel"}
    order = {"target": 0, "reference": 1, "null": 2}
    ranked = sorted(groups.items(), key=lambda kv: (order.get(kv[0], 9), kv[0]))
    return "; ".join(f"{labels.get(r, r)}: {', '.join(n)}" for r, n in ranked)


def _html_table(t: T.Table) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in t.header)
    body = []
    for row in t.rows:
        cells = []
        for h, c in zip(t.header, row, strict=True):
            inner = f'<span class="badge {BADGE[c]}">{_esc(c)}</span>' if h == "Verdict" and c in BADGE else _esc(c)
            cells.append(f"<td>{inner}</td>" if h in WRAP_COLUMNS else f'<td class="nw">{inner}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f'<p class="tcap">{_esc(t.caption)}</p>' if t.caption else ""
    return (
        f'<h3 id="t-{_esc(t.key)}">{_esc(t.title)}</h3><table><thead><tr>{head}</tr></thead><tbody>'
        + "".join(body)
        + f"</tbody></table>{cap}"
    )


def _html_block(block: object) -> str:
    if isinstance(block, FigureBlock):
        return (
            f'<figure id="f-{_esc(block.key)}"><img src="{png_data_uri(block.png)}" alt="{_esc(block.title)}"'
            f" {_display_size(block.png)}>"
            f"<figcaption><b>{_esc(block.title)}.</b> {_esc(block.caption)}</figcaption></figure>"
        )
    if isinstance(block, Note):
        return f'<p class="skip">{_esc(block.text)}</p>'
    assert isinstance(block, T.Table)
    return _html_table(block)


def _display_size(png: Path) -> str:
    """width/height attributes showing a 144-dpi PNG at 108 CSS px per inch (sharp on high-density screens)."""
    import struct

    width, height = struct.unpack(">II", png.read_bytes()[16:24])
    return f'width="{width * 3 // 4}" height="{height * 3 // 4}"'


def _answers_html(summary: Summary) -> str:
    heads = T.headline_verdicts(summary)
    if not heads:
        return (
            '<div class="answer"><p>This run produced no verdicts (no target was compared with a reference).</p></div>'
        )
    items = "".join(
        f'<li><b>{_esc(v.target)}</b> <span class="badge {BADGE.get(v.verdict, "b-none")}">'
        f"{_esc(v.verdict)}</span> {_esc(T.verdict_text(v))}</li>"
        for v in heads
    )
    return f'<div class="answer"><b>Answer, per target</b><ul>{items}</ul></div>'


def run_banner(run: RunInfo) -> tuple[str, str] | None:
    """(status, why) of the warning a report opens with for a failed or partial run; None for a complete one."""
    if run.status == "failed":
        return ("failed", f"{run.failure or 'a stage failed'}. Numbers rest on the calls that succeeded.")
    if run.status == "partial":
        return ("partial", "some stages did not finish, so numbers may rest on fewer samples than configured.")
    return None


def to_html(summary: Summary, sections: Sequence[Section], note: str) -> str:
    """The self-contained HTML page."""
    run = summary.run
    title = f"distillscope report — {run.name}"
    nav = "".join(f'<a href="#{s.anchor}">{_esc(s.title)}</a>' for s in sections)
    banner = run_banner(run)
    partial = "" if banner is None else f'<div class="warn">This run is <b>{banner[0]}</b>: {_esc(banner[1])}</div>'
    body = [
        f"<h1>{_esc(title)}</h1>",
        f'<p class="meta">{_esc(_meta(summary))}<br>{_esc(_models_line(summary))}</p>',
        partial,
        f'<nav><a href="#verdicts">Verdicts</a>{nav}</nav>',
        '<h2 id="verdicts">Verdicts</h2>',
        _answers_html(summary),
        _html_table(T.verdict_table(summary)),
        f'<div class="note"><b>Responsible use.</b> {_esc(note)}</div>',
    ]
    for s in sections:
        body.append(f'<h2 id="{_esc(s.anchor)}">{_esc(s.title)}</h2>')
        body.extend(_html_block(b) for b in s.blocks)
    body.append(f"<footer>{_esc(_footer(summary))}</footer>")
    body.append('<div id="render-check" hidden>render-check: pending</div>')
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_esc(title)}</title>\n<style>{CSS}</style>\n<script>{CHECK_SCRIPT}</script>\n</head>\n"
        "<body>\n<main>\n" + "\n".join(b for b in body if b) + "\n</main>\n</body>\n</html>\n"
    )


def _footer(summary: Summary) -> str:
    from distillscope import __version__

    return (
        f"Rebuilt from summary.json of run '{summary.run.name}' by distillscope {__version__}. "
        "Figures are also saved as PNG and SVG in figures/; every score is in scores.csv."
    )


def _md_cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def _md_table(t: T.Table) -> str:
    lines = [
        f"### {t.title}",
        "",
        "| " + " | ".join(_md_cell(h) for h in t.header) + " |",
        "|" + "|".join("---" for _ in t.header) + "|",
    ]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in t.rows]
    if t.caption:
        lines += ["", f"*{_md_cell(t.caption)}*"]
    return "\n".join(lines)


def _md_block(block: object, out_dir: Path) -> str:
    if isinstance(block, FigureBlock):
        rel = block.png.relative_to(out_dir).as_posix()
        return f"![{block.title}]({rel})\n\n**{block.title}.** {block.caption}"
    if isinstance(block, Note):
        return f"_{block.text}_"
    assert isinstance(block, T.Table)
    return _md_table(block)


def to_markdown(summary: Summary, sections: Sequence[Section], note: str, out_dir: Path) -> str:
    """The Markdown report; figures are referenced by relative path under figures/."""
    run = summary.run
    heads = T.headline_verdicts(summary)
    answers = [f"- {T.verdict_sentence(v)}" for v in heads] or ["- This run produced no verdicts."]
    parts = [f"# distillscope report — {run.name}", f"{_meta(summary)}  \n{_models_line(summary)}"]
    banner = run_banner(run)
    if banner is not None:
        parts.append(f"> **{banner[0].capitalize()} run:** {banner[1]}")
    parts += ["## Verdicts", "\n".join(answers), _md_table(T.verdict_table(summary)), f"> **Responsible use.** {note}"]
    for s in sections:
        parts.append(f"## {s.title}")
        parts.extend(_md_block(b, out_dir) for b in s.blocks)
    parts.append(f"---\n\n{_footer(summary)}")
    return "\n\n".join(parts) + "\n"
