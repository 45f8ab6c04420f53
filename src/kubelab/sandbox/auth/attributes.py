"""What a request asks to do: ``authorizer.Attributes`` from ``request.RequestInfo``.

Mirrors ``RequestInfoFactory.NewRequestInfo`` (``k8s.io/apiserver/pkg/endpoints/request``):
``/api/v1/…`` and ``/apis/<group>/<version>/…`` with a resource are resource requests (verb
from the HTTP method: GET → get, list or watch; POST → create; PUT → update; PATCH → patch;
DELETE → delete or deletecollection); everything else (``/version``, ``/healthz``,
discovery documents, ``/openapi/v3``) is a non-resource request whose verb is the lowercase
HTTP method. ``/api/v1/namespaces/x`` is the namespace ``x`` in its own namespace, and a
list or watch with ``fieldSelector=metadata.name=x`` names ``x``, as upstream does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from kubelab.sandbox.auth.user import UserInfo

#: ``namespaceSubresources``: ``/namespaces/x/status`` is the namespace's own subresource.
_NAMESPACE_SUBRESOURCES = ("status", "finalize")
_METHOD_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete",
                 "GET": "get", "HEAD": "get"}


@dataclass(frozen=True)
class Attributes:
    """``authorizer.AttributesRecord``."""

    user: UserInfo
    verb: str
    resource_request: bool
    path: str = ""
    namespace: str = ""
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""

    def as_user(self, user: UserInfo) -> Attributes:
        return replace(self, user=user)


def _true(query: Mapping[str, str], key: str) -> bool:
    return query.get(key, "").lower() in ("true", "1")


def _name_from_field_selector(selector: str) -> str:
    """``metadata.name=x`` (or ``==``) in a list or watch's field selector."""
    for term in selector.split(","):
        for op in ("==", "="):
            key, sep, value = term.partition(op)
            if sep and key.strip() == "metadata.name" and not key.endswith("!"):
                return value.strip()
    return ""


def request_attributes(user: UserInfo, method: str, path: str,
                       query: Mapping[str, str]) -> Attributes:
    """The attributes the authorizer judges for one HTTP request."""
    method = method.upper()
    parts = [p for p in path.split("/") if p]
    non_resource = Attributes(user, method.lower(), False, path=path)
    if not parts or parts[0] not in ("api", "apis"):
        return non_resource
    if parts[0] == "api":
        group, rest = "", parts[1:]
    else:
        if len(parts) < 3:
            return non_resource
        group, rest = parts[1], parts[2:]
    if len(rest) < 2:
        return non_resource  # /api/v1, /apis/<group>/<version>: discovery
    version, rest = rest[0], rest[1:]
    verb = _METHOD_VERBS.get(method, method.lower())
    if rest[0] == "watch":
        verb, rest = "watch", rest[1:]
        if not rest:
            return non_resource
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if not name and verb == "get":
        verb = "watch" if _true(query, "watch") else "list"
        name = _name_from_field_selector(query.get("fieldSelector", ""))
    if not name and verb == "delete":
        verb = "deletecollection"
    return Attributes(user, verb, True, path=path, namespace=namespace, api_group=group,
                      api_version=version, resource=resource, subresource=subresource,
                      name=name)
