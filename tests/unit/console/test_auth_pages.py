"""Who may do what in the console: 401 without identity, 403 without the RBAC verb, CSRF and
Origin checks on every state-changing form, the session cookie, the security headers. A
refused request changes nothing."""

from __future__ import annotations

from dataclasses import replace

from modeleval.console.auth import SESSION_COOKIE
from modeleval.console.web.app import CSP, create_app
from tests.support.console import evaltask
from tests.support.console_app import CSRF, Console


def test_anonymous_pages_answer_401_with_the_login_form(console: Console) -> None:
    page = console.client().get("/tasks")
    assert page.status_code == 401
    assert 'action="/login"' in page.text
    assert 'name="next" value="/tasks"' in page.text
    api = console.client().get("/api/v1/tasks")
    assert api.status_code == 401
    assert api.json()["error"] == "Log in"


def test_an_unknown_token_is_refused(console: Console) -> None:
    assert console.client("not-a-token").get("/api/v1/tasks").status_code == 401
    client = console.client()
    csrf = CSRF.search(client.get("/login").text)
    assert csrf is not None
    done = client.post("/login", data={"token": "forged", "csrf": csrf.group(1)})
    assert done.status_code == 401
    assert "did not accept this token" in done.text
    assert SESSION_COOKIE not in client.cookies


def test_login_needs_the_forms_csrf_cookie(console: Console) -> None:
    refused = console.client().post("/login", data={"token": "viewer", "csrf": "guess"})
    assert refused.status_code == 403


def test_login_sets_an_httponly_strict_session_cookie_and_logout_ends_it(
    console: Console,
) -> None:
    client = console.client()
    csrf = CSRF.search(client.get("/login").text)
    assert csrf is not None
    done = client.post(
        "/login",
        data={"token": "viewer", "csrf": csrf.group(1), "next": "https://evil.example/"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/tasks"  # never off-site
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    tasks = client.get("/tasks")
    assert tasks.status_code == 200 and "vera" in tasks.text
    token = CSRF.search(tasks.text)
    assert token is not None
    client.post("/logout", data={"csrf": token.group(1)})
    assert client.get("/tasks").status_code == 401


def test_every_response_carries_the_security_headers(
    console: Console, manual_task: tuple[dict[str, object], int]
) -> None:
    _, task_id = manual_task
    client = console.browser("viewer")
    for path in ("/tasks", f"/tasks/{task_id}", f"/tasks/{task_id}/items", "/login", "/nowhere"):
        response = client.get(path)
        assert response.headers["content-security-policy"] == CSP, path
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
    assert "script-src" not in CSP and "'unsafe-inline'" not in CSP  # no script may run


def test_a_viewer_gets_403_on_annotation_and_nothing_is_saved(
    console: Console, manual_task: tuple[dict[str, object], int]
) -> None:
    _, task_id = manual_task
    viewer = console.browser("viewer")
    page = viewer.get(f"/tasks/{task_id}/annotate/0")
    assert page.status_code == 403
    assert "vera may not annotate evaltask team/judged" in page.text
    csrf = CSRF.search(viewer.get(f"/tasks/{task_id}").text)
    assert csrf is not None
    post = viewer.post(
        f"/tasks/{task_id}/annotate/0",
        data={"csrf": csrf.group(1), "version": "0", "s-0-0": "5", "s-0-1": "5"},
    )
    assert post.status_code == 403
    assert console.services.annotations.all(task_id) == []


def test_forms_without_the_csrf_token_or_from_another_origin_are_refused(
    console: Console, manual_task: tuple[dict[str, object], int]
) -> None:
    _, task_id = manual_task
    annotator = console.browser("annotator")
    form = {"version": "0", "s-0-0": "4", "s-0-1": "4", "s-1-0": "4", "s-1-1": "4"}
    missing = annotator.post(f"/tasks/{task_id}/annotate/0", data=form)
    assert missing.status_code == 403
    assert "CSRF" in missing.text
    page = annotator.get(f"/tasks/{task_id}/annotate/0")
    csrf = CSRF.search(page.text)
    assert csrf is not None
    foreign = annotator.post(
        f"/tasks/{task_id}/annotate/0",
        data={**form, "csrf": csrf.group(1)},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    assert console.services.annotations.all(task_id) == []
    ok = annotator.post(
        f"/tasks/{task_id}/annotate/0", data={**form, "csrf": csrf.group(1)}, follow_redirects=False
    )
    assert ok.status_code == 303


def test_without_get_on_the_task_nothing_of_it_is_shown(
    console: Console, manual_task: tuple[dict[str, object], int]
) -> None:
    _, task_id = manual_task
    nobody = console.client("nobody")
    assert nobody.get(f"/tasks/{task_id}").status_code == 403
    assert nobody.get(f"/tasks/{task_id}/items").status_code == 403
    assert nobody.get(f"/tasks/{task_id}/download.jsonl").status_code == 403
    assert nobody.get("/api/v1/tasks/team/judged/annotations").status_code == 403
    listing = nobody.get("/tasks")
    assert listing.status_code == 200 and "team/judged" not in listing.text


def test_ingest_takes_only_the_tasks_runner_token(
    console: Console, manual_task: tuple[dict[str, object], int]
) -> None:
    obj, _ = manual_task
    body = {"task": {"metadata": obj["metadata"], "spec": obj["spec"]}, "phase": "score"}
    editor = console.client("editor")  # may patch evaltasks, not evaltasks/status
    assert editor.put("/api/v1/ingest/team/judged", json=body).status_code == 403
    session = console.browser("editor")
    assert session.put("/api/v1/ingest/team/judged", json=body).status_code == 403
    elsewhere = console.client("runner").put("/api/v1/ingest/other/judged", json=body)
    assert elsewhere.status_code == 403  # its Role is for its own namespace's task only
    assert console.client("runner").put("/api/v1/ingest/team/judged", json=body).status_code == 200


def test_the_runner_token_is_not_a_browser_login(console: Console) -> None:
    """Runner tokens are bound to the console's audience; any bearer can log in only if the
    API server's TokenReview accepts it: here, through the audience-less review only."""
    assert console.client("runner").get("/api/v1/tasks").status_code == 200


def test_trusted_headers_are_ignored_unless_configured(console: Console) -> None:
    console.kube.tasks[("team", "qa")] = evaltask("qa")
    console.services.mirror.run_once()
    headers = {"X-Forwarded-User": "eddie", "X-Forwarded-Groups": "admins"}
    assert console.client().get("/api/v1/tasks", headers=headers).status_code == 401
    services = console.services
    services.settings = replace(
        services.settings,
        trusted_user_header="X-Forwarded-User",
        trusted_groups_header="X-Forwarded-Groups",
    )
    services.auth.settings = services.settings
    trusting = create_app(services)
    from fastapi.testclient import TestClient

    client = TestClient(trusting)
    listed = client.get("/api/v1/tasks", headers=headers)
    assert listed.status_code == 200
    assert [t["name"] for t in listed.json()["items"]] == ["qa"]
    assert console.kube.checks[-1][0] == "eddie"
