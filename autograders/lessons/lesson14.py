"""Lesson 14 — One address, many apps: Ingress.

The checks read what a learner reads: the Ingress objects (``networking.k8s.io/v1``, their
rules and the ``status.loadBalancer`` the ingress controller publishes — the ADDRESS column
of ``kubectl get ingress``), and the controller's own answers. Those come through the API
server's service proxy of ingress-nginx's ``ingress-nginx-controller`` Service with a Host
header, as ``curl -H 'Host: …'`` to the controller does: kube-apiserver's proxy passes the
client's Host on, and ingress-nginx routes by Host and path (the longest matching ``Prefix``
wins), answers 404 for a host no rule names and 503 for a backend with no endpoint on the
Service port the rule names. The same requests work on the sandbox and on a real cluster.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from autograders import checks as k
from autograders.engine import Check, Context, Outcome, ladder, ok, wrong
from autograders.kube import ApiError, Response, dig
from autograders.lessons import exercise

HOST = "hello.example"
SHOP_HOST = "shop.example"
IMAGE = "gcr.io/google-samples/hello-app:{}"
V1, V2 = "Version: 1.0.0", "Version: 2.0.0"
CONTROLLER = "/api/v1/namespaces/ingress-nginx/services/ingress-nginx-controller:80/proxy"


def ingress(ctx: Context, name: str, namespace: str = "default") -> dict[str, Any] | None:
    """Ingress ``name`` as ``kubectl get ingress -o json`` shows it, or None."""
    path = (f"/apis/networking.k8s.io/v1/namespaces/{quote(namespace, safe='')}/ingresses/"
            f"{quote(name, safe='')}")
    resp = ctx.snapshot.reader.get(path)
    if resp.status == 404:
        return None
    if resp.status != 200:
        raise ApiError(f"GET ingress {name} answered HTTP {resp.status}")
    obj: dict[str, Any] = resp.json()
    return obj


def via_controller(ctx: Context, host: str, path: str = "/") -> Response:
    """GET ``path`` from the ingress controller with ``Host: host`` (service proxy)."""
    api = ctx.snapshot.reader.api_client
    try:
        req = api.param_serialize("GET", CONTROLLER + path, header_params={"Host": host},
                                  auth_settings=["BearerToken"])
        resp = api.call_api(*req, _request_timeout=ctx.snapshot.reader.request_timeout)
        resp.read()
    except Exception as exc:  # connection refused, TLS, timeouts: all mean "no answer"
        raise ApiError(f"the ingress controller did not answer ({type(exc).__name__})") from exc
    data = resp.data or b""
    return Response(int(resp.status), data.decode("utf-8", "replace")
                    if isinstance(data, bytes) else str(data))


def routes(obj: dict[str, Any]) -> list[tuple[str, str, str, str, Any]]:
    """(host, path, pathType, service, port) for every path of every rule."""
    found = []
    for rule in dig(obj, "spec.rules") or []:
        for p in dig(rule, "http.paths") or []:
            service = dig(p, "backend.service") or {}
            port = dig(service, "port.number") or dig(service, "port.name")
            found.append((rule.get("host") or "*", p.get("path") or "/", p.get("pathType") or "",
                          service.get("name") or "", port))
    return found


def route(name: str, host: str, path: str, service: str, port: int, *,
          path_type: str = "Prefix", points: float = 1) -> Check:
    """Ingress ``name`` sends ``host`` + ``path`` (``path_type``) to ``service:port``."""

    def probe(ctx: Context) -> Outcome:
        obj = ingress(ctx, name)
        if obj is None:
            return wrong(f"there is no ingress {name}", missing=True)
        mine = [r for r in routes(obj) if r[0] == host and r[1].rstrip("/") == path.rstrip("/")]
        if not mine:
            listed = ", ".join(f"{h}{p}" for h, p, *_ in routes(obj)) or "no rules"
            return wrong(f"it has no path {path} for host {host} (it has: {listed})")
        _, _, kind, svc, svc_port = mine[0]
        if (svc, svc_port) != (service, port):
            return wrong(f"{host}{path} goes to {svc}:{svc_port}")
        if kind != path_type:
            return wrong(f"{host}{path} has pathType {kind}")
        return ok()

    return Check(f"ingress {name} routes {host}{path} ({path_type}) to {service}:{port}", probe,
                 points, hint=ladder(f"kubectl describe ingress {name}: Rules.",
                                     "Each rule names a host; each path under it a backend "
                                     "Service and port. pathType Prefix also matches "
                                     "sub-paths, Exact only the path itself.",
                                     "kubectl create ingress <name> --rule='<host>/<path>*="
                                     "<service>:<port>' (kubectl explain ingress.spec.rules)"))


def answers(host: str, path: str, contains: str, *, points: float = 1,
            hint: tuple[str, str, str] | str = "") -> Check:
    """The ingress controller answers ``host`` + ``path`` with 200 and ``contains``."""

    def probe(ctx: Context) -> Outcome:
        resp = via_controller(ctx, host, path)
        if resp.status == 200 and contains in resp.text:
            return ok()
        if resp.status in (404, 503) and "nginx" in resp.text:
            return wrong(f"the controller answers HTTP {resp.status}")
        first = resp.text.strip().splitlines()[0][:120] if resp.text.strip() else "no body"
        return wrong(f"HTTP {resp.status}: {first}")

    return Check(f"http://{host}{path} answers {contains!r} through the ingress controller",
                 probe, points, hint or ladder(
                     f"The page: cluster.open_ingress(<ingress>, host={host!r}).",
                     "The controller picks the rule by Host, then the longest matching path.",
                     "kubectl describe ingress <name>; kubectl get endpointslices"))


def address(name: str) -> Check:
    """The controller published an address on Ingress ``name`` (the ADDRESS column)."""

    def probe(ctx: Context) -> Outcome:
        obj = ingress(ctx, name)
        if obj is None:
            return wrong(f"there is no ingress {name}", missing=True)
        entries = dig(obj, "status.loadBalancer.ingress") or []
        if entries:
            return ok(str(entries[0].get("ip") or entries[0].get("hostname")))
        return wrong("its ADDRESS is still empty")

    return Check(f"ingress {name} has an ADDRESS", probe, hint=ladder(
        f"kubectl get ingress {name}: ADDRESS.",
        "The ingress controller writes its address into the Ingresses of its class.",
        "kubectl get pods -n ingress-nginx; kubectl get ingressclass"))


def app(name: str, tag: str) -> list[Check]:
    return [
        k.field("deployment", name, "spec.template.spec.containers[0].image", IMAGE.format(tag),
                hint=ladder(f"kubectl get deployment {name} -o wide: IMAGES.",
                            "The image names the app and its version tag.",
                            "kubectl create deployment <name> --image=<image>:<tag>")),
        k.serves(name, 8080, contains=f"Version: {tag}.0",
                 description=f"service {name} (ClusterIP, port 8080) answers with version {tag}",
                 hint=ladder(f"kubectl get service {name}; kubectl get endpointslices",
                             "hello-app listens on 8080; a Service port with no targetPort "
                             "forwards to the same port.",
                             "kubectl expose deployment <name> --port=<port>")),
    ]


@exercise("14.apps", "Exercise 1: two versions of an app, each behind a ClusterIP Service")
def apps() -> list[Check]:
    return [*app("hello-v1", "1.0"), *app("hello-v2", "2.0")]


@exercise("14.ingress", "Exercise 2: one host, two paths — and a host nobody named")
def hello() -> list[Check]:
    return [
        k.variable("unknown_host_status", expected=404, points=2,
                   description="unknown_host_status: the HTTP status the controller gives a "
                               "host no rule names",
                   hint=ladder("Which rule would nobody.example match? Which backend then?",
                               "A request no rule matches goes to the default backend; "
                               "ingress-nginx's answers 'Not Found'.",
                               "an int: the status code, e.g. 200, 404, 503")),
        route("hello", HOST, "/", "hello-v1", 8080),
        route("hello", HOST, "/v2", "hello-v2", 8080),
        answers(HOST, "/", V1),
        address("hello"),
        v2_subpaths(),
    ]


@exercise("14.broken", "Exercise 3: a 503 diagnosed and fixed")
def broken() -> list[Check]:
    return [
        k.variable("shop_status", expected=503,
                   description="shop_status: the status http://shop.example/ got before the fix",
                   hint=ladder("Run the request cell before your fix and read the status.",
                               "The controller found the rule but no endpoint to send to.",
                               "an int: the status code")),
        route("shop", SHOP_HOST, "/", "hello-v1", 8080),
        answers(SHOP_HOST, "/", V1, points=2, hint=ladder(
            "kubectl describe ingress shop: the backend's port; kubectl get svc hello-v1.",
            "The rule must name a port the Service has; otherwise the controller has no "
            "endpoint for it and answers 503.",
            "kubectl edit ingress shop, or re-create it with kubectl create ingress … "
            "--dry-run=client -o yaml | kubectl apply -f -")),
    ]


def v2_subpaths() -> Check:
    """A sub-path of /v2 reaches version 2 (pathType Prefix, not Exact)."""
    return answers(HOST, "/v2/hello", V2)
