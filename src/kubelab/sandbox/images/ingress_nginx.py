"""The ingress-nginx controller image, simulated: which Ingresses it serves and where a request goes.

``registry.k8s.io/ingress-nginx/controller`` runs ``/nginx-ingress-controller``, which watches
Ingresses, IngressClasses, Services and EndpointSlices, renders an ``nginx.conf`` with one
``server`` block per host and one ``location`` per path, and publishes its address in each
Ingress's ``status.loadBalancer``. The sandbox runs no nginx; this module is the pure part
of what that configuration decides, read from the same API objects:

* :func:`parse_flags` reads the controller's command line (``--controller-class``,
  ``--ingress-class``, ``--watch-ingress-without-class``, ``--publish-service``,
  ``--publish-status-address``), as ``pkg/flags`` does;
* :func:`serves_ingress` is ``pkg/ingress/controller/store``'s class filter: an Ingress whose
  ``ingressClassName`` names an IngressClass of this controller, or whose legacy
  ``kubernetes.io/ingress.class`` annotation is the controller's class name, or (with
  ``--watch-ingress-without-class``) one naming no class at all;
* :func:`route` is the request routing the generated ``nginx.conf`` performs: the ``server``
  whose ``server_name`` is the request's ``Host`` (exact names before wildcards, nginx's
  order; a wildcard ``*.example.com`` matches any deeper name, as nginx's does, where the
  Ingress spec promises one label), else the catch-all ``_`` server of the rules without a
  host; inside it, ``location = /p`` for ``Exact`` (tried first), ``location /p/`` plus
  ``= /p`` for ``Prefix`` (element-wise: ``/foo`` matches ``/foo/bar``, not ``/foobar``) and
  a plain nginx prefix for ``ImplementationSpecific`` (``/foo`` matches ``/foobar``), the
  longest match winning; a host's unmatched paths and unknown hosts go to the Ingress's
  ``defaultBackend``, else to the controller's built-in default backend (404). The oldest
  Ingress wins a host and path defined twice, as the controller sorts Ingresses by age.
  A chosen Service with no ready endpoint answers 503, as ingress-nginx's Lua balancer does.

The I/O side (listening, forwarding to the chosen pod) is :mod:`.ingress_server`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubelab.sandbox.images.catalog import HTML, HttpApp, Route

Obj = Mapping[str, Any]

IMAGE = "registry.k8s.io/ingress-nginx/controller"
NGINX_VERSION = "1.27.1"
BINARY = "/nginx-ingress-controller"
DEFAULT_CONTROLLER = "k8s.io/ingress-nginx"
DEFAULT_CLASS = "nginx"
INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
#: The port nginx listens on for HTTP in the controller's pod.
HTTP_PORT = 80


def _page(status: int, reason: str) -> str:
    """nginx's built-in error page, as ingress-nginx serves it (``server_tokens off``)."""
    title = f"{status} {reason}"
    return (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
            "</body>\r\n</html>\r\n")


NOT_FOUND = Route(_page(404, "Not Found"), 404, HTML)
UNAVAILABLE = Route(_page(503, "Service Temporarily Unavailable"), 503, HTML)
BAD_GATEWAY = Route(_page(502, "Bad Gateway"), 502, HTML)


@dataclass(frozen=True)
class ControllerFlags:
    """The flags of ``/nginx-ingress-controller`` that decide what it serves and publishes."""

    controller_class: str = DEFAULT_CONTROLLER
    ingress_class: str = DEFAULT_CLASS
    watch_without_class: bool = False
    publish_service: str = ""
    publish_status_address: str = ""


@dataclass(frozen=True)
class IngressControllerApp(HttpApp):
    """The controller's nginx: an :class:`HttpApp` the kubelet serves with
    :class:`~.ingress_server.IngressNginxServer` instead of fixed routes."""

    flags: ControllerFlags = field(default_factory=ControllerFlags)


def parse_flags(args: Sequence[str]) -> ControllerFlags:
    """The flags from the controller's argv (after the binary), pflag syntax."""
    values: dict[str, str] = {}
    i = 0
    while i < len(args):
        word = args[i]
        if word.startswith("--"):
            key, eq, value = word[2:].partition("=")
            if not eq and key != "watch-ingress-without-class" and i + 1 < len(args) \
                    and not args[i + 1].startswith("-"):
                value = args[i + 1]
                i += 1
            values[key] = value if eq or value else "true"
        i += 1
    return ControllerFlags(
        controller_class=values.get("controller-class", DEFAULT_CONTROLLER),
        ingress_class=values.get("ingress-class", DEFAULT_CLASS),
        watch_without_class=values.get("watch-ingress-without-class", "false") == "true",
        publish_service=values.get("publish-service", ""),
        publish_status_address=values.get("publish-status-address", ""),
    )


def controller_argv(argv: Sequence[str]) -> list[str] | None:
    """The controller's own arguments, or None when argv does not run the controller.

    The image's entrypoint is ``/usr/bin/dumb-init --`` and the manifests pass
    ``/nginx-ingress-controller`` and its flags as ``args``.
    """
    words = list(argv)
    while words and words[0].rsplit("/", 1)[-1] in ("dumb-init", "--"):
        words = words[1:]
    if not words or words[0].rsplit("/", 1)[-1] != BINARY.lstrip("/"):
        return None
    return words[1:]


def app_for(argv: Sequence[str]) -> IngressControllerApp | None:
    """The controller's nginx for a container started with ``argv``."""
    args = controller_argv(argv)
    if args is None:
        return None
    return IngressControllerApp(HTTP_PORT, {}, NOT_FOUND, server="nginx",
                                flags=parse_flags(args))


def start_logs(tag: str) -> tuple[str, ...]:
    """The banner the controller prints when it starts."""
    return ("-" * 79, "NGINX Ingress controller", f"  Release:       {tag}",
            "  Repository:    https://github.com/kubernetes/ingress-nginx",
            f"  nginx version: nginx/{NGINX_VERSION}", "", "-" * 79, "")


# ----------------------------------------------------------------------------- class filter

def _meta(obj: Obj) -> Obj:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _spec(obj: Obj) -> Obj:
    spec = obj.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def serves_ingress(ingress: Obj, classes: Iterable[Obj], flags: ControllerFlags) -> bool:
    """Whether a controller with ``flags`` takes this Ingress (the store's class filter)."""
    class_name = _spec(ingress).get("ingressClassName")
    if class_name is not None:
        return any(_meta(c).get("name") == class_name
                   and _spec(c).get("controller") == flags.controller_class for c in classes)
    annotation = (_meta(ingress).get("annotations") or {}).get(INGRESS_CLASS_ANNOTATION)
    if annotation is not None:
        return bool(annotation == flags.ingress_class)
    return flags.watch_without_class


def by_age(ingresses: Iterable[Obj]) -> list[Obj]:
    """Oldest first (name, then namespace, breaking ties), as the controller orders them."""
    return sorted(ingresses, key=lambda i: (str(_meta(i).get("creationTimestamp") or ""),
                                            str(_meta(i).get("namespace") or ""),
                                            str(_meta(i).get("name") or "")))


# ----------------------------------------------------------------------------- routing

@dataclass(frozen=True)
class Backend:
    """A Service port an Ingress names."""

    namespace: str
    service: str
    port_number: int | None = None
    port_name: str = ""

    @property
    def label(self) -> str:
        """ingress-nginx's upstream name: ``<namespace>-<service>-<port>``."""
        return f"{self.namespace}-{self.service}-{self.port_name or self.port_number}"


@dataclass(frozen=True)
class Decision:
    """Where one request goes: a backend and its ready endpoints, or a built-in answer.

    ``backend`` None means the controller's default backend (404). A backend with no
    ``endpoints`` answers 503.
    """

    backend: Backend | None = None
    endpoints: tuple[tuple[str, int], ...] = ()

    @property
    def answer(self) -> Route | None:
        """The built-in page when the request is not forwarded."""
        if self.backend is None:
            return NOT_FOUND
        if not self.endpoints:
            return UNAVAILABLE
        return None


@dataclass(frozen=True)
class _Location:
    path: str
    path_type: str
    backend: Backend


@dataclass
class _Server:
    locations: list[_Location] = field(default_factory=list)
    default: Backend | None = None


def _backend(namespace: str, raw: Any) -> Backend | None:
    service = raw.get("service") if isinstance(raw, Mapping) else None
    if not isinstance(service, Mapping) or not service.get("name"):
        return None  # a resource backend: ingress-nginx serves only Services
    raw_port = service.get("port")
    port: Obj = raw_port if isinstance(raw_port, Mapping) else {}
    number = port.get("number")
    return Backend(namespace, str(service["name"]),
                   int(number) if isinstance(number, int) and number else None,
                   str(port.get("name") or ""))


def servers(ingresses: Iterable[Obj]) -> dict[str, _Server]:
    """The ``server`` blocks: host (``_`` for rules without one) → locations and default."""
    table: dict[str, _Server] = {}
    catch_all_default: Backend | None = None
    for ingress in by_age(ingresses):
        namespace = str(_meta(ingress).get("namespace") or "")
        spec = _spec(ingress)
        default = _backend(namespace, spec.get("defaultBackend"))
        if default is not None and catch_all_default is None:
            catch_all_default = default
        for rule in spec.get("rules") or []:
            if not isinstance(rule, Mapping):
                continue
            host = str(rule.get("host") or "_").lower()
            server = table.get(host)
            if server is None:
                server = table[host] = _Server(default=default)
            raw_http = rule.get("http")
            http: Obj = raw_http if isinstance(raw_http, Mapping) else {}
            for entry in http.get("paths") or []:
                backend = _backend(namespace, entry.get("backend"))
                if backend is None:
                    continue
                path = str(entry.get("path") or "/")
                path_type = str(entry.get("pathType") or "ImplementationSpecific")
                if any(loc.path == path and (loc.path_type == "Exact") == (path_type == "Exact")
                       for loc in server.locations):
                    continue  # defined by an older Ingress
                server.locations.append(_Location(path, path_type, backend))
    catch_all = table.setdefault("_", _Server())
    if catch_all.default is None:
        catch_all.default = catch_all_default
    return table


def _host_of(header: str) -> str:
    host = header.strip().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def pick_server(table: Mapping[str, _Server], host_header: str) -> _Server:
    """nginx's ``server_name`` choice: exact name, longest leading wildcard, else ``_``."""
    host = _host_of(host_header)
    if host in table and host != "_":
        return table[host]
    wildcards = sorted((name for name in table if name.startswith("*.")), key=len, reverse=True)
    for name in wildcards:
        if host.endswith(name[1:]) and len(host) > len(name) - 1:
            return table[name]
    return table["_"]


def _prefix_matches(prefix: str, path: str) -> bool:
    """The Ingress spec's element-wise prefix match (``/foo`` matches ``/foo/bar``)."""
    base = prefix.rstrip("/")
    return not base or path == base or path.startswith(base + "/")


def pick_location(server: _Server, path: str) -> Backend | None:
    """nginx's ``location`` choice: ``=`` exact first, then the longest prefix."""
    for loc in server.locations:
        if loc.path_type == "Exact" and loc.path == path:
            return loc.backend
    best: _Location | None = None
    for loc in server.locations:
        if loc.path_type == "Exact":
            continue
        matched = (_prefix_matches(loc.path, path) if loc.path_type == "Prefix"
                   else path.startswith(loc.path))
        if matched and (best is None or len(loc.path.rstrip("/")) > len(best.path.rstrip("/"))):
            best = loc
    return best.backend if best is not None else server.default


def service_endpoints(backend: Backend, services: Iterable[Obj],
                      slices: Iterable[Obj]) -> tuple[tuple[str, int], ...]:
    """The ready ``(pod IP, port)`` pairs behind a Service port, from its EndpointSlices."""
    svc = next((s for s in services if _meta(s).get("namespace") == backend.namespace
                and _meta(s).get("name") == backend.service), None)
    if svc is None:
        return ()
    ports = _spec(svc).get("ports") or []
    port = next((p for p in ports if isinstance(p, Mapping) and (
        (backend.port_number is not None and p.get("port") == backend.port_number)
        or (backend.port_name and p.get("name") == backend.port_name))), None)
    if port is None:
        return ()
    port_name = str(port.get("name") or "")
    found: list[tuple[str, int]] = []
    for eps in slices:
        meta = _meta(eps)
        if meta.get("namespace") != backend.namespace or \
                (meta.get("labels") or {}).get(SERVICE_NAME_LABEL) != backend.service:
            continue
        number = next((p.get("port") for p in eps.get("ports") or []
                       if isinstance(p, Mapping) and str(p.get("name") or "") == port_name), None)
        if not isinstance(number, int):
            continue
        for endpoint in eps.get("endpoints") or []:
            if (endpoint.get("conditions") or {}).get("ready") is False:
                continue
            for address in endpoint.get("addresses") or []:
                if (str(address), number) not in found:
                    found.append((str(address), number))
    return tuple(found)


def route(ingresses: Iterable[Obj], services: Iterable[Obj], slices: Iterable[Obj],
          host: str, path: str) -> Decision:
    """Pure: where ingress-nginx sends ``GET <path>`` with ``Host: <host>``.

    ``ingresses`` are the ones this controller serves (see :func:`serves_ingress`).
    """
    server = pick_server(servers(ingresses), host)
    backend = pick_location(server, path or "/")
    if backend is None:
        return Decision()
    return Decision(backend, service_endpoints(backend, services, slices))


def access_log_line(remote: str, when: str, method: str, path: str, status: int,
                    size: int, user_agent: str, decision: Decision,
                    upstream: tuple[str, int] | None) -> str:
    """ingress-nginx's ``upstreaminfo`` log format, one line per request."""
    name = decision.backend.label if decision.backend is not None else "upstream-default-backend"
    address = f"{upstream[0]}:{upstream[1]}" if upstream else "-"
    return (f'{remote} - - [{when}] "{method} {path} HTTP/1.1" {status} {size} "-" '
            f'"{user_agent or "-"}" 0 0.001 [{name}] [] {address} {size} 0.001 '
            f'{status if upstream else "-"} -')
