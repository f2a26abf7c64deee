"""A stand-in for the Hugging Face Hub's file API, serving a mirror folder over HTTP.

Routes (what ``modeleval.runner.benchmark_data.HubStore`` uses):
``GET /api/datasets/{owner}/{name}/tree/{revision}/{folder}`` lists a folder (``page_size``
entries per page, the rest behind a ``Link: <...>; rel="next"`` header, as the Hub pages);
``GET /datasets/{owner}/{name}/resolve/{revision}/{path}`` serves a file. Revisions are
accepted whatever they are and recorded; ``token`` makes every request need
``Authorization: Bearer <token>``; ``fail_first`` answers that many requests with 503.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit


class FakeHub:
    def __init__(
        self, root: Path, *, page_size: int = 1000, token: str | None = None, fail_first: int = 0
    ) -> None:
        self.root = root
        self.page_size = page_size
        self.token = token
        self.fail_first = fail_first
        self.requests: list[str] = []
        self.revisions: set[str] = set()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hub.requests.append(self.path)
                if hub.fail_first > 0:
                    hub.fail_first -= 1
                    return self._send(503, b"busy")
                if hub.token and self.headers.get("Authorization") != f"Bearer {hub.token}":
                    return self._send(401, b"unauthorized")
                parts = urlsplit(self.path)
                segments = [unquote(s) for s in parts.path.strip("/").split("/")]
                if segments[:2] == ["api", "datasets"] and len(segments) >= 6:
                    owner, name, _, revision, *folder = segments[2:]
                    hub.revisions.add(revision)
                    return self._tree(f"{owner}/{name}", "/".join(folder), parts.query)
                if segments[:1] == ["datasets"] and len(segments) >= 6:
                    owner, name, _, revision, *path = segments[1:]
                    hub.revisions.add(revision)
                    file = hub.root / owner / name / "/".join(path)
                    if file.is_file():
                        return self._send(200, file.read_bytes(), "application/octet-stream")
                return self._send(404, b"not found")

            def _tree(self, repo: str, folder: str, query: str) -> None:
                base = hub.root / repo / folder
                if not base.is_dir():
                    return self._send(404, b'{"error": "not found"}', "application/json")
                entries = [
                    {
                        "type": "file" if p.is_file() else "directory",
                        "path": f"{folder}/{p.name}" if folder else p.name,
                    }
                    for p in sorted(base.iterdir())
                ]
                start = int(parse_qs(query).get("cursor", ["0"])[0])
                page = entries[start : start + hub.page_size]
                headers = {}
                if start + hub.page_size < len(entries):
                    nxt = f"http://{self.headers['Host']}{urlsplit(self.path).path}"
                    headers["Link"] = f'<{nxt}?cursor={start + hub.page_size}>; rel="next"'
                body = json.dumps(page).encode()
                return self._send(200, body, "application/json", headers)

            def _send(
                self,
                status: int,
                body: bytes,
                kind: str = "text/plain",
                headers: dict[str, str] | None = None,
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @contextmanager
    def running(self) -> Iterator[FakeHub]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
            thread.join()
