"""Every error that reaches the top of the CLI is one line on stderr with a fixed exit code, run in subprocesses.

Usage errors and typed errors exit 2; declining a confirmation exits 2 too ("aborted");
an unexpected exception exits 1 and leaves its traceback, secrets redacted, in $DISTILLSCOPE_HOME/logs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _env(home: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "DISTILLSCOPE_HOME": str(home), "COLUMNS": "60", **extra}


def ds(
    home: Path, *args: str, stdin: str = "", blocked: tuple[str, ...] = (), **env: str
) -> subprocess.CompletedProcess[str]:
    """`python -m distillscope ARGS`, with the modules in `blocked` made unimportable (a missing extra)."""
    if blocked:
        code = (
            f"import sys\nfor m in {blocked!r}: sys.modules[m] = None\n"
            f"from distillscope.cli.main import main\nmain({list(args)!r})\n"
        )
        cmd = [sys.executable, "-c", code]
    else:
        cmd = [sys.executable, "-m", "distillscope", *args]
    return subprocess.run(
        cmd, input=stdin, capture_output=True, text=True, env=_env(home, **env), timeout=120, check=False
    )


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The one non-empty stderr line (asserts there is exactly one and no traceback anywhere)."""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    return lines[0]


def known_extras() -> set[str]:
    return set(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"])


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["nosuch"], "No such command 'nosuch'"),
        (["ice", "nosuch"], "No such command 'nosuch'"),
        (["ask"], "Missing argument"),
        (["ask", "scripted:x"], "Missing argument"),
        (["ask", "--bogus", "scripted:x", "hi"], "No such option: --bogus"),
        (["ask", "scripted:x", "hi", "--max-tokens", "many"], "Invalid value for '--max-tokens'"),
    ],
)
def test_usage_errors_are_one_line_exit_2(tmp_path: Path, args: list[str], needle: str) -> None:
    proc = ds(tmp_path, *args)
    assert proc.returncode == 2, proc.stderr
    line = error_line(proc)
    assert line.startswith("error: ") and needle in line and "--help" in line


def test_the_console_script_behaves_the_same(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("distillscope")
    if not script.exists():
        pytest.skip(f"no console script beside {sys.executable}")
    proc = subprocess.run([str(script), "nosuch"], capture_output=True, text=True, env=_env(tmp_path), check=False)
    assert proc.returncode == 2
    assert "No such command" in error_line(proc)


def test_answering_no_at_cache_clear_aborts_with_one_line(tmp_path: Path) -> None:
    for answer in ("n\n", ""):  # "n", and end of input
        proc = ds(tmp_path, "cache", "clear", stdin=answer)
        assert proc.returncode == 2, proc.stderr
        assert error_line(proc) == "aborted"


def test_embedded_model_without_the_extra_names_it(tmp_path: Path) -> None:
    proc = ds(tmp_path, "ask", "embedded:qwen2.5-0.5b", "hi", blocked=("xllamacpp",))
    assert proc.returncode == 2, proc.stderr
    line = error_line(proc)
    extra = re.search(r"pip install 'distillscope\[(\w+)\]'", line)
    assert extra and extra.group(1) == "embedded" and extra.group(1) in known_extras(), line


def test_hf_checkpoint_without_the_extra_names_it(tmp_path: Path) -> None:
    proc = ds(tmp_path, "ask", f"hf:{tmp_path}", "hi", blocked=("transformers",))
    assert proc.returncode == 2, proc.stderr
    extra = re.search(r"distillscope\[(\w+)\]", error_line(proc))
    assert extra and extra.group(1) == "hf" and "hf" in known_extras()


def test_models_works_without_the_embedded_runtime_and_keeps_brackets(tmp_path: Path) -> None:
    proc = ds(tmp_path, "models", blocked=("xllamacpp",), COLUMNS="200")
    assert proc.returncode == 0, proc.stderr
    assert "(extra [hf])" in proc.stdout
    assert re.search(r"embedded:qwen2.5-0.5b\s*│\s*no", proc.stdout), proc.stdout


def _crashing(home: Path, *global_opts: str, secret: str) -> subprocess.CompletedProcess[str]:
    """Run `ask` with the library function replaced by one that raises a RuntimeError quoting a secret."""
    code = (
        "import distillscope.ask as a\n"
        "async def boom(*args, **kwargs):\n"
        "    import os\n"
        "    raise RuntimeError('kaput with ' + os.environ['DS_TEST_API_KEY'])\n"
        "a.ask = boom\n"
        "from distillscope.cli.main import main\n"
        f"main({[*global_opts, 'ask', 'scripted:x', 'hi']!r})\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=_env(home, DS_TEST_API_KEY=secret),
        timeout=120,
        check=False,
    )


def test_unexpected_errors_are_one_line_exit_1_with_a_redacted_log(tmp_path: Path) -> None:
    secret = "sk-test-secret-0123456789"
    proc = _crashing(tmp_path, secret=secret)
    assert proc.returncode == 1, proc.stderr
    line = error_line(proc)
    log = tmp_path / "logs" / "last-error.log"
    assert "RuntimeError" in line and str(log) in line and "--debug" in line
    assert secret not in line
    text = log.read_text()
    assert "Traceback" in text and "kaput with ***" in text and secret not in text


def test_debug_shows_the_traceback_of_an_unexpected_error(tmp_path: Path) -> None:
    proc = _crashing(tmp_path, "--debug", secret="sk-test-secret-0123456789")
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr and "RuntimeError" in proc.stderr
