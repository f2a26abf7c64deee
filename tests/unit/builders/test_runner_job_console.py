"""With a console configured, every runner Job gets its URL and a token only it accepts."""

from __future__ import annotations

import pytest

from modeleval.builders.jobs import CONSOLE_TOKEN_DIR, build_job
from modeleval.settings import OperatorSettings

from .test_evaltask_runner_job import SETTINGS, container, env_of, make_task

CONSOLE = OperatorSettings(
    runner_image="registry.local/runner:1",
    console_url="http://modeleval-console.modeleval-system.svc:8000",
    console_audience="modeleval-console",
)


@pytest.mark.parametrize("phase", ["infer", "score", "manual"])
def test_console_url_and_audience_bound_token(phase: str) -> None:
    job = build_job(make_task(scoring={"modes": ["manual"]}), phase, CONSOLE)
    assert job["metadata"]["name"] == f"qa-{phase}"
    assert container(job)["command"] == ["python", "-m", "modeleval.runner", phase]
    env = env_of(job)
    assert env["MODELEVAL_CONSOLE_URL"] == "http://modeleval-console.modeleval-system.svc:8000"
    assert env["MODELEVAL_CONSOLE_TOKEN_FILE"] == f"{CONSOLE_TOKEN_DIR}/token"
    volumes = {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}
    [source] = volumes["console-token"]["projected"]["sources"]
    assert source["serviceAccountToken"] == {
        "audience": "modeleval-console",
        "expirationSeconds": 3600,
        "path": "token",
    }
    mounts = {m["name"]: m for m in container(job)["volumeMounts"]}
    assert mounts["console-token"] == {
        "name": "console-token",
        "mountPath": CONSOLE_TOKEN_DIR,
        "readOnly": True,
    }


def test_without_a_console_nothing_is_added() -> None:
    job = build_job(make_task(), "infer", SETTINGS)
    assert not [k for k in env_of(job) if k.startswith("MODELEVAL_CONSOLE")]
    assert "console-token" not in {v["name"] for v in job["spec"]["template"]["spec"]["volumes"]}
