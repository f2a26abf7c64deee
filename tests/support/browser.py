"""Open a local HTML file in headless Chromium over the DevTools protocol and report on it.

Used by the report test: what loaded, what the page logged, which requests it made and what
a JavaScript expression evaluates to in the loaded page. Needs a ``chromium`` binary
(Debian: ``apt-get install -y chromium``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.realparts import unavailable

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    return next((p for name in CANDIDATES if (p := shutil.which(name))), None)


def require_chromium() -> str:
    """The ``chromium`` binary; the test is skipped (failed under MODELEVAL_REQUIRE_REAL_PARTS=1)
    when there is none."""
    binary = find_chromium()
    if binary is None:
        unavailable("no chromium binary (apt-get install -y chromium)")
    return binary


@dataclass
class PageReport:
    loaded: bool = False
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)


async def _wait_for_port_file(user_data: Path, proc: asyncio.subprocess.Process) -> int:
    port_file = user_data / "DevToolsActivePort"
    for _ in range(300):
        if port_file.exists():
            text = port_file.read_text().split()
            if text:
                return int(text[0])
        if proc.returncode is not None:
            raise RuntimeError(f"chromium exited with {proc.returncode}")
        await asyncio.sleep(0.05)
    raise TimeoutError("chromium did not open its DevTools port")


async def inspect_page(
    path: Path, expressions: dict[str, str], *, limit_s: float = 30
) -> PageReport:
    """Load ``path`` and evaluate ``expressions`` ({name: JS expression}) once it has loaded."""
    binary = require_chromium()
    report = PageReport()
    url = path.as_uri()  # path must be absolute (tmp_path is)
    # Chromium's helper processes may still write to the profile while it is removed.
    with tempfile.TemporaryDirectory(prefix="scoring-chromium-", ignore_cleanup_errors=True) as tmp:
        user_data = Path(tmp)
        proc = await asyncio.create_subprocess_exec(
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--no-default-browser-check",
            f"--user-data-dir={user_data}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            "about:blank",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stopped together below
        )
        try:
            port = await _wait_for_port_file(user_data, proc)
            async with asyncio.timeout(limit_s):
                await _drive(port, url, expressions, report)
        finally:
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                async with asyncio.timeout(10):
                    await proc.wait()
            except TimeoutError:
                _signal_group(proc.pid, signal.SIGKILL)
                await proc.wait()
    return report


async def _drive(port: int, url: str, expressions: dict[str, str], report: PageReport) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/json/list") as resp:
            targets = await resp.json()
        page = next(t for t in targets if t.get("type") == "page")
        async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            ids = itertools.count(1)
            pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
            loaded = asyncio.Event()

            async def reader() -> None:
                async for msg in ws:
                    data = json.loads(msg.data)
                    if "id" in data and data["id"] in pending:
                        pending.pop(data["id"]).set_result(data)
                        continue
                    method, params = data.get("method"), data.get("params", {})
                    if method == "Page.loadEventFired":
                        loaded.set()
                    elif method == "Runtime.consoleAPICalled" and params["type"] in (
                        "error",
                        "assert",
                    ):
                        args = params.get("args", [])
                        report.console_errors.append(" ".join(str(a.get("value")) for a in args))
                    elif method == "Runtime.exceptionThrown":
                        report.exceptions.append(json.dumps(params["exceptionDetails"])[:500])
                    elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                        report.console_errors.append(params["entry"]["text"])
                    elif method == "Network.requestWillBeSent":
                        report.requests.append(params["request"]["url"])

            async def call(method: str, **params: Any) -> dict[str, Any]:
                msg_id = next(ids)
                future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
                pending[msg_id] = future
                await ws.send_json({"id": msg_id, "method": method, "params": params})
                return await future

            task = asyncio.create_task(reader())
            try:
                for domain in ("Page", "Runtime", "Log", "Network"):
                    await call(f"{domain}.enable")
                await call("Page.navigate", url=url)
                await loaded.wait()
                report.loaded = True
                await asyncio.sleep(0.3)  # late console messages, if any
                for name, expression in expressions.items():
                    result = await call(
                        "Runtime.evaluate", expression=expression, returnByValue=True
                    )
                    report.values[name] = result["result"]["result"].get("value")
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal Chromium and every helper process it started (they share its session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
