"""Kubernetes ``Status`` errors, shaped exactly as kube-apiserver shapes them.

Mirrors ``k8s.io/apimachinery/pkg/api/errors``: each constructor builds the ``metav1.Status``
body (``status: Failure``, ``reason``, ``details``, ``code``) and the message wording the real
server uses, so ``kubectl`` renders ``Error from server (NotFound): pods "x" not found`` and the
Python client raises ``ApiException`` with the same body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from kubelab.sandbox.api.kinds import KindInfo

#: What Go's ``encoding/json`` escapes in strings besides quotes, backslashes and controls:
#: ``<``, ``>``, ``&`` (its default HTML escaping) and the JavaScript line separators.
_GO_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                             "\u2028": "\\u2028", "\u2029": "\\u2029"})


def wire_json(obj: Any) -> bytes:
    """``obj`` as kube-apiserver writes a JSON body, byte for byte.

    Its serializer (``k8s.io/apimachinery/pkg/runtime/serializer/json``) encodes with Go's
    ``json.NewEncoder(w).Encode``: compact, non-ASCII as UTF-8, ``<``/``>``/``&`` escaped, and a
    newline after the object. Clients that compare raw bodies (the official client's tests
    compare ``ApiException.body``) see the same bytes as from a real server.
    """
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return (text.translate(_GO_ESCAPES) + "\n").encode()


@dataclass
class Cause:
    """One entry of ``details.causes`` (``metav1.StatusCause``)."""

    reason: str
    message: str
    field: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"reason": self.reason, "message": self.message}
        if self.field:
            out["field"] = self.field
        return out


@dataclass
class ApiError(Exception):
    """An error the HTTP layer turns into a Status body with ``code``."""

    code: int
    reason: str
    message: str
    details: dict[str, Any] | None = None
    causes: list[Cause] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        details = dict(self.details or {})
        if self.causes:
            details["causes"] = [c.to_dict() for c in self.causes]
        if details:
            body["details"] = details
        body["code"] = self.code
        return body


def _details(info: KindInfo | None, name: str) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if info is not None:
        if info.group:
            details["group"] = info.group
        details["kind"] = info.plural
    return details


def _qualified(info: KindInfo | None, resource: str = "") -> str:
    return info.group_resource if info is not None else resource


def not_found(info: KindInfo | None, name: str, resource: str = "") -> ApiError:
    return ApiError(404, "NotFound", f'{_qualified(info, resource)} "{name}" not found',
                    _details(info, name))


def already_exists(info: KindInfo, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f'{info.group_resource} "{name}" already exists',
                    _details(info, name))


def conflict(info: KindInfo, name: str, why: str) -> ApiError:
    return ApiError(
        409, "Conflict",
        f'Operation cannot be fulfilled on {info.group_resource} "{name}": {why}',
        _details(info, name),
    )


def stale_write(info: KindInfo, name: str) -> ApiError:
    return conflict(info, name,
                    "the object has been modified; please apply your changes to the latest "
                    "version and try again")


def invalid(info: KindInfo, name: str, causes: list[Cause]) -> ApiError:
    """422 Invalid: ``Deployment.apps "x" is invalid: [spec.replicas: Invalid value: …]``."""
    kind = f"{info.kind}.{info.group}" if info.group else info.kind
    parts = [f"{c.field}: {c.message}" if c.field else c.message for c in causes]
    summary = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    details = {"name": name, "kind": info.kind}
    if info.group:
        details["group"] = info.group
    return ApiError(422, "Invalid", f'{kind} "{name}" is invalid: {summary}', details, causes)


def bad_request(message: str, causes: list[Cause] | None = None) -> ApiError:
    return ApiError(400, "BadRequest", message, None, causes or [])


def method_not_allowed() -> ApiError:
    return ApiError(405, "MethodNotAllowed",
                    "the server does not allow this method on the requested resource", {})


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(415, "UnsupportedMediaType",
                    f'the body of the request was in an unknown format - accepted media types '
                    f'include: application/json, application/yaml, '
                    f'application/vnd.kubernetes.protobuf (got "{content_type}")')


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def forbidden_namespace_terminating(info: KindInfo, name: str, namespace: str) -> ApiError:
    return ApiError(
        403, "Forbidden",
        f'{info.group_resource} "{name}" is forbidden: unable to create new content in '
        f"namespace {namespace} because it is being terminated",
        _details(info, name) | {"causes": [{
            "reason": "NamespaceTerminating",
            "message": f"namespace {namespace} is being terminated",
            "field": "metadata.namespace",
        }]},
    )


def forbidden(info: KindInfo, name: str, reason: str) -> ApiError:
    """``errors.NewForbidden``: ``<resource> "<name>" is forbidden: <reason>``."""
    return ApiError(403, "Forbidden", f'{info.group_resource} "{name}" is forbidden: {reason}',
                    _details(info, name))


def namespace_not_found(namespace: str) -> ApiError:
    return ApiError(404, "NotFound", f'namespaces "{namespace}" not found',
                    {"name": namespace, "kind": "namespaces"})


def too_large(limit: int) -> ApiError:
    return ApiError(413, "RequestEntityTooLarge",
                    f"Request entity too large: limit is {limit}")


def internal(message: str) -> ApiError:
    return ApiError(500, "InternalError", f"Internal error occurred: {message}")


def not_acceptable(message: str) -> ApiError:
    return ApiError(406, "NotAcceptable", message)
