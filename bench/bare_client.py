"""The floor for any aiohttp-based runner process on this machine (used by runner_throughput.py).

    python bench/bare_client.py URL DATASET.jsonl PARALLEL

Imports asyncio, uvloop and aiohttp, reads the dataset, sends every item's chat request with
exactly PARALLEL in flight over one pool, parses the answers, and exits: no checkpoint, no
progress, no retries, no configuration. Whatever the real runner takes beyond this process is
its own overhead; what this process takes beyond ceil(N/P)·L belongs to the machine (start-up,
event loop, HTTP stack).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

import aiohttp
import uvloop


async def run(url: str, inputs: list[tuple[str, str]], parallel: int) -> int:
    pending = iter(inputs)
    answered = 0
    connector = aiohttp.TCPConnector(limit=parallel)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal answered
            for item_id, text in pending:
                body = {"model": "mock-model", "messages": [{"role": "user", "content": text}]}
                headers = {"Content-Type": "application/json", "X-Modeleval-Item-Id": item_id}
                async with session.post(
                    url + "/chat/completions", data=json.dumps(body).encode(), headers=headers
                ) as resp:
                    answer = json.loads(await resp.read())
                if answer["choices"][0]["message"]["content"] is not None:
                    answered += 1

        await asyncio.gather(*(worker() for _ in range(parallel)))
    return answered


def main() -> None:
    url, dataset, parallel = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(dataset, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    inputs = [(row["id"], row["input"]) for row in rows]
    answered = uvloop.run(run(url, inputs, parallel))
    sys.stdout.flush()
    os._exit(0 if answered == len(inputs) else 1)


if __name__ == "__main__":
    main()
