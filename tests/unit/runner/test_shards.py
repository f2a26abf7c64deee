"""Shards: slices, file names, the environment; streamed sources; the dataset index; resuming
from checkpoints by position; a shard's status entry."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from modeleval.runner.checkpoint import CheckpointError
from modeleval.runner.dataset_index import index_dataset
from modeleval.runner.datasets import DatasetError, FieldMapping, Item
from modeleval.runner.resume import read_checkpoints
from modeleval.runner.shard_status import ShardStatusSink, shard_entry
from modeleval.runner.shards import (
    Shard,
    ShardError,
    prediction_files,
    predictions_location,
    shard_from_env,
)
from modeleval.runner.sources import DatasetSource, FileItems, ListItems, open_dataset


def write_jsonl(path: Path, rows: list[Any], blank_every: int = 0) -> Path:
    lines = []
    for number, row in enumerate(rows, start=1):
        lines.append(json.dumps(row))
        if blank_every and number % blank_every == 0:
            lines.append("")
    path.write_text("\n".join(lines) + "\n")
    return path


def file_items(path: Path, limit: int | None = None) -> FileItems:
    return FileItems(path, name=path.name, fmt="jsonl", mapping=FieldMapping(), limit=limit)


def test_round_robin_slices_cover_every_position_once() -> None:
    shards = [Shard(k, 4) for k in range(4)]
    for total in (0, 1, 3, 4, 5, 17):
        owners = [[s.index for s in shards if s.owns(p)] for p in range(total)]
        assert all(len(o) == 1 for o in owners)
        assert sum(s.size(total) for s in shards) == total
        assert [s.size(total) for s in shards] == [
            sum(1 for p in range(total) if s.owns(p)) for s in shards
        ]
    assert Shard().owns(7) and Shard().size(7) == 7 and not Shard().sharded


def test_shard_from_env() -> None:
    assert shard_from_env({}) == Shard(0, 1)
    assert shard_from_env({"MODELEVAL_SHARDS": "1", "JOB_COMPLETION_INDEX": "3"}) == Shard(0, 1)
    assert shard_from_env({"MODELEVAL_SHARDS": "4", "JOB_COMPLETION_INDEX": "3"}) == Shard(3, 4)
    with pytest.raises(ShardError, match="JOB_COMPLETION_INDEX=4 is not a shard"):
        shard_from_env({"MODELEVAL_SHARDS": "4", "JOB_COMPLETION_INDEX": "4"})
    with pytest.raises(ShardError, match="not a number"):
        shard_from_env({"MODELEVAL_SHARDS": "four"})


def test_files_of_a_model(tmp_path: Path) -> None:
    single, sharded = Shard(), Shard(2, 4)
    assert single.predictions_path(tmp_path, "m") == tmp_path / "m.jsonl"
    assert sharded.predictions_path(tmp_path, "m") == tmp_path / "m.shards/00002-of-00004.jsonl"
    assert predictions_location(tmp_path, "m", sharded) == tmp_path / "m.shards"
    assert prediction_files(tmp_path, "m") == []
    (tmp_path / "m.shards").mkdir()
    for name in ("00001-of-00002.jsonl", "00000-of-00002.jsonl", "notes.txt"):
        (tmp_path / "m.shards" / name).write_text("")
    (tmp_path / "m.jsonl").write_text("")
    (tmp_path / "other.jsonl").write_text("")
    assert prediction_files(tmp_path, "m") == [
        tmp_path / "m.jsonl",
        tmp_path / "m.shards/00000-of-00002.jsonl",
        tmp_path / "m.shards/00001-of-00002.jsonl",
    ]


def test_a_selected_pass_gives_the_same_items_as_a_full_one(tmp_path: Path) -> None:
    rows = [{"input": f"q{i}", "id": f"x{i}"} for i in range(23)]
    source = file_items(write_jsonl(tmp_path / "d.jsonl", rows, blank_every=5), limit=20)
    everything = list(source.items())
    assert [i.position for i in everything] == list(range(20))
    assert everything[5].line == 7  # a blank line after every fifth row
    shard = Shard(1, 3)
    selected = list(source.items(select=shard.owns))
    assert selected == [i for i in everything if shard.owns(i.position)]


def test_a_selected_pass_names_a_bad_row_it_parses(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"input": "a"}\n{"input": broken}\n')
    source = file_items(path)
    assert [i.input for i in source.items(select=lambda p: p == 0)] == ["a"]
    with pytest.raises(DatasetError, match=r"d\.jsonl:2: invalid JSON"):
        list(source.items(select=lambda p: p == 1))


def test_list_items_number_their_positions() -> None:
    source = ListItems([Item(id="a", input="1"), Item(id="b", input="2")])
    assert [(i.id, i.position) for i in source.items(select=lambda p: p == 1)] == [("b", 1)]


def test_index_counts_checks_and_finds_duplicates(tmp_path: Path) -> None:
    rows = [{"input": "a", "id": 1}, {"input": "b", "id": 5}, {"input": "c"}]
    index = index_dataset(file_items(write_jsonl(tmp_path / "d.jsonl", rows)))
    assert index.count == 3
    assert index.matches(0, "1") and index.matches(1, "5") and index.matches(2, "2")
    assert not index.matches(3, "x")
    seen: list[str] = []
    index_dataset(file_items(tmp_path / "d.jsonl"), check=lambda item: seen.append(item.id))
    assert seen == ["1", "5", "2"]
    rows = [{"input": "a", "id": 7}, {}, {"input": "b", "id": 7}]
    dup = write_jsonl(tmp_path / "dup.jsonl", rows)
    with pytest.raises(DatasetError, match=r"dup\.jsonl:2: no input field"):
        index_dataset(file_items(dup))
    dup.write_text('{"input": "a", "id": 7}\n\n{"input": "b", "id": 7}\n')
    with pytest.raises(DatasetError, match=r"dup.jsonl:3: duplicate item id '7' \(first seen at"):
        index_dataset(file_items(dup))


@pytest.mark.parametrize("set_limit", [100_000, 2])
def test_ids_sharing_a_hash_are_not_duplicates(
    monkeypatch: pytest.MonkeyPatch, set_limit: int
) -> None:
    import modeleval.runner.dataset_index as module

    monkeypatch.setattr(module, "SET_LIMIT", set_limit)
    monkeypatch.setattr(module, "hash", lambda value: 42, raising=False)
    source = ListItems([Item(id=i, input="1") for i in ("a", "b", "c", "d")])
    assert index_dataset(source).count == 4


def test_large_datasets_find_duplicates_by_sorting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import modeleval.runner.dataset_index as module

    monkeypatch.setattr(module, "SET_LIMIT", 3)  # beyond 3 items: a sort, not a set
    rows = [{"input": "q", "id": i} for i in (1, 2, 3, 4, 5, 2, 7)]
    with pytest.raises(
        DatasetError, match=r"d\.jsonl:6: duplicate item id '2' \(first seen at line 2\)"
    ):
        index_dataset(file_items(write_jsonl(tmp_path / "d.jsonl", rows)))
    rows = [{"input": "q", "id": i} for i in range(9)]
    assert index_dataset(file_items(write_jsonl(tmp_path / "e.jsonl", rows))).count == 9


def checkpoint(path: Path, rows: list[dict[str, Any]], torn: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + torn)
    return path


def test_resume_marks_this_shards_answered_positions(tmp_path: Path) -> None:
    source = ListItems([Item(id=f"q{i}", input=str(i)) for i in range(8)])
    index = index_dataset(source)
    shard = Shard(1, 2)
    own = checkpoint(
        tmp_path / "m.shards/00001-of-00002.jsonl",
        [
            {"id": "q1", "index": 1, "error": None},
            {"id": "q3", "index": 3, "error": "HTTP 500"},
            {"id": "q5", "index": 5, "error": "HTTP 500"},
            {"id": "q5", "index": 5, "error": None},
        ],
        torn='{"id": "q7", "ind',
    )
    other = checkpoint(  # an earlier unsharded run: q7 answered there, q0 is not ours
        tmp_path / "m.jsonl",
        [{"id": "q7", "index": 7, "error": None}, {"id": "q0", "index": 0, "error": None}],
        torn='{"id": "q2"',
    )
    found = read_checkpoints([other, own], own=own, index=index, shard=shard, source=source)
    assert [p for p in range(8) if found.done(p)] == [1, 5, 7]
    assert (found.answered, found.retried, found.lines) == (3, 1, 6)
    assert own.read_text().endswith('"error": null}\n')  # own torn line cut off
    assert other.read_text().endswith('{"id": "q2"')  # another writer's line left alone


def test_resume_finds_moved_and_index_free_lines_by_id(tmp_path: Path) -> None:
    source = ListItems([Item(id=f"q{i}", input=str(i)) for i in range(4)])
    index = index_dataset(source)
    own = checkpoint(
        tmp_path / "m.jsonl",
        [
            {"id": "q2", "error": None},  # written before lines had an index
            {"id": "q3", "index": 0, "error": None},  # the dataset changed: q3 moved
            {"id": "gone", "index": 1, "error": None},  # no longer in the dataset
        ],
    )
    found = read_checkpoints([own], own=own, index=index, shard=Shard(), source=source)
    assert [p for p in range(4) if found.done(p)] == [2, 3]


def test_a_damaged_checkpoint_line_names_its_file_and_line(tmp_path: Path) -> None:
    source = ListItems([Item(id="q0", input="0")])
    own = tmp_path / "m.jsonl"
    own.write_text('{"id": "q0", "index": 0}\n"just text"\n')
    with pytest.raises(CheckpointError, match=r"m.jsonl:2: damaged checkpoint line"):
        read_checkpoints([own], own=own, index=index_dataset(source), shard=Shard(), source=source)


def test_remote_source_is_spooled_and_removed(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{"input": "a"}])
    with open_dataset(DatasetSource(path=str(path))) as source:
        assert [i.input for i in source.items()] == ["a"]
    spool = tmp_path / "spool.jsonl"
    spool.write_text('{"input": "b"}\n')
    items = FileItems(spool, name="s3://b/k", fmt="jsonl", mapping=FieldMapping(), limit=None)
    items.spooled = True
    items.close()
    assert not spool.exists()
    assert path.exists()


class Recording:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def patch_status(self, body: dict[str, Any]) -> None:
        self.bodies.append(body)


def test_a_shard_writes_only_its_own_entry() -> None:
    patch = {
        "percentage": 40,
        "progress": {"phase": "inference", "total": 10, "processed": 4},
        "inferenceResults": [{"model": "m", "items": 4}],
    }
    entry = shard_entry(Shard(2, 4), patch, "job-2-abc")
    assert entry == {
        "shards": 4,
        "phase": "inference",
        "total": 10,
        "processed": 4,
        "percentage": 40,
        "inferenceResults": [{"model": "m", "items": 4}],
        "pod": "job-2-abc",
    }
    inner = Recording()
    asyncio.run(ShardStatusSink(inner, Shard(2, 4), pod="p").patch_status(patch))
    assert list(inner.bodies[0]) == ["shards"]
    assert list(inner.bodies[0]["shards"]) == ["2"]
