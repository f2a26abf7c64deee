"""`run_in_thread`: an `ApiServer` on its own event loop in a background thread, for sync code."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from modeleval_testkit.apiserver.server import ApiServer

T = TypeVar("T")
# Methods of ApiServer that touch its state: ThreadedApiServer runs them on the server's loop.
PROXIED = (
    "load_crds",
    "load_manifests",
    "create_object",
    "apply_object",
    "get_object",
    "list_objects",
    "patch_object",
    "delete_object",
    "set_pod_log",
    "issue_token",
    "issue_service_account_token",
    "write_kubeconfig",
    "info_for",
)


class ThreadedApiServer:
    """An `ApiServer` running in a thread; its methods are safe to call from any thread.

    Attributes other than the proxied methods (``url``, ``admin_token``, ``request_log``…)
    are read straight from the server.
    """

    def __init__(self, server: ApiServer, loop: asyncio.AbstractEventLoop) -> None:
        self.server = server
        self.loop = loop

    def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``function(*args, **kwargs)`` on the server's loop and return its result."""

        async def run() -> T:
            return function(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=60)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.server, name)
        if name in PROXIED:
            return lambda *args, **kwargs: self.call(attribute, *args, **kwargs)
        return attribute


@contextmanager
def run_in_thread(
    *, host: str = "127.0.0.1", port: int = 0, tls: bool = True, **options: Any
) -> Iterator[ThreadedApiServer]:
    """Start an `ApiServer(**options)` in a background thread; stop it on exit."""
    loop = asyncio.new_event_loop()
    started: dict[str, Any] = {}
    ready = threading.Event()

    def main() -> None:
        asyncio.set_event_loop(loop)

        async def boot() -> None:
            try:
                started["server"] = await ApiServer(**options).start(host, port, tls=tls)
            except BaseException as exc:
                started["error"] = exc
            finally:
                ready.set()

        loop.run_until_complete(boot())
        if "server" in started:
            loop.run_forever()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    thread = threading.Thread(target=main, name="apiserver", daemon=True)
    thread.start()
    ready.wait()
    if "error" in started:
        thread.join()
        raise started["error"]
    server: ApiServer = started["server"]
    try:
        yield ThreadedApiServer(server, loop)
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
