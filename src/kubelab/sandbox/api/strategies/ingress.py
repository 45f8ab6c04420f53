"""networking.k8s.io/v1 Ingress and IngressClass: defaults and validation with upstream wording.

Mirrors ``pkg/registry/networking/ingress/strategy.go`` (status cleared on create and kept on
a main-resource update, ``metadata.generation`` bumped on spec changes; the ``kubernetes.io/
ingress.class`` annotation must agree with ``spec.ingressClassName`` on create),
``pkg/registry/networking/ingressclass/strategy.go`` (no status, the controller immutable),
``SetDefaults_IngressClass`` in ``pkg/apis/networking/v1/defaults.go`` (a parameters
reference is ``Cluster``-scoped unless it says otherwise) and ``ValidateIngressCreate`` /
``ValidateIngressClass`` in ``pkg/apis/networking/validation/validation.go``: ``pathType`` is
required (v1 has no default), ``Exact``/``Prefix`` paths are absolute and clean, a host is a
DNS name (never an IP) or a wildcard ``*.example.com``, a backend names a Service (a DNS-1035
name) and one port, by number or name, or a typed resource, and an Ingress without rules needs
a ``defaultBackend``. Learners meet these messages when a hand-written manifest is wrong, so
they are upstream's, word for word.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import Obj, Strategy, register
from kubelab.sandbox.api.validation import (
    DNS1123_SUBDOMAIN,
    GoRepr,
    dns1035_label_errors,
    dns1123_label_errors,
    dns1123_subdomain_errors,
    forbidden,
    invalid,
    not_supported,
    port_name_errors,
    port_num_errors,
    required,
    too_long,
    validate_immutable,
    validate_object_meta,
)

#: The legacy class annotation (``networking.AnnotationIngressClass``).
INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
#: ``networkingv1.AnnotationIsDefaultIngressClass``.
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"

PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")
PARAMETER_SCOPES = ("Cluster", "Namespace")
INVALID_PATH_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
INVALID_PATH_SUFFIXES = ("/..", "/.")
MAX_CONTROLLER_LENGTH = 250

WILDCARD_DNS1123_SUBDOMAIN = r"\*\." + DNS1123_SUBDOMAIN
_WILDCARD_RE = re.compile(f"^{WILDCARD_DNS1123_SUBDOMAIN}$")
HTTP_PATH = r"[A-Za-z0-9/\-._~%!$&'()*+,;=:]+"
_HTTP_PATH_RE = re.compile(f"^{HTTP_PATH}$")


def wildcard_subdomain_errors(value: str) -> list[str]:
    """``IsWildcardDNS1123Subdomain``: ``*.`` followed by a DNS subdomain."""
    errors = []
    if len(value) > 253:
        errors.append("must be no more than 253 characters")
    if not _WILDCARD_RE.match(value):
        errors.append(
            "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS "
            "subdomain, which must consist of lower case alphanumeric characters, '-' or '.' "
            "and end with an alphanumeric character (e.g. '*.example.com', regex used for "
            "validation is '" + WILDCARD_DNS1123_SUBDOMAIN + "')")
    return errors


def path_segment_errors(name: str) -> list[str]:
    """``IsValidPathSegmentName``: a name that can be one segment of a URL path."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _host_errors(host: str) -> list[str]:
    if "*" in host:
        return wildcard_subdomain_errors(host)
    return dns1123_subdomain_errors(host)


def validate_typed_reference(ref: Any, path: str) -> list[Cause]:
    """``validateIngressTypedLocalObjectReference``: apiGroup, kind and name."""
    ref = ref if isinstance(ref, dict) else {}
    causes: list[Cause] = []
    group = ref.get("apiGroup")
    if group is not None:
        causes += [invalid(f"{path}.apiGroup", group, e)
                   for e in dns1123_subdomain_errors(str(group))]
    for field in ("kind", "name"):
        value = str(ref.get(field) or "")
        if not value:
            causes.append(required(f"{path}.{field}"))
        else:
            causes += [invalid(f"{path}.{field}", value, e) for e in path_segment_errors(value)]
    return causes


def validate_backend(backend: Any, path: str) -> list[Cause]:
    """``validateIngressBackend``: a Service with one port (number or name) or a resource."""
    backend = backend if isinstance(backend, dict) else {}
    service, resource = backend.get("service"), backend.get("resource")
    if service is not None and resource is not None:
        return [invalid(path, "", "cannot set both resource and service backends")]
    if resource is not None:
        return validate_typed_reference(resource, f"{path}.resource")
    if service is None:
        return [invalid(path, "", "resource or service backend is required")]
    service = service if isinstance(service, dict) else {}
    causes: list[Cause] = []
    name = str(service.get("name") or "")
    if not name:
        causes.append(required(f"{path}.service.name"))
    else:
        causes += [invalid(f"{path}.service.name", name, e) for e in dns1035_label_errors(name)]
    raw_port = service.get("port")
    port = raw_port if isinstance(raw_port, dict) else {}
    port_name, number = str(port.get("name") or ""), port.get("number") or 0
    if port_name and number:
        causes.append(invalid(path, "", "cannot set both port name & port number"))
    elif port_name:
        causes += [invalid(f"{path}.service.port.name", port_name, e)
                   for e in port_name_errors(port_name)]
    elif number:
        causes += [invalid(f"{path}.service.port.number", number, e)
                   for e in port_num_errors(number)]
    else:
        causes.append(required(path, "port name or number is required"))
    return causes


def validate_http_path(entry: Any, path: str) -> list[Cause]:
    """``validateHTTPIngressPath``: pathType required; Exact/Prefix paths absolute and clean."""
    entry = entry if isinstance(entry, dict) else {}
    path_type = entry.get("pathType")
    if path_type is None:
        return [required(f"{path}.pathType", "pathType must be specified")]
    value = str(entry.get("path") or "")
    causes: list[Cause] = []
    if path_type in ("Exact", "Prefix"):
        if not value.startswith("/"):
            causes.append(invalid(f"{path}.path", value, "must be an absolute path"))
        if value:
            causes += [invalid(f"{path}.path", value, f"must not contain '{seq}'")
                       for seq in INVALID_PATH_SEQUENCES if seq in value]
            causes += [invalid(f"{path}.path", value, f"cannot end with '{suffix}'")
                       for suffix in INVALID_PATH_SUFFIXES if value.endswith(suffix)]
    elif path_type == "ImplementationSpecific":
        if value and not value.startswith("/"):
            causes.append(invalid(f"{path}.path", value, "must be an absolute path"))
    else:
        causes.append(not_supported(f"{path}.pathType", path_type, PATH_TYPES))
    return causes + validate_backend(entry.get("backend"), f"{path}.backend")


def validate_rules(rules: list[Any], path: str) -> list[Cause]:
    """``validateIngressRules``: each host a DNS name or wildcard, each HTTP path valid."""
    causes: list[Cause] = []
    for i, rule in enumerate(rules):
        rule = rule if isinstance(rule, dict) else {}
        host = str(rule.get("host") or "")
        if host:
            if _is_ip(host):
                causes.append(invalid(f"{path}[{i}].host", host,
                                      "must be a DNS name, not an IP address"))
            causes += [invalid(f"{path}[{i}].host", host, e) for e in _host_errors(host)]
        http = rule.get("http")
        if isinstance(http, dict):
            paths = http.get("paths") or []
            if not paths:
                causes.append(required(f"{path}[{i}].http.paths"))
            for j, entry in enumerate(paths):
                causes += validate_http_path(entry, f"{path}[{i}].http.paths[{j}]")
    return causes


def validate_tls(tls: list[Any], path: str) -> list[Cause]:
    """``validateIngressTLS``: hosts are DNS names or wildcards; a secret name a subdomain."""
    causes: list[Cause] = []
    for i, entry in enumerate(tls):
        entry = entry if isinstance(entry, dict) else {}
        for j, host in enumerate(entry.get("hosts") or []):
            causes += [invalid(f"{path}[{i}].hosts[{j}]", host, e)
                       for e in _host_errors(str(host))]
        secret = entry.get("secretName")
        if secret:
            causes += [invalid(f"{path}[{i}].secretName", secret, e)
                       for e in dns1123_subdomain_errors(str(secret))]
    return causes


def validate_ingress_spec(spec: Any, path: str = "spec") -> list[Cause]:
    """``ValidateIngressSpec``."""
    spec = spec if isinstance(spec, dict) else {}
    causes: list[Cause] = []
    rules = spec.get("rules")
    if not rules and spec.get("defaultBackend") is None:
        shown = GoRepr("[]networking.IngressRule(nil)" if rules is None
                       else "[]networking.IngressRule{}")
        causes.append(invalid(path, shown, "either `defaultBackend` or `rules` must be specified"))
    if spec.get("defaultBackend") is not None:
        causes += validate_backend(spec["defaultBackend"], f"{path}.defaultBackend")
    if rules:
        causes += validate_rules(list(rules), f"{path}.rules")
    if spec.get("tls"):
        causes += validate_tls(list(spec["tls"]), f"{path}.tls")
    class_name = spec.get("ingressClassName")
    if class_name is not None:
        causes += [invalid(f"{path}.ingressClassName", class_name, e)
                   for e in dns1123_subdomain_errors(str(class_name))]
    return causes


class IngressStrategy(Strategy):
    """``ingressStrategy``: spec/status split, generation on spec changes."""

    has_spec = True
    has_status_subresource = True

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        causes = validate_object_meta(obj, info) + validate_ingress_spec(obj.get("spec"))
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        class_name = (obj.get("spec") or {}).get("ingressClassName")
        legacy = annotations.get(INGRESS_CLASS_ANNOTATION)
        if legacy is not None and class_name is not None and legacy != class_name:
            causes.append(invalid(f"annotations.{INGRESS_CLASS_ANNOTATION}", legacy,
                                  "must match `ingressClassName` when both are specified"))
        return causes

    def validate_update(self, obj: Obj, old: Obj, info: KindInfo) -> list[Cause]:
        return validate_object_meta(obj, info) + validate_ingress_spec(obj.get("spec"))

    def initial_status(self, obj: Obj) -> Obj | None:
        return {"loadBalancer": {}}


def validate_parameters(params: Any, path: str) -> list[Cause]:
    """``validateIngressClassParametersReference``."""
    if params is None:
        return []
    params = params if isinstance(params, dict) else {}
    causes = validate_typed_reference(params, path)
    scope = params.get("scope")
    if scope is None:
        return [*causes, required(f"{path}.scope")]
    if scope not in PARAMETER_SCOPES:
        return [*causes, not_supported(f"{path}.scope", scope, PARAMETER_SCOPES)]
    namespace = params.get("namespace")
    if scope == "Namespace":
        if namespace is None:
            causes.append(required(f"{path}.namespace", "`parameters.scope` is set to 'Namespace'"))
        else:
            causes += [invalid(f"{path}.namespace", namespace, e)
                       for e in dns1123_label_errors(str(namespace))]
    elif namespace is not None:
        causes.append(forbidden(f"{path}.namespace", "`parameters.scope` is set to 'Cluster'"))
    return causes


def validate_controller(controller: str, path: str) -> list[Cause]:
    """``IsDomainPrefixedPath`` plus the 250-character limit of an IngressClass controller."""
    causes: list[Cause] = []
    if len(controller) > MAX_CONTROLLER_LENGTH:
        causes.append(too_long(path, MAX_CONTROLLER_LENGTH))
    if not controller:
        return [*causes, required(path)]
    host, sep, rest = controller.partition("/")
    if not sep or not host or not rest:
        return [*causes, invalid(path, controller,
                                 'must be a domain-prefixed path (such as "acme.io/foo")')]
    causes += [invalid(path, host, e) for e in dns1123_subdomain_errors(host)]
    if not _HTTP_PATH_RE.match(rest):
        causes.append(invalid(path, rest, "Invalid path (regex used for validation is '"
                                          + HTTP_PATH + "')"))
    return causes


class IngressClassStrategy(Strategy):
    """``ingressClassStrategy``: no status; ``spec.controller`` immutable."""

    has_spec = True

    def default(self, obj: Obj) -> None:
        params = (obj.get("spec") or {}).get("parameters")
        if isinstance(params, dict) and params.get("scope") is None:
            params["scope"] = "Cluster"

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        raw_spec = obj.get("spec")
        spec = raw_spec if isinstance(raw_spec, dict) else {}
        causes = validate_object_meta(obj, info)
        causes += validate_controller(str(spec.get("controller") or ""), "spec.controller")
        causes += validate_parameters(spec.get("parameters"), "spec.parameters")
        return causes

    def validate_update(self, obj: Obj, old: Obj, info: KindInfo) -> list[Cause]:
        controller = (obj.get("spec") or {}).get("controller")
        return validate_immutable(controller, (old.get("spec") or {}).get("controller"),
                                  "spec.controller") + self.validate(obj, info)


def is_default_class(ingress_class: Obj) -> bool:
    """``HasDefaultAnnotation``: the annotation is the string ``"true"``."""
    annotations = (ingress_class.get("metadata") or {}).get("annotations") or {}
    return annotations.get(DEFAULT_CLASS_ANNOTATION) == "true"


register("networking.k8s.io/v1", "Ingress", IngressStrategy())
register("networking.k8s.io/v1", "IngressClass", IngressClassStrategy())
