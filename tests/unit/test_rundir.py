"""The run-directory contract: one layout type, and one JSONL policy for bad lines."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import pytest

from distillscope.errors import ConfigError
from distillscope.rundir import RunDir, append_jsonl, read_jsonl, write_jsonl


def test_layout_names_every_file_of_an_experiment(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    assert run.manifest == tmp_path / "manifest.json" and run.summary == tmp_path / "summary.json"
    assert run.rse.responses == tmp_path / "rse" / "responses.jsonl"
    assert run.rse.judgements == tmp_path / "rse" / "judgements.jsonl"
    assert run.ice.records == tmp_path / "ice" / "records.jsonl"
    assert run.ice.paired.scores == tmp_path / "ice" / "paired" / "scores.json"
    assert run.ice.campaign == tmp_path / "ice" / "campaign.json"


def test_a_torn_last_line_is_dropped_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text('{"i": 0}\n{"i": 1}\n{"i": 2, "te', encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert list(read_jsonl(path)) == [{"i": 0}, {"i": 1}]
    assert "r.jsonl:3: dropping an unreadable last line" in caplog.text


def test_a_bad_line_in_the_middle_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text('{"i": 0}\nnot json\n{"i": 2}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"r\.jsonl:2 is not valid JSON"):
        list(read_jsonl(path))


def test_an_append_after_a_crash_drops_the_torn_line_first(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text('{"i": 0}\n{"i": 1, "te', encoding="utf-8")
    append_jsonl(path, [{"i": 2}])
    assert path.read_text(encoding="utf-8") == '{"i": 0}\n{"i": 2}\n'
    assert list(read_jsonl(path)) == [{"i": 0}, {"i": 2}]


def test_gzip_round_trip_and_a_missing_file_reads_empty(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl.gz"
    assert write_jsonl(path, [{"a": 1}, {"a": 2}]) == 2
    assert gzip.decompress(path.read_bytes()).decode() == '{"a": 1}\n{"a": 2}\n'
    assert list(read_jsonl(path)) == [{"a": 1}, {"a": 2}]
    assert list(read_jsonl(tmp_path / "absent.jsonl")) == []
