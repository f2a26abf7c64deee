"""An in-process Kubernetes API server for tests, written on aiohttp.

The real operator (``python -m kopf run``), the official ``kubernetes`` client and ``kubectl``
all talk to it over plain HTTP on loopback, with bearer tokens.

Public API::

    from modeleval_testkit.apiserver import ApiServer, run_in_thread

    # async code (one event loop)
    server = await ApiServer(crds=["crds/"]).start()       # host="127.0.0.1", port=0
    server.url                                             # "http://127.0.0.1:PORT"
    server.load_crds(["crds/"]) / server.load_manifests(["manifests/rbac/"])
    server.create_object(obj) / apply_object(obj) / get_object(api_version, kind, name, ns)
    server.list_objects(...) / patch_object(...) / delete_object(...) / set_pod_log(ns, pod, text)
    token = server.issue_token("alice", groups=["devs"], uid="u1", extra={"scopes": ["x"]})
    server.server.service_resolver = lambda ns, name, port: "127.0.0.1:9443"  # webhooks
    token = server.issue_service_account_token("modeleval-system", "modeleval-operator")
    server.admin_token                                      # group system:masters: bypasses RBAC
    server.write_kubeconfig("/tmp/kubeconfig", token)       # what Kopf/kubectl/clients load
    server.request_log                                      # [RequestRecord(user, verb, ...)]
    await server.stop()

    # sync code (pytest fixtures, CLI): the server runs its own loop in a thread and every
    # method above is called on that loop for you
    with run_in_thread(crds=["crds/"]) as server:
        ...

    # offline validation of a custom resource against its CRD (no server involved)
    from modeleval_testkit.apiserver.schema import validate_custom_resource
    result = validate_custom_resource(crd_dict, obj)      # .object (defaulted, pruned), .errors

    # used-vs-granted permissions
    from modeleval_testkit.apiserver import compare_permissions, rules_from_manifests
    not_granted, unused = compare_permissions(server.request_log, rules, user=sa_user_name)
    not_granted, unused = compare_with_manifests(server.request_log, load_documents(
        ["manifests/rbac"]), service_account_user("modeleval-system", "modeleval-operator"))

CLI: ``python -m modeleval_testkit.apiserver --port 8001 --crds crds/ --kubeconfig /tmp/kc.yaml``.

HTTP extras: ``GET /debug/requests`` (superuser only) returns the request log as JSON;
``/healthz`` needs no token.

Served over HTTPS with a self-signed certificate by default (``ca_file``,
``client_ssl_context()``; kubeconfigs carry it): kubectl sends bearer tokens only over TLS.

Emulated: discovery and a skeleton OpenAPI v3 (enough for ``kubectl apply`` with server-side
field validation); CRDs registered from files or POSTs; uid, resourceVersion, generation;
POST/GET/LIST/PUT/PATCH (merge, JSON, strategic merge, apply as merge)/DELETE/deletecollection;
409 on stale resourceVersion; ``/status`` as a real subresource; ``/scale`` of Deployments and
ReplicaSets (``kubectl scale``, see `scale`); finalizers and
``deletionTimestamp``; ownerReference GC (background, orphan); namespace existence and
termination; ``generateName``; name checks; label and field selectors; watches (replay, 410,
timeouts, selectors, bookmarks, initial events); Table output; CRD schema defaults, pruning,
validation and CEL (422 with field paths, ``fieldValidation=Strict``); ``dryRun=All``
(``kubectl diff``, ``apply --dry-run=server``); RBAC and (Self)SubjectAccessReviews
(``kubectl auth can-i``); validating admission webhooks (``ValidatingWebhookConfiguration``,
called over HTTPS with the request's ``userInfo``: see `admission`); the protobuf bodies of
``kubectl create namespace|configmap|secret|
serviceaccount`` (see `protobuf`); TokenRequest;
core and events.k8s.io Events; Job/Deployment/Service/Pod create-time defaults; a Secret's
``stringData`` folded into ``data``; pod logs set
with ``set_pod_log``.

Not emulated (check these on a real cluster): controllers (Deployments, Jobs, pods and the
kubelet are played by ``modeleval_testkit.executor``), scheduling, mutating admission
webhooks, admission policies and built-in admission plugins, other protobuf request bodies
(e.g. ``helm install``, ``kubectl create deployment``:
answered 415), server-side-apply field ownership and
``managedFields``, CRD version conversion, Kubernetes CEL extension libraries,
ClusterRole aggregation, impersonation (``--as``), ``limit``/``continue``
paging (everything comes in one page), scale subresources of custom resources, built-in kinds'
schema validation.

Details are in the module docstrings: `objects` (write rules), `deletion` (finalizers, GC,
namespaces), `watch`, `schema` and `cel` (CRD validation), `rbac` and `audit` (authorization,
request log), `tls` (why HTTPS), `discovery`, `tables`.
"""

from modeleval_testkit.apiserver.audit import (
    Grant,
    RequestLog,
    RequestRecord,
    compare_permissions,
    compare_with_manifests,
)
from modeleval_testkit.apiserver.auth import UserInfo, service_account_user
from modeleval_testkit.apiserver.errors import ApiError
from modeleval_testkit.apiserver.rbac import rules_from_manifests
from modeleval_testkit.apiserver.schema import ValidationResult, validate_custom_resource
from modeleval_testkit.apiserver.server import ApiServer, load_documents
from modeleval_testkit.apiserver.threaded import ThreadedApiServer, run_in_thread

__all__ = [
    "ApiError",
    "ApiServer",
    "Grant",
    "RequestLog",
    "RequestRecord",
    "ThreadedApiServer",
    "UserInfo",
    "ValidationResult",
    "compare_permissions",
    "compare_with_manifests",
    "load_documents",
    "rules_from_manifests",
    "run_in_thread",
    "service_account_user",
    "validate_custom_resource",
]
