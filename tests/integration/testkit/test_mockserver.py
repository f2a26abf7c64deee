"""The mock model server: OpenAI routes, answers, streaming timing, capacity, health, stats."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from modeleval_testkit.mockserver import MockModelServer, load_answers, load_rules


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def started(**settings: Any) -> MockModelServer:
    return await MockModelServer(**settings).start()


async def chat(
    http: aiohttp.ClientSession, server: MockModelServer, text: str, **extra: Any
) -> dict[str, Any]:
    body = {"model": "m", "messages": [{"role": "user", "content": text}], **extra}
    async with http.post(f"{server.url}/chat/completions", json=body) as resp:
        assert resp.status == 200
        data: dict[str, Any] = await resp.json()
        return data


async def test_chat_echoes_the_last_user_message_with_usage(http: aiohttp.ClientSession) -> None:
    server = await started()
    try:
        data = await chat(http, server, "two words")
        assert data["object"] == "chat.completion"
        assert data["choices"][0]["message"] == {"role": "assistant", "content": "two words"}
        assert data["usage"] == {"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4}
    finally:
        await server.stop()


async def test_completions_route_and_models_list(http: aiohttp.ClientSession) -> None:
    server = await started(model="served-name")
    try:
        body = {"model": "x", "prompt": "hello there world", "max_tokens": 2}
        async with http.post(f"{server.url}/completions", json=body) as resp:
            data = await resp.json()
        assert data["choices"][0]["text"] == "hello there "
        assert data["usage"]["completion_tokens"] == 2
        async with http.get(f"{server.url}/models") as resp:
            models = await resp.json()
        assert [m["id"] for m in models["data"]] == ["served-name"]
    finally:
        await server.stop()


async def test_answers_map_rules_and_hash_mode(http: aiohttp.ClientSession, tmp_path: Path) -> None:
    answers_file = tmp_path / "answers.json"
    answers_file.write_text(json.dumps([{"input": "capital of France?", "answer": "Paris"}]))
    rules_file = tmp_path / "rules.json"
    rules_file.write_text(json.dumps([{"pattern": r"Answer: (\w+).*Score", "reply": r"\1 => 4"}]))
    server = await started(answers=load_answers(answers_file), rules=load_rules(rules_file))
    hashed = await started(default_mode="hash")
    try:
        assert (await chat(http, server, "capital of France?"))["choices"][0]["message"][
            "content"
        ] == "Paris"
        judged = await chat(http, server, "Answer: blue\nGive a Score from 1 to 5")
        assert judged["choices"][0]["message"]["content"] == "blue => 4"
        first = await chat(http, hashed, "anything")
        again = await chat(http, hashed, "anything")
        other = await chat(http, hashed, "something else")
        text = first["choices"][0]["message"]["content"]
        assert text == again["choices"][0]["message"]["content"]
        assert text != other["choices"][0]["message"]["content"]
        assert len(text.split()) == 8
    finally:
        await server.stop()
        await hashed.stop()


async def read_stream(resp: aiohttp.ClientResponse) -> list[tuple[float, str]]:
    """(arrival time, data) for each SSE event."""
    events: list[tuple[float, str]] = []
    async for raw in resp.content:
        line = raw.decode().strip()
        if line.startswith("data: "):
            events.append((time.perf_counter(), line.removeprefix("data: ")))
    return events


async def test_streaming_chunks_timing_and_usage(http: aiohttp.ClientSession) -> None:
    server = await started(ttft_s=0.1, itl_s=0.03, output_tokens=5)
    try:
        body = {
            "model": "m",
            "messages": [{"role": "user", "content": "a b"}],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        sent = time.perf_counter()
        async with http.post(f"{server.url}/chat/completions", json=body) as resp:
            assert resp.headers["Content-Type"].startswith("text/event-stream")
            events = await read_stream(resp)
        assert events[-1][1] == "[DONE]"
        chunks = [json.loads(data) for _, data in events[:-1]]
        tokens = [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"]]
        assert "".join(t for t in tokens if t) == "a b a b a "
        assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
        assert chunks[-1]["usage"] == {
            "prompt_tokens": 2,
            "completion_tokens": 5,
            "total_tokens": 7,
        }
        # Token k is never sent before ttft + k * itl; on an idle machine it is sent right then.
        arrivals = [at - sent for at, _ in events[:5]]
        assert all(at >= 0.1 + k * 0.03 - 0.002 for k, at in enumerate(arrivals))
        assert arrivals[0] < 0.25
        mean_gap = (arrivals[4] - arrivals[0]) / 4
        assert 0.025 <= mean_gap < 0.06
    finally:
        await server.stop()


async def test_streaming_without_include_usage_has_no_usage_chunk(
    http: aiohttp.ClientSession,
) -> None:
    server = await started()
    try:
        body = {"model": "m", "prompt": "x y", "stream": True}
        async with http.post(f"{server.url}/completions", json=body) as resp:
            events = await read_stream(resp)
        payloads = [json.loads(d) for _, d in events[:-1]]
        assert all("usage" not in p for p in payloads)
        assert "".join(p["choices"][0]["text"] for p in payloads) == "x y"
    finally:
        await server.stop()


async def test_capacity_queues_excess_requests(http: aiohttp.ClientSession) -> None:
    server = await started(capacity=2, latency_s=0.1)
    try:
        began = time.perf_counter()
        await asyncio.gather(*(chat(http, server, f"q{i}") for i in range(6)))
        elapsed = time.perf_counter() - began
        stats = server.stats()
        assert stats.max_serving == 2
        assert stats.max_in_flight == 6
        assert 0.3 <= elapsed < 0.6
    finally:
        await server.stop()


async def test_health_and_delayed_readiness(http: aiohttp.ClientSession) -> None:
    server = await started(ready_delay_s=0.3, ready_path="/v1/ready")
    try:
        async with http.get(f"{server.base_url}/health") as resp:
            assert resp.status == 200
        async with http.get(f"{server.base_url}/v1/ready") as resp:
            assert resp.status == 503
        await asyncio.sleep(0.35)
        async with http.get(f"{server.base_url}/v1/ready") as resp:
            assert resp.status == 200
    finally:
        await server.stop()


async def test_stats_count_per_item_and_prompt_and_reset(http: aiohttp.ClientSession) -> None:
    server = await started()
    try:
        headers = {"X-Modeleval-Item-Id": "item-1"}
        body = {"model": "m", "messages": [{"role": "user", "content": "same"}]}
        for _ in range(2):
            async with http.post(f"{server.url}/chat/completions", json=body, headers=headers):
                pass
        await chat(http, server, "same")
        async with http.get(f"{server.base_url}/mock/stats") as resp:
            stats = await resp.json()
        assert stats["requests"] == 3
        assert stats["byItem"] == {"item-1": 2, "same": 1}
        assert stats["byPrompt"] == {"same": 3}
        assert stats["duplicates"] == {"item-1": 2}
        async with http.post(f"{server.base_url}/mock/reset"):
            pass
        assert server.stats().requests == 0
        assert server.stats().by_item == {}
    finally:
        await server.stop()


async def test_bad_request_body_is_400(http: aiohttp.ClientSession) -> None:
    server = await started()
    try:
        async with http.post(f"{server.url}/chat/completions", json={"messages": []}) as resp:
            assert resp.status == 400
        async with http.post(f"{server.url}/chat/completions", data=b"{not json") as resp:
            assert resp.status == 400
    finally:
        await server.stop()


def test_thread_context_manager_serves_sync_callers() -> None:
    import urllib.request

    with MockModelServer(latency_s=0.01).running() as server:
        request = urllib.request.Request(
            f"{server.url}/completions",
            data=json.dumps({"model": "m", "prompt": "sync"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as resp:
            assert json.loads(resp.read())["choices"][0]["text"] == "sync"
        assert server.stats().requests == 1


async def test_probes_may_point_at_the_models_route() -> None:
    server = MockModelServer(ready_path="/v1/models", live_path="/v1/models", ready_delay_s=0.3)
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(server.base_url + "/v1/models") as loading:
                assert loading.status == 503
            await asyncio.sleep(0.35)
            async with http.get(server.base_url + "/v1/models") as ready:
                assert ready.status == 200
                assert (await ready.json())["data"][0]["object"] == "model"
    finally:
        await server.stop()


async def test_echo_with_logprobs_scores_every_prompt_and_prefers_the_answer(
    http: aiohttp.ClientSession,
) -> None:
    """lm-eval's loglikelihood request: every choice in one body, echo + logprobs."""
    context = "Question: 2+2?\nAnswer:"
    server = await started(answers={context: "B"})
    try:
        body = {
            "model": "m",
            "prompt": [context + " A", context + " B"],
            "echo": True,
            "logprobs": 1,
            "max_tokens": 1,
            "temperature": 0,
        }
        async with http.post(f"{server.url}/completions", json=body) as resp:
            assert resp.status == 200
            data = await resp.json()
    finally:
        await server.stop()
    first, second = sorted(data["choices"], key=lambda c: c["index"])
    assert second["text"] == context + " B the"
    logprobs = second["logprobs"]
    assert logprobs["tokens"][-2:] == [" B", " the"]  # the answer, then one generated token
    assert logprobs["text_offset"][-2:] == [len(context), len(context) + 2]
    assert logprobs["token_logprobs"][0] is None
    assert logprobs["token_logprobs"][-2] == -0.05
    assert first["logprobs"]["token_logprobs"][-2] < -0.05
    assert server.stats().requests == 1
