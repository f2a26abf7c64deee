"""The schema check of written objects (tests/support/k8s_schemas.py): the versions it covers
are the chart's, it passes what the builders make and it fails a deliberately broken manifest.

The check itself runs over every object the operator writes during the e2e suite
(tests/e2e/conftest.py); this module makes sure it can fail.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from modeleval.api import EvalTask, ModelEvalServiceGroup
from modeleval.builders.evaltask import build_results_pvc, build_task_config_map
from modeleval.builders.jobs import build_job, build_runner_rbac
from modeleval.builders.servicegroup import build_deployment, build_model_cache_pvc, build_service
from modeleval.events import build_event
from modeleval.settings import OperatorSettings
from tests.support.k8s_schemas import KubernetesSchemas, report, supported_versions
from tests.support.paths import MANIFESTS

VERSIONS = supported_versions()


@pytest.fixture(scope="module")
def schemas() -> KubernetesSchemas:
    return KubernetesSchemas(VERSIONS)


def sample(name: str, kind: str) -> dict[str, Any]:
    docs = yaml.safe_load_all((MANIFESTS / "samples" / name).read_text(encoding="utf-8"))
    doc = next(d for d in docs if d and d["kind"] == kind)
    doc["metadata"].update(namespace="team", uid="u-1", generation=1)
    return dict(doc)


def built_objects() -> list[dict[str, Any]]:
    task = EvalTask.model_validate(sample("20-evaltask-rule.yaml", "EvalTask"))
    group = ModelEvalServiceGroup.model_validate(
        sample("10-servicegroup-qwen.yaml", "ModelEvalServiceGroup")
    )
    settings = OperatorSettings()
    objects = [
        *build_runner_rbac(task),
        build_job(task, "infer", settings),
        build_job(task, "score", settings),
        build_task_config_map(task, {"models": []}),
        build_deployment(group),
        build_service(group),
        build_event(task.to_wire() | {"apiVersion": "modeleval.io/v1alpha1", "kind": "EvalTask",
                                      "metadata": {"name": "t", "namespace": "team"}},
                    reason="Running", message="started"),
    ]  # fmt: skip
    for optional in (build_results_pvc(task, settings), build_model_cache_pvc(group)):
        if optional is not None:
            objects.append(optional)
    return objects


def test_the_versions_are_the_charts_and_at_least_1_29_to_1_34() -> None:
    assert VERSIONS[0] == "1.29" and "1.34" in VERSIONS
    assert [f"1.{m}" for m in range(29, 29 + len(VERSIONS))] == VERSIONS


def test_what_the_builders_make_is_valid_for_every_supported_version(
    schemas: KubernetesSchemas,
) -> None:
    objects = built_objects()
    kinds = {obj["kind"] for obj in objects}
    assert kinds >= {"Job", "ConfigMap", "Deployment", "Service", "ServiceAccount", "Role",
                     "RoleBinding", "Event", "PersistentVolumeClaim"}  # fmt: skip
    assert report(schemas, objects) == []


def broken_job() -> dict[str, Any]:
    task = EvalTask.model_validate(sample("20-evaltask-rule.yaml", "EvalTask"))
    job = copy.deepcopy(build_job(task, "infer", OperatorSettings()))
    job["spec"]["backofLimit"] = 3  # misspelt: unknown field
    container = job["spec"]["template"]["spec"]["containers"][0]
    container["imagePullPolicy"] = 7  # not a string
    container["resources"]["limits"]["memory"] = {"amount": "1Gi"}  # not a quantity
    return job


def test_a_deliberately_broken_manifest_fails_in_every_version(
    schemas: KubernetesSchemas,
) -> None:
    errors = schemas.errors(broken_job())
    assert set(errors) == set(VERSIONS)
    for messages in errors.values():
        text = "\n".join(messages)
        assert "spec: Additional properties are not allowed ('backofLimit'" in text
        assert "spec.template.spec.containers.0.imagePullPolicy: 7 is not of type" in text
        assert "spec.template.spec.containers.0.resources.limits.memory" in text
    [line] = report(schemas, [broken_job()])
    assert line.startswith("Job team/") and "[1.29, 1.30" in line


def test_custom_resources_are_left_to_the_emulators_crd_validation(
    schemas: KubernetesSchemas,
) -> None:
    assert not schemas.has_schema("modeleval.io/v1alpha1", "EvalTask")
    assert schemas.has_schema("batch/v1", "Job")


def test_the_session_check_reports_a_broken_write_and_kinds_never_written() -> None:
    from tests.support.written import WrittenObjects

    written = WrittenObjects()
    written.objects = [broken_job(), *built_objects()]
    written.kinds = {("batch", "jobs"): "Job", ("", "events"): "Event"}
    problems = written.check(require_every_kind=False)
    assert problems[0].startswith("1 object(s) the operator wrote are invalid for Kubernetes 1.29")
    assert "backofLimit" in problems[1]
    written.objects = built_objects()
    assert written.check(require_every_kind=False) == []
    missing = written.check(require_every_kind=True)
    assert missing and "never made the operator write" in missing[-1]
