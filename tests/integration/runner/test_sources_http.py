"""Dataset files over HTTP, from a real local HTTP server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from modeleval.runner.datasets import DatasetError
from modeleval.runner.sources import DatasetSource, load_dataset


@pytest.fixture
def http_file() -> Iterator[str]:
    body = b'{"input": "from http", "target": "t"}\n'

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/d.jsonl" and self.headers.get("Authorization") == "Bearer x":
                self.send_response(200)
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_response(404)
                self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_source(http_file: str) -> None:
    headers = {"Authorization": "Bearer x"}
    (item,) = load_dataset(DatasetSource(url=f"{http_file}/d.jsonl", http_headers=headers))
    assert item.input == "from http"
    with pytest.raises(DatasetError, match="HTTP 404"):
        load_dataset(DatasetSource(url=f"{http_file}/missing.jsonl"))
