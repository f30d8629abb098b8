"""House rules that ruff and mypy do not check: no function in the package is longer than 50 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import distillscope

SRC = Path(distillscope.__file__).parent
MAX_FUNCTION_LINES = 50  # DESIGN.md: small functions; a longer one is split along what it does


def long_functions(root: Path, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """`path:name (lines)` of every function or method longer than `limit` lines, decorators excluded."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > limit:
                    found.append(f"{path.relative_to(root)}:{node.name} ({lines})")
    return found


def test_the_length_check_sees_a_long_function(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(55))
    (tmp_path / "m.py").write_text(f"def short():\n    pass\n\n\ndef long():\n{body}\n", encoding="utf-8")
    assert long_functions(tmp_path) == ["m.py:long (56)"]


def test_no_function_is_longer_than_the_limit() -> None:
    assert long_functions(SRC) == []
