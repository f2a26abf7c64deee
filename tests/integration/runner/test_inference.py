"""The inference phase in-process against the mock: concurrency, results, errors, stop."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from modeleval.runner.infer import run_inference
from modeleval.runner.shards import Shard
from modeleval_testkit.mockserver import FaultKind, FaultSettings, MockModelServer
from tests.support.runner import RecordingSink, make_config, make_items, read_jsonl


async def test_exactly_parallel_requests_in_flight(tmp_path: Path) -> None:
    server = await MockModelServer(latency_s=0.01).start()
    try:
        config = make_config(server.url, tmp_path, parallel=7)
        summary = await run_inference(config, make_items(100), sink=None, stop=asyncio.Event())
        stats = server.stats()
        assert stats.max_in_flight == 7
        assert stats.requests == 100
        assert (summary.succeeded, summary.failed, summary.stopped) == (100, 0, False)
    finally:
        await server.stop()


async def test_predictions_file_has_one_line_per_item(
    tmp_path: Path, mock_server: MockModelServer
) -> None:
    config = make_config(mock_server.url, tmp_path, models=("a", "b"))
    sink = RecordingSink()
    summary = await run_inference(config, make_items(20), sink=sink, stop=asyncio.Event())
    for name in ("a", "b"):
        rows = read_jsonl(tmp_path / "predictions" / f"{name}.jsonl")
        assert sorted(r["id"] for r in rows) == sorted(f"q{i}" for i in range(20))
        assert all(r["output"] == r["input"] and r["error"] is None for r in rows)
        assert all(r["tokens"] == {"prompt": 2, "completion": 2} for r in rows)
        assert all(r["finish_reason"] == "stop" for r in rows)
    assert summary.total == 40
    final = sink.patches[-1]
    assert final["percentage"] == 100
    assert final["progress"]["processed"] == 40
    assert final["inferenceResults"] == [
        {"model": name, "location": str(tmp_path / f"predictions/{name}.jsonl"), "items": 20,
         "failed": 0, "truncated": 0}
        for name in ("a", "b")
    ]  # fmt: skip


async def test_failed_items_are_recorded_and_counted(tmp_path: Path) -> None:
    faults = FaultSettings(by_item={"q3": [FaultKind.SERVER_ERROR] * 5})
    server = await MockModelServer(faults=faults).start()
    try:
        config = make_config(server.url, tmp_path, max_error_ratio=0.5)
        summary = await run_inference(config, make_items(10), sink=None, stop=asyncio.Event())
        rows = {r["id"]: r for r in read_jsonl(tmp_path / "predictions/m1.jsonl")}
        assert rows["q3"]["output"] is None
        assert rows["q3"]["error"].startswith("HTTP 500")
        assert rows["q3"]["attempts"] == 3
        assert (summary.succeeded, summary.failed) == (9, 1)
        assert summary.failure_message(0.5) is None
        assert "1 of 10 items failed" in (summary.failure_message(0.05) or "")
    finally:
        await server.stop()


async def test_ten_percent_faults_still_complete_every_item(tmp_path: Path) -> None:
    kinds = (FaultKind.SERVER_ERROR, FaultKind.RATE_LIMIT, FaultKind.DROP)
    faults = FaultSettings(rate=0.1, seed=3, kinds=kinds, retry_after_s=0.01)
    server = await MockModelServer(faults=faults).start()
    try:
        config = make_config(server.url, tmp_path, parallel=8)
        summary = await run_inference(config, make_items(200), sink=None, stop=asyncio.Event())
        assert (summary.succeeded, summary.failed) == (200, 0)
        assert sum(server.stats().by_status[k.value] for k in kinds) > 5
        assert server.stats().duplicates() == {}
    finally:
        await server.stop()


async def test_error_budget_stops_early_when_the_endpoint_is_down(tmp_path: Path) -> None:
    config = make_config("http://127.0.0.1:9/v1", tmp_path, parallel=2, max_error_ratio=0.1)
    summary = await run_inference(config, make_items(50), sink=None, stop=asyncio.Event())
    assert summary.budget_exceeded
    assert summary.failed < 10
    message = summary.failure_message(0.1) or ""
    assert "most common error: connection error" in message


async def test_stop_finishes_requests_in_flight_and_takes_no_new_ones(tmp_path: Path) -> None:
    server = await MockModelServer(latency_s=0.05).start()
    try:
        config = make_config(server.url, tmp_path, parallel=4)
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(0.12, stop.set)
        summary = await run_inference(config, make_items(100), sink=None, stop=stop)
        rows = read_jsonl(tmp_path / "predictions/m1.jsonl")
        assert summary.stopped
        assert 4 <= len(rows) < 100
        # Every request the server answered was recorded: nothing will be sent twice on resume.
        assert server.stats().requests == len(rows)
        resumed = await run_inference(config, make_items(100), sink=None, stop=asyncio.Event())
        assert not resumed.stopped
        rows = read_jsonl(tmp_path / "predictions/m1.jsonl")
        assert sorted(r["id"] for r in rows) == sorted(f"q{i}" for i in range(100))
        assert server.stats().requests == 100
        assert max(server.stats().by_item.values()) == 1
    finally:
        await server.stop()


async def test_resume_retries_items_that_failed_before(tmp_path: Path) -> None:
    faults = FaultSettings(by_item={"q3": [FaultKind.SERVER_ERROR] * 5})
    server = await MockModelServer(faults=faults).start()
    try:
        config = make_config(server.url, tmp_path, max_error_ratio=0.5)
        first = await run_inference(config, make_items(6), sink=None, stop=asyncio.Event())
        assert (first.succeeded, first.failed) == (5, 1)
        second = await run_inference(config, make_items(6), sink=None, stop=asyncio.Event())
        assert (second.succeeded, second.failed) == (6, 0)
        rows = read_jsonl(tmp_path / "predictions/m1.jsonl")
        assert [r["error"] is None for r in rows if r["id"] == "q3"] == [False, True]
        assert server.stats().by_item == {**{f"q{i}": 1 for i in range(6)}, "q3": 6}
    finally:
        await server.stop()


async def test_models_run_at_the_same_time_each_with_its_own_parallel(tmp_path: Path) -> None:
    slow = await MockModelServer(latency_s=0.05).start()
    fast = await MockModelServer(latency_s=0.02).start()
    try:
        config = make_config(slow.url, tmp_path, parallel=3, models=("a", "b"))
        b = dataclasses.replace(
            config.models[1],
            url=fast.url,
            client=dataclasses.replace(config.models[1].client, parallel=5),
        )
        config = dataclasses.replace(config, models=(config.models[0], b))
        both = asyncio.Event()
        started = asyncio.get_running_loop().time()
        task = asyncio.create_task(
            run_inference(config, make_items(60), sink=None, stop=asyncio.Event())
        )
        while not both.is_set():  # both servers busy at once: the models overlap
            if slow.stats().in_flight and fast.stats().in_flight:
                both.set()
            await asyncio.sleep(0.005)
        summary = await task
        elapsed = asyncio.get_running_loop().time() - started
        assert (summary.succeeded, summary.total) == (120, 120)
        assert (slow.stats().max_in_flight, fast.stats().max_in_flight) == (3, 5)
        assert [r["model"] for r in summary.results] == ["a", "b"]  # reported in spec order
        assert elapsed < 60 / 3 * 0.05 + 60 / 5 * 0.02 + 0.5  # not one after the other
    finally:
        await slow.stop()
        await fast.stop()


async def test_three_shards_answer_every_item_once_into_their_own_files(tmp_path: Path) -> None:
    server = await MockModelServer(latency_s=0.005).start()
    try:
        config = make_config(server.url, tmp_path, parallel=4, models=("a", "b"))
        summaries = [
            await run_inference(
                config, make_items(31), sink=None, stop=asyncio.Event(), shard=Shard(k, 3)
            )
            for k in range(3)
        ]
        assert [s.total for s in summaries] == [22, 20, 20]  # 11, 10, 10 items x 2 models
        assert server.stats().requests == 62
        assert set(server.stats().by_item.values()) == {2}  # once per model
        for model in ("a", "b"):
            folder = tmp_path / "predictions" / f"{model}.shards"
            files = sorted(folder.iterdir())
            assert [f.name for f in files] == [f"0000{k}-of-00003.jsonl" for k in range(3)]
            for k, path in enumerate(files):
                indexes = [r["index"] for r in read_jsonl(path)]
                assert sorted(indexes) == list(range(k, 31, 3))
        again = await run_inference(
            config, make_items(31), sink=None, stop=asyncio.Event(), shard=Shard(1, 3)
        )
        assert again.succeeded == 20 and server.stats().requests == 62  # resumed: nothing sent
        # Four shards now (the count changed between a stop and a resume): nothing is sent again.
        for k in range(4):
            await run_inference(
                config, make_items(31), sink=None, stop=asyncio.Event(), shard=Shard(k, 4)
            )
        assert server.stats().requests == 62
    finally:
        await server.stop()
