"""apiregistration.k8s.io/v1 APIService: which server answers each group-version.

Mirrors kube-aggregator's ``pkg/registry/apiservice/strategy.go`` (status is a subresource:
a create starts with none, a main-resource write keeps it), ``SetDefaults_ServiceReference``
(``spec.service.port`` 443) and ``ValidateAPIService`` in ``pkg/apis/apiregistration/
validation`` (the name must be ``<version>.<group>``; priorities in range; a local
APIService, one without ``spec.service``, may not carry a ``caBundle`` or
``insecureSkipTLSVerify``). The wording follows upstream's (read from memory of the
aggregator's validation, not re-read).
"""

from __future__ import annotations

from kubelab.apimachinery.types import deep_copy_json
from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import Obj, Strategy, register
from kubelab.sandbox.api.validation import (
    dns1035_label_errors,
    dns1123_subdomain_errors,
    invalid,
    port_num_errors,
    required,
    validate_object_meta,
)


def _path_segment_errors(name: str) -> list[str]:
    """``path.IsValidPathSegmentName``: what a name may be in a URL path segment."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


class APIServiceStrategy(Strategy):
    has_status_subresource = True

    def default(self, obj: Obj) -> None:
        service = (obj.get("spec") or {}).get("service")
        if isinstance(service, dict) and service.get("port") is None:
            service["port"] = 443

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        spec = obj.get("spec") or {}
        group, version = spec.get("group") or "", spec.get("version") or ""
        # ValidateObjectMeta with the aggregator's own name rule: ``v1.`` (core) is valid.
        named = deep_copy_json(obj)
        name = (named.get("metadata") or {}).pop("name", "")
        named.setdefault("metadata", {})["generateName"] = name or \
            (obj.get("metadata") or {}).get("generateName", "")
        causes = validate_object_meta(named, info)
        if name:
            wanted = f"{version}.{group}"
            errors = _path_segment_errors(name) or (
                [f'must be `spec.version+"."+spec.group`: "{wanted}"'] if name != wanted
                else [])
            causes += [invalid("metadata.name", name, e) for e in errors]
        if not group and version != "v1":
            causes.append(required(
                "spec.group", "only v1 may have an empty group and it better be legacy kube"))
        if group:
            causes += [invalid("spec.group", group, e) for e in dns1123_subdomain_errors(group)]
        causes += [invalid("spec.version", version, e) for e in dns1035_label_errors(version)]
        group_priority = spec.get("groupPriorityMinimum") or 0
        if not 0 < group_priority <= 20000:
            causes.append(invalid("spec.groupPriorityMinimum", group_priority,
                                  "must be positive and less than 20000"))
        version_priority = spec.get("versionPriority") or 0
        if not 0 < version_priority <= 1000:
            causes.append(invalid("spec.versionPriority", version_priority,
                                  "must be positive and less than 1000"))
        service = spec.get("service")
        ca_bundle = spec.get("caBundle") or ""
        skip_verify = bool(spec.get("insecureSkipTLSVerify"))
        if not service:
            if ca_bundle:
                causes.append(invalid("spec.caBundle", f"{len(ca_bundle) * 3 // 4} bytes",
                                      "local APIServices may not have a caBundle"))
            if skip_verify:
                causes.append(invalid("spec.insecureSkipTLSVerify", True,
                                      "local APIServices may not have insecureSkipTLSVerify"))
            return causes
        if not service.get("namespace"):
            causes.append(required("spec.service.namespace"))
        if not service.get("name"):
            causes.append(required("spec.service.name"))
        port = service.get("port", 443)
        causes += [invalid("spec.service.port", port, e) for e in port_num_errors(port)]
        if skip_verify and ca_bundle:
            causes.append(invalid("spec.insecureSkipTLSVerify", True,
                                  "may not be true if caBundle is present"))
        return causes


register("apiregistration.k8s.io/v1", "APIService", APIServiceStrategy())
