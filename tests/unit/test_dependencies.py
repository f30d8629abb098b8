"""Every third-party module imported under src/ is declared: in the core, or in the extra whose code needs it.

Imports are read with `ast` (also `importlib.import_module("literal")`), mapped to distributions with
`importlib.metadata.packages_distributions()` and compared with pyproject.toml. A module is core when it is
imported at module level anywhere, or inside a function of a core file; a function-level import in a file
that belongs to an extra (EXTRA_FILES) may come from that extra. A library that is installed only because
another one depends on it (click through typer, say) does not count as declared.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src" / "distillscope"

# Files whose function-level imports belong to an optional extra (path relative to src/distillscope).
EXTRA_FILES = {
    "backends/anthropic.py": "anthropic",
    "execution/batch_anthropic.py": "anthropic",
    "backends/embedded.py": "embedded",
    "backends/hf.py": "hf",
    "backends/vllm.py": "vllm",
    "rse/embeddings.py": "embed",
    "execution/ray_host.py": "ray",
    "execution/ray_support.py": "ray",
}
# Heavy modules that `import distillscope` and the CLI must never load at import time.
HEAVY = ("torch", "sentence_transformers", "transformers", "xllamacpp", "ray")


@dataclass(frozen=True)
class Import:
    """One import of a top-level module: where, and whether it runs at module level."""

    module: str
    file: str
    line: int
    top_level: bool


def _requirement_name(req: str) -> str:
    name = re.match(r"[A-Za-z0-9._-]+", req)
    assert name, req
    return _normalise(name.group(0))


def _normalise(dist: str) -> str:
    return re.sub(r"[-_.]+", "-", dist).lower()


def declared() -> tuple[set[str], dict[str, set[str]]]:
    """(core distributions, {extra: distributions}) from pyproject.toml, names normalised."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core = {_requirement_name(r) for r in project["dependencies"]}
    extras = {k: {_requirement_name(r) for r in v} for k, v in project["optional-dependencies"].items()}
    return core, extras


def _imported_names(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module]
    if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module":
        arg = node.args[0] if node.args else None
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return [arg.value]
    return []


def _function_nodes(tree: ast.AST) -> set[int]:
    """ids of every node inside a function body (imports there run lazily)."""
    inside: set[int] = set()
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            inside.update(id(n) for n in ast.walk(fn) if n is not fn)
    return inside


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of nodes under `if TYPE_CHECKING:` (never run)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            out.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return out


def third_party_imports() -> list[Import]:
    """Every import of a module that is neither stdlib nor distillscope, under src/distillscope."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        lazy, skipped = _function_nodes(tree), _type_checking_nodes(tree)
        rel = path.relative_to(SRC).as_posix()
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            for name in _imported_names(node):
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("distillscope", "__future__"):
                    found.append(Import(top, rel, getattr(node, "lineno", 0), id(node) not in lazy))
    return found


@functools.cache
def _packages_distributions() -> dict[str, list[str]]:
    return dict(importlib.metadata.packages_distributions())  # scans every installed distribution: once


def distributions_of(module: str) -> set[str]:
    """Distributions that provide top-level `module` (its own name when not installed here)."""
    dists = _packages_distributions().get(module) or [module]
    return {_normalise(d) for d in dists}


def test_every_third_party_import_is_declared_where_it_is_needed() -> None:
    core, extras = declared()
    problems = []
    for imp in third_party_imports():
        extra = None if imp.top_level else EXTRA_FILES.get(imp.file)
        allowed = core | (extras[extra] if extra else set())
        if not distributions_of(imp.module) & allowed:
            where = f"core or [{extra}]" if extra else "the core dependencies"
            problems.append(
                f"{imp.file}:{imp.line} imports {imp.module} ({distributions_of(imp.module)}), not declared in {where}"
            )
    assert not problems, "\n".join(problems)


def test_the_scan_sees_the_imports_that_matter() -> None:
    """Guards the scanner itself: known lazy and top-level imports are found and classified."""
    imports = third_party_imports()
    assert (
        Import("xllamacpp", "backends/embedded.py", _line_of("backends/embedded.py", "import xllamacpp"), False)
        in imports
    )
    assert any(i.module == "typer" and i.file == "cli/main.py" and i.top_level for i in imports)
    assert any(i.module == "sentence_transformers" and not i.top_level for i in imports)
    assert not any(i.module == "click" for i in imports), "import typer's click, never click: see cli/exits.py"


def _line_of(rel: str, text: str) -> int:
    lines = (SRC / rel).read_text().splitlines()
    return next(n for n, line in enumerate(lines, 1) if line.strip() == text)


def test_qwen_weight_packages_are_in_the_embedded_extra() -> None:
    """They are imported by computed name (`import_module(m)`), which the scan cannot read."""
    from distillscope.backends.embedded import _QWEN_PARTS

    _, extras = declared()
    assert {_normalise(m) for m in _QWEN_PARTS} <= extras["embedded"]


def test_extras_hold_no_core_dependency_twice() -> None:
    core, extras = declared()
    for name, deps in extras.items():
        assert not deps & core, f"[{name}] repeats core dependencies {deps & core}"


def test_importing_every_module_loads_no_heavy_runtime() -> None:
    """`import distillscope` and every submodule (the CLI too) leave torch, transformers and xllamacpp unloaded."""
    code = (
        "import importlib, pkgutil, sys, distillscope\n"
        "for m in pkgutil.walk_packages(distillscope.__path__, 'distillscope.'):\n"
        "    if m.name != 'distillscope.__main__': importlib.import_module(m.name)\n"
        f"print(sorted(set({HEAVY!r}) & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_every_module_imports_without_the_embedded_runtime() -> None:
    """With xllamacpp made unimportable, every module still imports (its imports are all lazy)."""
    code = (
        "import importlib, pkgutil, sys\n"
        "sys.modules['xllamacpp'] = None\n"
        "import distillscope\n"
        "for m in pkgutil.walk_packages(distillscope.__path__, 'distillscope.'):\n"
        "    if m.name != 'distillscope.__main__': importlib.import_module(m.name)\n"
    )
    subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
