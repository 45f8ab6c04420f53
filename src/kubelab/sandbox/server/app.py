"""The HTTP adapter: the Kubernetes REST API over the registry.

Mirrors kube-apiserver's handler chain, thinly: authentication (bearer token), discovery,
``/version``, health endpoints, OpenAPI, and for every resource the REST verbs (get, list,
watch, create, update, patch, delete, deletecollection) plus subresources (``status``,
``scale``, ``log``, ``binding``, ``eviction``, ``finalize``, ``proxy``, and the streams
``exec`` and ``portforward``). Requests are decoded
(JSON, YAML, protobuf), checked with ``fieldValidation``, handed to the registry, and answered
as JSON objects, lists, ``meta.k8s.io/v1`` Tables or chunked watch streams; every error is a
``Status`` body shaped as upstream shapes it.

aiohttp is the HTTP server: well kept, asyncio-native, and good at the many long-lived
chunked responses that watches are.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

import yaml
from aiohttp import ClientSession, ClientTimeout, web

from kubelab.apimachinery.selectors import selector_string
from kubelab.apimachinery.types import Obj
from kubelab.sandbox.api import decode, errors, kinds, params, versions
from kubelab.sandbox.api.errors import ApiError
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.auth.authenticate import Authenticator
from kubelab.sandbox.auth.rbac import Authorizer
from kubelab.sandbox.clock import Clock, client_waiting, hold, touch
from kubelab.sandbox.fabric import ExecError, NodeAgent
from kubelab.sandbox.server import (
    attach_stream,
    auth_routes,
    discovery,
    encoded,
    exec_stream,
    pod_network,
    portforward,
    portforward_stream,
    program_network,
    watchstream,
)
from kubelab.sandbox.store.registry import Expired, Registry
from kubelab.sandbox.store.storage import (
    ConnectSubresource,
    CreateSubresource,
    ProxySubresource,
    ScaleSubresource,
)

log = logging.getLogger("kubelab.sandbox.server")

TABLE_TYPE = "application/json;as=Table;v=v1;g=meta.k8s.io"
PROTOBUF = "application/vnd.kubernetes.protobuf"
MAX_BODY = 3 * 1024 * 1024
ANONYMOUS_PATHS = ("/version", "/healthz", "/livez", "/readyz")


@dataclass
class ServerConfig:
    token: str
    version: dict[str, str]
    server_address: str = "127.0.0.1:6443"
    health: Callable[[], dict[str, bool]] = field(default=lambda: {})
    #: Sandbox-only fault injection (``POST /kubelab/v1/faults``): body → result.
    faults: Callable[[dict[str, Any]], dict[str, Any]] | None = None


@dataclass(frozen=True)
class Target:
    """A parsed resource path."""

    info: KindInfo
    namespace: str | None
    name: str | None
    subresource: str | None
    rest: str = ""
    # The version asked for when it is not the storage version (``info`` is then the
    # storage row): bodies convert from it and answers to it (:mod:`..api.versions`).
    served: KindInfo | None = None

    @property
    def view(self) -> KindInfo:
        """The kind at the version of the request."""
        return self.served or self.info


def _pod_container(pod: dict[str, Any], requested: str | None) -> str:
    """The container a ``log``/``exec``/``attach`` request means (``validateContainer`` in
    ``pkg/registry/core/pod/strategy.go``): the one named — init and ephemeral containers
    too — or the only one."""
    name = pod["metadata"]["name"]
    containers = [c["name"] for c in pod["spec"].get("containers", [])]
    every = [c["name"] for group in ("initContainers", "containers", "ephemeralContainers")
             for c in pod["spec"].get(group) or []]
    container = requested or (containers[0] if len(containers) == 1 else "")
    if not container:
        raise errors.bad_request(
            f"a container name must be specified for pod {name}, choose one of: "
            f"[{' '.join(every)}]")
    if container not in every:
        raise errors.bad_request(f"container {container} is not valid for pod {name}")
    return container


def parse_path(path: str) -> Target | None:
    parts = [p for p in path.split("/") if p != ""]
    if len(parts) < 2:
        return None
    if parts[0] == "api" and len(parts) >= 3:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[0] == "apis" and len(parts) >= 4:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace: str | None = None
    namespace_sub = len(rest) == 3 and rest[2] in ("status", "finalize")
    if rest[0] == "namespaces" and len(rest) >= 3 and not namespace_sub:
        namespace, rest = rest[1], rest[2:]
        info = kinds.by_resource(group, version, rest[0])
        if info is None or not info.namespaced:
            return None
    else:
        info = kinds.by_resource(group, version, rest[0])
        if info is None:
            return None
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    extra = "/".join(rest[3:]) if len(rest) > 3 else ""
    if len(rest) > 3 and sub != "proxy":
        return None
    return Target(info, namespace, name, sub, extra)


#: What a POST to a subresource (``binding``, ``eviction``) answers by default.
SUBRESOURCE_CREATED: Obj = {"kind": "Status", "apiVersion": "v1", "metadata": {},
                            "status": "Success", "code": 201}


def status_success(info: KindInfo, name: str, uid: str) -> Obj:
    details: Obj = {"name": name, "kind": info.plural, "uid": uid}
    if info.group:
        details["group"] = info.group
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": details}


#: The etcd3 storage's message for a compacted continue token (``inconsistentContinue``,
#: sent with a token that goes on at the latest revision by ``handleCompactedErrorForPaging``).
CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You "
    "can start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted "
    "between the time the first chunk was returned and now may show up in the list.")


def _encode_continue(start: str, revision: int) -> str:
    """``storage.EncodeContinue``: raw URL-safe base64 of ``{"v","rv","start"}``."""
    token = json.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": start},
                       separators=(",", ":"))
    return base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")


def _decode_continue(token: str) -> tuple[str, int | None]:
    """``storage.DecodeContinue``: (start key, revision; None for "the latest")."""
    if not token:
        return "", None
    try:
        state = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, TypeError) as exc:
        raise errors.bad_request(f"continue key is not valid: {exc}") from exc
    if not isinstance(state, dict) or state.get("v") != "meta.k8s.io/v1":
        raise errors.bad_request("continue key is not valid: incorrect encoded start "
                                 "resourceVersion (version meta.k8s.io/v1)")
    start, revision = state.get("start"), state.get("rv")
    if not isinstance(start, str) or not start:
        raise errors.bad_request("continue key is not valid: encoded start key empty")
    if not isinstance(revision, int) or revision == 0 or revision < -1:
        raise errors.bad_request("continue key is not valid: incorrect encoded start "
                                 "resourceVersion (version meta.k8s.io/v1)")
    if start.startswith("/") or "/../" in f"/{start}":
        raise errors.bad_request("continue key is not valid: invalid start key")
    return start, None if revision == -1 else revision


def _json(obj: Any, status: int = 200, content_type: str = "application/json",
          headers: dict[str, str] | None = None, *, encoder: bool = True) -> web.Response:
    """A JSON body as kube-apiserver's serializer writes it (newline-terminated); the OpenAPI
    handler (kube-openapi's ``json.Marshal``) passes ``encoder=False``: no newline."""
    body = (errors.wire_json(obj) if encoder
            else json.dumps(obj, separators=(",", ":")).encode())
    return web.Response(body=body, status=status, content_type=None,
                        headers={"Content-Type": content_type, **(headers or {})})


async def _channel_websocket(request: web.Request, verb: str) -> web.WebSocketResponse:
    """The WebSocket upgrade exec and attach share (channel protocols v5/v4); SPDY is refused."""
    ws = web.WebSocketResponse(protocols=exec_stream.PROTOCOLS, autoping=True)
    ready = ws.can_prepare(request)
    if not ready.ok or ready.protocol is None:
        raise errors.bad_request(
            f"the kubelab sandbox streams {verb} over WebSocket only (subprotocol "
            f"{' or '.join(exec_stream.PROTOCOLS)}), not SPDY: use kubectl 1.30 or newer")
    await ws.prepare(request)
    return ws


def _upgrade_refused(exc: ExecError) -> web.Response:
    """The answer instead of an exec/attach/port-forward upgrade: the kubelet's plain-text
    refusal as its upgrade proxy passes it on, or the API server's own Status."""
    if exc.plain:
        return web.Response(status=exc.code, text=exc.message)
    return error_response(ApiError(exc.code, exc.reason, exc.message, {}))


def error_response(err: ApiError) -> web.Response:
    return _json(err.status(), err.code, headers=err.headers)


def _verb(method: str, name: str | None, request: web.Request) -> str:
    """The API verb of a request on a resource (``RequestInfoFactory``'s mapping)."""
    if method == "GET":
        if params.bool_param(request.query, "watch"):
            return "watch"
        return "get" if name is not None else "list"
    if method == "DELETE":
        return "delete" if name is not None else "deletecollection"
    return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, method.lower())


def _long_lived(request: web.Request) -> bool:
    """Watches, followed logs and upgraded streams (exec, port-forward): they wait on the
    cluster rather than keep it busy, so they never hold a virtual clock."""
    query = request.query
    return (params.bool_param(query, "watch") or query.get("follow") == "true"
            or "/watch/" in request.path or "upgrade" in request.headers.get("Connection", "").lower())


class KubeApi:
    """The request handlers, bound to one registry."""

    def __init__(self, registry: Registry, clock: Clock, config: ServerConfig,
                 fabric: Any = None) -> None:
        self.registry = registry
        self.clock = clock
        self.encoded = encoded.EncodedObjects(registry)
        self.config = config
        self.fabric = fabric
        #: metrics-server behind ``metrics.k8s.io`` (:class:`kubelab.sandbox.metrics.MetricsServer`).
        self.metrics_server: Any = None
        if fabric is not None:
            fabric.program_networks = self._program_network
        self._http: ClientSession | None = None
        self.authenticator = Authenticator(config.token, registry, clock)
        self.authorizer = Authorizer(registry)
        self.requests = 0
        #: The streams this server serves for connect subresources (upstream hands them to
        #: the kubelet), by subresource name.
        self._connectors: dict[str, Callable[[web.Request, Target],
                                             Awaitable[web.StreamResponse]]] = {
            "exec": self.exec, "attach": self.attach, "portforward": self.portforward,
            "proxy": self.proxy, "log": self.logs,
        }
        #: Resources computed on each read rather than stored (upstream's REST storages
        #: that answer from probes), by kind.
        self._computed: dict[KindInfo, Callable[[web.Request, Target], web.Response]] = {
            kinds.core("componentstatuses"): self.component_statuses,
        }

    # ---------------------------------------------------------------- plumbing

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY,
                              middlewares=[self._errors_middleware, self._auth_middleware])
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        app.on_cleanup.append(self._cleanup)
        return app

    async def _cleanup(self, _app: web.Application) -> None:
        if self._http is not None:
            await self._http.close()

    @web.middleware
    async def _errors_middleware(self, request: web.Request,
                                 handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                                 ) -> web.StreamResponse:
        self.requests += 1
        try:
            if _long_lived(request):
                with client_waiting(self.clock):  # a virtual clock may skip time for it
                    return await handler(request)
            # A request being answered is work in progress: a virtual clock skips no time
            # (and may again once it is answered: a client is active).
            touch(self.clock)
            with hold(self.clock):
                response = await handler(request)
                if request.method not in ("GET", "HEAD", "OPTIONS"):
                    # As etcd answers a write only after its commit: the datastore commits
                    # off the event loop, and a write is acknowledged once it is durable.
                    await self.registry.log.synced()
                return response
        except ApiError as err:
            return error_response(err)
        except web.HTTPRequestEntityTooLarge:
            return error_response(errors.too_large(MAX_BODY))
        except web.HTTPException as exc:
            # aiohttp's own answers (a path its router cannot match, e.g. with a newline)
            # become Status bodies with their code, never a 500.
            if exc.status == 404:
                return self.not_found_path()
            return error_response(ApiError(exc.status, (exc.reason or "").replace(" ", ""),
                                           exc.text or exc.reason or ""))
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as exc:  # the server keeps serving; the client gets a Status
            log.exception("internal error on %s %s", request.method, request.path)
            return error_response(errors.internal(str(exc)))

    @web.middleware
    async def _auth_middleware(self, request: web.Request,
                               handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                               ) -> web.StreamResponse:
        header = request.headers.get("Authorization", "")
        # Like kubeadm's system:public-info-viewer: /version and health are anonymous.
        if not header and request.path.startswith(ANONYMOUS_PATHS):
            return await handler(request)
        # Authentication (401), impersonation and authorisation (403): auth_routes.admit.
        request[auth_routes.USER_KEY] = auth_routes.admit(self.authenticator, self.authorizer,
                                                          request)
        return await handler(request)

    # ---------------------------------------------------------------- dispatch

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        if path == "/version":
            return _json(self.config.version)
        if path.split("/")[1] in ("healthz", "livez", "readyz"):
            return self.health(request, path)
        if path in ("/api", "/apis"):
            return self.discover(request, core=path == "/api")
        if path == "/kubelab/v1/faults" and request.method == "POST":
            return await self.fault(request)
        if path == "/openapi/v2":
            return await self.openapi_v2(request)
        if path.startswith("/openapi/"):
            return self.openapi(request, path)
        parts = path.strip("/").split("/")
        if request.method == "GET":
            if parts[0] == "api" and len(parts) == 2:
                doc = discovery.resource_list("", parts[1])
                if doc is not None:
                    return _json(doc)
            if parts[0] == "apis" and len(parts) == 2:
                group = discovery.api_group(parts[1])
                if group is not None:
                    return _json(group)
            if parts[0] == "apis" and len(parts) == 3:
                doc = discovery.resource_list(parts[1], parts[2])
                if doc is not None:
                    return _json(doc)
        if parts[:3] == ["apis", "metrics.k8s.io", "v1beta1"] and len(parts) > 3:
            return self.resource_metrics(request, parts[3:])
        target = parse_path(path)
        if target is None:
            return self.not_found_path()
        computed = self._computed.get(target.info)
        if computed is not None:
            return computed(request, target)
        return await self.resource(request, target)

    def resource_metrics(self, request: web.Request, rest: list[str]) -> web.Response:
        """``metrics.k8s.io/v1beta1``, as kube-aggregator proxies it to metrics-server:
        ``nodes[/NAME]``, ``pods``, ``namespaces/NS/pods[/NAME]`` (get and list, with label
        and field selectors); the numbers come from :mod:`kubelab.sandbox.metrics`."""
        if request.method != "GET":
            raise errors.method_not_allowed()
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        if rest[0] not in ("nodes", "pods") or len(rest) > 2 or (
                rest[0] == "nodes" and namespace is not None):
            return self.not_found_path()
        server = self.metrics_server
        if server is None:
            raise ApiError(503, "ServiceUnavailable",
                           "the server is currently unable to handle the request", {})
        nodes = rest[0] == "nodes"
        info = kinds.core(rest[0])
        kind = "NodeMetrics" if nodes else "PodMetrics"
        if len(rest) == 2:
            name = rest[1]
            obj = self.registry.peek(info, "" if nodes else (namespace or "default"), name)
            found = ([] if obj is None else server.node_metrics([obj]) if nodes
                     else server.pod_metrics([obj]))
            if not found:
                shown = name if nodes else f"{namespace or 'default'}/{name}"
                raise ApiError(404, "NotFound",
                               f'{kind.lower()}.metrics.k8s.io "{shown}" not found',
                               {"name": shown, "group": "metrics.k8s.io",
                                "kind": kind.lower()})
            return _json({"kind": kind, "apiVersion": "metrics.k8s.io/v1beta1", **found[0]})
        objs, _ = self.registry.list_objects(
            info, None if nodes else namespace,
            label_selector=request.query.get("labelSelector", ""),
            field_selector=request.query.get("fieldSelector", ""), copies=False)
        items = server.node_metrics(objs) if nodes else server.pod_metrics(objs)
        return _json({"kind": f"{kind}List", "apiVersion": "metrics.k8s.io/v1beta1",
                      "metadata": {}, "items": items})

    async def fault(self, request: web.Request) -> web.Response:
        """Inject a fault a lesson needs (stop a kubelet, stall the scheduler, kill a
        container, fail a probe). Not part of the Kubernetes API: on a real cluster the
        equivalents are `docker stop <node>` (kind) or stopping a VM."""
        if self.config.faults is None:
            return self.not_found_path()
        try:
            body = json.loads(await request.read() or b"{}")
        except json.JSONDecodeError as exc:
            raise errors.bad_request(f"json parse error: {exc}") from exc
        if not isinstance(body, dict):
            raise errors.bad_request("fault request must be a JSON object")
        try:
            return _json(self.config.faults(body))
        except KeyError as exc:
            raise errors.bad_request(f"unknown fault target: {exc}") from exc

    def not_found_path(self) -> web.Response:
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "the server could not find the requested resource",
                "reason": "NotFound", "details": {}, "code": 404}
        return _json(body, 404)

    def health(self, request: web.Request, path: str) -> web.Response:
        checks = {"ping": True, "log": True, "etcd": True, "informer-sync": True,
                  "poststarthook/start-kube-controllers": True, **self.config.health()}
        kind = path.split("/")[1]
        if len(path.split("/")) > 2:
            name = "/".join(path.split("/")[2:])
            if name not in checks:
                return web.Response(status=404, text="404 page not found\n")
            ok = checks[name]
            return web.Response(status=200 if ok else 500,
                                text="ok" if ok else f"[-]{name} failed: reason withheld\n")
        healthy = all(checks.values())
        if "verbose" in request.query or not healthy:
            lines = [f"[+]{n} ok" if ok else f"[-]{n} failed: reason withheld"
                     for n, ok in checks.items()]
            verdict = f"{kind} check passed" if healthy else f"{kind} check failed"
            return web.Response(status=200 if healthy else 500,
                                text="\n".join(lines) + "\n" + verdict + "\n")
        return web.Response(text="ok")

    def discover(self, request: web.Request, core: bool) -> web.Response:
        media = discovery.wants_aggregated(request.headers.get("Accept", ""))
        if media is not None:
            label = "v2" if media == discovery.AGGREGATED_V2 else "v2beta1"
            return _json(discovery.aggregated(core, label), content_type=media)
        if core:
            return _json(discovery.api_versions(self.config.server_address))
        return _json(discovery.api_group_list())

    def openapi(self, request: web.Request, path: str) -> web.Response:
        from kubelab.sandbox.api import openapi

        if path == "/openapi/v3":
            return _json(openapi.v3_root(), encoder=False)
        if path.startswith("/openapi/v3/"):
            group_version = path[len("/openapi/v3/"):]
            doc = openapi.v3_group_version(group_version)
            if doc is not None:
                return self._openapi_v3_document(request, group_version, doc)
        return self.not_found_path()

    def _openapi_v3_document(self, request: web.Request, group_version: str,
                             doc: dict[str, Any]) -> web.Response:
        """A group-version's document with kube-openapi's (handler3) cache headers.

        Its ETag is the document's hash. Asked for by its current ``?hash=`` URL (what the
        ``/openapi/v3`` index lists), it is immutable and ``Expires`` a year from now, so
        kubectl's HTTP cache (``~/.kube/cache/http``) serves every later ``apply`` from disk
        instead of asking again; an old hash is redirected (301) to the current URL; a
        matching ``If-None-Match`` is answered 304, as Go's ``http.ServeContent`` does.
        """
        from kubelab.sandbox.api import openapi

        current = openapi.v3_hash(group_version)
        etag = f'"{current}"'
        headers = {"Etag": etag}
        asked = request.query.get("hash")
        if asked:
            if asked != current:
                return web.Response(status=301, headers={
                    "Location": f"/openapi/v3/{group_version}?hash={current}"})
            headers.update({
                "Vary": "Accept", "Cache-Control": "public, immutable",
                "Expires": (self.clock.now() + datetime.timedelta(days=365)).strftime(
                    "%a, %d %b %Y %H:%M:%S UTC")})
        if etag in {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")}:
            return web.Response(status=304, headers=headers)
        return _json(doc, headers=headers, encoder=False)

    def component_statuses(self, request: web.Request, t: Target) -> web.Response:
        """``componentstatuses``: computed on each GET, never stored (see
        :mod:`kubelab.sandbox.server.componentstatus`), with upstream's deprecation warning."""
        from kubelab.sandbox.server import componentstatus

        if t.namespace is not None or t.subresource is not None:
            return self.not_found_path()
        if request.method != "GET":
            raise errors.method_not_allowed()
        headers = self._warning_headers([componentstatus.DEPRECATION])
        checks = self.config.health()
        if t.name is not None:
            found = componentstatus.component_status(t.name, checks)
            if found is None:
                raise errors.not_found(t.info, t.name)
            items = [found]
        else:
            items = componentstatus.component_statuses(checks)
        if "as=Table" in request.headers.get("Accept", ""):
            return _json(self.table(request, t.info, items), content_type=TABLE_TYPE,
                         headers=headers)
        if t.name is not None:
            return _json(items[0], headers=headers)
        return _json({"kind": "ComponentStatusList", "apiVersion": "v1", "metadata": {},
                      "items": items}, headers=headers)

    async def openapi_v2(self, request: web.Request) -> web.Response:
        """``/openapi/v2`` as kube-openapi's handler serves it: JSON or gnostic protobuf by
        ``Accept`` (406 for neither), a quoted ETag and 304 for a matching If-None-Match.
        The first request builds the document in a worker thread (about a second of CPU),
        so the event loop keeps serving meanwhile."""
        from kubelab.sandbox.api import openapi_v2

        media = openapi_v2.negotiate(request.headers.get("Accept", ""))
        if media is None:
            return web.Response(status=406)
        data, etag = await asyncio.get_running_loop().run_in_executor(
            None, openapi_v2.body, media)
        content_type = openapi_v2.PROTOBUF_RETURNED if media == openapi_v2.PROTOBUF \
            else openapi_v2.JSON
        headers = {"Content-Type": content_type, "Etag": f'"{etag}"',
                   "Accept-Ranges": "bytes"}
        # net/http's checkIfNoneMatch: any listed tag, weak or strong, or "*".
        wanted = {t.strip().removeprefix("W/")
                  for t in request.headers.get("If-None-Match", "").split(",")}
        if f'"{etag}"' in wanted or "*" in wanted:
            return web.Response(status=304, headers={"Etag": f'"{etag}"'})
        return web.Response(body=data, content_type=None, headers=headers)

    # ---------------------------------------------------------------- resources

    async def resource(self, request: web.Request, t: Target) -> web.StreamResponse:
        """Dispatch by the kind's storage: its subresource table says what a subresource
        is (a stream, a POST of another kind, the Scale view, or an update of the object);
        no kind is named here."""
        method = request.method
        if t.info.group in auth_routes.REVIEW_GROUPS:
            return await auth_routes.review(self, request, t)
        if t.info.storage_version:
            t = replace(t, info=kinds.storage_info(t.info), served=t.info)
        if t.subresource is None and _verb(method, t.name, request) not in t.info.verbs:
            # The REST storage has no handler for it (a read-only kind: 405, as upstream).
            raise errors.method_not_allowed()
        storage = self.registry.storage(t.info)
        sub = storage.subresource(t.subresource) if t.subresource is not None else None
        if isinstance(sub, ConnectSubresource):
            if method not in sub.methods:
                raise errors.method_not_allowed()
            assert t.subresource is not None
            return await self._connectors[t.subresource](request, t)
        if storage.creates_through is not None and t.name is None and method == "POST":
            # ``POST bindings``: the subresource of the object the body names.
            body = await self.read_body(request, t.info)
            self.check_kind(t.info, body)
            self.check_types(t.info, body)
            kind, subresource = storage.creates_through
            name = (body.get("metadata") or {}).get("name", "")
            status = self.registry.create_subresource(
                kind, t.namespace or "default", name, subresource, body,
                dry_run=self.dry_run(request))
            return _json(status or SUBRESOURCE_CREATED, 201)
        if t.namespace is not None and not t.info.namespaced:
            return self.not_found_path()
        if t.subresource is not None and sub is None:
            return self.not_found_path()
        if t.name is None:
            if method == "GET":
                if params.bool_param(request.query, "watch"):
                    return await self.watch(request, t)
                return self.list_response(request, t)
            if method == "POST":
                return await self.create(request, t)
            if method == "DELETE":
                return await self.delete_collection(request, t)
            raise errors.method_not_allowed()
        if isinstance(sub, CreateSubresource):
            if method != "POST":
                raise errors.method_not_allowed()
            body = await self.read_body(request, sub.body_kind)
            self.check_kind(sub.body_kind, body)
            self.check_types(sub.body_kind, body)
            assert t.subresource is not None
            status = self.registry.create_subresource(
                t.info, self._ns(t), t.name, t.subresource, body,
                dry_run=self.dry_run(request))
            return _json(status or SUBRESOURCE_CREATED, 201)
        if isinstance(sub, ScaleSubresource):
            return await self.scale(request, t)
        if method == "GET":
            if params.bool_param(request.query, "watch"):
                return await self.watch(request, t)
            # Read-only: serialise the stored object without copying it.
            stored = self.registry.peek(t.info, self._ns(t), t.name)
            if stored is None:
                raise errors.not_found(t.info, t.name)
            if "as=Table" in request.headers.get("Accept", ""):
                return self.respond_object(request, t.view, stored)
            return web.Response(body=self._full(t, stored) + b"\n", status=200,
                                content_type=None, headers={"Content-Type": "application/json"})
        if method == "PUT":
            return await self.replace(request, t)
        if method == "PATCH":
            return await self.patch(request, t)
        if method == "DELETE" and t.subresource is None:
            return await self.delete(request, t)
        raise errors.method_not_allowed()

    def _ns(self, t: Target) -> str:
        return (t.namespace or "default") if t.info.namespaced else ""

    def respond_object(self, request: web.Request, info: KindInfo, obj: Obj,
                       status: int = 200, warnings: list[str] | None = None) -> web.Response:
        headers = self._warning_headers(warnings)
        if "as=Table" in request.headers.get("Accept", ""):
            return _json(self.table(request, info, [obj]), status, TABLE_TYPE, headers)
        return _json(versions.from_storage(info, obj), status, headers=headers)

    def _full(self, t: Target, obj: Obj) -> bytes:
        """A stored object's JSON at the request's version (cached at the storage one)."""
        if t.served is None:
            return self.encoded.full(t.info, obj)
        return errors.wire_json(versions.from_storage(t.served, obj))[:-1]

    def _item(self, t: Target, obj: Obj) -> bytes:
        """A stored object as a List item at the request's version."""
        if t.served is None:
            return self.encoded.item(t.info, obj)
        shown = versions.from_storage(t.served, obj)
        return errors.wire_json({k: v for k, v in shown.items()
                                 if k not in ("apiVersion", "kind")})[:-1]

    @staticmethod
    def _warning_headers(warnings: list[str] | None) -> dict[str, str]:
        if not warnings:
            return {}
        return {"Warning": ", ".join(f'299 - "{w}"' for w in warnings)}

    def table(self, request: web.Request, info: KindInfo, objs: list[Obj],
              resource_version: str = "") -> Obj:
        from kubelab.sandbox.api import tables

        include = request.query.get("includeObject", "Metadata")
        # Columns come from the stored object, as upstream prints the internal version.
        return tables.table(kinds.storage_info(info), objs, now=self.clock.now(), include_object=include,
                            resource_version=resource_version)

    def list_response(self, request: web.Request, t: Target) -> web.Response:
        limit = params.int_param(request.query, "limit") or 0
        params.int_param(request.query, "timeoutSeconds")
        start, revision = _decode_continue(request.query.get("continue", ""))
        namespace = t.namespace if t.info.namespaced else None
        try:
            page = self.registry.list_page(
                t.info, namespace, label_selector=request.query.get("labelSelector", ""),
                field_selector=self._field_selector(request, t), limit=max(limit, 0),
                start=start, revision=revision)
        except Expired:
            # handleCompactedErrorForPaging: the Status carries a token that goes on at the
            # latest revision.
            status = errors.gone(CONTINUE_EXPIRED).status()
            status["metadata"] = {"continue": _encode_continue(start, -1)}
            return _json(status, 410)
        metadata: Obj = {"resourceVersion": str(page.revision)}
        if page.next_start is not None:
            metadata["continue"] = _encode_continue(page.next_start, page.revision)
            if page.remaining is not None:
                metadata["remainingItemCount"] = page.remaining
        items = page.items
        if "as=Table" in request.headers.get("Accept", ""):
            table = self.table(request, t.info, items, metadata["resourceVersion"])
            table["metadata"].update(metadata)
            return _json(table, content_type=TABLE_TYPE)
        # List items carry no apiVersion/kind, as the real server sends them; each item's
        # bytes come from the per-version cache.
        body = encoded.list_body(t.view.list_kind, t.view.api_version, metadata,
                                 [self._item(t, item) for item in items])
        return web.Response(body=body, status=200, content_type=None,
                            headers={"Content-Type": "application/json"})

    def _field_selector(self, request: web.Request, t: Target) -> str:
        selector = request.query.get("fieldSelector", "")
        self._check_field_labels(t.info, selector)
        if t.name:
            extra = f"metadata.name={t.name}"
            selector = f"{selector},{extra}" if selector else extra
        return selector

    @staticmethod
    def _check_field_labels(info: KindInfo, selector: str) -> None:
        """The kind's field label conversion (``ConvertFieldLabel``): a field no conversion
        function knows is 400. Kinds with their own function (pods, events, nodes…) say
        ``field label not supported: X``; the rest use
        ``DefaultMetaV1FieldSelectorConversion``'s wording."""
        if not selector:
            return
        from kubelab.sandbox.api.selectors import parse_field_selector
        from kubelab.sandbox.api.strategies import Strategy, strategy_for

        strategy = strategy_for(info)
        custom = type(strategy).selectable_fields is not Strategy.selectable_fields
        skeleton: Obj = {"metadata": {}, "spec": {}, "status": {}}
        try:
            allowed = set(strategy.selectable_fields(skeleton))
        except (KeyError, TypeError, AttributeError):
            allowed = {"metadata.name", "metadata.namespace"}
        for name in parse_field_selector(selector).fields():
            if name in allowed:
                continue
            if custom:
                raise errors.bad_request(f"field label not supported: {name}")
            raise errors.bad_request(f'"{name}" is not a known field selector: only '
                                     '"metadata.name", "metadata.namespace"')

    # ---------------------------------------------------------------- bodies

    async def read_body(self, request: web.Request, info: KindInfo) -> Obj:
        raw = await request.read()
        content_type = request.headers.get("Content-Type", "application/json").split(";")[0]
        if content_type == PROTOBUF:
            from kubelab.sandbox.api import protobuf

            try:
                return protobuf.decode_request(raw)
            except ValueError as exc:
                raise errors.bad_request(str(exc)) from exc
        if content_type in ("application/yaml", "application/apply-patch+yaml"):
            try:
                body = yaml.safe_load(raw.decode("utf-8"))
                decode.check_depth(body)
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                raise errors.bad_request(f"error converting YAML to JSON: {exc}") from exc
            except (RecursionError, decode.DecodeError) as exc:
                raise errors.bad_request(
                    f"error converting YAML to JSON: yaml: {decode.DEPTH_ERROR}") from exc
        elif content_type in ("application/json", "", "*/*"):
            try:
                # Go's reader: NaN is a syntax error, number literals are kept, nesting is
                # bounded (RecursionError can never escape).
                body = decode.loads(raw.decode("utf-8") or "null")
            except (ValueError, UnicodeDecodeError) as exc:
                raise errors.bad_request(
                    f"couldn't get version/kind; json parse error: {exc}") from exc
        else:
            raise errors.unsupported_media_type(content_type)
        if not isinstance(body, dict):
            raise errors.bad_request(
                "Object 'Kind' is missing in '" + raw.decode("utf-8", "replace")[:200] + "'")
        return body

    def check_kind(self, info: KindInfo, body: Obj) -> None:
        kind = body.get("kind")
        api_version = body.get("apiVersion")
        if kind and kind != info.kind:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected "
                f"API version ({info.api_version})" if api_version != info.api_version else
                f"{kind} in version \"{info.version}\" cannot be handled as a {info.kind}: "
                f"the kind in the data does not match the expected kind")
        if api_version and api_version != info.api_version:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected "
                f"API version ({info.api_version})")

    @staticmethod
    def check_types(info: KindInfo, body: Obj) -> None:
        """Decode ``body`` as the kind's Go type would be decoded (:mod:`..api.decode`):
        a wrongly typed value is 400 before any per-kind code sees the object."""
        from kubelab.sandbox.api import fieldcheck

        try:
            model = fieldcheck.model_for(info.api_version, info.kind)
        except KeyError:
            model = info.model
        if not model:
            return
        error = decode.type_error(model, body)
        if error is not None:
            raise errors.bad_request(decode.cannot_handle(info.kind, info.api_version, error))

    @staticmethod
    def check_patched_types(info: KindInfo, merged: Obj, raw: bytes) -> None:
        """After a JSON/merge/strategic patch applied, the result must decode: otherwise
        upstream's ``applyPatchToObject`` answers 422 on the field ``patch``."""
        from kubelab.sandbox.api import fieldcheck

        try:
            model = fieldcheck.model_for(info.api_version, info.kind)
        except KeyError:
            return
        error = decode.type_error(model, merged)
        if error is None:
            return
        shown = raw.decode("utf-8", "replace")
        cause = errors.Cause("FieldValueInvalid",
                             f"Invalid value: {json.dumps(shown)}: {error}", "patch")
        raise ApiError(422, "Invalid", f' "" is invalid: patch: {cause.message}',
                       {"name": "", "group": "", "kind": ""}, [cause])

    @staticmethod
    def field_manager(request: web.Request) -> str:
        """``managerOrUserAgent``: the ``fieldManager`` parameter, else the User-Agent's
        product (up to the first ``/``: ``kubectl``, ``OpenAPI-Generator``), printable
        characters only, at most 128."""
        manager = request.query.get("fieldManager", "")
        if manager:
            return manager
        product = request.headers.get("User-Agent", "").split("/")[0]
        return "".join(ch for ch in product if ch.isprintable())[:128]

    def check_write_options(self, request: web.Request) -> None:
        params.check_write_options(request.method, request.query.getall("dryRun", []),
                                   request.query.get("fieldValidation"))

    def field_validation(self, request: web.Request, info: KindInfo, body: Obj) -> list[str]:
        """``fieldValidation``: Strict → 400, Warn (the server default) → warnings."""
        mode = request.query.get("fieldValidation", "Warn")
        if mode == "Ignore":
            return []
        from kubelab.sandbox.api import fieldcheck

        unknown = fieldcheck.unknown_fields(info.api_version, info.kind, body)
        if not unknown:
            return []
        if mode == "Strict":
            raise errors.bad_request(
                fieldcheck.strict_error_message(info.api_version, info.kind, unknown))
        return fieldcheck.warning_texts(unknown)

    @staticmethod
    def dry_run(request: web.Request) -> bool:
        return "All" in request.query.getall("dryRun", [])

    # ---------------------------------------------------------------- writes

    async def create(self, request: web.Request, t: Target) -> web.Response:
        self.check_write_options(request)
        body = await self.read_body(request, t.view)
        self.check_kind(t.view, body)
        self.check_types(t.view, body)
        warnings = self.field_validation(request, t.view, body)
        body = versions.to_storage(t.view, body)
        auth_routes.check_rbac_write(self, request, t, body)
        obj = self.registry.create(t.info, body, namespace=self._ns(t),
                                   dry_run=self.dry_run(request),
                                   manager=self.field_manager(request), copy_result=False)
        return self.respond_object(request, t.view, obj, 201, warnings)

    async def replace(self, request: web.Request, t: Target) -> web.Response:
        self.check_write_options(request)
        body = await self.read_body(request, t.view)
        self.check_kind(t.view, body)
        self.check_types(t.view, body)
        warnings = self.field_validation(request, t.view, body)
        body = versions.to_storage(t.view, body)
        body_name = (body.get("metadata") or {}).get("name")
        if body_name != t.name:
            raise errors.bad_request(
                f'the name of the object ({body_name}) does not match the name on the URL '
                f'({t.name})')
        auth_routes.check_rbac_write(self, request, t, body)
        obj = self.registry.update(t.info, body, namespace=self._ns(t),
                                   subresource=t.subresource, dry_run=self.dry_run(request),
                                   manager=self.field_manager(request), copy_result=False)
        return self.respond_object(request, t.view, obj, 200, warnings)

    async def patch(self, request: web.Request, t: Target) -> web.Response:
        from kubelab.sandbox.api import patch as patching

        assert t.name is not None
        self.check_write_options(request)
        content_type = request.headers.get("Content-Type", "").split(";")[0]
        raw = await request.read()
        namespace = self._ns(t)
        stored = self.registry.peek(t.info, namespace, t.name)
        # The patch applies to the object at the request's version.
        live = None if stored is None else versions.from_storage(t.view, stored)
        dry = self.dry_run(request)
        try:
            if content_type == patching.APPLY:
                applied = patching.parse_body(content_type, raw)
                if not isinstance(applied, dict):
                    raise errors.bad_request("apply patch body must be an object")
                self.check_kind(t.view, applied)
                self.check_types(t.view, applied)
                warnings = self.field_validation(request, t.view, applied)
                manager = request.query.get("fieldManager", "")
                if not manager:
                    raise errors.ApiError(
                        400, "BadRequest",
                        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required "
                        "value: is required for apply patch")
                merged = patching.server_side_apply(
                    live, applied, manager=manager, api_version=t.view.api_version,
                    kind=t.view.kind, force=request.query.get("force") == "true",
                    now=self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"))
                if live is None:
                    merged.setdefault("metadata", {}).setdefault("name", t.name)
                    merged = versions.to_storage(t.view, merged)
                    auth_routes.check_rbac_write(self, request, t, merged)
                    obj = self.registry.create(t.info, merged, namespace=namespace,
                                               dry_run=dry, applied=True, copy_result=False)
                    return self.respond_object(request, t.view, obj, 201, warnings)
            else:
                if live is None:
                    raise errors.not_found(t.info, t.name)
                merged = patching.patch(live, content_type, raw, api_version=t.view.api_version,
                                        kind=t.view.kind)
                if not isinstance(merged, dict):
                    raise errors.bad_request("the patch result is not an object")
                self.check_patched_types(t.view, merged, raw)
                warnings = self.field_validation(request, t.view, merged)
        except patching.PatchError as exc:
            raise exc.api_error() from exc
        merged = versions.to_storage(t.view, merged)
        merged.setdefault("metadata", {})
        auth_routes.check_rbac_write(self, request, t, merged)
        if "resourceVersion" not in merged["metadata"] or content_type != patching.JSON_PATCH:
            # A patch applies to the current object unless it names a resourceVersion.
            rv = self._patched_rv(raw, content_type)
            merged["metadata"]["resourceVersion"] = rv or live["metadata"]["resourceVersion"] \
                if live else ""
        obj = self.registry.update(t.info, merged, namespace=namespace,
                                   subresource=t.subresource, dry_run=dry,
                                   manager=self.field_manager(request),
                                   applied=content_type == patching.APPLY, copy_result=False)
        return self.respond_object(request, t.view, obj, 200, warnings)

    @staticmethod
    def _patched_rv(raw: bytes, content_type: str) -> str | None:
        if content_type not in ("application/merge-patch+json",
                                "application/strategic-merge-patch+json"):
            return None
        with contextlib.suppress(ValueError, AttributeError):
            body = json.loads(raw)
            rv = body.get("metadata", {}).get("resourceVersion")
            return str(rv) if rv else None
        return None

    async def delete(self, request: web.Request, t: Target) -> web.Response:
        assert t.name is not None
        options = await self.delete_options(request)
        pre = options.get("preconditions") or {}
        obj, gone = self.registry.delete(
            t.info, self._ns(t), t.name, propagation=options.get("propagationPolicy"),
            grace_period_seconds=options.get("gracePeriodSeconds"), uid=pre.get("uid"),
            resource_version=pre.get("resourceVersion"),
            dry_run=self.dry_run(request) or "All" in (options.get("dryRun") or []))
        if gone and not self.registry.storage(t.info).strategy.returns_deleted_object:

            return _json(status_success(t.info, t.name, obj["metadata"].get("uid", "")))
        return self.respond_object(request, t.view, obj, 200)

    async def delete_options(self, request: web.Request) -> Obj:
        options: Obj = {}
        if request.can_read_body:
            raw = await request.read()
            if raw.strip():
                content_type = request.headers.get("Content-Type", "application/json")
                if content_type.startswith(PROTOBUF):
                    from kubelab.sandbox.api import protobuf

                    try:
                        options = protobuf.decode_request(raw)
                    except ValueError as exc:
                        raise errors.bad_request(str(exc)) from exc
                else:
                    try:
                        options = decode.loads(raw)
                    except ValueError as exc:
                        raise errors.bad_request(f"json parse error: {exc}") from exc
                if not isinstance(options, dict):
                    raise errors.bad_request(
                        "DeleteOptions in version \"v1\" cannot be handled as a "
                        "DeleteOptions: json: cannot unmarshal "
                        f"{decode._json_type(options)} into Go value of type "
                        "v1.DeleteOptions")
                error = decode.type_error("V1DeleteOptions", options)
                if error is not None:
                    raise errors.bad_request(
                        decode.cannot_handle("DeleteOptions", "v1", error))
        q = request.query
        grace = params.int_param(q, "gracePeriodSeconds")
        if grace is not None:
            options["gracePeriodSeconds"] = grace
        if "propagationPolicy" in q:
            options["propagationPolicy"] = q["propagationPolicy"]
        if params.bool_param(q, "orphanDependents"):
            options["propagationPolicy"] = "Orphan"
        params.check_propagation(options.get("propagationPolicy"))
        params.check_write_options("DELETE", [*q.getall("dryRun", []),
                                              *(options.get("dryRun") or [])], None)
        return options

    async def delete_collection(self, request: web.Request, t: Target) -> web.Response:
        options = await self.delete_options(request)
        self._check_field_labels(t.info, request.query.get("fieldSelector", ""))
        items, _ = self.registry.list_objects(t.info, t.namespace if t.info.namespaced else None,
                                      label_selector=request.query.get("labelSelector", ""),
                                      field_selector=request.query.get("fieldSelector", ""))
        deleted = []
        for item in items:
            meta = item["metadata"]
            with contextlib.suppress(ApiError):
                obj, _ = self.registry.delete(
                    t.info, meta.get("namespace", ""), meta["name"],
                    propagation=options.get("propagationPolicy"),
                    grace_period_seconds=options.get("gracePeriodSeconds"),
                    dry_run=self.dry_run(request))
                obj = versions.from_storage(t.view, obj)
                obj.pop("apiVersion", None)
                obj.pop("kind", None)
                deleted.append(obj)
        return _json({"kind": t.view.list_kind, "apiVersion": t.view.api_version,
                      "metadata": {"resourceVersion": str(self.registry.revision)},
                      "items": deleted})

    # ---------------------------------------------------------------- scale

    def _scale_of(self, info: KindInfo, obj: Obj) -> Obj:
        meta = obj["metadata"]
        sub = self.registry.storage(info).subresource("scale")
        selector = (sub.selector(obj) if isinstance(sub, ScaleSubresource)
                    else selector_string(obj.get("spec", {}).get("selector")))
        return {
            "kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {"name": meta["name"], "namespace": meta.get("namespace"),
                         "uid": meta["uid"], "resourceVersion": meta["resourceVersion"],
                         "creationTimestamp": meta["creationTimestamp"]},
            "spec": {"replicas": obj.get("spec", {}).get("replicas", 0)},
            "status": {"replicas": obj.get("status", {}).get("replicas", 0),
                       "selector": selector},
        }

    async def scale(self, request: web.Request, t: Target) -> web.Response:
        assert t.name is not None
        namespace = self._ns(t)
        obj = self.registry.get(t.info, namespace, t.name)
        current = self._scale_of(t.info, obj)
        if request.method == "GET":
            return _json(current)
        scale = kinds.KindInfo("autoscaling", "v1", "Scale", "scale", "scale", True,
                               model="V1Scale")
        if request.method == "PUT":
            body = await self.read_body(request, scale)
            self.check_kind(scale, body)
            self.check_types(scale, body)
            wanted = body
        elif request.method == "PATCH":
            from kubelab.sandbox.api import patch as patching

            content_type = request.headers.get("Content-Type", "").split(";")[0]
            raw = await request.read()
            try:
                wanted = patching.patch(current, content_type, raw,
                                        api_version="autoscaling/v1", kind="Scale")
            except patching.PatchError as exc:
                raise errors.bad_request(str(exc)) from exc
            # The patched Scale must decode as the Go type, as the object's own patch must:
            # `kubectl scale --replicas=100000000000` is 422 on the field `patch`, not a
            # ReplicaSet told to make a hundred billion pods.
            self.check_patched_types(scale, wanted, raw)
        else:
            raise errors.method_not_allowed()
        rv = wanted.get("metadata", {}).get("resourceVersion")
        if rv and rv != obj["metadata"]["resourceVersion"]:
            raise errors.stale_write(t.info, t.name)
        replicas = wanted.get("spec", {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise errors.invalid(scale, t.name,
                                 [errors.Cause("FieldValueInvalid",
                                               f"Invalid value: {replicas}: must be greater "
                                               "than or equal to 0", "spec.replicas")])
        obj["spec"]["replicas"] = replicas
        updated = self.registry.update(t.info, obj, namespace=namespace,
                                       dry_run=self.dry_run(request),
                                       manager=self.field_manager(request), via="scale",
                                       copy_result=False)
        return _json(self._scale_of(t.info, updated))

    # ---------------------------------------------------------------- watch

    async def watch(self, request: web.Request, t: Target) -> web.StreamResponse:
        q = request.query
        # Every parameter is parsed before the watch registers: a request that fails here
        # leaves nothing behind (no watcher, no queue).
        timeout_param = params.int_param(q, "timeoutSeconds")
        params.int_param(q, "limit")
        field_selector = self._field_selector(request, t)
        rv = q.get("resourceVersion")
        send_initial = params.bool_param(q, "sendInitialEvents")
        since: int | None
        if rv in (None, "", "0"):
            since = None
        else:
            try:
                since = int(rv)
            except ValueError as exc:
                raise errors.bad_request(f"invalid resource version: {rv}") from exc
        watcher, backlog = self.registry.watch(
            t.info, t.namespace if t.info.namespaced else None, since=since,
            label_selector=q.get("labelSelector", ""),
            field_selector=field_selector, send_initial=send_initial)
        as_table = "as=Table" in request.headers.get("Accept", "")
        timeout = float(timeout_param) if timeout_param and timeout_param > 0 else 1800.0
        bookmarks = params.bool_param(q, "allowWatchBookmarks")
        response = web.StreamResponse(
            headers={"Content-Type": TABLE_TYPE if as_table else "application/json",
                     "Cache-Control": "no-cache, private"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        first_table = [True]

        def encode(event_type: str, obj: Obj) -> bytes:
            if as_table and event_type != "BOOKMARK":
                table = self.table(request, t.info, [obj], obj["metadata"]["resourceVersion"])
                if not first_table[0]:
                    table["columnDefinitions"] = []
                first_table[0] = False
                return errors.wire_json({"type": event_type, "object": table})
            # One event per line, as the JSON encoder under the watch framer writes it; the
            # object's bytes are encoded once per version for every watcher.
            return encoded.watch_event(event_type, self._full(t, obj))

        def bookmark(initial_end: bool = False) -> Obj:
            meta: Obj = {"resourceVersion": str(self.registry.revision)}
            if initial_end:
                meta["annotations"] = {"k8s.io/initial-events-end": "true"}
            return {"kind": t.view.kind, "apiVersion": t.view.api_version, "metadata": meta}

        # Events leave in batches: what is queued is drained and written at once.
        writer = watchstream.BatchWriter(response.write, encode)
        try:
            initial: list[tuple[str, Obj]] = [(e.type, e.obj) for e in backlog]
            if send_initial and bookmarks:
                initial.append(("BOOKMARK", bookmark(initial_end=True)))
            await writer.send(initial)
            await watchstream.stream(watcher.queue, writer, seconds=timeout,
                                     bookmark=bookmark if bookmarks else None)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.registry.stop_watch(watcher)
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await response.write_eof()
        return response

    # ---------------------------------------------------------------- logs

    async def logs(self, request: web.Request, t: Target) -> web.StreamResponse:
        assert t.name is not None
        namespace = self._ns(t)
        pod = self.registry.get(t.info, namespace, t.name)
        q = request.query
        tail, since = self._log_options(t.name, q)
        container = _pod_container(pod, q.get("container"))
        node = pod["spec"].get("nodeName")
        agent = self.fabric.node_agent(node) if (self.fabric and node) else None
        if agent is None:
            raise errors.bad_request(
                f'container "{container}" in pod "{t.name}" is waiting to start: '
                "ContainerCreating" if node else
                f'container "{container}" in pod "{t.name}" is waiting to start: '
                "PodInitializing")
        try:
            lines = agent.logs(namespace, t.name, container,
                               previous=q.get("previous") == "true", tail_lines=tail,
                               timestamps=q.get("timestamps") == "true",
                               since_seconds=since)
        except Exception as exc:  # LogError: the kubelet's own wording
            raise errors.bad_request(str(exc)) from exc
        if q.get("follow") != "true":
            return web.Response(text="".join(lines), content_type="text/plain")
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            for line in lines:
                await response.write(line.encode())
            async for line in agent.follow_logs(namespace, t.name, container):
                await response.write(line.encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await response.write_eof()
        return response

    @staticmethod
    def _log_options(name: str, q: Any) -> tuple[int | None, int | None]:
        """``PodLogOptions``: decoded (400 on a non-integer) and validated
        (``ValidatePodLogOptions``, 422 on ``PodLogOptions``)."""
        from kubelab.sandbox.api.validation import invalid

        tail = params.int_param(q, "tailLines")
        since = params.int_param(q, "sinceSeconds")
        limit_bytes = params.int_param(q, "limitBytes")
        causes = []
        if tail is not None and tail < 0:
            causes.append(invalid("tailLines", tail, "must be greater than or equal to 0"))
        if limit_bytes is not None and limit_bytes < 1:
            causes.append(invalid("limitBytes", limit_bytes, "must be greater than 0"))
        if since is not None and "sinceTime" in q:
            causes.append(errors.Cause("FieldValueForbidden", "at most one of `sinceTime` or "
                                       "`sinceSeconds` may be specified", ""))
        if since is not None and since < 1:
            causes.append(invalid("sinceSeconds", since, "must be greater than 0"))
        if causes:
            raise errors.invalid(kinds.KindInfo("", "v1", "PodLogOptions", "podlogoptions",
                                                "podlogoptions", True), name, causes)
        return tail, since

    # ---------------------------------------------------------------- exec

    def _streaming_agent(self, pod: Obj, name: str, verb: str) -> NodeAgent | None:
        """The API server's checks before a stream to a container (``ExecLocation``,
        ``AttachLocation``: not a completed pod, a node assigned), then that node's kubelet,
        or None when no kubelet serves it."""
        phase = pod.get("status", {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            raise errors.bad_request(
                f"cannot {verb} a container in a completed pod; current phase is {phase}")
        node = pod["spec"].get("nodeName")
        if not node:
            raise errors.bad_request(f"pod {name} does not have a host assigned")
        return self.fabric.node_agent(node) if self.fabric else None

    def _pod_network(self, namespace: str, pod: Obj) -> pod_network.ClusterNetwork:
        """What an exec or attached shell reaches: cluster DNS and Services, from the pod's IP."""
        return pod_network.ClusterNetwork(
            self.registry, self.fabric, namespace, pod.get("status", {}).get("podIP", ""),
            asyncio.get_running_loop(), self._service_endpoint, self._http_session)

    def _program_network(self, namespace: str, pod_ip: str,
                         weight: Callable[[], float]) -> program_network.ProgramNetwork:
        """What a container's own program reaches (lent to the kubelets through the fabric):
        the exec sessions' DNS and Services, answered in-process."""
        network = program_network.ProgramNetwork(
            self.registry, self.fabric, namespace, pod_ip, asyncio.get_running_loop(),
            self._service_endpoint, self._http_session)
        network.weight = weight  # type: ignore[method-assign]
        return network

    async def exec(self, request: web.Request, t: Target) -> web.StreamResponse:
        """``pods/<name>/exec``: the API server's checks (``ExecLocation``), the kubelet's,
        then the WebSocket stream (:mod:`.exec_stream`)."""
        assert t.name is not None
        namespace = self._ns(t)
        pod = self.registry.get(t.info, namespace, t.name)
        q = request.query
        command = q.getall("command", [])
        container = _pod_container(pod, q.get("container"))
        agent = self._streaming_agent(pod, t.name, "exec into")
        if not command:
            raise errors.bad_request("you must specify at least 1 command")
        tty = q.get("tty") in ("true", "1")
        try:
            if agent is None:
                raise ExecError(f'container not found ("{container}")', 500, plain=True)
            process = agent.exec(namespace, t.name, container, list(command),
                                 stdin=q.get("stdin") in ("true", "1"), tty=tty,
                                 network=self._pod_network(namespace, pod))
        except ExecError as exc:
            return _upgrade_refused(exc)
        ws = await _channel_websocket(request, "exec")
        await exec_stream.ExecStream(ws, process, list(command), self.clock, tty=tty,
                                     stdout=q.get("stdout") in ("true", "1"),
                                     stderr=q.get("stderr") in ("true", "1")).serve()
        return ws

    # ---------------------------------------------------------------- attach

    async def attach(self, request: web.Request, t: Target) -> web.StreamResponse:
        """``pods/<name>/attach``: the API server's checks (``AttachLocation``: the container
        is one of the pod's, ephemeral ones included; the pod has a node), the kubelet's,
        then the same channel protocol as exec (:mod:`.attach_stream`)."""
        assert t.name is not None
        namespace = self._ns(t)
        pod = self.registry.get(t.info, namespace, t.name)
        q = request.query
        container = _pod_container(pod, q.get("container"))
        agent = self._streaming_agent(pod, t.name, "attach to")
        tty = q.get("tty") in ("true", "1")
        try:
            if agent is None:
                raise ExecError(f'container not found ("{container}")', 500, plain=True)
            process = agent.attach(namespace, t.name, container,
                                   stdin=q.get("stdin") in ("true", "1"), tty=tty,
                                   network=self._pod_network(namespace, pod))
        except ExecError as exc:
            return _upgrade_refused(exc)
        ws = await _channel_websocket(request, "attach")
        stream = attach_stream.AttachStream(ws, process, self.clock, tty=tty,
                                            log=agent.attach_log(namespace, t.name, container))
        try:
            await stream.serve()
        finally:
            agent.attach_ended(namespace, t.name, container, stream.exit_code)
        return ws

    # ---------------------------------------------------------------- port-forward

    async def portforward(self, request: web.Request, t: Target) -> web.StreamResponse:
        """``pods/<name>/portforward``: the API server's check (``PortForwardLocation``: the
        pod has a node), the kubelet's, then SPDY streams (:mod:`.portforward_stream`).
        kubectl checks that the pod is Running itself; ports travel per stream."""
        assert t.name is not None
        pod = self.registry.get(t.info, self._ns(t), t.name)
        node = pod["spec"].get("nodeName")
        if not node:
            raise errors.bad_request(f"pod {t.name} does not have a host assigned")
        agent = self.fabric.node_agent(node) if self.fabric else None
        try:
            if agent is None:
                raise ExecError("pod does not exist", 404, "NotFound")
            forwarder = agent.port_forward(self._ns(t), t.name)
        except ExecError as exc:
            return _upgrade_refused(exc)
        ports: list[int] | None = None
        if "ports" in request.query:  # the WebSocket channel protocol (the Python client)
            try:
                ports = portforward.channel_ports(request.query.getall("ports"))
            except ValueError as exc:
                raise errors.bad_request(str(exc)) from exc
        upgraded = await portforward_stream.upgrade(request, ports)
        if upgraded is None:
            raise errors.bad_request(
                "unable to upgrade connection: portforward needs a WebSocket (subprotocol "
                f"{portforward_stream.WS_PROTOCOL}) or SPDY/3.1 "
                f"({portforward_stream.PROTOCOL}) upgrade")
        tunnel, response = upgraded
        if isinstance(tunnel, portforward_stream.ChannelPortForward):
            await tunnel.serve(forwarder)
        else:
            await portforward_stream.PortForwardStream(tunnel, forwarder).serve()
        return response

    # ---------------------------------------------------------------- proxy

    async def proxy(self, request: web.Request, t: Target) -> web.StreamResponse:
        """``services/<name>[:port]/proxy/…`` and ``pods/<name>[:port]/proxy/…``.

        Like kube-apiserver's proxy: a Service request picks one *ready* endpoint (round
        robin, so browsing spreads across pods), then the request really goes to that pod's
        simulated app server through the pod network.
        """
        assert t.name is not None
        name, _, port_name = t.name.partition(":")
        proxy = self.registry.storage(t.info).subresource("proxy")
        assert isinstance(proxy, ProxySubresource)
        target = proxy.location(self.registry, self._ns(t), name, port_name)
        resolved = self.fabric.resolve(*target) if self.fabric else None
        if resolved is None:
            raise ApiError(503, "ServiceUnavailable",
                           f"error trying to reach service: dial tcp {target[0]}:{target[1]}: "
                           "connect: connection refused", {})
        host, local_port = resolved
        url = f"http://{host}:{local_port}/{quote(t.rest, safe='/')}"
        body = await request.read()
        # The client's headers go on, its Host included (kube-apiserver's proxy does not set
        # UseLocationHost: an ingress controller behind it routes by the Host the client
        # sent); the credentials and hop-by-hop headers stay here.
        forwarded = {k: v for k, v in request.headers.items() if k.lower() not in (
            "authorization", "connection", "keep-alive", "upgrade", "te", "trailer",
            "transfer-encoding", "content-length", "proxy-authorization", "accept-encoding")}
        async with self._http_session().request(request.method, url, params=request.query,
                                      data=body or None, headers=forwarded) as upstream:
            payload = await upstream.read()
            headers = {k: v for k, v in upstream.headers.items()
                       if k.lower() in ("content-type", "x-served-by")}
            return web.Response(body=payload, status=upstream.status, headers=headers)

    def _service_endpoint(self, namespace: str, name: str, port_name: str) -> tuple[str, int]:
        """A ready endpoint of a Service, as its proxy subresource picks one (round robin);
        how the pod network of exec sessions reaches a Service by name."""
        proxy = self.registry.storage(kinds.core("services")).subresource("proxy")
        assert isinstance(proxy, ProxySubresource)
        return proxy.location(self.registry, namespace, name, port_name)

    def _http_session(self) -> ClientSession:
        """One client session for the service proxy and exec sessions' pod network."""
        if self._http is None:
            self._http = ClientSession(timeout=ClientTimeout(total=10))
        return self._http

