"""The CLI's console client: MODELEVAL_CONSOLE_TOKEN is its bearer token unless --token says
otherwise (then the kubeconfig's)."""

from __future__ import annotations

from pathlib import Path

import pytest

from modeleval.console.client import ConsoleClient, ConsoleClientError


def test_the_token_comes_from_the_flag_then_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    monkeypatch.delenv("MODELEVAL_CONSOLE_TOKEN", raising=False)
    with pytest.raises(ConsoleClientError, match="set MODELEVAL_CONSOLE_TOKEN"):
        ConsoleClient("http://console.example")
    monkeypatch.setenv("MODELEVAL_CONSOLE_TOKEN", "from-env")
    with ConsoleClient("http://console.example") as client:
        assert client.http.headers["Authorization"] == "Bearer from-env"
    with ConsoleClient("http://console.example", token="from-flag") as client:
        assert client.http.headers["Authorization"] == "Bearer from-flag"
