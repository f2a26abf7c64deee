"""Request helpers shared by every router (pages, JSON API, ingest, and routers mounted later,
such as vendor APIs): who is asking, may they, and CSRF.

Routers raise `ConsoleError` subclasses; the application turns them into an HTML page or a
JSON body (see ``app``). A 401 or 403 is raised before anything is read or written.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request

from modeleval.console.auth import Identity
from modeleval.console.db.models import Task
from modeleval.console.kubeapi import KubeApiError, ResourceCheck
from modeleval.console.store import NotFound
from modeleval.console.web.services import Services
from modeleval.constants import ANNOTATE_VERB, GROUP

VIEW = "get"
ANNOTATE = ANNOTATE_VERB
COMPLETE = "patch"
ACTIONS = {VIEW: "view", ANNOTATE: "annotate", COMPLETE: "complete the annotation of"}


class ConsoleError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthenticated(ConsoleError):
    status = 401
    title = "Log in"


class Forbidden(ConsoleError):
    status = 403
    title = "Not allowed"


class Missing(ConsoleError):
    status = 404
    title = "Not found"


class Conflicting(ConsoleError):
    status = 409
    title = "Conflict"


class Unavailable(ConsoleError):
    status = 503
    title = "Kubernetes API unavailable"


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def identify(request: Request) -> Identity | None:
    """The caller, or None; cached on the request."""
    if not hasattr(request.state, "identity"):
        try:
            request.state.identity = services(request).auth.identify(
                request.headers, request.cookies
            )
        except KubeApiError as exc:
            raise Unavailable(f"cannot check the token with the Kubernetes API: {exc}") from None
    identity: Identity | None = request.state.identity
    return identity


def require_identity(request: Request) -> Identity:
    identity = identify(request)
    if identity is None:
        raise Unauthenticated("log in with a Kubernetes token to use the console")
    return identity


def can(request: Request, identity: Identity, check: ResourceCheck) -> bool:
    try:
        return services(request).auth.allowed(identity, check)
    except KubeApiError as exc:
        raise Unavailable(f"cannot check permissions with the Kubernetes API: {exc}") from None


def require(request: Request, identity: Identity, verb: str, task: Task) -> None:
    """Raise `Forbidden` unless ``identity`` may ``verb`` the task's EvalTask."""
    check = ResourceCheck(verb, task.namespace, task.name)
    if not can(request, identity, check):
        action = ACTIONS.get(verb, verb)
        raise Forbidden(
            f"{identity.name} may not {action} evaltask {task.namespace}/{task.name}: "
            f"that needs the '{verb}' verb on evaltasks.{GROUP} in namespace "
            f"{task.namespace} (ClusterRoles modeleval-viewer, modeleval-annotator, "
            "modeleval-editor)"
        )


def load_task(request: Request, task_id: int) -> Task:
    try:
        return services(request).store.get_task(task_id)
    except NotFound:
        raise Missing(f"no task {task_id} in the console") from None


def task_for(request: Request, task_id: int, verb: str = VIEW) -> tuple[Identity, Task]:
    """The caller and the task, after checking that the caller may ``verb`` it."""
    identity = require_identity(request)
    task = load_task(request, task_id)
    require(request, identity, verb, task)
    return identity, task


def allowed_namespaces(request: Request, identity: Identity) -> frozenset[str]:
    """Namespaces whose EvalTasks the caller may list."""
    store = services(request).store
    return frozenset(
        ns for ns in store.namespaces() if can(request, identity, ResourceCheck("list", ns))
    )


async def check_form(request: Request, identity: Identity) -> dict[str, str]:
    """The posted form, after the CSRF token and the Origin were checked."""
    check_origin(request)
    form = await request.form()
    values = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    if not services(request).auth.csrf_ok(identity, values.get("csrf")):
        raise Forbidden("the form's CSRF token is missing or wrong: reload the page and retry")
    return values


def check_origin(request: Request) -> None:
    """A browser's cross-site post carries a foreign Origin: refuse it."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return
    allowed = {request.url.netloc}
    public = services(request).settings.public_url
    if public:
        allowed.add(urlsplit(public).netloc)
    if urlsplit(origin).netloc not in allowed:
        raise Forbidden(f"cross-site request from {origin} refused")
