"""The runner against every make of model server the mock can play (MockSettings.flavour):
refused sampling knobs are dropped once and reported, error bodies are read whatever their
shape, truncated answers are counted, and every stream framing is timed correctly.

The ``transformers`` flavour is checked against the real ``transformers serve`` in
tests/e2e/test_transformers_serve.py; docs/testing.md lists where the mock still differs.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from modeleval.runner.client import ClientSettings, ModelClient, RequestFailed
from modeleval.runner.config import ModelRun
from modeleval.runner.infer import run_inference
from modeleval.runner.payloads import ApiFlavour, build_body
from modeleval.runner.perf.measure import stream_request
from modeleval.runner.perf.phase import run_level
from modeleval_testkit.mockserver import MockModelServer, ServerFlavour
from tests.support.runner import RecordingSink, make_config, make_items, read_jsonl

PARAMS = {"temperature": 0.5, "top_k": 40, "repetition_penalty": 1.05, "max_tokens": 64}
REFUSING = {ServerFlavour.TRANSFORMERS: 422, ServerFlavour.OPENAI: 400}


def with_params(config: Any, params: dict[str, Any], model: str = "mock") -> Any:
    models = tuple(replace(m, params=dict(params), model=model) for m in config.models)
    return replace(config, models=models)


@pytest.mark.parametrize("flavour", list(ServerFlavour))
async def test_refused_knobs_are_dropped_once_and_every_item_is_answered(
    tmp_path: Path, flavour: ServerFlavour
) -> None:
    server = await MockModelServer(flavour=flavour, model="mock").start()
    try:
        config = with_params(make_config(server.url, tmp_path, parallel=2), PARAMS)
        sink = RecordingSink()
        summary = await run_inference(config, make_items(12), sink=sink, stop=asyncio.Event())
        stats = server.stats()
    finally:
        await server.stop()
    assert (summary.succeeded, summary.failed) == (12, 0)
    final = sink.patches[-1]
    refusals = stats.by_status.get(str(REFUSING.get(flavour)), 0)
    if flavour in REFUSING:
        [dropped] = final["droppedParameters"]
        assert dropped["model"] == "m1"
        assert sorted(dropped["parameters"]) == ["repetition_penalty", "top_k"]
        assert f"HTTP {REFUSING[flavour]}" in dropped["reason"]
        assert 1 <= refusals <= 2  # once, or once per worker that raced
    else:
        assert "droppedParameters" not in final and refusals == 0


async def test_fields_the_runner_needs_are_never_dropped(tmp_path: Path) -> None:
    server = await MockModelServer(flavour=ServerFlavour.TRANSFORMERS, model="mock").start()
    try:
        config = with_params(make_config(server.url, tmp_path), PARAMS, model="other-model")
        summary = await run_inference(config, make_items(3), sink=None, stop=asyncio.Event())
    finally:
        await server.stop()
    assert summary.failed == 3  # a wrong model name fails loudly, it is not "dropped"
    [row, *_] = read_jsonl(tmp_path / "predictions" / "m1.jsonl")
    assert row["error"] == "HTTP 400: Server is pinned to 'mock'; requested 'other-model'."


@pytest.mark.parametrize("flavour", list(ServerFlavour))
async def test_truncated_answers_are_recorded_and_counted(
    tmp_path: Path, flavour: ServerFlavour
) -> None:
    server = await MockModelServer(flavour=flavour, model="mock", output_tokens=6).start()
    try:
        config = with_params(make_config(server.url, tmp_path), {"max_tokens": 4})
        sink = RecordingSink()
        await run_inference(config, make_items(5), sink=sink, stop=asyncio.Event())
    finally:
        await server.stop()
    rows = read_jsonl(tmp_path / "predictions" / "m1.jsonl")
    assert {r["finish_reason"] for r in rows} == {"length"}
    assert sink.patches[-1]["inferenceResults"][0]["truncated"] == 5


@pytest.mark.parametrize("flavour", list(ServerFlavour))
@pytest.mark.parametrize("api", list(ApiFlavour))
async def test_every_stream_framing_is_timed_from_its_text_and_usage(
    flavour: ServerFlavour, api: ApiFlavour
) -> None:
    server = await MockModelServer(
        flavour=flavour, model="mock", output_tokens=8, ttft_s=0.02, itl_s=0.005
    ).start()
    try:
        model = ModelRun(name="m", url=server.url, model="mock", api=api)
        client = ModelClient(model.url, api, model.client)
        body = build_body(api=api, model="mock", prompt="hello there", system=None,
                          params={"max_tokens": 8}, stream=True)  # fmt: skip
        async with aiohttp.ClientSession() as session:
            timing = await stream_request(session, client.url, api, body, {})
    finally:
        await server.stop()
    assert timing.ok, timing.error
    assert timing.output_tokens == 8  # from usage, however many chunks carried the text
    assert timing.ttft_s is not None and timing.ttft_s >= 0.015
    assert timing.latency_s is not None and timing.latency_s >= timing.ttft_s


async def test_a_performance_level_drops_refused_knobs_and_measures_every_request() -> None:
    server = await MockModelServer(
        flavour=ServerFlavour.TRANSFORMERS, model="mock", output_tokens=4
    ).start()
    try:
        model = ModelRun(name="m", url=server.url, model="mock", params=dict(PARAMS),
                         client=ClientSettings(parallel=2))  # fmt: skip
        timings, _ = await run_level(model, ["a b"], parallel=2, requests=6, duration_s=None,
                                     output_tokens=4, stop=asyncio.Event())  # fmt: skip
    finally:
        await server.stop()
    assert len(timings) == 6 and all(t.ok for t in timings), [t.error for t in timings]


@pytest.mark.parametrize(
    ("flavour", "message"),
    [
        (ServerFlavour.TRANSFORMERS, "HTTP 400: Server is pinned to 'mock'; requested 'gpt-4o'."),
        (ServerFlavour.VLLM, "HTTP 404: The model `gpt-4o` does not exist."),
    ],
)
async def test_error_bodies_are_read_whatever_their_shape(
    flavour: ServerFlavour, message: str
) -> None:
    server = await MockModelServer(flavour=flavour, model="mock").start()
    try:
        async with ModelClient(server.url, ApiFlavour.CHAT, ClientSettings()) as client:
            with pytest.raises(RequestFailed) as failed:
                await client.complete({"model": "gpt-4o", "messages": [
                    {"role": "user", "content": "hi"}]})  # fmt: skip
    finally:
        await server.stop()
    assert str(failed.value) == message and failed.value.attempts == 1


async def test_the_transformers_flavour_answers_a_malformed_request_with_plain_text() -> None:
    server = await MockModelServer(flavour=ServerFlavour.TRANSFORMERS).start()
    try:
        url = f"{server.url}/chat/completions"
        async with aiohttp.ClientSession() as session, session.post(url, json={"model": "x"}) as r:
            assert (r.status, await r.text()) == (500, "Internal Server Error")
            assert r.content_type == "text/plain"
    finally:
        await server.stop()


@pytest.mark.parametrize(
    ("flavour", "text"),
    [(ServerFlavour.GENERIC, "alpha "), (ServerFlavour.TRANSFORMERS, "alpha bravo ")],
)
async def test_stop_strings_end_the_answer_kept_or_not_as_the_server_does(
    flavour: ServerFlavour, text: str
) -> None:
    server = await MockModelServer(flavour=flavour, model="mock",
                                   answers={"q": "alpha bravo charlie"}).start()  # fmt: skip
    try:
        async with aiohttp.ClientSession() as session:
            body = {"model": "mock", "messages": [{"role": "user", "content": "q"}],
                    "stop": ["bra"]}  # fmt: skip
            async with session.post(f"{server.url}/chat/completions", json=body) as r:
                answer = json.loads(await r.text())
    finally:
        await server.stop()
    assert answer["choices"][0]["message"]["content"] == text
    assert answer["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize("flavour", [ServerFlavour.GENERIC, ServerFlavour.TRANSFORMERS])
async def test_recorded_answers_end_before_the_stop_string_whatever_the_server(
    tmp_path: Path, flavour: ServerFlavour
) -> None:
    answers = {"question 0": "alpha bravo charlie"}
    server = await MockModelServer(flavour=flavour, model="mock", answers=answers).start()
    try:
        config = with_params(make_config(server.url, tmp_path), {"stop": ["bra"]})
        await run_inference(config, make_items(1), sink=None, stop=asyncio.Event())
    finally:
        await server.stop()
    [row] = read_jsonl(tmp_path / "predictions" / "m1.jsonl")
    assert (row["output"], row["finish_reason"]) == ("alpha ", "stop")


async def test_inter_token_latency_is_per_token_when_chunks_carry_several() -> None:
    """The transformers flavour sends two tokens per chunk: gaps between chunks are two
    inter-token delays, and usage tells the runner so."""
    server = await MockModelServer(flavour=ServerFlavour.TRANSFORMERS, model="mock",
                                   output_tokens=8, itl_s=0.03).start()  # fmt: skip
    try:
        body = build_body(api=ApiFlavour.CHAT, model="mock", prompt="p", system=None,
                          params={}, stream=True)  # fmt: skip
        async with aiohttp.ClientSession() as session:
            timing = await stream_request(
                session, f"{server.url}/chat/completions", ApiFlavour.CHAT, body, {}
            )
    finally:
        await server.stop()
    assert (timing.chunks, timing.output_tokens) == (4, 8)
    assert len(timing.gaps_s) == 3
    assert all(0.025 <= gap <= 0.06 for gap in timing.gaps_s), timing.gaps_s
