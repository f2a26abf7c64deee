"""The console in a real browser (Playwright driving Debian's Chromium) in the local stack:
API emulator, operator, executor, runner Jobs, mock model server and ``modeleval console``.

A manual-mode task goes RunningWithManualBegin → an annotator logs in and scores every item in
the browser → an editor completes → RunningWithMetricsCalculating → Succeeded, with the manual
means in the status and summary.json. A viewer is refused (403, and the page says so); a model
answer holding ``<script>`` shows as text; a console killed mid-annotation loses nothing; two
annotators at once both persist (and the same item shows a conflict); a deleted task's results
stay browsable until retention removes them.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from modeleval_testkit.bundle import rbac_manifests
from modeleval_testkit.cluster import LocalCluster
from modeleval_testkit.mockserver import MockModelServer
from tests.support.chromium import chromium_browser
from tests.support.paths import MANIFESTS, REPO
from tests.support.written import WrittenObjects

from .evaltask_helpers import apply, status

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.needs_executor]

NAMESPACE = "default"
SCRIPT = "<script>window.pwned = 1</script><b>bold?</b>"
_names = itertools.count()


@pytest.fixture(scope="module")
def cluster(written_objects: WrittenObjects) -> Iterator[LocalCluster]:
    with LocalCluster(
        crds=[REPO / "crds"],
        rbac_manifests=rbac_manifests(MANIFESTS / "rbac"),
        console=True,
        console_rbac=MANIFESTS / "console" / "rbac.yaml",
        record_writes=True,
    ) as local:
        yield local
        written_objects.collect(local)


@pytest.fixture(scope="module")
def mock() -> Iterator[MockModelServer]:
    with MockModelServer(latency_s=0.01).running() as server:  # echoes the prompt
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium_browser() as found:
        yield found


@pytest.fixture(scope="module")
def tokens(cluster: LocalCluster) -> dict[str, str]:
    """People bound to the shipped roles, cluster-wide."""
    return {
        "viewer": cluster.user_token("vera", cluster_role="modeleval-viewer"),
        "annotator": cluster.user_token("anna", cluster_role="modeleval-annotator"),
        "annotator2": cluster.user_token("arne", cluster_role="modeleval-annotator"),
        "editor": cluster.user_token("eddie", cluster_role="modeleval-editor"),
    }


def manual_task(name: str, url: str, count: int) -> dict[str, Any]:
    items = [
        {"id": f"q{i}", "input": f"Question {i}: {SCRIPT if i == 0 else 'why?'}", "target": f"t{i}"}
        for i in range(count)
    ]
    return {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "EvalTask",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "models": [
                {"name": "alpha", "endpoint": {"url": url, "model": "alpha"}},
                {"name": "beta", "endpoint": {"url": url, "model": "beta"}},
            ],
            "dataset": {"name": "manual-qa", "inline": items},
            "inference": {"promptTemplate": "{input}", "client": {"parallel": 2}},
            "scoring": {
                "modes": ["manual"],
                "manual": {
                    "evalDimension": [{"dimension": "fluency", "description": "reads well"}]
                },
            },
        },
    }


def wait(condition: Callable[[], Any], what: str, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise TimeoutError(f"timed out waiting for {what}")


def state_of(cluster: LocalCluster, name: str) -> str | None:
    return status(cluster, NAMESPACE, name).get("state")


def console_task_id(cluster: LocalCluster, token: str, name: str, items: int) -> int:
    """The console's id of the task, once its answers have arrived."""

    def ready() -> int | None:
        found = httpx.get(
            f"{cluster.console_url}/api/v1/tasks/{NAMESPACE}/{name}",
            headers={"Authorization": f"Bearer {token}"},
        )
        if found.status_code != 200:
            return None
        body = found.json()
        ok = body["items"] == items and body["state"] == "RunningWithManualBegin"
        return int(body["id"]) if ok else None

    return int(wait(ready, f"{name}'s answers in the console"))


def start(
    cluster: LocalCluster, mock: MockModelServer, tokens: dict[str, str], count: int
) -> tuple[str, int]:
    name = f"judged-{next(_names)}"
    apply(cluster, manual_task(name, mock.url, count))
    wait(lambda: state_of(cluster, name) == "RunningWithManualBegin", f"{name} waiting")
    return name, console_task_id(cluster, tokens["editor"], name, count)


def login(browser: Any, cluster: LocalCluster, token: str) -> Any:
    page = browser.new_context().new_page()
    page.goto(f"{cluster.console_url}/login")
    page.fill("#token", token)
    page.click("#login")
    page.wait_for_url("**/tasks")
    return page


def score_item(page: Any, value: int) -> None:
    for model in range(2):
        for dimension in range(2):
            page.check(f'input[name="s-{model}-{dimension}"][value="{value}"]')


def test_annotate_in_the_browser_then_complete_to_succeeded(
    cluster: LocalCluster, mock: MockModelServer, browser: Any, tokens: dict[str, str]
) -> None:
    name, task_id = start(cluster, mock, tokens, 4)
    page = login(browser, cluster, tokens["annotator"])
    page.click(f"text={NAMESPACE}/{name}")
    page.click("#annotate")
    for index in range(4):
        page.wait_for_selector("#annotate-form")
        assert f"{index} of 4 items annotated" in page.inner_text("#progress")
        if index == 0:  # the answer echoes the input: untrusted markup is shown as text
            answers = page.locator("pre.text").all_inner_texts()
            assert any(SCRIPT in text for text in answers)
            assert page.locator("pre.text script, pre.text b").count() == 0
            assert page.evaluate("window.pwned === undefined")
        score_item(page, 4 if index % 2 else 5)
        page.click("#save-next")
    page.wait_for_selector("#all-annotated")
    assert page.locator("#complete").count() == 0  # annotators do not complete

    lead = login(browser, cluster, tokens["editor"])
    lead.goto(f"{cluster.console_url}/tasks/{task_id}")
    assert "4 of 4 items annotated" in lead.inner_text("#manual-progress")
    lead.click("#complete")
    lead.click("#confirm-complete")
    lead.wait_for_url(f"**/tasks/{task_id}")
    assert "Completed by eddie" in lead.inner_text("#manual-completed")

    seen: list[str] = []

    def finished() -> bool:
        state = state_of(cluster, name)
        if state and (not seen or seen[-1] != state):
            seen.append(state)
        return state in ("Succeeded", "Failed")

    wait(finished, f"{name} to finish")
    final = status(cluster, NAMESPACE, name)
    assert final["state"] == "Succeeded", final.get("message")
    assert seen[-2:] == ["RunningWithMetricsCalculating", "Succeeded"] or seen == ["Succeeded"]
    # every answer: satisfaction and fluency 5 on even items, 4 on odd ones → mean 4.5 → 90
    assert final["manual"]["scores"] == {"satisfaction": 90.0, "fluency": 90.0}
    assert final["manual"]["pending"] is False and final["manual"]["completedBy"] == "eddie"
    assert final["scores"]["metrics"] == {"manual.satisfaction": 90.0, "manual.fluency": 90.0}
    assert final["totalScore"] == 90.0
    [summary_file] = [
        p for p in cluster.work_dir.rglob("summary.json") if f"{name}-results" in str(p)
    ]
    summary = json.loads(summary_file.read_text(encoding="utf-8"))
    assert summary["totalScore"] == 90.0 and summary["manual"]["annotatedItems"] == 4

    def page_shows_succeeded() -> bool:
        lead.reload()
        return "Succeeded" in lead.inner_text("#state")

    wait(page_shows_succeeded, "the task page to follow the state")
    assert "90.00" in lead.inner_text("#total-score")


def test_a_viewer_cannot_annotate_and_is_told_why(
    cluster: LocalCluster, mock: MockModelServer, browser: Any, tokens: dict[str, str]
) -> None:
    name, task_id = start(cluster, mock, tokens, 2)
    page = login(browser, cluster, tokens["viewer"])
    response = page.goto(f"{cluster.console_url}/tasks/{task_id}/annotate/0")
    assert response.status == 403
    assert f"vera may not annotate evaltask {NAMESPACE}/{name}" in page.inner_text("#problem")
    page.goto(f"{cluster.console_url}/tasks/{task_id}/items")
    assert page.locator("li.item").count() == 2  # viewing is fine


def test_restart_mid_annotation_loses_nothing_and_two_annotators_both_persist(
    cluster: LocalCluster, mock: MockModelServer, browser: Any, tokens: dict[str, str]
) -> None:
    _name, task_id = start(cluster, mock, tokens, 6)
    anna = login(browser, cluster, tokens["annotator"])
    arne = login(browser, cluster, tokens["annotator2"])
    base = f"{cluster.console_url}/tasks/{task_id}/annotate"
    anna.goto(f"{base}/0")
    score_item(anna, 2)
    anna.click("#save")
    anna.wait_for_selector("#saved")

    assert cluster.console is not None
    cluster.console.restart(kill=True)  # SIGKILL: a crash, not a clean shutdown

    anna.goto(f"{base}/0")  # the session and the annotation survived
    assert anna.is_checked('input[name="s-0-0"][value="2"]')
    assert "1 of 6 items annotated" in anna.inner_text("#progress")

    anna.goto(f"{base}/1")  # two annotators at once, on different items
    arne.goto(f"{base}/2")
    score_item(anna, 3)
    score_item(arne, 5)
    anna.click("#save")
    arne.click("#save")
    anna.wait_for_selector("#saved")
    arne.wait_for_selector("#saved")

    anna.goto(f"{base}/3")  # and on the same item: the second writer is told
    arne.goto(f"{base}/3")
    score_item(anna, 1)
    score_item(arne, 4)
    anna.click("#save")
    anna.wait_for_selector("#saved")
    arne.click("#save")
    arne.wait_for_selector("#conflict")
    assert "anna saved this item" in arne.inner_text("#conflict")

    saved = httpx.get(
        f"{cluster.console_url}/api/v1/tasks/{NAMESPACE}/{_name}/annotations",
        headers={"Authorization": f"Bearer {tokens['editor']}"},
    ).json()["annotations"]
    by_item = {a["id"]: (a["annotator"], a["scores"]["alpha"]["fluency"]) for a in saved}
    assert by_item == {"q0": ("anna", 2), "q1": ("anna", 3), "q2": ("arne", 5), "q3": ("anna", 1)}


def test_deleted_task_results_stay_until_retention(
    cluster: LocalCluster, mock: MockModelServer, browser: Any, tokens: dict[str, str]
) -> None:
    name, task_id = start(cluster, mock, tokens, 2)
    cluster.kubectl("delete", "evaltask", name, "-n", NAMESPACE)
    page = login(browser, cluster, tokens["viewer"])

    def marked_deleted() -> bool:
        page.goto(f"{cluster.console_url}/tasks/{task_id}")
        return page.locator("#deleted").count() == 1

    wait(marked_deleted, "the console to notice the deletion")
    page.goto(f"{cluster.console_url}/tasks/{task_id}/items")
    assert page.locator("li.item").count() == 2

    assert cluster.console is not None
    cluster.console.env["MODELEVAL_CONSOLE_RETENTION_DAYS"] = "0.00001"  # about a second
    try:
        cluster.console.restart()

        def removed() -> bool:
            response = page.goto(f"{cluster.console_url}/tasks/{task_id}")
            return bool(response and response.status == 404)

        wait(removed, "retention to remove the results", timeout=30)
    finally:
        cluster.console.env.pop("MODELEVAL_CONSOLE_RETENTION_DAYS")
        cluster.console.restart()
