"""Every console setting: read from its ``MODELEVAL_CONSOLE_*`` variable, and what it changes."""

from __future__ import annotations

import shutil
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from modeleval.clock import utc_now
from modeleval.console.settings import DEFAULT_DATABASE, ConsoleSettings
from modeleval.console.web.app import create_app
from tests.support.console import build_services, evaltask, item_records, standard_kube
from tests.support.console_app import CSRF, Console

EVERY_VARIABLE = {
    "MODELEVAL_CONSOLE_DATABASE_URL": "postgresql+psycopg://u:p@db.example/results",
    "MODELEVAL_CONSOLE_HOST": "127.0.0.2",
    "MODELEVAL_CONSOLE_PORT": "8123",
    "MODELEVAL_CONSOLE_AUDIENCE": "team-console",
    "MODELEVAL_CONSOLE_TRUSTED_USER_HEADER": "X-Forwarded-User",
    "MODELEVAL_CONSOLE_TRUSTED_GROUPS_HEADER": "X-Forwarded-Groups",
    "MODELEVAL_CONSOLE_SESSION_HOURS": "2.5",
    "MODELEVAL_CONSOLE_SECURE_COOKIES": "false",
    "MODELEVAL_CONSOLE_SYNC_SECONDS": "30",
    "MODELEVAL_CONSOLE_RETENTION_DAYS": "7",
    "MODELEVAL_CONSOLE_AUTH_CACHE_SECONDS": "0",
    "MODELEVAL_CONSOLE_PUBLIC_URL": "https://console.example.com/",
    "MODELEVAL_CONSOLE_VENDOR_APIS": " ZStack ,",
    "MODELEVAL_CONSOLE_VENDOR_NAMESPACE": "vendor-objects",
    "MODELEVAL_CONSOLE_ACCESS_KEY_NAMESPACE": "qianfan-keys",
    "MODELEVAL_CONSOLE_VENDOR_MAX_BODY_BYTES": "4096",
    "MODELEVAL_CONSOLE_SIGNATURE_MAX_AGE_SECONDS": "600",
}


def test_every_console_setting_is_read_from_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in EVERY_VARIABLE.items():
        monkeypatch.setenv(name, value)
    settings = ConsoleSettings()
    assert settings.database_url == "postgresql+psycopg://u:p@db.example/results"
    assert (settings.host, settings.port) == ("127.0.0.2", 8123)
    assert settings.audience == "team-console"
    assert settings.trusted_user_header == "X-Forwarded-User"
    assert settings.trusted_groups_header == "X-Forwarded-Groups"
    assert (settings.session_hours, settings.secure_cookies) == (2.5, False)
    assert (settings.sync_seconds, settings.retention_days) == (30.0, 7.0)
    assert settings.auth_cache_seconds == 0.0
    assert settings.public_url == "https://console.example.com"
    assert (settings.vendor_apis, settings.vendor_namespace) == (("zstack",), "vendor-objects")
    assert settings.access_key_namespace == "qianfan-keys"
    assert settings.vendor_max_body_bytes == 4096
    assert settings.signature_max_age_seconds == 600


def test_the_database_url_is_built_from_its_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """MODELEVAL_CONSOLE_DATABASE_HOST, _PORT, _USER, _PASSWORD, _NAME, _SSLMODE (the chart's
    PostgreSQL values, the password from a Secret); _URL wins over them."""
    for name in EVERY_VARIABLE:
        monkeypatch.delenv(name, raising=False)
    assert ConsoleSettings().database_url == DEFAULT_DATABASE
    monkeypatch.setenv("MODELEVAL_CONSOLE_DATABASE_HOST", "pg.db.svc")
    assert ConsoleSettings().database_url == (
        "postgresql+psycopg://modeleval@pg.db.svc:5432/modeleval?sslmode=prefer"
    )
    parts = {
        "MODELEVAL_CONSOLE_DATABASE_PORT": "6432",
        "MODELEVAL_CONSOLE_DATABASE_USER": "evals",
        "MODELEVAL_CONSOLE_DATABASE_PASSWORD": "p@ss/word",
        "MODELEVAL_CONSOLE_DATABASE_NAME": "results",
        "MODELEVAL_CONSOLE_DATABASE_SSLMODE": "verify-full",
    }
    for name, value in parts.items():
        monkeypatch.setenv(name, value)
    assert ConsoleSettings().database_url == (
        "postgresql+psycopg://evals:p%40ss%2Fword@pg.db.svc:6432/results?sslmode=verify-full"
    )
    monkeypatch.setenv("MODELEVAL_CONSOLE_DATABASE_URL", "sqlite:////data/c.db")
    assert ConsoleSettings().database_url == "sqlite:////data/c.db"


def console_with(tmp_path: Path, migrated_database: Path, **changes: Any) -> Console:
    tmp_path.mkdir(parents=True, exist_ok=True)
    database = tmp_path / "console.db"
    shutil.copyfile(migrated_database, database)
    kube = standard_kube()
    services = build_services(f"sqlite:///{database}", kube, **changes)
    return Console(services, kube, create_app(services))


def login(client: TestClient) -> Any:
    csrf = CSRF.search(client.get("/login").text)
    assert csrf is not None
    return client.post(
        "/login",
        data={"token": "viewer", "csrf": csrf.group(1), "next": "/tasks"},
        follow_redirects=False,
    )


def test_session_hours_and_secure_cookies_shape_the_session_cookie(
    tmp_path: Path, migrated_database: Path
) -> None:
    """MODELEVAL_CONSOLE_SESSION_HOURS: the session cookie's Max-Age (and the session's end);
    MODELEVAL_CONSOLE_SECURE_COOKIES: its Secure flag."""
    console = console_with(tmp_path, migrated_database, session_hours=2.5, secure_cookies=True)
    try:  # Secure cookies travel over HTTPS only
        https = TestClient(console.app, base_url="https://testserver")  # type: ignore[arg-type]
        cookie = login(https).headers["set-cookie"]
    finally:
        console.services.close()
    assert "Max-Age=9000" in cookie and "Secure" in cookie
    plain = console_with(tmp_path / "b", migrated_database, session_hours=8, secure_cookies=False)
    try:
        cookie = login(plain.client()).headers["set-cookie"]
    finally:
        plain.services.close()
    assert "Max-Age=28800" in cookie and "Secure" not in cookie


def test_auth_cache_seconds_reuses_token_reviews(tmp_path: Path, migrated_database: Path) -> None:
    """MODELEVAL_CONSOLE_AUTH_CACHE_SECONDS: a token's TokenReview answers are reused that long
    (0: never)."""
    counts = {}
    for seconds in (60.0, 0.0):
        console = console_with(tmp_path / str(seconds), migrated_database,
                               auth_cache_seconds=seconds)  # fmt: skip
        try:
            client = console.client("viewer")
            seen = []
            for _ in range(3):
                assert client.get("/api/v1/tasks").status_code == 200
                seen.append(console.kube.reviews)
        finally:
            console.services.close()
        counts[seconds] = seen
    first = counts[60.0][0]
    assert counts[60.0] == [first, first, first]  # reviewed once, then cached
    assert counts[0.0] == [first, 2 * first, 3 * first]  # reviewed on every request


def test_the_public_url_is_an_origin_form_posts_may_come_from(
    tmp_path: Path, migrated_database: Path
) -> None:
    """MODELEVAL_CONSOLE_PUBLIC_URL: behind a proxy that rewrites the host, form posts come
    from the public URL's origin, which is then accepted."""
    origin = {"origin": "https://console.example.com"}
    for public, status in ((None, 403), ("https://console.example.com", 303)):
        console = console_with(tmp_path / str(status), migrated_database, public_url=public)
        try:
            client = console.client()
            csrf = CSRF.search(client.get("/login").text)
            assert csrf is not None
            form = {"token": "viewer", "csrf": csrf.group(1), "next": "/tasks"}
            done = client.post("/login", data=form, headers=origin, follow_redirects=False)
        finally:
            console.services.close()
        assert done.status_code == status, done.text


def test_sync_seconds_is_how_often_the_console_mirrors_the_cluster(
    tmp_path: Path, migrated_database: Path
) -> None:
    """MODELEVAL_CONSOLE_SYNC_SECONDS: the background mirror's period (0: none)."""
    never = console_with(tmp_path / "a", migrated_database, sync_seconds=0)
    never.services.mirror.start()
    time.sleep(0.2)
    never.services.close()
    assert never.services.mirror.runs == 0  # 0: no background sync at all
    often = console_with(tmp_path / "b", migrated_database, sync_seconds=0.05)
    often.services.mirror.start()
    time.sleep(0.4)
    often.services.mirror.stop()
    often.services.close()
    assert often.services.mirror.runs >= 3


def test_retention_days_removes_the_results_of_deleted_tasks(
    tmp_path: Path, migrated_database: Path
) -> None:
    """MODELEVAL_CONSOLE_RETENTION_DAYS: a deleted task that ended 10 days ago is gone with 7,
    kept with 30 or 0 (forever)."""
    ended = (utc_now() - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    kept = {}
    for days in (7.0, 30.0, 0.0):
        console = console_with(tmp_path / str(days), migrated_database, retention_days=days)
        try:
            obj = evaltask("gone")
            obj["status"]["endTime"] = ended
            console.kube.tasks[("team", "gone")] = obj
            console.ingest(obj, item_records(2))
            console.services.mirror.run_once()
            del console.kube.tasks[("team", "gone")]
            console.services.mirror.run_once()  # sees it deleted, applies retention
            viewer = console.client("viewer")
            kept[days] = viewer.get("/api/v1/tasks/team/gone").status_code == 200
        finally:
            console.services.close()
    assert kept == {7.0: False, 30.0: True, 0.0: True}


def test_the_server_listens_on_host_and_port(
    tmp_path: Path, migrated_database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MODELEVAL_CONSOLE_HOST and MODELEVAL_CONSOLE_PORT: where uvicorn listens;
    MODELEVAL_LOG_LEVEL: the console's log level."""
    import uvicorn

    from modeleval.console import server
    from modeleval.console.kubeapi import KubeApi

    database = tmp_path / "console.db"
    shutil.copyfile(migrated_database, database)
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw))
    monkeypatch.setattr(KubeApi, "from_environment", staticmethod(standard_kube))
    monkeypatch.setattr("logging.basicConfig", lambda **kw: seen.update(logging=kw))
    monkeypatch.setenv("MODELEVAL_LOG_LEVEL", "DEBUG")
    settings = replace(ConsoleSettings(), database_url=f"sqlite:///{database}",
                       host="127.0.0.2", port=8123, sync_seconds=0)  # fmt: skip
    assert server.serve(settings) == 0
    assert (seen["host"], seen["port"]) == ("127.0.0.2", 8123)
    assert seen["logging"]["level"] == "DEBUG"  # MODELEVAL_LOG_LEVEL
