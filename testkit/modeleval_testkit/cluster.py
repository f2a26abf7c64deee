"""A whole local cluster for e2e tests and the demo: API emulator + executor + operator.

    with LocalCluster() as cluster:                      # or LocalCluster(operator=None)
        cluster.kubectl("apply", "-f", "manifests/samples/")
        cluster.kubectl("wait", "--for=jsonpath={.status.state}=Succeeded", "et/NAME")
        cluster.executor.kill_pod("POD", "default")       # see modeleval_testkit.executor

With ``pytest --kube-config PATH`` the e2e fixtures use `ExistingCluster` instead: the same
`ClusterAccess` methods (kubectl, api, api_client, logs, wait_for) on a real cluster.

Started in order: the API emulator (with the CRDs of the installed ``modeleval``, rendered from
its models, unless files are given), namespaces and the operator's RBAC (the copy of
``manifests/rbac`` bundled in this kit, see `modeleval_testkit.bundle`), a ServiceAccount
token for the operator, kubeconfigs for an admin and for the operator, the workload executor
(as a superuser client), and the operator as a real ``kopf run`` subprocess that logs in with
its ServiceAccount's kubeconfig.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import yaml

from .bundle import console_rbac_manifest
from .bundle import rbac_manifests as bundled_rbac_manifests
from .console import CONSOLE_ACCOUNT, ConsoleProcess
from .executor import Executor, ExecutorConfig

OPERATOR_NAMESPACE = "modeleval-system"
OPERATOR_ACCOUNT = "modeleval-operator"
OPERATOR_MODULE = "modeleval.main"

FAST_OPERATOR_ENV = {
    "MODELEVAL_DAEMON_CANCELLATION_SECONDS": "2",
    "MODELEVAL_POLL_SECONDS": "0.5",
    "MODELEVAL_METRICS_PORT": "0",
}
"""Operator settings that keep e2e tests fast (see ``modeleval.settings``)."""

LOCAL_POLICY_ENV = {
    "MODELEVAL_ALLOWED_MODEL_IMAGES": "*",
    "MODELEVAL_OPERATOR_USERNAME": f"system:serviceaccount:{OPERATOR_NAMESPACE}:{OPERATOR_ACCOUNT}",
}
"""The local cluster's policy: every model image may run (the executor maps them to mock
servers); the operator knows its own user name, as the chart tells it."""

WEBHOOK_SERVICE = (OPERATOR_NAMESPACE, "modeleval-operator-webhook")
"""The Service ``manifests/webhook`` points the ValidatingWebhookConfiguration at."""


def installed_crds() -> list[dict[str, Any]]:
    """The CRDs of the installed ``modeleval`` package, rendered from its API models."""
    from modeleval.api.crdgen import KINDS, build_crd

    return [build_crd(kind) for kind in KINDS]


class ClusterAccess:
    """What tests use on any cluster: kubectl, API clients, logs, polling."""

    admin_kubeconfig: Path
    executor: Executor | None = None

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run the real kubectl binary with the admin kubeconfig."""
        return run_kubectl(self.admin_kubeconfig, args, input=input, check=check, timeout=timeout)

    def api(self) -> JsonApi:
        """A small JSON client logged in as admin (``api().get("/api/v1/pods")``)."""
        return JsonApi(self.admin_kubeconfig)

    def api_client(self) -> Any:
        """An official ``kubernetes.client.ApiClient`` logged in as admin."""
        from kubernetes import config

        return config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(self.admin_kubeconfig)
        )

    def logs(self, pod: str, namespace: str = "default", *, previous: bool = False) -> str:
        """A pod's log (``kubectl logs [--previous]``)."""
        args = ["logs", pod, "-n", namespace, *(["--previous"] if previous else [])]
        return self.kubectl(*args).stdout

    def operator_output(self) -> str:
        return ""

    def wait_for(
        self, condition: Any, *, timeout: float = 30.0, interval: float = 0.1, what: str = ""
    ) -> Any:
        """Poll ``condition()`` until it returns a truthy value; fail with the operator log."""
        return wait_for(
            condition, timeout=timeout, interval=interval, what=what, log=self.operator_output
        )


class ExistingCluster(ClusterAccess):
    """A real cluster (``pytest --kube-config PATH``): the operator is installed there."""

    def __init__(self, kubeconfig: Path) -> None:
        self.admin_kubeconfig = Path(kubeconfig).expanduser()

    def __enter__(self) -> ExistingCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class LocalCluster(ClusterAccess):
    """Starts and stops everything; the attributes tell tests where things are."""

    def __init__(
        self,
        *,
        work_dir: Path | None = None,
        crds: Sequence[Path | dict[str, Any]] | None = None,
        namespaces: Sequence[str] = ("default", OPERATOR_NAMESPACE),
        rbac_manifests: Sequence[Path] | None = None,
        operator: Sequence[str] | None = ("-m", OPERATOR_MODULE),
        operator_env: Mapping[str, str] | None = None,
        executor: ExecutorConfig | None = None,
        run_executor: bool = True,
        webhook: bool = False,
        record_writes: bool = False,
        console: bool = False,
        console_env: Mapping[str, str] | None = None,
        console_rbac: Path | None = None,
    ) -> None:
        """
        ``crds``: CRD files, folders or dicts (default: `installed_crds`). ``operator``: what
        follows ``kopf run --standalone -A`` (``("-m", module)`` or a file path); ``None``
        starts no operator. ``rbac_manifests``: default the bundled ``manifests/rbac``.
        ``executor``: the executor's settings (default: mock model server for model images,
        ``time_scale=0.05``, 4 GPUs). ``run_executor=False`` leaves workloads alone.
        ``webhook``: the operator serves its admission webhook (HTTPS on a free port, with a
        certificate made here) and the emulator calls it through the bundled
        ``manifests/webhook`` ValidatingWebhookConfiguration.
        ``record_writes``: the emulator keeps every distinct object clients write
        (``cluster.apiserver.writes``, see `modeleval_testkit.apiserver.writes`).
        ``console``: also run the web console (``modeleval console``) as its own
        ServiceAccount, with the RBAC of ``console_rbac`` (default: the bundled
        ``manifests/console/rbac.yaml``), and tell the operator where it is.
        """
        self._own_dir = work_dir is None
        self.work_dir = (
            Path(tempfile.mkdtemp(prefix="modeleval-cluster-")) if work_dir is None else work_dir
        )
        self.crds = installed_crds() if crds is None else list(crds)
        self.namespaces = list(namespaces)
        self.rbac_manifests = (
            bundled_rbac_manifests() if rbac_manifests is None else list(rbac_manifests)
        )
        self.operator_args = None if operator is None else list(operator)
        self.operator_env = {**FAST_OPERATOR_ENV, **LOCAL_POLICY_ENV, **(operator_env or {})}
        self.webhook = webhook
        self.webhook_port = 0
        self.executor_config = executor or ExecutorConfig(
            time_scale=0.05, gpu_capacity={"nvidia.com/gpu": 4}, work_dir=self.work_dir / "executor"
        )
        self.run_executor = run_executor
        self.record_writes = record_writes
        self.admin_kubeconfig = self.work_dir / "admin.kubeconfig"
        self.operator_kubeconfig = self.work_dir / "operator.kubeconfig"
        self.operator_log = self.work_dir / "operator.log"
        self.apiserver: Any = None
        self.api_url = ""
        self.ca_file: Path | None = None
        self.admin_token = ""
        self.operator_token = ""
        self.executor: Executor | None = None
        self._api_handle: Any = None
        self._operator: subprocess.Popen[bytes] | None = None
        self.console_enabled = console
        self.console_env = dict(console_env or {})
        self.console_rbac = console_rbac or console_rbac_manifest()
        self.console: ConsoleProcess | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> LocalCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._start_apiserver()
        namespace_docs = [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            for name in self.namespaces
        ]
        operator_account = {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": OPERATOR_ACCOUNT, "namespace": OPERATOR_NAMESPACE},
        }
        docs = [*namespace_docs, operator_account, *load_manifests(self.rbac_manifests)]
        if self.webhook:
            docs += self._webhook_documents()
        if self.console_enabled:
            docs.extend(load_manifests([self.console_rbac]))
        self.apiserver.load_manifests(docs)
        self.operator_token = self.apiserver.issue_service_account_token(
            OPERATOR_NAMESPACE, OPERATOR_ACCOUNT
        )
        self.apiserver.write_kubeconfig(self.operator_kubeconfig, self.operator_token)
        if self.console_enabled:
            self.start_console()
        if self.run_executor:
            executor_token = self.apiserver.issue_token("system:node:executor", ["system:masters"])
            self.executor = Executor(
                self.api_url,
                executor_token,
                self.executor_config,
                token_minter=self.apiserver.issue_service_account_token,
                ca_file=self.ca_file,
            )
            self.executor.__enter__()
            self.apiserver.server.pod_logs = _ExecutorLogs(self.executor)
        if self.operator_args is not None:
            self.start_operator()
            if self.webhook:
                self._wait_for_webhook()

    def _webhook_documents(self) -> list[dict[str, Any]]:
        """The bundled webhook manifests, trusting a certificate made for the operator."""
        from .apiserver.tls import self_signed
        from .bundle import webhook_dir

        cert, key = self_signed()
        folder = self.work_dir / "webhook-certs"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "tls.crt").write_bytes(cert)
        (folder / "tls.key").write_bytes(key)
        self.webhook_port = free_port()
        self.operator_env.update(
            MODELEVAL_WEBHOOK_PORT=str(self.webhook_port),
            MODELEVAL_WEBHOOK_CERT_DIR=str(folder),
        )
        port = self.webhook_port

        def resolve(namespace: str, name: str, _port: int) -> str | None:
            return f"127.0.0.1:{port}" if (namespace, name) == WEBHOOK_SERVICE else None

        self.apiserver.server.service_resolver = resolve
        kinds = ("ValidatingWebhookConfiguration", "ClusterRole", "ClusterRoleBinding")
        docs = [
            doc
            for doc in load_manifests(sorted(webhook_dir().glob("*.yaml")))
            if doc["kind"] in kinds  # no cert-manager here: the certificate is made above
        ]
        bundle = base64.b64encode(cert).decode()
        for doc in docs:
            for hook in doc.get("webhooks") or []:
                hook["clientConfig"]["caBundle"] = bundle
        return docs

    def _wait_for_webhook(self, timeout: float = 60.0) -> None:
        """Until the operator's webhook accepts connections (writes fail closed before)."""

        def listening() -> bool:
            if not self.operator_running:
                raise RuntimeError(f"the operator exited:\n{self.operator_output()[-4000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.webhook_port), timeout=1):
                    return True
            except OSError:
                return False

        wait_for(listening, timeout=timeout, interval=0.2, what="the admission webhook")

    def stop(self) -> None:
        self.stop_operator()
        if self.console is not None:
            self.console.stop()
            self.console = None
        if self.executor is not None:
            self.executor.__exit__(None, None, None)
            self.executor = None
        if self._api_handle is not None:
            self._api_handle.__exit__(None, None, None)
            self._api_handle = None
        if self._own_dir and os.environ.get("MODELEVAL_KEEP_CLUSTER_DIR") is None:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def _start_apiserver(self) -> None:
        from .apiserver import run_in_thread

        self._api_handle = run_in_thread(crds=self.crds, record_writes=self.record_writes)
        self.apiserver = self._api_handle.__enter__()
        self.api_url = self.apiserver.url
        self.ca_file = self.apiserver.ca_file
        self.admin_token = self.apiserver.issue_token("admin", ["system:masters"])
        self.apiserver.write_kubeconfig(self.admin_kubeconfig, self.admin_token)

    # -- the console ------------------------------------------------------------------------

    def start_console(self) -> None:
        """Start ``modeleval console`` as the ``modeleval-console`` ServiceAccount; runners
        (through the operator's ``MODELEVAL_CONSOLE_URL``) send their results to it."""
        token = self.apiserver.issue_service_account_token(OPERATOR_NAMESPACE, CONSOLE_ACCOUNT)
        kubeconfig = self.apiserver.write_kubeconfig(self.work_dir / "console.kubeconfig", token)
        self.console = ConsoleProcess(self.work_dir / "console", kubeconfig, env=self.console_env)
        self.console.start()
        self.operator_env.setdefault("MODELEVAL_CONSOLE_URL", self.console.url)

    @property
    def console_url(self) -> str:
        return self.console.url if self.console is not None else ""

    def user_token(
        self,
        user: str,
        *,
        cluster_role: str | None = None,
        namespace: str | None = None,
        groups: Sequence[str] = (),
    ) -> str:
        """A bearer token for ``user``; with ``cluster_role`` also bind that ClusterRole to the
        user, in ``namespace`` (a RoleBinding) or cluster-wide (a ClusterRoleBinding)."""
        token: str = self.apiserver.issue_token(user, list(groups))
        if cluster_role is not None:
            kind = "RoleBinding" if namespace else "ClusterRoleBinding"
            metadata: dict[str, Any] = {"name": f"{cluster_role}-{user}"}
            if namespace:
                metadata["namespace"] = namespace
            self.apiserver.apply_object(
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": kind,
                    "metadata": metadata,
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "ClusterRole",
                        "name": cluster_role,
                    },
                    "subjects": [
                        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}
                    ],
                }
            )
        return token

    # -- the operator -----------------------------------------------------------------------

    def start_operator(self) -> None:
        """Start ``python -m kopf run --standalone -A <operator args>`` as the operator SA."""
        assert self.operator_args is not None
        env = {**os.environ, **self.operator_env, "KUBECONFIG": str(self.operator_kubeconfig)}
        argv = [sys.executable, "-m", "kopf", "run", "--standalone", "-A", *self.operator_args]
        with self.operator_log.open("ab") as log:
            self._operator = subprocess.Popen(
                argv, env=env, cwd=self.work_dir, stdout=log, stderr=subprocess.STDOUT
            )

    def stop_operator(self, timeout: float = 15.0) -> int | None:
        """SIGTERM (Kopf stops gracefully), SIGKILL after ``timeout``; the exit code."""
        process, self._operator = self._operator, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    @property
    def operator_running(self) -> bool:
        return self._operator is not None and self._operator.poll() is None

    def operator_output(self) -> str:
        return self.operator_log.read_text(errors="replace") if self.operator_log.exists() else ""

    def evict_pod(self, namespace: str, name: str, *, status_reason: bool = True) -> bool:
        """Evict a running pod as a kubelet under memory pressure does (`Executor.evict_pod`):
        phase ``Failed``, ``DisruptionTarget``, ``ContainerStatusUnknown`` containers."""
        if self.executor is None:
            raise RuntimeError("the cluster runs no executor")
        return self.executor.evict_pod(name, namespace, status_reason=status_reason)

    def logs(self, pod: str, namespace: str = "default", *, previous: bool = False) -> str:
        if self.executor is None:
            return super().logs(pod, namespace, previous=previous)
        return self.executor.pod_log(pod, namespace, previous=previous)


class _ExecutorLogs(dict[tuple[str, str], str]):
    """What the emulator answers for ``GET pods/<name>/log`` (``kubectl logs``): the
    executor's log file of the pod's first container, read at request time."""

    def __init__(self, executor: Executor) -> None:
        super().__init__()
        self.executor = executor

    def get(self, key: tuple[str, str], default: Any = None) -> Any:
        namespace, name = key
        try:
            return self.executor.pod_log(name, namespace)
        except KeyError:
            return super().get(key, default)


class JsonApi:
    """Plain JSON over HTTP as the kubeconfig's user: GET answers ``None`` for 404."""

    def __init__(self, kubeconfig: Path) -> None:
        from kubernetes import client, config

        settings = client.Configuration()
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=str(kubeconfig), client_configuration=settings
        )
        context = ssl.create_default_context(cafile=settings.ssl_ca_cert)
        if not settings.verify_ssl:
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        if settings.cert_file:
            context.load_cert_chain(settings.cert_file, settings.key_file)
        auth = settings.auth_settings().get("BearerToken")
        headers = {"Authorization": str(auth["value"])} if auth else {}
        self.http = httpx.Client(base_url=settings.host, headers=headers, verify=context)

    def get(self, path: str) -> dict[str, Any] | None:
        response = self.http.get(path)
        if response.status_code == 404:
            return None
        result: dict[str, Any] = response.raise_for_status().json()
        return result

    def create(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.http.post(path, json=body).raise_for_status().json()
        return result

    def patch(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": "application/merge-patch+json"}
        response = self.http.patch(path, content=json.dumps(body), headers=headers)
        result: dict[str, Any] = response.raise_for_status().json()
        return result

    def delete(self, path: str) -> None:
        response = self.http.delete(path)
        if response.status_code != 404:
            response.raise_for_status()

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> JsonApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_kubectl(
    kubeconfig: Path,
    args: Sequence[str],
    *,
    input: str | None = None,
    check: bool = True,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    from .tools import ensure_kube_tools

    kubectl, _helm = ensure_kube_tools()
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    result = subprocess.run(
        [str(kubectl), *args],
        input=input,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        raise KubectlError(result.returncode, result.args, result.stdout, result.stderr)
    return result


class KubectlError(subprocess.CalledProcessError):
    """A failed kubectl run; the message carries kubectl's stderr."""

    def __str__(self) -> str:
        return f"{super().__str__()}\n{self.stderr}"


def load_manifests(paths: Sequence[Path]) -> list[dict[str, Any]]:
    """Kubernetes objects from YAML files (Kustomization files and empty documents skipped)."""
    docs = []
    for path in paths:
        for doc in yaml.safe_load_all(Path(path).read_text()):
            if (
                isinstance(doc, dict)
                and doc.get("kind")
                and "kustomize" not in doc.get("apiVersion", "")
            ):
                docs.append(doc)
    return docs


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    condition: Any,
    *,
    timeout: float = 30.0,
    interval: float = 0.1,
    what: str = "",
    log: Any = None,
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            tail = "" if log is None else "\n--- operator log (tail) ---\n" + log()[-4000:]
            raise TimeoutError(f"timed out after {timeout}s waiting for {what or condition}{tail}")
        time.sleep(interval)
