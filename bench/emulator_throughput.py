"""Throughput and latency of the Kubernetes API emulator under a steady write load.

Creates N objects, updates each of them U times (merge patches of the spec, so every write
is validated against the CRD schema and its CEL rules; every spec is unique, so the emulator's
CEL result cache does not help), while W watchers stream every event.
Prints requests/s, p50/p99 latency and the ratio of the mean latency of the last 10% of the
requests to the first 10% (flat cost: the ratio stays near 1; the target is < 2).

    python bench/emulator_throughput.py                 # 1,000 objects x 10 updates, 3 watchers
    python bench/emulator_throughput.py --objects 200 --updates 5 --kind configmap
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import statistics
import sys
import time
from typing import Any

import aiohttp

from modeleval_testkit.apiserver import ThreadedApiServer, run_in_thread
from modeleval_testkit.apiserver.testcrd import widget, widget_crd

PATHS = {
    "widget": "/apis/example.test/v1/namespaces/default/widgets",
    "configmap": "/api/v1/namespaces/default/configmaps",
}


def body(kind: str, name: str) -> dict[str, Any]:
    if kind == "widget":  # a spec unique to each object: the CEL result cache never hits
        return widget(name, size=1, labels={"object": name})
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"v": "0"}}


def patch(kind: str, name: str, value: int) -> dict[str, Any]:
    if kind == "widget":
        return {"spec": {"size": 1 + value % 50, "labels": {"object": name, "round": str(value)}}}
    return {"data": {"v": str(value)}}


async def watch(
    session: aiohttp.ClientSession, url: str, expected: int, counts: list[int], index: int
) -> None:
    params = {"watch": "true", "resourceVersion": "0", "timeoutSeconds": "3600"}
    async with session.get(url, params=params, timeout=aiohttp.ClientTimeout(total=None)) as resp:
        async for line in resp.content:
            if line.strip():
                json.loads(line)
                counts[index] += 1
                if counts[index] >= expected:
                    return


async def load(server: ThreadedApiServer, args: argparse.Namespace) -> dict[str, Any]:
    url = server.url + PATHS[args.kind]
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    connector = aiohttp.TCPConnector(ssl=server.client_ssl_context(), limit=0)
    latencies: list[float] = []
    total = args.objects * (1 + args.updates)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
        counts = [0] * args.watchers
        watchers = [
            asyncio.create_task(watch(session, url, total, counts, i)) for i in range(args.watchers)
        ]
        await asyncio.sleep(0.5)
        started = time.perf_counter()

        async def timed(method: str, target: str, payload: Any, content_type: str) -> None:
            t0 = time.perf_counter()
            async with session.request(
                method, target, data=json.dumps(payload), headers={"Content-Type": content_type}
            ) as resp:
                await resp.read()
                assert resp.status in (200, 201), (resp.status, await resp.text())
            latencies.append(time.perf_counter() - t0)

        for i in range(args.objects):
            await timed("POST", url, body(args.kind, f"obj-{i}"), "application/json")
        for round_ in range(args.updates):
            for i in range(args.objects):
                await timed(
                    "PATCH",
                    f"{url}/obj-{i}",
                    patch(args.kind, f"obj-{i}", round_ + 1),
                    "application/merge-patch+json",
                )
        elapsed = time.perf_counter() - started
        await asyncio.wait_for(asyncio.gather(*watchers), timeout=120)
    tenth = max(1, len(latencies) // 10)
    first, last = statistics.fmean(latencies[:tenth]), statistics.fmean(latencies[-tenth:])
    updates = latencies[
        args.objects :
    ]  # creates and patches cost differently: compare like with like
    update_tenth = max(1, len(updates) // 10)
    update_ratio = (
        statistics.fmean(updates[-update_tenth:]) / statistics.fmean(updates[:update_tenth])
        if updates
        else 1.0
    )
    ordered = sorted(latencies)
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "rps": len(latencies) / elapsed,
        "p50_ms": ordered[len(ordered) // 2] * 1000,
        "p99_ms": ordered[int(len(ordered) * 0.99)] * 1000,
        "first10_ms": first * 1000,
        "last10_ms": last * 1000,
        "ratio": last / first,
        "update_ratio": update_ratio,
        "events_per_watcher": counts,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--updates", type=int, default=10)
    parser.add_argument("--watchers", type=int, default=3)
    parser.add_argument("--kind", choices=sorted(PATHS), default="widget")
    parser.add_argument("--no-tls", action="store_true")
    args = parser.parse_args(argv)
    print("command:", shlex.join([sys.executable, *sys.argv]))
    with run_in_thread(crds=[widget_crd()], tls=not args.no_tls) as server:
        result = asyncio.run(load(server, args))
    print(
        f"{args.objects} {args.kind}s x {args.updates} updates, {args.watchers} watchers,"
        f" {'http' if args.no_tls else 'https'}"
    )
    print(
        f"requests: {result['requests']} in {result['seconds']:.1f} s"
        f" = {result['rps']:.0f} requests/s"
    )
    print(f"latency: p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms")
    print(
        f"mean latency first 10%: {result['first10_ms']:.2f} ms, last 10%:"
        f" {result['last10_ms']:.2f} ms, ratio last/first: {result['ratio']:.2f} (target < 2)"
    )
    print(f"updates only, mean latency last 10% / first 10%: {result['update_ratio']:.2f}")
    print(
        f"events received per watcher: {result['events_per_watcher']}"
        f" (expected {result['requests']} each)"
    )
    flat = result["ratio"] < 2 and all(
        c == result["requests"] for c in result["events_per_watcher"]
    )
    return 0 if flat else 1


if __name__ == "__main__":
    raise SystemExit(main())
