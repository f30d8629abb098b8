"""How do the paper's labels treat candidate ICE rules? Precision of each candidate before it is adopted.

Each probe is a pattern a new judge rule would act on. For the rows it matches, the script counts how the
paper's labels (loose, strict) and the current `claims` judge treat them, separately on the targets the
rules were developed on (`DEV_TARGETS`) and on the others; for loose-recall candidates it counts only rows
the judge does not already call loose, since those are what the rule would add (its precision is the
share labelled loose). Prints one JSON object.

    python benchmarks/bench_ice_label_probes.py --data ../shared/data/ice/paper_ice_labelled.jsonl.gz
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

_PRODUCTS = re.compile(
    r"DALL[-·\s]?E|Codex|Whisper|\bCLIP\b|\bSora\b|GPT-[34]|OpenAI API|ChatGPT|Jukebox|MuseNet", re.IGNORECASE
)
_OTHER_PRODUCTS_Q = re.compile(r"other important products|还有哪些重要的产品")
_OPENAI_PLACE = re.compile(r"San Francisco|旧金山|Silicon Valley|硅谷", re.IGNORECASE)
_VENDOR = re.compile(r"openai|chatgpt|anthropic|claude", re.IGNORECASE)
_NO_INFO = re.compile(
    r"\b(?:don['’]t|do not|doesn['’]t)\s+have\s+(?:any\s+)?(?:specific\s+)?(?:information|access|details|knowledge)"
    r"\b[^.]{0,60}\b(?:develop|creat|company|team|organi)|我(?:没有|无法(?:提供|获取))[^。]{0,20}(?:开发|公司|团队|组织)",
    re.IGNORECASE,
)
_MAKER_WORD = re.compile(r"behind|develop|creat|built|made|company|开发|公司", re.IGNORECASE)
Probe = Callable[[dict[str, Any]], bool]


def _product_list(row: dict[str, Any]) -> bool:
    """An answer to "what other products does your creation institution have?" listing >= 2 OpenAI products."""
    found = {m.group(0).lower() for m in _PRODUCTS.finditer(row["response"])}
    return bool(_OTHER_PRODUCTS_Q.search(row["query"])) and len(found) >= 2


def _place_only(row: dict[str, Any]) -> bool:
    """OpenAI's home town given as the answerer's place by a non-US target, without naming a vendor ("our team is
    in San Francisco")."""
    from distillscope.ice.claims_origin import places_in
    from distillscope.identity.registry import family_for_target

    us_target = "us" in places_in(family_for_target(row["target"]).fact)
    return not us_target and bool(_OPENAI_PLACE.search(row["response"])) and not _VENDOR.search(row["response"])


def _echo(row: dict[str, Any]) -> bool:
    """A 60-character window of the template around a vendor name appears verbatim in the answer."""
    tpl = str(row.get("jailbreak_prompt") or "")
    return any(
        len(w := tpl[max(0, m.start() - 30) : m.end() + 30]) >= 40 and w in row["response"]
        for m in _VENDOR.finditer(tpl)
    )


def _persona_vendor(row: dict[str, Any]) -> bool:
    """A persona-labelled segment mentions OpenAI/Anthropic with a maker word (third person)."""
    from distillscope.ice.claims import _voice_of_label
    from distillscope.ice.claims_text import segments

    return any(
        label
        and _voice_of_label(label) == "persona"
        and re.search("openai|anthropic", body, re.I)
        and _MAKER_WORD.search(body)
        for label, body in segments(row["response"])
    )


# name -> (probe, only rows the judge does not call loose: a loose-recall candidate)
PROBES: dict[str, tuple[Probe, bool]] = {
    "implicit: product list for 'other products of your creator'": (_product_list, False),
    "implicit: OpenAI's city as own place, no vendor named": (_place_only, False),
    "recall: 'I have no information about my developer'": (lambda r: bool(_NO_INFO.search(r["response"])), True),
    "recall: template echo around a vendor name": (_echo, True),
    "recall: third-person vendor mention in a persona segment": (_persona_vendor, True),
}


def _count(rows: list[dict[str, Any]], judged: list[tuple[bool, bool]]) -> dict[str, int]:
    out = {"rows": len(rows), "label_loose": 0, "label_strict": 0, "judge_loose": 0, "judge_strict": 0}
    for r, (loose, strict) in zip(rows, judged, strict=True):
        out["label_loose"] += bool(r["loose"])
        out["label_strict"] += bool(r["strict"])
        out["judge_loose"] += loose
        out["judge_strict"] += strict
    return out


async def run(data: Path) -> dict[str, Any]:
    """Judge the file once, then count every probe's rows on the dev and held-out targets."""
    from distillscope.bench.ice_judge import DEV_TARGETS, judge_labelled
    from distillscope.ice.judge_factory import make_judge

    rows, verdicts, _ = await judge_labelled(data, make_judge("claims"))
    out: dict[str, Any] = {}
    for name, (probe, recall) in PROBES.items():
        out[name] = {}
        for split, dev in (("dev", True), ("held_out", False)):
            hit = [
                (r, (v.loose, v.strict))
                for r, v in zip(rows, verdicts, strict=True)
                if (r["target"] in DEV_TARGETS) == dev and probe(r) and not (recall and v.loose)
            ]
            out[name][split] = _count([h[0] for h in hit], [h[1] for h in hit])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/ice/paper_ice_labelled.jsonl.gz"))
    print(json.dumps(asyncio.run(run(parser.parse_args().data)), indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
