"""Anchor the file paths of a config to the folder of the config file, so the copy a run directory keeps works
from any working directory (`resume` elsewhere). Applied when a config file is loaded; a run's saved copy
already holds absolute paths."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

from distillscope.prompts.loaders import SPEC_KINDS

if TYPE_CHECKING:
    from distillscope.config import ExperimentConfig

MODEL_PATH_KINDS = ("replay", "hf")  # model specs whose name is a file or folder


def anchored(path_text: str, base: Path) -> str:
    """`path_text` (with `~` expanded) as an absolute path, a relative one taken from `base`."""
    path = Path(path_text).expanduser()
    return str(path if path.is_absolute() else (base / path).resolve())


def anchor_spec(spec: str, base: Path, kinds: Collection[str], *, bare_is_path: bool) -> str:
    """A `KIND:PATH[#FRAGMENT]` spec (or a bare path, with `bare_is_path`) with its path anchored at `base`;
    `builtin` and kinds that name no file are returned unchanged."""
    kind, sep, rest = spec.partition(":")
    if kind == "builtin":
        return spec
    if sep and kind in kinds:
        path_text, hash_, fragment = rest.partition("#")
        return f"{kind}:{anchored(path_text, base)}{hash_}{fragment}" if path_text else spec
    return anchored(spec, base) if bare_is_path and not sep else spec


def anchor_paths(cfg: ExperimentConfig, base: Path) -> ExperimentConfig:
    """A copy of `cfg` whose prompt files, ICE question/template files and replay/hf model paths are absolute."""
    out = cfg.model_copy(deep=True)
    for entry in out.rse.prompt_sets:
        entry.spec = anchor_spec(entry.spec, base, SPEC_KINDS, bare_is_path=True)
    out.ice.questions = anchor_spec(out.ice.questions, base, (), bare_is_path=True)
    out.ice.templates = anchor_spec(out.ice.templates, base, (), bare_is_path=True)
    for model in out.all_models():
        model.spec = anchor_spec(model.spec, base, MODEL_PATH_KINDS, bare_is_path=False)
    return out
