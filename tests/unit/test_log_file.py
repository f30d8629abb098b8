"""`--log-file`: JSON lines with time, level, logger, message and extra fields; secrets redacted; other
libraries' debug noise left out."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from distillscope.errors import ConfigError
from distillscope.logsetup import configure_logging

SECRET = "sk-test-0123456789abcdef"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for h in root.handlers:
        h.close()
    root.handlers[:], root.level = handlers, level


@pytest.mark.usefixtures("restore_logging")
def test_log_file_holds_json_lines_redacted_without_third_party_debug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_API_KEY", SECRET)
    path = tmp_path / "logs" / "run.jsonl"
    configure_logging(debug=True, log_file=path)
    logging.getLogger("distillscope.runner").info("stage %s started with key %s", "ice.fuzz", SECRET)
    logging.getLogger("distillscope.model").debug("retry", extra={"stage": "ice.fuzz", "auth": f"Bearer {SECRET}"})
    logging.getLogger("matplotlib.font_manager").debug("findfont: scoring fonts")
    logging.getLogger("some.library").info("chatty info")
    logging.getLogger("some.library").warning("a real warning")
    for h in logging.getLogger().handlers:
        h.flush()
    text = path.read_text(encoding="utf-8")
    records = [json.loads(line) for line in text.splitlines()]
    assert SECRET not in text
    assert [r["logger"] for r in records] == ["distillscope.runner", "distillscope.model", "some.library"]
    first, second, third = records
    assert first["level"] == "INFO" and first["message"] == "stage ice.fuzz started with key ***"
    assert first["time"].endswith("+00:00")
    assert second["stage"] == "ice.fuzz" and second["auth"] == "Bearer ***" and second["level"] == "DEBUG"
    assert third["level"] == "WARNING" and third["message"] == "a real warning"


@pytest.mark.usefixtures("restore_logging")
def test_without_debug_the_log_file_starts_at_info(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    configure_logging(log_file=path)
    logging.getLogger("distillscope.x").debug("hidden")
    logging.getLogger("distillscope.x").info("shown", extra={"done": 3})
    for h in logging.getLogger().handlers:
        h.flush()
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [(r["message"], r.get("done")) for r in records] == [("shown", 3)]


@pytest.mark.usefixtures("restore_logging")
def test_an_unwritable_log_file_is_a_one_line_config_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", "utf-8")
    with pytest.raises(ConfigError, match=r"cannot write the log file .*; choose another --log-file"):
        configure_logging(log_file=tmp_path / "file" / "log.jsonl")
