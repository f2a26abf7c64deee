"""The console's JSON API from the command line (offline annotation): export a task's items
as CSV, import scores, complete. Needs only httpx; the caller's Kubernetes token goes in
``Authorization`` exactly as the API server would get it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx


class ConsoleClientError(Exception):
    """The console refused a call; the message is the console's."""


def kubeconfig_token() -> str | None:
    """The bearer token of the current kubeconfig context, if it has a plain token."""
    try:
        from kubernetes import client, config

        settings = client.Configuration()
        config.load_kube_config(client_configuration=settings)  # type: ignore[no-untyped-call]
    except Exception:
        return None
    auth = settings.auth_settings().get("BearerToken")
    return str(auth["value"]).removeprefix("Bearer ").strip() if auth else None


class ConsoleClient:
    def __init__(self, url: str, token: str | None = None, *, timeout: float = 60.0) -> None:
        token = token or os.environ.get("MODELEVAL_CONSOLE_TOKEN") or kubeconfig_token()
        if not token:
            raise ConsoleClientError(
                "no token: pass --token, set MODELEVAL_CONSOLE_TOKEN, or use a kubeconfig with one"
            )
        self.http = httpx.Client(
            base_url=url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout,
        )

    def __enter__(self) -> ConsoleClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def _check(self, response: httpx.Response) -> httpx.Response:
        if response.status_code >= 400:
            try:
                message = response.json().get("message") or response.text
            except ValueError:
                message = response.text
            raise ConsoleClientError(f"{response.status_code}: {message}")
        return response

    def export_csv(self, namespace: str, name: str, out: Path) -> int:
        """Write the task's items as CSV to ``out``; returns the number of rows."""
        rows = 0
        path = f"/api/v1/tasks/{namespace}/{name}/annotations.csv"
        with self.http.stream("GET", path) as response:
            if response.status_code >= 400:
                response.read()
            self._check(response)
            with out.open("wb") as fh:
                for chunk in response.iter_bytes():
                    rows += chunk.count(b"\n")
                    fh.write(chunk)
        return max(0, rows - 1)

    def import_csv(self, namespace: str, name: str, source: Path) -> dict[str, Any]:
        response = self.http.post(
            f"/api/v1/tasks/{namespace}/{name}/annotations",
            content=source.read_bytes(),
            headers={"Content-Type": "text/csv"},
        )
        result: dict[str, Any] = self._check(response).json()
        return result

    def complete(self, namespace: str, name: str) -> dict[str, Any]:
        response = self.http.post(f"/api/v1/tasks/{namespace}/{name}/complete")
        result: dict[str, Any] = self._check(response).json()
        return result
