"""The module graph of src/distillscope has no import cycle, counting imports inside functions too.

import-linter's layer contracts (pyproject.toml) order the packages; this test also catches a cycle inside one
package, and one hidden by a lazy import. Imports under `if TYPE_CHECKING:` are not real imports and are skipped.
"""

from __future__ import annotations

import ast
from pathlib import Path

import distillscope

SRC = Path(distillscope.__file__).parent


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def type_checking_nodes(tree: ast.Module) -> set[int]:
    """ids of every node inside an `if TYPE_CHECKING:` block."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skip


def imported_names(path: Path, name: str) -> set[str]:
    """Every dotted name an import statement of the module refers to (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = type_checking_nodes(tree)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], *([base] if base else [])])
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)
    return out


def module_graph() -> dict[str, set[str]]:
    """distillscope-internal module -> the internal modules it imports ("" is the package itself)."""
    paths = {module_name(p): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        deps: set[str] = set()
        for full in imported_names(path, f"distillscope.{name}".rstrip(".")):
            if full != "distillscope" and not full.startswith("distillscope."):
                continue
            target = full.removeprefix("distillscope").removeprefix(".")
            while target and target not in paths:
                target = target.rpartition(".")[0]
            if target != name and target in paths:
                deps.add(target)
        graph[name] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def test_the_cycle_finder_sees_a_cycle_hidden_in_a_function() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset({"a", "b", "c"})]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_lazy_and_type_checking_imports_are_told_apart(tmp_path: Path) -> None:
    mod = tmp_path / "m.py"
    mod.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from distillscope.model import Model\n"
        "def f():\n    from distillscope.stages import ice_fuzz\n",
        encoding="utf-8",
    )
    names = imported_names(mod, "distillscope.m")
    assert "distillscope.stages.ice_fuzz" in names and not any(n.startswith("distillscope.model") for n in names)


def test_the_module_graph_has_no_cycle() -> None:
    graph = module_graph()
    assert {"model", "ice.pipeline", "stages", "cli.ice"} <= set(graph)  # the walk found the source tree
    assert "ice.pipeline" in graph["stages"]  # a function-level import is an edge
    found = [sorted(c) for c in cycles(graph)]
    assert found == [], f"import cycles: {found}"
