"""The Helm chart: lints, renders with default and non-default values, rejects bad values."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
import yaml

from modeleval.api import EvalTask
from modeleval.builders.jobs import build_runner_rbac
from tests.support.k8s_schemas import KubernetesSchemas, report, supported_versions
from tests.support.kube import NAMESPACE, KubeTools, of_kind, one
from tests.support.paths import CHART, MANIFESTS

SAMPLE_TASK = MANIFESTS / "samples" / "20-evaltask-rule.yaml"

NON_DEFAULT = [
    "--set", "watchNamespaces={team-a,team-b}",
    "--set", "metrics.serviceMonitor.enabled=true",
    "--set", "metrics.serviceMonitor.labels.release=prometheus",
    "--set", "image.repository=registry.example.com/ml/modeleval",
    "--set", "image.tag=1.2.3",
    "--set", "image.pullPolicy=Always",
    "--set", "imagePullSecrets[0].name=regcred",
    "--set", "runner.image.tag=1.2.4",
    "--set", "runner.results.storageClass=fast-ssd",
    "--set", "runner.results.size=20Gi",
    "--set", "operator.logLevel=debug",
    "--set", "operator.logFormat=json",
    "--set", "nodeSelector.kubernetes\\.io/os=linux",
    "--set", "tolerations[0].key=dedicated",
    "--set", "tolerations[0].operator=Exists",
    "--set", "podAnnotations.team=ml",
]  # fmt: skip


def container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    deployment = one(objects, "Deployment", "modeleval-operator")
    [operator] = deployment["spec"]["template"]["spec"]["containers"]
    return operator


def env_of(objects: list[dict[str, Any]]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container(objects)["env"] if "value" in e}


def test_helm_lint_is_clean(kube_tools: KubeTools) -> None:
    result = kube_tools.run(kube_tools.helm, "lint", "--strict", CHART)
    assert "0 chart(s) failed" in result.stdout
    for values in (NON_DEFAULT,):
        kube_tools.run(kube_tools.helm, "lint", "--strict", CHART, *values)


@pytest.mark.parametrize("values", [[], NON_DEFAULT], ids=["defaults", "non-default"])
def test_every_builtin_object_is_valid_kubernetes(kube_tools: KubeTools, values: list[str]) -> None:
    """Against the official schemas of every version the chart's kubeVersion admits."""
    objects = kube_tools.helm_template(*values)
    builtin = [obj for obj in objects if obj["kind"] not in ("ServiceMonitor", "PodMonitor")]
    assert len(builtin) >= 8
    assert report(KubernetesSchemas(supported_versions()), builtin) == []


def test_defaults_watch_all_namespaces_with_cluster_bindings(kube_tools: KubeTools) -> None:
    objects = kube_tools.helm_template()
    args = container(objects)["args"]
    assert args[:2] == ["--standalone", "--all-namespaces"]
    assert "--liveness=http://0.0.0.0:8080/healthz" in args
    assert args[-2:] == ["-m", "modeleval.main"]
    assert not of_kind(objects, "RoleBinding")
    bindings = {b["metadata"]["name"]: b for b in of_kind(objects, "ClusterRoleBinding")}
    assert set(bindings) == {"modeleval-operator", "modeleval-operator-cluster"}
    for binding in bindings.values():
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "modeleval-operator", "namespace": NAMESPACE}
        ]
    cluster_rules = one(objects, "ClusterRole", "modeleval-operator-cluster")["rules"]
    assert [r["resources"] for r in cluster_rules] == [["customresourcedefinitions"]]
    assert not of_kind(objects, "ServiceMonitor")


def test_watch_namespaces_bind_the_operator_role_per_namespace(kube_tools: KubeTools) -> None:
    objects = kube_tools.helm_template(*NON_DEFAULT)
    args = container(objects)["args"]
    assert "--all-namespaces" not in args
    assert [a for a in args if a.startswith("--namespace")] == [
        "--namespace=team-a",
        "--namespace=team-b",
    ]
    assert [b["metadata"]["name"] for b in of_kind(objects, "ClusterRoleBinding")] == [
        "modeleval-operator-cluster"
    ]
    role_bindings = of_kind(objects, "RoleBinding")
    assert sorted(b["metadata"]["namespace"] for b in role_bindings) == ["team-a", "team-b"]
    for binding in role_bindings:
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "modeleval-operator",
        }
    cluster_rules = one(objects, "ClusterRole", "modeleval-operator-cluster")["rules"]
    assert {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list", "watch"]} in (
        cluster_rules
    )


def test_non_default_values_reach_the_deployment(kube_tools: KubeTools) -> None:
    objects = kube_tools.helm_template(*NON_DEFAULT)
    operator = container(objects)
    assert operator["image"] == "registry.example.com/ml/modeleval:1.2.3"
    assert operator["imagePullPolicy"] == "Always"
    assert {"--debug", "--log-format=json"} <= set(operator["args"])
    pod = one(objects, "Deployment", "modeleval-operator")["spec"]["template"]
    assert pod["metadata"]["annotations"] == {"team": "ml"}
    assert pod["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
    assert pod["spec"]["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert pod["spec"]["tolerations"] == [{"key": "dedicated", "operator": "Exists"}]
    env = env_of(objects)
    assert env["MODELEVAL_RUNNER_IMAGE"] == "registry.example.com/ml/modeleval:1.2.4"
    assert env["MODELEVAL_RESULTS_STORAGE_CLASS"] == "fast-ssd"
    assert env["MODELEVAL_RESULTS_SIZE"] == "20Gi"
    monitor = one(objects, "ServiceMonitor", "modeleval-operator")
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    service = one(objects, "Service", "modeleval-operator-metrics")
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()


def test_runner_defaults_are_passed_as_env(kube_tools: KubeTools) -> None:
    env = env_of(kube_tools.helm_template())
    assert env == {
        "MODELEVAL_LOG_LEVEL": "INFO",
        "MODELEVAL_METRICS_PORT": "9090",
        "MODELEVAL_RUNNER_IMAGE": "ghcr.io/modeleval/modeleval:0.1.0",
        "MODELEVAL_RUNNER_IMAGE_PULL_POLICY": "IfNotPresent",
        "MODELEVAL_RUNNER_IMAGE_PULL_SECRETS": "",
        "MODELEVAL_RUNNER_CPU": "500m",
        "MODELEVAL_RUNNER_MEMORY": "512Mi",
        "MODELEVAL_RUNNER_CPU_LIMIT": "2",
        "MODELEVAL_RUNNER_MEMORY_LIMIT": "2Gi",
        "MODELEVAL_RUNNER_METRICS_PORT": "9090",
        "MODELEVAL_RESULTS_STORAGE_CLASS": "",
        "MODELEVAL_RESULTS_SIZE": "1Gi",
        "MODELEVAL_OPERATOR_USERNAME": "system:serviceaccount:modeleval-system:modeleval-operator",
        "MODELEVAL_ALLOWED_RUNNER_IMAGES": "",
        "MODELEVAL_ALLOWED_MODEL_IMAGES": "docker.io/vllm/vllm-openai:*,"
        "docker.io/lmsysorg/sglang:*,ghcr.io/huggingface/text-generation-inference:*,"
        "nvcr.io/nvidia/tritonserver:*",
        "MODELEVAL_ALLOWED_DATASET_URLS": "https://*",
        "MODELEVAL_ALLOW_CONTROL_PLANE": "false",
        "MODELEVAL_REQUIRE_USABLE_LABEL": "true",
    }


def test_kopf_gets_its_identity_from_the_pod_name(kube_tools: KubeTools) -> None:
    """POD_ID: Kopf's identity; without it Kopf asks getpass.getuser() (needs a passwd entry)."""
    [pod_id] = [e for e in container(kube_tools.helm_template())["env"] if e["name"] == "POD_ID"]
    assert pod_id["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}


def test_digest_pins_both_images(kube_tools: KubeTools) -> None:
    digest = "sha256:" + "ab" * 32
    objects = kube_tools.helm_template("--set", f"image.digest={digest}")
    assert container(objects)["image"] == f"ghcr.io/modeleval/modeleval@{digest}"
    assert env_of(objects)["MODELEVAL_RUNNER_IMAGE"] == f"ghcr.io/modeleval/modeleval@{digest}"


def test_metrics_off_removes_service_port_and_env(kube_tools: KubeTools) -> None:
    objects = kube_tools.helm_template("--set", "metrics.enabled=false")
    assert not of_kind(objects, "Service")
    assert [p["name"] for p in container(objects)["ports"]] == ["health"]
    assert env_of(objects)["MODELEVAL_METRICS_PORT"] == "0"


def test_operator_pod_is_hardened(kube_tools: KubeTools) -> None:
    objects = kube_tools.helm_template()
    pod = one(objects, "Deployment", "modeleval-operator")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    operator = container(objects)
    assert operator["securityContext"]["readOnlyRootFilesystem"] is True
    assert operator["securityContext"]["allowPrivilegeEscalation"] is False
    assert operator["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert operator["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}


def test_no_secrets_are_readable_by_anyone(kube_tools: KubeTools) -> None:
    """With the webhook, no role reads Secrets; without it (the default), only the operator
    gets them, to check their usable label (it mounts Secrets into Jobs anyway)."""
    webhook = kube_tools.helm_template(*NON_DEFAULT, "--set", "webhook.enabled=true")
    for role in of_kind(webhook, "ClusterRole"):
        for rule in role["rules"]:
            assert "secrets" not in rule["resources"], role["metadata"]["name"]
            assert "*" not in rule["resources"] + rule["verbs"] + rule["apiGroups"]
    for role in of_kind(kube_tools.helm_template(*NON_DEFAULT), "ClusterRole"):
        reads = [r for r in role["rules"] if "secrets" in r["resources"]]
        if role["metadata"]["name"] == "modeleval-operator":
            assert reads == [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]
        else:
            assert reads == [], role["metadata"]["name"]


def test_security_values_reach_the_operator(kube_tools: KubeTools) -> None:
    env = env_of(
        kube_tools.helm_template(
            "--set", "security.allowedRunnerImages={registry.example/runner:*}",
            "--set", "security.allowedModelImages={a/*,b/*}",
            "--set-json", "security.allowedDatasetUrls=[]",
            "--set", "security.allowControlPlane=true",
        )
    )  # fmt: skip
    assert env["MODELEVAL_ALLOWED_RUNNER_IMAGES"] == "registry.example/runner:*"
    assert env["MODELEVAL_ALLOWED_MODEL_IMAGES"] == "a/*,b/*"
    assert env["MODELEVAL_ALLOWED_DATASET_URLS"] == ""
    assert env["MODELEVAL_ALLOW_CONTROL_PLANE"] == "true"
    assert env["MODELEVAL_OPERATOR_USERNAME"] == (
        "system:serviceaccount:modeleval-system:modeleval-operator"
    )
    defaults = env_of(kube_tools.helm_template())
    assert defaults["MODELEVAL_REQUIRE_USABLE_LABEL"] == "true"  # no webhook: labels decide
    assert "MODELEVAL_WEBHOOK_PORT" not in defaults
    assert "docker.io/vllm/vllm-openai:*" in defaults["MODELEVAL_ALLOWED_MODEL_IMAGES"]


def test_the_webhook_is_served_registered_and_trusted(kube_tools: KubeTools) -> None:
    objects = kube_tools.helm_template("--set", "webhook.enabled=true")
    env = env_of(objects)
    assert env["MODELEVAL_WEBHOOK_PORT"] == "9443"
    assert env["MODELEVAL_REQUIRE_USABLE_LABEL"] == "false"  # the authors' permissions decide
    config = one(objects, "ValidatingWebhookConfiguration", "modeleval-operator-webhook")
    secret = one(objects, "Secret", "modeleval-operator-webhook-tls")
    for hook in config["webhooks"]:
        assert hook["failurePolicy"] == "Fail"
        assert hook["clientConfig"]["caBundle"] == secret["data"]["ca.crt"]
        assert hook["clientConfig"]["service"]["name"] == "modeleval-operator-webhook"
    assert [h["clientConfig"]["service"]["path"] for h in config["webhooks"]] == [
        "/validate-evaltask",
        "/validate-servicegroup",
    ]
    service = one(objects, "Service", "modeleval-operator-webhook")
    assert service["spec"]["ports"][0]["targetPort"] == "webhook"
    review = one(objects, "ClusterRole", "modeleval-operator-webhook")
    assert review["rules"] == [
        {
            "apiGroups": ["authorization.k8s.io"],
            "resources": ["subjectaccessreviews"],
            "verbs": ["create"],
        }
    ]
    managed = kube_tools.helm_template(
        "--set", "webhook.enabled=true", "--set", "webhook.certManager.enabled=true"
    )
    config = one(managed, "ValidatingWebhookConfiguration", "modeleval-operator-webhook")
    assert config["metadata"]["annotations"] == {
        "cert-manager.io/inject-ca-from": "modeleval-system/modeleval-operator-webhook"
    }
    assert of_kind(managed, "Certificate") and not of_kind(managed, "Secret")


@pytest.mark.parametrize(
    "bad",
    [
        "operator.logLevel=loud",
        "watchNamespaces={Not_A_Namespace}",
        "metrics.port=80",
        "image.digest=sha256:short",
        "image.pullPolicy=Sometimes",
        "runner.resources.requests.cpu=lots",
        "runner.results.size=",
        "metrics.serviceMonitor.interval=soon",
        "unknownTopLevelKey=1",
    ],
)
def test_schema_rejects_bad_values(kube_tools: KubeTools, bad: str) -> None:
    result = kube_tools.run(kube_tools.helm, "template", "x", CHART, "--set", bad, check=False)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr


def test_render_fails_without_a_service_account_name(kube_tools: KubeTools) -> None:
    with pytest.raises(subprocess.CalledProcessError) as failure:
        kube_tools.helm_template("--set", "serviceAccount.create=false")
    assert "serviceAccount.name is required" in failure.value.stderr


def grants(rules: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_operator_holds_every_runner_permission(kube_tools: KubeTools) -> None:
    """RBAC lets the operator create the per-task runner Role only with permissions it holds."""
    objects = kube_tools.helm_template()
    runner = one(objects, "ClusterRole", "modeleval-runner")
    operator = one(objects, "ClusterRole", "modeleval-operator")
    assert grants(runner["rules"]) == {
        ("modeleval.io", "evaltasks", "get"),
        ("modeleval.io", "evaltasks/status", "get"),
        ("modeleval.io", "evaltasks/status", "patch"),
    }
    assert grants(runner["rules"]) <= grants(operator["rules"])
    assert not of_kind(objects, "RoleBinding")
    bound = {b["roleRef"]["name"] for b in of_kind(objects, "ClusterRoleBinding")}
    assert "modeleval-runner" not in bound, "the runner template must never be bound as is"


def test_runner_template_matches_the_role_the_operator_builds(kube_tools: KubeTools) -> None:
    task = EvalTask.model_validate(
        next(
            doc
            for doc in yaml.safe_load_all(SAMPLE_TASK.read_text(encoding="utf-8"))
            if doc and doc["kind"] == "EvalTask"
        )
    )
    role = next(obj for obj in build_runner_rbac(task) if obj["kind"] == "Role")
    built = [dict(rule) for rule in role["rules"]]
    for rule in built:
        assert rule.pop("resourceNames") == [task.metadata.name]
    template = one(kube_tools.helm_template(), "ClusterRole", "modeleval-runner")
    assert grants(built) == grants(template["rules"])


def test_rbac_and_service_account_can_be_left_to_the_cluster_admin(
    kube_tools: KubeTools,
) -> None:
    objects = kube_tools.helm_template(
        "--set", "rbac.create=false",
        "--set", "serviceAccount.create=false",
        "--set", "serviceAccount.name=preexisting",
    )  # fmt: skip
    assert {obj["kind"] for obj in objects} == {"Deployment", "Service"}
    pod = one(objects, "Deployment", "modeleval-operator")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "preexisting"


@pytest.mark.parametrize(
    ("version", "accepted"),
    [("1.28.9", False), ("1.29.0", True), ("1.35.2", True), ("1.36.0", False)],
)
def test_only_the_supported_kubernetes_versions_are_accepted(
    kube_tools: KubeTools, version: str, accepted: bool
) -> None:
    """kubeVersion: the range whose official schemas every written object is checked against
    (tests/e2e, see tests/support/schemas.py)."""
    result = kube_tools.run(
        kube_tools.helm, "template", "x", CHART, "--kube-version", version, check=False
    )
    assert (result.returncode == 0) is accepted, result.stderr
    if not accepted:
        assert "kubeVersion" in result.stderr or "incompatible" in result.stderr


def test_runner_metrics_port_and_pod_monitor(kube_tools: KubeTools) -> None:
    assert not of_kind(kube_tools.helm_template(), "PodMonitor")
    objects = kube_tools.helm_template(
        "--set", "runner.metrics.podMonitor.enabled=true", "--set", "runner.metrics.port=9400",
        "--set", "runner.metrics.podMonitor.labels.release=prom",
    )  # fmt: skip
    assert env_of(objects)["MODELEVAL_RUNNER_METRICS_PORT"] == "9400"
    monitor = one(objects, "PodMonitor", "modeleval-operator-runners")
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"]["namespaceSelector"] == {"any": True}
    assert monitor["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/managed-by": "modeleval-operator",
        "app.kubernetes.io/component": "runner",
    }
    assert monitor["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"
    off = kube_tools.helm_template(
        "--set", "runner.metrics.enabled=false", "--set", "runner.metrics.podMonitor.enabled=true"
    )  # fmt: skip
    assert env_of(off)["MODELEVAL_RUNNER_METRICS_PORT"] == "0"
    assert not of_kind(off, "PodMonitor")


EVERY_OTHER = [
    "--set", "nameOverride=evals",
    "--set", "fullnameOverride=evals-operator",
    "--set", "serviceAccount.name=evals-sa",
    "--set", "serviceAccount.annotations.iam\\.example/role=evals",
    "--set", "operator.logLevel=warning",
    "--set-json", 'operator.extraArgs=["--verbose"]',
    "--set-json", 'operator.extraEnv=[{"name": "HTTPS_PROXY", "value": "http://proxy:3128"}]',
    "--set", "runner.image.repository=registry.example/runner",
    "--set", "runner.image.pullPolicy=Always",
    "--set", "runner.imagePullSecrets={regcred,mirror}",
    "--set", "runner.resources.requests.cpu=750m",
    "--set", "runner.resources.requests.memory=3Gi",
    "--set", "runner.resources.limits.cpu=4",
    "--set", "runner.resources.limits.memory=6Gi",
    "--set", "runner.metrics.podMonitor.enabled=true",
    "--set", "runner.metrics.podMonitor.interval=5s",
    "--set", "security.requireUsableLabel=true",
    "--set", "webhook.enabled=true",
    "--set", "webhook.port=9444",
    "--set", "webhook.failurePolicy=Ignore",
    "--set", "webhook.timeoutSeconds=5",
    "--set", "webhook.certManager.enabled=true",
    "--set", "webhook.certManager.issuerRef.kind=ClusterIssuer",
    "--set", "webhook.certManager.issuerRef.name=corp-ca",
    "--set", "metrics.port=9191",
    "--set", "metrics.service.type=NodePort",
    "--set", "metrics.service.annotations.team=ml",
    "--set", "metrics.serviceMonitor.enabled=true",
    "--set", "metrics.serviceMonitor.interval=15s",
    "--set", "metrics.serviceMonitor.scrapeTimeout=5s",
    "--set", "health.port=8181",
    "--set", "livenessProbe.periodSeconds=7",
    "--set", "livenessProbe.failureThreshold=9",
    "--set", "resources.limits.memory=1Gi",
    "--set", "podLabels.team=ml",
    "--set", "podSecurityContext.runAsUser=1234",
    "--set", "securityContext.readOnlyRootFilesystem=false",
    "--set", "priorityClassName=system-cluster-critical",
    "--set-json", 'affinity={"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution":'
    ' [{"weight": 1, "preference": {"matchExpressions": [{"key": "pool", "operator": "In",'
    ' "values": ["ops"]}]}}]}}',
]  # fmt: skip


def test_every_other_value_reaches_what_it_configures(kube_tools: KubeTools) -> None:
    """The chart values no other test changes, each where it acts: names, the service
    account, Kopf's flags, the runner settings (as MODELEVAL_* env), the webhook, metrics,
    health port, livenessProbe, resources, podLabels, podSecurityContext, securityContext,
    priorityClassName and affinity of the operator pod."""
    objects = kube_tools.helm_template(*EVERY_OTHER)
    deployment = one(objects, "Deployment", "evals-operator")  # fullnameOverride
    assert deployment["metadata"]["labels"]["app.kubernetes.io/name"] == "evals"  # nameOverride
    pod = deployment["spec"]["template"]
    [operator] = pod["spec"]["containers"]
    account = one(objects, "ServiceAccount", "evals-sa")
    assert account["metadata"]["annotations"] == {"iam.example/role": "evals"}
    assert pod["spec"]["serviceAccountName"] == "evals-sa"
    assert "--quiet" in operator["args"] and "--verbose" in operator["args"]  # logLevel, extraArgs
    assert "--liveness=http://0.0.0.0:8181/healthz" in operator["args"]  # health.port
    env = {e["name"]: e.get("value") for e in operator["env"]}
    assert env["HTTPS_PROXY"] == "http://proxy:3128"  # extraEnv
    assert env["MODELEVAL_RUNNER_IMAGE"] == "registry.example/runner:0.1.0"
    assert env["MODELEVAL_RUNNER_IMAGE_PULL_POLICY"] == "Always"
    assert env["MODELEVAL_RUNNER_IMAGE_PULL_SECRETS"] == "regcred,mirror"
    assert (env["MODELEVAL_RUNNER_CPU"], env["MODELEVAL_RUNNER_MEMORY"]) == ("750m", "3Gi")
    assert (env["MODELEVAL_RUNNER_CPU_LIMIT"], env["MODELEVAL_RUNNER_MEMORY_LIMIT"]) == (
        "4", "6Gi")  # fmt: skip
    assert env["MODELEVAL_REQUIRE_USABLE_LABEL"] == "true"  # even with the webhook on
    assert env["MODELEVAL_WEBHOOK_PORT"] == "9444"
    assert env["MODELEVAL_METRICS_PORT"] == "9191"
    ports = {p["name"]: p["containerPort"] for p in operator["ports"]}
    assert ports == {"health": 8181, "metrics": 9191, "webhook": 9444}
    assert operator["livenessProbe"]["periodSeconds"] == 7
    assert operator["livenessProbe"]["failureThreshold"] == 9
    assert operator["livenessProbe"]["initialDelaySeconds"] == 10  # the other defaults stay
    assert operator["resources"]["limits"] == {"memory": "1Gi"}
    assert operator["securityContext"]["readOnlyRootFilesystem"] is False
    assert pod["metadata"]["labels"]["team"] == "ml"
    assert pod["spec"]["securityContext"]["runAsUser"] == 1234
    assert pod["spec"]["priorityClassName"] == "system-cluster-critical"
    assert pod["spec"]["affinity"]["nodeAffinity"][
        "preferredDuringSchedulingIgnoredDuringExecution"
    ]
    runners = one(objects, "PodMonitor", "evals-operator-runners")
    assert runners["spec"]["podMetricsEndpoints"][0]["interval"] == "5s"
    config = one(objects, "ValidatingWebhookConfiguration", "evals-operator-webhook")
    assert {h["failurePolicy"] for h in config["webhooks"]} == {"Ignore"}
    assert {h["timeoutSeconds"] for h in config["webhooks"]} == {5}
    certificate = one(objects, "Certificate", "evals-operator-webhook")
    assert certificate["spec"]["issuerRef"] == {"kind": "ClusterIssuer", "name": "corp-ca"}
    assert not of_kind(objects, "Issuer")  # no self-signed one when an issuer is named
    service = one(objects, "Service", "evals-operator-metrics")
    assert service["spec"]["type"] == "NodePort"
    assert service["metadata"]["annotations"] == {"team": "ml"}
    assert service["spec"]["ports"][0]["port"] == 9191
    monitor = one(objects, "ServiceMonitor", "evals-operator")
    endpoint = monitor["spec"]["endpoints"][0]
    assert (endpoint["interval"], endpoint["scrapeTimeout"]) == ("15s", "5s")
    assert report(KubernetesSchemas(supported_versions()), [
        o for o in objects if o["kind"] not in ("ServiceMonitor", "PodMonitor", "Certificate")
    ]) == []  # fmt: skip
