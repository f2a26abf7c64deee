"""The predictions file as checkpoint: append, fsync on close, torn last line, damage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modeleval.runner.checkpoint import CheckpointError, CheckpointWriter, load_finished


async def test_writer_appends_lines_and_keeps_earlier_ones(tmp_path: Path) -> None:
    path = tmp_path / "predictions" / "m.jsonl"
    for batch in (["a", "b"], ["c"]):
        writer = CheckpointWriter(path, fsync_every=1)
        await writer.start()
        for key in batch:
            writer.append({"id": key, "output": key.upper(), "error": None})
        await writer.close()
    assert list(load_finished(path)) == ["a", "b", "c"]
    assert load_finished(path)["c"]["output"] == "C"


async def test_each_append_is_on_disk_before_close(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    writer = CheckpointWriter(path, fsync_interval_s=60)
    await writer.start()
    writer.append({"id": "x", "output": "y"})
    # Another reader (a restarted process) sees it although fsync has not run yet.
    assert json.loads(path.read_text()) == {"id": "x", "output": "y"}
    await writer.close()


def test_torn_last_line_is_cut_off(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text('{"id": "a", "output": "1"}\n{"id": "b", "outp')
    assert list(load_finished(path)) == ["a"]
    assert path.read_text() == '{"id": "a", "output": "1"}\n'


def test_damage_before_the_last_line_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text('{"id": "a"}\nGARBAGE\n{"id": "c"}\n')
    with pytest.raises(CheckpointError, match=r"m\.jsonl:2: damaged checkpoint line"):
        load_finished(path)


def test_missing_file_means_nothing_finished(tmp_path: Path) -> None:
    assert load_finished(tmp_path / "none.jsonl") == {}


def test_append_before_open_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="not open"):
        CheckpointWriter(tmp_path / "m.jsonl").append({"id": "a"})
