"""The console in the chart and in kustomize: off by default; on, it brings its Deployment,
Service, database (PVC, or PostgreSQL with a Secret), optional Ingress and RBAC, and the
operator learns its URL. kustomize's console overlay renders the same objects, and they apply
to the API emulator with the rights they claim."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from modeleval_testkit.apiserver import run_in_thread
from tests.support.kube import NAMESPACE, KubeTools, by_key, of_kind, one
from tests.support.paths import CHART, MANIFESTS, REPO

ON = ["--set", "console.enabled=true"]
POSTGRES = [
    *ON,
    "--set", "console.database.type=postgresql",
    "--set", "console.database.postgresql.host=pg.db.svc",
    "--set", "console.database.postgresql.existingSecret=console-db",
    "--set", "console.replicas=2",
    "--set", "console.ingress.enabled=true",
    "--set", "console.ingress.host=console.example.com",
    "--set", "console.ingress.className=nginx",
    "--set", "console.trustedHeaders.user=X-Forwarded-User",
]  # fmt: skip
CONSOLE_URL = "http://modeleval-console.modeleval-system.svc:8000"


def console_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    pod = one(objects, "Deployment", "modeleval-console")["spec"]["template"]["spec"]
    [container] = pod["containers"]
    return container


def env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def operator_env(objects: list[dict[str, Any]]) -> dict[str, Any]:
    pod = one(objects, "Deployment", "modeleval-operator")["spec"]["template"]["spec"]
    return env(pod["containers"][0])


def test_off_by_default_but_the_user_roles_ship(kube_tools: KubeTools) -> None:
    objects = kube_tools.helm_template()
    assert not [o for o in objects if "console" in o["metadata"]["name"]]
    assert "MODELEVAL_CONSOLE_URL" not in operator_env(objects)
    roles = {r["metadata"]["name"]: r for r in of_kind(objects, "ClusterRole")}
    labels = {
        name: roles[name]["metadata"]["labels"] for name in ("modeleval-viewer", "modeleval-editor")
    }
    assert labels["modeleval-viewer"]["rbac.authorization.k8s.io/aggregate-to-view"] == "true"
    assert labels["modeleval-editor"]["rbac.authorization.k8s.io/aggregate-to-edit"] == "true"
    assert "annotate" in roles["modeleval-annotator"]["rules"][0]["verbs"]


def test_sqlite_console_with_pvc_service_and_rbac(kube_tools: KubeTools) -> None:
    objects = kube_tools.helm_template(*ON)
    for obj in objects:
        kubernetes_validate.validate(obj, "1.32.0", strict=True)
    deployment = one(objects, "Deployment", "modeleval-console")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    container = console_container(objects)
    assert container["command"] == ["modeleval", "console"]
    assert env(container)["MODELEVAL_CONSOLE_DATABASE_URL"] == "sqlite:////data/console.db"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    volumes = deployment["spec"]["template"]["spec"]["volumes"]
    assert {
        "name": "data",
        "persistentVolumeClaim": {"claimName": "modeleval-console-data"},
    } in volumes
    assert one(objects, "PersistentVolumeClaim", "modeleval-console-data")
    service = one(objects, "Service", "modeleval-console")
    assert service["spec"]["ports"][0]["port"] == 8000
    assert operator_env(objects)["MODELEVAL_CONSOLE_URL"] == CONSOLE_URL
    role = one(objects, "ClusterRole", "modeleval-console")
    grants = {
        (g, r, v)
        for rule in role["rules"]
        for g in rule["apiGroups"]
        for r in rule["resources"]
        for v in rule["verbs"]
    }
    assert grants == {
        ("authentication.k8s.io", "tokenreviews", "create"),
        ("authorization.k8s.io", "subjectaccessreviews", "create"),
        ("modeleval.io", "evaltasks", "get"),
        ("modeleval.io", "evaltasks", "list"),
        ("modeleval.io", "evaltasks/status", "patch"),
        ("modeleval.io", "modelevalservicegroups", "list"),  # the vendor APIs' id lookups
    }
    variables = env(container)
    assert variables["MODELEVAL_CONSOLE_VENDOR_APIS"] == "qianfan,zstack"
    assert "MODELEVAL_CONSOLE_ACCESS_KEY_NAMESPACE" not in variables  # access keys are opt-in
    assert not [o for o in objects if o["metadata"]["name"].endswith("token-minter")]
    binding = one(objects, "ClusterRoleBinding", "modeleval-console")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "modeleval-console", "namespace": NAMESPACE}
    ]
    assert not of_kind(objects, "Ingress") and not of_kind(objects, "Secret")


def test_postgresql_console_with_secret_replicas_and_ingress(kube_tools: KubeTools) -> None:
    objects = kube_tools.helm_template(*POSTGRES)
    for obj in objects:
        kubernetes_validate.validate(obj, "1.32.0", strict=True)
    deployment = one(objects, "Deployment", "modeleval-console")
    assert deployment["spec"]["replicas"] == 2 and "strategy" not in deployment["spec"]
    variables = env(console_container(objects))
    assert variables["MODELEVAL_CONSOLE_DATABASE_HOST"] == "pg.db.svc"
    assert variables["MODELEVAL_CONSOLE_DATABASE_PASSWORD"] == {
        "secretKeyRef": {"name": "console-db", "key": "password"}
    }
    assert variables["MODELEVAL_CONSOLE_TRUSTED_USER_HEADER"] == "X-Forwarded-User"
    assert "MODELEVAL_CONSOLE_DATABASE_URL" not in variables
    assert not of_kind(objects, "PersistentVolumeClaim")
    ingress = one(objects, "Ingress", "modeleval-console")
    assert ingress["spec"]["rules"][0]["host"] == "console.example.com"
    created = kube_tools.helm_template(
        *ON,
        *("--set", "console.database.type=postgresql"),
        *("--set", "console.database.postgresql.host=pg"),
        *("--set", "console.database.postgresql.password=s3cret"),
    )
    secret = one(created, "Secret", "modeleval-console-database")
    assert secret["stringData"] == {"password": "s3cret"}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["--set", "console.replicas=2"], "needs console.database.type=postgresql"),
        (
            [
                "--set",
                "console.database.type=postgresql",
                "--set",
                "console.database.postgresql.existingSecret=db",
            ],
            "postgresql.host is required",
        ),
        (
            [
                "--set",
                "console.database.type=postgresql",
                "--set",
                "console.database.postgresql.host=pg",
            ],
            "needs existingSecret",
        ),
    ],
)
def test_inconsistent_console_values_fail_to_render(
    kube_tools: KubeTools, values: list[str], message: str
) -> None:
    with pytest.raises(subprocess.CalledProcessError) as failure:
        kube_tools.helm_template(*ON, *values)
    assert message in failure.value.stderr


def test_vendor_apis_and_access_keys(kube_tools: KubeTools) -> None:
    """Vendor APIs off: no group rights, no env; access keys in two namespaces: Secrets listed
    in their own namespace, tokens minted only in those two."""
    off = kube_tools.helm_template(*ON, "--set", "console.vendors.apis=null")
    role = one(off, "ClusterRole", "modeleval-console")
    assert all("modelevalservicegroups" not in rule["resources"] for rule in role["rules"])
    assert env(console_container(off))["MODELEVAL_CONSOLE_VENDOR_APIS"] == ""
    keys = kube_tools.helm_template(
        *ACCESS_KEYS,
        *("--set", "console.vendors.accessKeys.secretNamespace=qianfan-keys"),
        *("--set", "console.vendors.accessKeys.namespaces={team-a,team-b}"),
    )
    assert env(console_container(keys))["MODELEVAL_CONSOLE_ACCESS_KEY_NAMESPACE"] == "qianfan-keys"
    [secrets] = [o for o in of_kind(keys, "Role") if o["metadata"]["name"].endswith("access-keys")]
    assert secrets["metadata"]["namespace"] == "qianfan-keys"
    assert secrets["rules"] == [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]
    minters = [b for b in of_kind(keys, "RoleBinding") if b["roleRef"]["name"].endswith("minter")]
    assert sorted(b["metadata"]["namespace"] for b in minters) == ["team-a", "team-b"]
    assert not [b for b in of_kind(keys, "ClusterRoleBinding") if "minter" in b["metadata"]["name"]]


def test_each_vendor_value_reaches_the_console(kube_tools: KubeTools) -> None:
    """console.vendors.apis (the console's MODELEVAL_CONSOLE_VENDOR_APIS; access keys only with
    qianfan), defaultNamespace (MODELEVAL_CONSOLE_VENDOR_NAMESPACE) and accessKeys.enabled
    (off: no key namespace, no Secret or token rights; on: the release namespace when
    accessKeys.secretNamespace is empty, tokens minted in every namespace when
    accessKeys.namespaces is empty)."""
    defaults = env(console_container(kube_tools.helm_template(*ON)))
    assert defaults["MODELEVAL_CONSOLE_VENDOR_NAMESPACE"] == "default"
    chosen = kube_tools.helm_template(
        *ON,
        *("--set", "console.vendors.apis={zstack}"),
        *("--set", "console.vendors.defaultNamespace=vendor-objects"),
    )
    variables = env(console_container(chosen))
    assert variables["MODELEVAL_CONSOLE_VENDOR_APIS"] == "zstack"
    assert variables["MODELEVAL_CONSOLE_VENDOR_NAMESPACE"] == "vendor-objects"
    off = kube_tools.helm_template(*ON, "--set", "console.vendors.accessKeys.enabled=false")
    assert "MODELEVAL_CONSOLE_ACCESS_KEY_NAMESPACE" not in env(console_container(off))
    assert not [o for o in off if "access-keys" in o["metadata"]["name"]]
    assert not [o for o in off if "token-minter" in o["metadata"]["name"]]
    keys = kube_tools.helm_template(*ACCESS_KEYS)
    assert env(console_container(keys))["MODELEVAL_CONSOLE_ACCESS_KEY_NAMESPACE"] == NAMESPACE
    role = one(keys, "Role", "modeleval-console-access-keys")
    assert role["metadata"]["namespace"] == NAMESPACE
    minter = one(keys, "ClusterRoleBinding", "modeleval-console-token-minter")
    assert minter["roleRef"]["name"] == "modeleval-console-token-minter"
    assert one(keys, "ClusterRole", "modeleval-console-token-minter")["rules"] == [
        {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]}
    ]
    zstack_only = kube_tools.helm_template(*ACCESS_KEYS, "--set", "console.vendors.apis={zstack}")
    assert not [o for o in zstack_only if "access-keys" in o["metadata"]["name"]]
    assert not [o for o in zstack_only if "token-minter" in o["metadata"]["name"]]


def test_schema_rejects_bad_console_values(kube_tools: KubeTools) -> None:
    for bad in (
        "console.database.type=mysql",
        "console.port=80",
        "console.unknown=1",
        "console.vendors.apis={aws}",
        "console.vendors.defaultNamespace=Bad_NS",
    ):
        result = kube_tools.run(
            kube_tools.helm, "template", "x", CHART, *ON, "--set", bad, check=False
        )
        assert result.returncode != 0, bad
        assert "values don't meet the specifications of the schema" in result.stderr


ACCESS_KEYS = [*ON, "--set", "console.vendors.accessKeys.enabled=true"]


@pytest.mark.parametrize(
    ("overlay", "values"), [("console", ON), ("console-access-keys", ACCESS_KEYS)]
)
def test_kustomize_console_overlay_equals_the_chart(
    kube_tools: KubeTools, tmp_path: Path, overlay: str, values: list[str]
) -> None:
    shutil.copytree(MANIFESTS, tmp_path / "manifests")
    shutil.copytree(REPO / "crds", tmp_path / "crds")
    kustomized = kube_tools.kustomize(tmp_path / "manifests" / "overlays" / overlay)
    ours = by_key(obj for obj in kustomized if obj["kind"] != "Namespace")
    theirs = by_key(kube_tools.helm_template(*values, include_crds=True))
    assert sorted(ours) == sorted(theirs)
    for key, obj in ours.items():
        assert obj == theirs[key], f"{key} differs between kustomize and helm"


def test_the_console_objects_apply_and_its_account_holds_exactly_its_rights(
    kube_tools: KubeTools, tmp_path: Path
) -> None:
    objects = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}},
        *kube_tools.helm_template(*ON, include_crds=True),
    ]
    path = tmp_path / "objects.yaml"
    path.write_text(yaml.safe_dump_all(objects), encoding="utf-8")
    with run_in_thread(crds=[REPO / "crds"]) as server:
        admin = server.write_kubeconfig(tmp_path / "admin.kubeconfig")
        applied = kube_tools.run(
            kube_tools.kubectl, "--kubeconfig", admin, "apply", "-f", path, check=False
        )
        assert applied.returncode == 0, applied.stderr
        assert "deployment.apps/modeleval-console created" in applied.stdout
        token = server.issue_service_account_token(NAMESPACE, "modeleval-console")
        console = server.write_kubeconfig(tmp_path / "console.kubeconfig", token)

        def can(*args: str) -> str:
            done = kube_tools.run(
                kube_tools.kubectl, "--kubeconfig", console, "auth", "can-i", *args, check=False
            )
            return done.stdout.strip()

        assert can("create", "tokenreviews.authentication.k8s.io") == "yes"
        assert can("create", "subjectaccessreviews.authorization.k8s.io") == "yes"
        assert can("list", "evaltasks.modeleval.io", "-A") == "yes"
        assert can("patch", "evaltasks.modeleval.io", "--subresource=status", "-n", "team") == "yes"
        assert can("patch", "evaltasks.modeleval.io", "-n", "team") == "no"
        assert can("get", "secrets", "-n", "team") == "no"


EVERY_CONSOLE_VALUE = [
    *ON,
    "--set", "console.image.repository=registry.example/console",
    "--set", "console.image.tag=2.0.0",
    "--set", "console.port=8080",
    "--set", "console.service.type=LoadBalancer",
    "--set", "console.service.annotations.team=ml",
    "--set", "console.audience=team-console",
    "--set", "console.retentionDays=30",
    "--set", "console.sessionHours=4",
    "--set", "console.publicUrl=https://console.example.com",
    "--set", "console.trustedHeaders.user=X-Forwarded-User",
    "--set", "console.trustedHeaders.groups=X-Forwarded-Groups",
    "--set", "console.database.sqlite.size=5Gi",
    "--set", "console.database.sqlite.storageClass=fast",
    "--set", "console.ingress.enabled=true",
    "--set", "console.ingress.annotations.nginx\\.ingress\\.kubernetes\\.io/proxy-body-size=64m",
    "--set-json", 'console.ingress.tls=[{"secretName": "console-tls", "hosts": ["c.example"]}]',
    "--set", "console.resources.limits.memory=2Gi",
    "--set-json", 'console.extraEnv=[{"name": "MODELEVAL_CONSOLE_SYNC_SECONDS", "value": "30"}]',
]  # fmt: skip
POSTGRES_PARTS = [
    *ON,
    "--set", "console.database.type=postgresql",
    "--set", "console.database.postgresql.host=pg.db.svc",
    "--set", "console.database.postgresql.port=6432",
    "--set", "console.database.postgresql.database=results",
    "--set", "console.database.postgresql.user=evals",
    "--set", "console.database.postgresql.sslmode=verify-full",
    "--set", "console.database.postgresql.existingSecret=console-db",
    "--set", "console.database.postgresql.secretKey=pg-password",
]  # fmt: skip


def test_every_console_value_reaches_the_console(kube_tools: KubeTools) -> None:
    """console.image, port, service, audience (console and operator), retentionDays,
    sessionHours, publicUrl, trustedHeaders, the SQLite PVC or an existing claim, the
    PostgreSQL parts, ingress annotations and tls, resources and extraEnv."""
    objects = kube_tools.helm_template(*EVERY_CONSOLE_VALUE)
    container = console_container(objects)
    assert container["image"] == "registry.example/console:2.0.0"
    variables = env(container)
    assert variables["MODELEVAL_CONSOLE_PORT"] == "8080"
    assert variables["MODELEVAL_CONSOLE_AUDIENCE"] == "team-console"
    assert operator_env(objects)["MODELEVAL_CONSOLE_AUDIENCE"] == "team-console"
    assert operator_env(objects)["MODELEVAL_CONSOLE_URL"].endswith(":8080")
    assert variables["MODELEVAL_CONSOLE_RETENTION_DAYS"] == "30"
    assert variables["MODELEVAL_CONSOLE_SESSION_HOURS"] == "4"
    assert variables["MODELEVAL_CONSOLE_PUBLIC_URL"] == "https://console.example.com"
    assert variables["MODELEVAL_CONSOLE_TRUSTED_USER_HEADER"] == "X-Forwarded-User"
    assert variables["MODELEVAL_CONSOLE_TRUSTED_GROUPS_HEADER"] == "X-Forwarded-Groups"
    assert variables["MODELEVAL_CONSOLE_SYNC_SECONDS"] == "30"  # extraEnv
    assert container["ports"][0]["containerPort"] == 8080
    assert container["resources"]["limits"] == {"memory": "2Gi"}
    service = one(objects, "Service", "modeleval-console")
    assert service["spec"]["type"] == "LoadBalancer"
    assert service["metadata"]["annotations"] == {"team": "ml"}
    assert service["spec"]["ports"][0]["port"] == 8080
    pvc = one(objects, "PersistentVolumeClaim", "modeleval-console-data")
    assert pvc["spec"]["resources"]["requests"]["storage"] == "5Gi"
    assert pvc["spec"]["storageClassName"] == "fast"
    ingress = one(objects, "Ingress", "modeleval-console")
    assert ingress["metadata"]["annotations"] == {
        "nginx.ingress.kubernetes.io/proxy-body-size": "64m"
    }
    assert ingress["spec"]["tls"] == [{"secretName": "console-tls", "hosts": ["c.example"]}]
    existing = kube_tools.helm_template(
        *ON, "--set", "console.database.sqlite.existingClaim=old-console-db"
    )
    assert not of_kind(existing, "PersistentVolumeClaim")
    volumes = one(existing, "Deployment", "modeleval-console")["spec"]["template"]["spec"]
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "old-console-db"}} in (
        volumes["volumes"]
    )
    parts = env(console_container(kube_tools.helm_template(*POSTGRES_PARTS)))
    assert parts["MODELEVAL_CONSOLE_DATABASE_PORT"] == "6432"
    assert parts["MODELEVAL_CONSOLE_DATABASE_NAME"] == "results"
    assert parts["MODELEVAL_CONSOLE_DATABASE_USER"] == "evals"
    assert parts["MODELEVAL_CONSOLE_DATABASE_SSLMODE"] == "verify-full"
    assert parts["MODELEVAL_CONSOLE_DATABASE_PASSWORD"] == {
        "secretKeyRef": {"name": "console-db", "key": "pg-password"}
    }
