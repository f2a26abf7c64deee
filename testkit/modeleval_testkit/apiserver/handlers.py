"""The HTTP face of the emulator: one aiohttp handler for every path.

Each request is authenticated (bearer token), routed, authorized (RBAC), executed against
`Objects` and recorded in the request log.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from modeleval_testkit.apiserver import (
    admission,
    deletion,
    discovery,
    errors,
    protobuf,
    routing,
    scale,
    selectors,
    tokenreview,
)
from modeleval_testkit.apiserver.audit import RequestRecord
from modeleval_testkit.apiserver.auth import AUTHENTICATED, UserInfo, service_account_user
from modeleval_testkit.apiserver.errors import ApiError
from modeleval_testkit.apiserver.objects import WriteOptions
from modeleval_testkit.apiserver.rbac import Attributes
from modeleval_testkit.apiserver.tables import table, wants_table
from modeleval_testkit.apiserver.watch import WatchOptions, stream

if TYPE_CHECKING:
    from modeleval_testkit.apiserver.server import ApiServer

Obj = dict[str, Any]
OPEN_PATHS = ("/healthz", "/readyz", "/livez")
SELF_REVIEWS = ("authorization.k8s.io", "selfsubjectaccessreviews")
REVIEWS = ("authorization.k8s.io", "subjectaccessreviews")


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(body).encode(), status=status, content_type="application/json"
    )


def _matcher(request: web.Request, name: str = "") -> selectors.Matcher | None:
    query = request.query
    by_name = (lambda o: o["metadata"]["name"] == name) if name else None
    return selectors.combine(
        selectors.label_matcher(query.get("labelSelector")),
        selectors.field_matcher(query.get("fieldSelector")),
        by_name,
    )


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    if "protobuf" in request.content_type:
        try:
            return protobuf.decode(raw)
        except protobuf.Undecodable as exc:
            raise ApiError(
                415,
                f"the body of the request was in an unknown format ({exc}) - accepted media"
                " types include: application/json, application/yaml",
            ) from None
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        if "yaml" in request.content_type:
            import yaml

            return yaml.safe_load(raw)
        raise ApiError(400, "the request body is not valid JSON") from None


class Handler:
    """Serves every request of one `ApiServer`."""

    def __init__(self, server: ApiServer) -> None:
        self.server = server

    async def handle(self, request: web.Request) -> web.StreamResponse:
        record: dict[str, Any] = {
            "user": "",
            "verb": "",
            "api_group": "",
            "resource": "",
            "subresource": "",
            "namespace": "",
            "name": "",
        }
        try:
            response = await self._serve(request, record)
        except ApiError as exc:
            response = _json(exc.status(), exc.code)
        except Exception as exc:  # an emulator bug must reach the client, not kill the server
            self.server.errors.append(exc)
            response = _json(ApiError(500, f"emulator error: {exc!r}").status(), 500)
        if request.path not in OPEN_PATHS and not record.pop("logged", False):
            self._log(request, record, response.status)
        return response

    def _log(self, request: web.Request, record: dict[str, Any], code: int) -> None:
        fields = {k: v for k, v in record.items() if k != "logged"}
        self.server.request_log.append(
            RequestRecord(code=code, method=request.method, path=request.path, **fields)
        )

    async def _serve(self, request: web.Request, record: dict[str, Any]) -> web.StreamResponse:
        path = request.path
        if path in OPEN_PATHS:
            return web.Response(text="ok")
        user = self.server.tokens.authenticate(request.headers.get("Authorization"))
        if user is None:
            raise ApiError(401, "Unauthorized")
        record["user"] = user.name
        if path == "/debug/requests":
            if not user.is_superuser:
                raise ApiError(403, "only system:masters may read the request log")
            return _json([r.as_dict() for r in self.server.request_log])
        objects = self.server.objects
        target = routing.parse(objects.registry, path)
        if target is None:
            record["verb"] = request.method.lower()
            doc = discovery.document(objects.registry, path, self.server.address)
            if doc is None or request.method != "GET":
                raise ApiError(404, "the server could not find the requested resource")
            return _json(doc)
        watch = request.query.get("watch") in ("true", "1")
        verb = routing.verb(request.method, target, watch)
        info = target.info
        record.update(
            verb=verb,
            api_group=info.group,
            resource=info.plural,
            subresource=target.subresource,
            namespace=target.namespace,
            name=target.name,
        )
        attrs = Attributes(
            verb, info.group, info.plural, target.subresource, target.namespace, target.name
        )
        self_review = info.key == SELF_REVIEWS and verb == "create"  # open to everyone
        if not self_review and not self.server.authorizer.authorize(user, attrs):
            raise errors.forbidden(
                user.name, verb, info.group, attrs.full_resource, target.namespace, target.name
            )
        if verb == "watch":  # streams may stay open to the end of a test: log them now
            self._log(request, record, 200)
            record["logged"] = True
        if info.key in (SELF_REVIEWS, REVIEWS):
            if verb != "create":
                raise ApiError(405, f"{info.plural} can only be created")
            return _json(self._access_review(info, await _body(request), user), 201)
        if info.key == tokenreview.KEY:
            if verb != "create":
                raise ApiError(405, "tokenreviews can only be created")
            return _json(tokenreview.review(self.server.tokens, await _body(request)), 201)
        return await self._execute(request, target, verb, user)

    async def _admit(
        self,
        target: routing.Target,
        verb: str,
        user: UserInfo,
        write: WriteOptions,
        body: Any,
        content_type: str,
    ) -> None:
        """Validating admission webhooks (see `admission`): the write is first done as a dry
        run, so the webhooks see the object as it would be stored; a denial raises."""
        objects = self.server.objects
        info, ns, name, sub = target.info, target.namespace, target.name, target.subresource
        operation = {"create": "CREATE", "update": "UPDATE", "patch": "UPDATE"}.get(verb, "DELETE")
        probe = admission.Attempt(info, operation, sub, ns, name, user, None, None, write.dry_run)
        if not admission.matching(objects.store, probe, selectors=False):
            return
        dry = WriteOptions(strict=write.strict, dry_run=True)
        old = objects.store.get(info.key, ns if info.namespaced else "", name) if name else None
        if verb == "create":
            new: Obj | None = objects.create(info, ns, body, dry)
            name = (new or {}).get("metadata", {}).get("name", "")
        elif verb == "update":
            new = objects.update(info, ns, name, body, sub, dry)
        elif verb == "patch":
            new = objects.patch(info, ns, name, body, content_type, sub, dry)
            if old is None:
                operation = "CREATE"
        else:
            new = None
        attempt = admission.Attempt(info, operation, sub, ns, name, user, new, old, write.dry_run)
        await admission.admit(objects.store, attempt, self.server.service_resolver)

    async def _execute(
        self, request: web.Request, target: routing.Target, verb: str, user: UserInfo
    ) -> web.StreamResponse:
        objects = self.server.objects
        info, ns, name, sub = target.info, target.namespace, target.name, target.subresource
        accept = request.headers.get("Accept", "")
        include = request.query.get("includeObject", "Metadata")
        if verb == "watch":
            options = WatchOptions(
                namespace=ns or None,
                matcher=_matcher(request, name),
                resource_version=request.query.get("resourceVersion", ""),
                timeout=float(request.query.get("timeoutSeconds") or self.server.watch_timeout),
                bookmarks=request.query.get("allowWatchBookmarks") == "true",
                initial_events=request.query.get("sendInitialEvents") == "true",
                as_table=wants_table(accept),
                include_object=include,
            )
            return await stream(request, objects, info, options, self.server.bookmark_interval)
        if verb == "list":
            listing = objects.list(info, ns or None, _matcher(request))
            if wants_table(accept):
                return _json(
                    table(info, listing["items"], listing["metadata"]["resourceVersion"], include)
                )
            return _json(listing)
        if sub == "scale" and info.crd is None:
            return await self._scale(request, target, verb)
        if verb == "get":
            if sub == "log":
                return web.Response(text=self.server.pod_logs.get((ns, name), ""))
            obj = objects.get(info, ns, name)
            if wants_table(accept):
                return _json(table(info, [obj], obj["metadata"]["resourceVersion"], include))
            return _json(obj)
        body = await _body(request)
        write = WriteOptions(
            strict=request.query.get("fieldValidation") == "Strict",
            dry_run=request.query.get("dryRun") == "All",
        )
        if verb in ("create", "update", "patch", "delete") and not (
            verb == "create" and sub == "token"
        ):
            await self._admit(target, verb, user, write, body, request.content_type)
        writes = self.server.writes
        if verb == "create":
            if sub == "token":
                return _json(self._token_request(info, ns, name, body), 201)
            created = objects.create(info, ns, body, write)
            if writes is not None and not write.dry_run and isinstance(body, dict):
                writes.record(
                    user.name, verb, sub, body, api_version=info.api_version, kind=info.kind
                )
            return _json(created, 201)
        if verb == "update":
            updated = objects.update(info, ns, name, body, sub, write)
            if writes is not None and not write.dry_run and isinstance(body, dict):
                writes.record(
                    user.name, verb, sub, body, api_version=info.api_version, kind=info.kind
                )
            return _json(updated)
        if verb == "patch":
            content_type = request.content_type
            patched = objects.patch(info, ns, name, body, content_type, sub, write)
            if writes is not None and not write.dry_run:
                kind = info.kind
                writes.record(
                    user.name, verb, sub, patched, api_version=info.api_version, kind=kind
                )
            return _json(patched)
        if write.dry_run:  # a dry-run delete answers what it would delete
            if verb == "deletecollection":
                return _json(objects.list(info, ns or None, _matcher(request)))
            return _json(objects.get(info, ns, name))
        delete_options = dict(body or {})
        if "propagationPolicy" in request.query:
            delete_options["propagationPolicy"] = request.query["propagationPolicy"]
        if verb == "deletecollection":
            matcher = _matcher(request)
            return _json(
                deletion.delete_collection(objects, info, ns or None, matcher, delete_options)
            )
        return _json(deletion.delete(objects, info, ns, name, delete_options))

    async def _scale(
        self, request: web.Request, target: routing.Target, verb: str
    ) -> web.StreamResponse:
        """``deployments/scale``, ``replicasets/scale`` (see `scale`)."""
        objects = self.server.objects
        info, ns, name = target.info, target.namespace, target.name
        if verb == "get":
            return _json(scale.read(objects, info, ns, name))
        body = await _body(request)
        if verb == "update":
            return _json(scale.update(objects, info, ns, name, body))
        if verb == "patch":
            return _json(scale.patch(objects, info, ns, name, body, request.content_type))
        raise ApiError(405, f"{verb} is not supported on the scale subresource")

    def _access_review(self, info: Any, body: Any, user: UserInfo) -> Obj:
        """(Self)SubjectAccessReview: would the subject be allowed? (``kubectl auth can-i``)."""
        spec = dict((body or {}).get("spec") or {})
        subject = user
        if info.key == REVIEWS:
            groups = (*(spec.get("groups") or ()), AUTHENTICATED)
            subject = UserInfo(spec.get("user", ""), tuple(dict.fromkeys(groups)))
        resource = spec.get("resourceAttributes")
        allowed = True  # non-resource URLs (discovery…) are open to authenticated users
        if isinstance(resource, dict):
            attrs = Attributes(
                resource.get("verb", ""),
                resource.get("group", ""),
                resource.get("resource", ""),
                resource.get("subresource", ""),
                resource.get("namespace", ""),
                resource.get("name", ""),
            )
            allowed = self.server.authorizer.authorize(subject, attrs)
        return {
            "kind": info.kind,
            "apiVersion": info.api_version,
            "metadata": {},
            "spec": spec,
            "status": {"allowed": allowed, "reason": "RBAC" if allowed else ""},
        }

    def _token_request(self, info: Any, namespace: str, name: str, body: Any) -> Obj:
        """TokenRequest: mint a token for an existing ServiceAccount (bound to
        ``spec.audiences`` when given, else to the API server)."""
        self.server.objects.get(info, namespace, name)
        spec = dict((body or {}).get("spec") or {})
        audiences = [str(a) for a in spec.get("audiences") or []]
        token = self.server.tokens.add(service_account_user(namespace, name), audiences)
        seconds = int(spec.get("expirationSeconds") or 3600)
        expires = (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
        spec.setdefault("expirationSeconds", seconds)
        return {
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": name, "namespace": namespace, "uid": secrets.token_hex(8)},
            "spec": spec,
            "status": {"token": token, "expirationTimestamp": expires},
        }
