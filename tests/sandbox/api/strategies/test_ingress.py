"""Ingress and IngressClass validation with upstream's wording, and the DefaultIngressClass
admission plugin, on the real registry.

Upstream: ``ValidateIngressCreate``/``ValidateIngressClass`` in
``pkg/apis/networking/validation/validation.go``, ``SetDefaults_IngressClass`` and
``plugin/pkg/admission/network/defaultingressclass``.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.errors import ApiError
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.storage import Registry

INGRESSES = kinds.resource("ingresses.networking.k8s.io")
CLASSES = kinds.resource("ingressclasses.networking.k8s.io")


def ingress(name: str = "web", **spec: Any) -> dict[str, Any]:
    body = {"rules": [{"host": "foo.bar.com", "http": {"paths": [{
        "path": "/", "pathType": "Prefix",
        "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}
    body.update(spec)
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "namespace": "default"}, "spec": body}


def ingress_class(name: str, default: bool = False, **spec: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if default:
        meta["annotations"] = {"ingressclass.kubernetes.io/is-default-class": "true"}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": meta,
            "spec": {"controller": "k8s.io/ingress-nginx", **spec}}


@pytest.fixture
def registry() -> Registry:
    reg = Registry(ManualClock())
    reg.create(kinds.core("namespaces"), {"metadata": {"name": "default"}})
    return reg


def refusal(registry: Registry, info: kinds.KindInfo, body: dict[str, Any]) -> list[str]:
    with pytest.raises(ApiError) as caught:
        registry.create(info, body, namespace="default" if info.namespaced else "")
    assert caught.value.code == 422
    return [f"{c.field}: {c.message}" for c in caught.value.causes]


def path_of(body: dict[str, Any]) -> dict[str, Any]:
    return body["spec"]["rules"][0]["http"]["paths"][0]


def test_a_valid_ingress_is_stored_with_an_empty_load_balancer_status(
        registry: Registry) -> None:
    stored = registry.create(INGRESSES, ingress(), namespace="default")
    assert stored["status"] == {"loadBalancer": {}}
    assert stored["metadata"]["generation"] == 1
    assert "ingressClassName" not in stored["spec"]  # no default class exists


def test_path_type_is_required(registry: Registry) -> None:
    body = ingress()
    del path_of(body)["pathType"]
    assert refusal(registry, INGRESSES, body) == [
        "spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified"]


def test_paths_must_be_absolute_and_clean(registry: Registry) -> None:
    body = ingress()
    path_of(body)["path"] = "api/../x"
    assert refusal(registry, INGRESSES, body) == [
        'spec.rules[0].http.paths[0].path: Invalid value: "api/../x": must be an absolute path',
        "spec.rules[0].http.paths[0].path: Invalid value: \"api/../x\": must not contain '/../'"]
    path_of(body).update(path="/v1/.", pathType="Exact")
    assert refusal(registry, INGRESSES, body) == [
        "spec.rules[0].http.paths[0].path: Invalid value: \"/v1/.\": cannot end with '/.'"]
    path_of(body).update(path="/v1", pathType="Regex")
    assert refusal(registry, INGRESSES, body) == [
        'spec.rules[0].http.paths[0].pathType: Unsupported value: "Regex": supported values: '
        '"Exact", "ImplementationSpecific", "Prefix"']


def test_hosts_are_dns_names_or_single_wildcards(registry: Registry) -> None:
    body = ingress()
    body["spec"]["rules"][0]["host"] = "10.0.0.1"
    assert refusal(registry, INGRESSES, body)[0] == (
        'spec.rules[0].host: Invalid value: "10.0.0.1": must be a DNS name, not an IP address')
    body["spec"]["rules"][0]["host"] = "foo.*.com"
    assert refusal(registry, INGRESSES, body) == [
        'spec.rules[0].host: Invalid value: "foo.*.com": a wildcard DNS-1123 subdomain must '
        "start with '*.', followed by a valid DNS subdomain, which must consist of lower case "
        "alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. "
        "'*.example.com', regex used for validation is "
        "'\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"]
    body["spec"]["rules"][0]["host"] = "*.bar.com"
    registry.create(INGRESSES, body, namespace="default")


def test_a_backend_names_a_service_and_exactly_one_port(registry: Registry) -> None:
    body = ingress()
    path_of(body)["backend"] = {"service": {"name": "Web", "port": {"number": 80, "name": "h"}}}
    assert refusal(registry, INGRESSES, body) == [
        'spec.rules[0].http.paths[0].backend.service.name: Invalid value: "Web": a DNS-1035 '
        "label must consist of lower case alphanumeric characters or '-', start with an "
        "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
        "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
        'spec.rules[0].http.paths[0].backend: Invalid value: "": cannot set both port name & '
        "port number"]
    path_of(body)["backend"] = {"service": {"name": "web", "port": {}}}
    assert refusal(registry, INGRESSES, body) == [
        "spec.rules[0].http.paths[0].backend: Required value: port name or number is required"]
    path_of(body)["backend"] = {"service": {"name": "web", "port": {"number": 70000}}}
    assert refusal(registry, INGRESSES, body) == [
        "spec.rules[0].http.paths[0].backend.service.port.number: Invalid value: 70000: must be "
        "between 1 and 65535, inclusive"]
    path_of(body)["backend"] = {}
    assert refusal(registry, INGRESSES, body) == [
        'spec.rules[0].http.paths[0].backend: Invalid value: "": resource or service backend '
        "is required"]


def test_rules_or_a_default_backend(registry: Registry) -> None:
    body = ingress()
    del body["spec"]["rules"]
    assert refusal(registry, INGRESSES, body) == [
        "spec: Invalid value: []networking.IngressRule(nil): either `defaultBackend` or "
        "`rules` must be specified"]
    body["spec"]["defaultBackend"] = {"service": {"name": "web", "port": {"name": "http"}}}
    registry.create(INGRESSES, body, namespace="default")


def test_the_class_annotation_must_match_the_class_name(registry: Registry) -> None:
    body = ingress(ingressClassName="nginx")
    body["metadata"]["annotations"] = {"kubernetes.io/ingress.class": "traefik"}
    assert refusal(registry, INGRESSES, body) == [
        'annotations.kubernetes.io/ingress.class: Invalid value: "traefik": must match '
        "`ingressClassName` when both are specified"]


def test_an_ingress_class_names_a_domain_prefixed_controller(registry: Registry) -> None:
    assert refusal(registry, CLASSES, ingress_class("x", controller="nginx")) == [
        'spec.controller: Invalid value: "nginx": must be a domain-prefixed path (such as '
        '"acme.io/foo")']
    params = {"kind": "IngressParameters", "name": "p", "apiGroup": "k8s.example.com"}
    stored = registry.create(CLASSES, ingress_class("nginx", parameters=params))
    assert stored["spec"]["parameters"]["scope"] == "Cluster"  # SetDefaults_IngressClass
    changed = copy.deepcopy(stored)
    changed["spec"]["controller"] = "example.com/other"
    with pytest.raises(ApiError) as caught:
        registry.update(CLASSES, changed)
    assert caught.value.causes[0].message == \
        'Invalid value: "example.com/other": field is immutable'
    namespaced = ingress_class("y", parameters={**params, "scope": "Namespace"})
    assert refusal(registry, CLASSES, namespaced) == [
        "spec.parameters.namespace: Required value: `parameters.scope` is set to 'Namespace'"]


def test_the_default_class_is_assigned_on_create_only(registry: Registry) -> None:
    registry.create(CLASSES, ingress_class("nginx", default=True))
    stored = registry.create(INGRESSES, ingress("a"), namespace="default")
    assert stored["spec"]["ingressClassName"] == "nginx"
    legacy = ingress("b")
    legacy["metadata"]["annotations"] = {"kubernetes.io/ingress.class": "traefik"}
    assert "ingressClassName" not in registry.create(INGRESSES, legacy,
                                                     namespace="default")["spec"]
    explicit = registry.create(INGRESSES, ingress("c", ingressClassName="other"),
                               namespace="default")
    assert explicit["spec"]["ingressClassName"] == "other"


def test_with_two_default_classes_the_newest_wins(registry: Registry) -> None:
    clock = registry.clock
    assert isinstance(clock, ManualClock)
    registry.create(CLASSES, ingress_class("old", default=True))
    clock.advance(5)
    registry.create(CLASSES, ingress_class("new", default=True))
    assert registry.create(INGRESSES, ingress(), namespace="default")["spec"][
        "ingressClassName"] == "new"


def test_path_type_is_served_as_an_enum_read_from_typed_constants(tmp_path: Any) -> None:
    """networking/v1 declares ``PathTypeExact = PathType("Exact")``: the enum table's generator
    reads that form too, and the served schema lists the three values."""
    from kubelab.sandbox.api import openapi_descriptions_gen as gen
    from kubelab.sandbox.api.openapi import v3_group_version

    package = tmp_path / "networking" / "v1"
    package.mkdir(parents=True)
    (package / "types.go").write_text(
        "package v1\n\n// +enum\ntype PathType string\n\nconst (\n"
        "\t// PathTypeExact matches the URL path exactly.\n"
        "\tPathTypeExact = PathType(\"Exact\")\n"
        "\t// PathTypePrefix matches by element.\n"
        "\tPathTypePrefix = PathType(\"Prefix\")\n)\n")
    assert gen.enum_types(tmp_path, "networking/v1") == {
        "PathType": [("Exact", "matches the URL path exactly."),
                     ("Prefix", "matches by element.")]}
    doc = v3_group_version("apis/networking.k8s.io/v1")
    assert doc is not None
    prop = doc["components"]["schemas"]["io.k8s.api.networking.v1.HTTPIngressPath"][
        "properties"]["pathType"]
    assert prop["enum"] == ["Exact", "ImplementationSpecific", "Prefix"]
    assert "Possible enum values:" in prop["description"]
