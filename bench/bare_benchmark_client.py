"""The floor for a benchmark run (used by benchmark_throughput.py).

    python bench/bare_benchmark_client.py URL REQUESTS.jsonl PARALLEL

Like bare_client.py, but each line of REQUESTS.jsonl holds a prepared request (``path``:
``/completions`` or ``/chat/completions``, ``body``: the JSON body the runner sends for that
benchmark item, rendered beforehand): imports asyncio, uvloop and aiohttp, sends every body
with exactly PARALLEL in flight over one pool, parses the answers and exits. No parquet, no
prompt rendering, no checkpoint, no scoring.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

import aiohttp
import uvloop


async def run(url: str, requests: list[tuple[str, str, bytes]], parallel: int) -> int:
    pending = iter(requests)
    answered = 0
    connector = aiohttp.TCPConnector(limit=parallel)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal answered
            for item_id, path, body in pending:
                headers = {"Content-Type": "application/json", "X-Modeleval-Item-Id": item_id}
                async with session.post(url + path, data=body, headers=headers) as resp:
                    answer = json.loads(await resp.read())
                if answer["choices"]:
                    answered += 1

        await asyncio.gather(*(worker() for _ in range(parallel)))
    return answered


def main() -> None:
    url, path, parallel = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(path, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    requests = [(r["id"], r["path"], json.dumps(r["body"]).encode()) for r in rows]
    answered = uvloop.run(run(url, requests, parallel))
    sys.stdout.flush()
    os._exit(0 if answered == len(requests) else 1)


if __name__ == "__main__":
    main()
