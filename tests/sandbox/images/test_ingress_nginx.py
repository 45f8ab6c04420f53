"""The ingress-nginx controller's routing as a pure function of the API objects.

Upstream: the ``nginx.conf`` ingress-nginx renders (one ``server`` per host, ``location = p``
for Exact, ``location p/`` and ``= p`` for Prefix, a plain prefix for ImplementationSpecific,
the default backend's 404, 503 from the balancer without endpoints) and its class filter
(``--controller-class``, ``kubernetes.io/ingress.class``, ``--watch-ingress-without-class``).
"""

from __future__ import annotations

from typing import Any

import pytest

from kubelab.sandbox.images import ingress_nginx, lookup, with_argv
from kubelab.sandbox.images.ingress_nginx import ControllerFlags, parse_flags, route, serves_ingress


def path(p: str, service: str, path_type: str = "Prefix", port: Any = 8080) -> dict[str, Any]:
    port_ref = {"number": port} if isinstance(port, int) else {"name": port}
    return {"path": p, "pathType": path_type,
            "backend": {"service": {"name": service, "port": port_ref}}}


def ing(name: str, rules: list[dict[str, Any]], created: str = "2026-01-01T00:00:00Z",
        namespace: str = "default", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace, "creationTimestamp": created},
            "spec": {"rules": rules, **spec}}


def rule(host: str | None, *paths: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"http": {"paths": list(paths)}}
    if host:
        out["host"] = host
    return out


def svc(name: str, port: int = 8080, port_name: str = "http") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "default"},
            "spec": {"ports": [{"name": port_name, "port": port, "targetPort": port}]}}


def eps(service: str, *ips: str, port: int = 8080, port_name: str = "http",
        ready: bool = True) -> dict[str, Any]:
    return {"metadata": {"name": f"{service}-abc", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": service}},
            "ports": [{"name": port_name, "port": port}],
            "endpoints": [{"addresses": [ip], "conditions": {"ready": ready}} for ip in ips]}


SERVICES = [svc("web"), svc("web2"), svc("docs"), svc("empty")]
SLICES = [eps("web", "10.244.1.3"), eps("web2", "10.244.2.3", "10.244.3.3"),
          eps("docs", "10.244.1.9"), eps("empty", "10.244.1.4", ready=False)]


def target(ingresses: list[dict[str, Any]], host: str, p: str) -> str | int:
    decision = route(ingresses, SERVICES, SLICES, host, p)
    if decision.answer is not None:
        return decision.answer.status
    assert decision.backend is not None
    return decision.backend.service


def test_two_hosts_go_to_their_services_and_unknown_hosts_get_404() -> None:
    ingresses = [ing("example", [rule("hello-world.example", path("/", "web")),
                                 rule("v2.example", path("/", "web2"))])]
    assert target(ingresses, "hello-world.example", "/") == "web"
    assert target(ingresses, "hello-world.example:31444", "/anything") == "web"
    assert target(ingresses, "V2.Example", "/") == "web2"
    assert target(ingresses, "other.example", "/") == 404
    assert target(ingresses, "", "/") == 404


def test_the_decision_lists_the_ready_endpoints_of_the_service_port() -> None:
    ingresses = [ing("example", [rule("a.example", path("/", "web2", port="http"))])]
    decision = route(ingresses, SERVICES, SLICES, "a.example", "/")
    assert decision.endpoints == (("10.244.2.3", 8080), ("10.244.3.3", 8080))
    assert decision.backend is not None and decision.backend.label == "default-web2-http"


def test_prefix_is_element_wise_and_implementation_specific_is_nginx_prefix() -> None:
    ingresses = [ing("x", [rule("a.example", path("/api", "web2"),
                                path("/docs", "docs", "ImplementationSpecific"),
                                path("/", "web"))])]
    assert target(ingresses, "a.example", "/api") == "web2"
    assert target(ingresses, "a.example", "/api/v1") == "web2"
    assert target(ingresses, "a.example", "/apiary") == "web"  # not an element-wise prefix
    assert target(ingresses, "a.example", "/docs") == "docs"
    assert target(ingresses, "a.example", "/docsearch") == "docs"  # nginx's plain prefix


def test_exact_wins_over_prefix_and_the_longest_prefix_wins() -> None:
    ingresses = [ing("x", [rule("a.example", path("/v1", "web"),
                                path("/v1/docs", "docs"),
                                path("/v1", "web2", "Exact"))])]
    assert target(ingresses, "a.example", "/v1") == "web2"
    assert target(ingresses, "a.example", "/v1/") == "web"
    assert target(ingresses, "a.example", "/v1/docs/x") == "docs"
    assert target(ingresses, "a.example", "/v2") == 404  # the host's unmatched path


def test_rules_without_host_catch_every_other_host() -> None:
    ingresses = [ing("a", [rule("a.example", path("/", "web"))]),
                 ing("b", [rule(None, path("/", "web2"))])]
    assert target(ingresses, "a.example", "/") == "web"
    assert target(ingresses, "127.0.0.1:6443", "/") == "web2"


def test_wildcards_match_as_nginx_server_names_do() -> None:
    ingresses = [ing("w", [rule("*.example.com", path("/", "web")),
                           rule("api.example.com", path("/", "web2"))])]
    assert target(ingresses, "api.example.com", "/") == "web2"  # exact name first
    assert target(ingresses, "www.example.com", "/") == "web"
    assert target(ingresses, "a.b.example.com", "/") == "web"
    assert target(ingresses, "example.com", "/") == 404


def test_default_backends_and_the_oldest_ingress_winning_a_path() -> None:
    default = {"service": {"name": "docs", "port": {"number": 8080}}}
    ingresses = [ing("newer", [rule("a.example", path("/", "web2"))],
                     created="2026-01-02T00:00:00Z"),
                 ing("older", [rule("a.example", path("/", "web"))], defaultBackend=default)]
    assert target(ingresses, "a.example", "/") == "web"  # the older Ingress defined it first
    assert target(ingresses, "unknown.example", "/") == "docs"
    only_default = [ing("d", [], defaultBackend=default)]
    assert target(only_default, "anything", "/x") == "docs"


def test_a_service_without_ready_endpoints_or_missing_answers_503() -> None:
    ingresses = [ing("x", [rule("a.example", path("/", "empty"), path("/gone", "nosuch"),
                                path("/port", "web", port=9999))])]
    assert target(ingresses, "a.example", "/") == 503
    assert target(ingresses, "a.example", "/gone") == 503
    assert target(ingresses, "a.example", "/port") == 503
    assert ingress_nginx.UNAVAILABLE.body.startswith(
        "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>")


CLASSES = [{"metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx"}},
           {"metadata": {"name": "traefik"}, "spec": {"controller": "traefik.io/ingress"}}]


@pytest.mark.parametrize(("spec", "annotations", "without_class", "served"), [
    ({"ingressClassName": "nginx"}, {}, False, True),
    ({"ingressClassName": "traefik"}, {}, True, False),
    ({"ingressClassName": "missing"}, {}, True, False),
    ({}, {"kubernetes.io/ingress.class": "nginx"}, False, True),
    ({}, {"kubernetes.io/ingress.class": "other"}, True, False),
    ({}, {}, False, False),
    ({}, {}, True, True),
])
def test_the_class_filter(spec: dict[str, Any], annotations: dict[str, str],
                          without_class: bool, served: bool) -> None:
    obj = {"metadata": {"name": "x", "annotations": annotations}, "spec": spec}
    flags = ControllerFlags(watch_without_class=without_class)
    assert serves_ingress(obj, CLASSES, flags) is served


def test_the_controller_reads_its_flags_from_the_container_argv() -> None:
    image = with_argv(lookup("registry.k8s.io/ingress-nginx/controller:v1.13.3"), [], [
        "/nginx-ingress-controller", "--controller-class=k8s.io/ingress-nginx",
        "--watch-ingress-without-class=true", "--publish-service", "ns/svc"])
    app = image.app
    assert isinstance(app, ingress_nginx.IngressControllerApp)
    assert app.port == 80
    assert app.flags == ControllerFlags(watch_without_class=True, publish_service="ns/svc")
    assert with_argv(image, ["sh"], []).app is None  # not the controller binary
    assert parse_flags(["--ingress-class", "public"]).ingress_class == "public"
