"""Typed decoding of request bodies: the checks Go's JSON decoder makes before any kind code.

kube-apiserver decodes every body into the kind's Go struct (``sigs.k8s.io/json``, a fork of
``encoding/json``) before admission, defaulting or validation run. A value of the wrong JSON
type, an integer that does not fit ``int32``/``int64``, a fraction where an integer belongs, a
malformed ``resource.Quantity`` or a body nested deeper than the decoder allows never reaches
the registry: the request fails with ``400 BadRequest``
(``apiserver/pkg/endpoints/handlers/rest.go`` ``transformDecodeError``)::

    Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal
    string into Go struct field DeploymentSpec.spec.replicas of type int32

This module reproduces that decode over the JSON the sandbox already parsed, walking the field
tables of :mod:`kubelab.sandbox.api.openapi` (the official client's models). The wording
follows ``encoding/json``'s ``UnmarshalTypeError``: the JSON value's type (``number 2.5`` when
the literal matters), the innermost Go struct and the dotted JSON path from the root (list
indexes are not part of it), and the Go type of the field. Which integers are ``int64`` is a
fact the client models lose (they say ``int``); :data:`INT64_FIELDS` keeps it, everything else
is ``int32`` as in the Go types.

:func:`loads` is the JSON reader that matches Go's: ``NaN``/``Infinity`` are syntax errors,
numbers keep their literal text (so ``1e400`` and ``2.0`` are reported as written), and
nesting past :data:`MAX_DEPTH` is ``exceeded max depth``. Go allows 10,000 levels; Python's
recursive containers (copying, serialising) do not, so the sandbox stops at 256 — far beyond
any Kubernetes object (a Deployment nests about 12 deep) and still a clean 400, never a
server error. That limit is documented simulation, not upstream's number.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from kubelab.apimachinery import quantity
from kubelab.sandbox.api import openapi

#: Deepest nesting of arrays and objects a body may have (see the module docstring).
MAX_DEPTH = 256
DEPTH_ERROR = "exceeded max depth"

# (client model, wire name) of the int64 fields; every other integer is int32.
INT64_FIELDS = frozenset({
    ("V1ObjectMeta", "generation"), ("V1ObjectMeta", "deletionGracePeriodSeconds"),
    ("V1ListMeta", "remainingItemCount"),
    ("V1PodSpec", "activeDeadlineSeconds"), ("V1PodSpec", "terminationGracePeriodSeconds"),
    ("V1PodSecurityContext", "runAsUser"), ("V1PodSecurityContext", "runAsGroup"),
    ("V1PodSecurityContext", "fsGroup"), ("V1PodSecurityContext", "supplementalGroups"),
    ("V1SecurityContext", "runAsUser"), ("V1SecurityContext", "runAsGroup"),
    ("V1Probe", "terminationGracePeriodSeconds"), ("V1SleepAction", "seconds"),
    ("V1Toleration", "tolerationSeconds"), ("V1DeleteOptions", "gracePeriodSeconds"),
    ("V1ServiceAccountTokenProjection", "expirationSeconds"),
    ("V1LinuxContainerUser", "uid"), ("V1LinuxContainerUser", "gid"),
    ("V1LinuxContainerUser", "supplementalGroups"), ("V1NodeSwapStatus", "capacity"),
    ("V1DeploymentStatus", "observedGeneration"), ("V1ReplicaSetStatus", "observedGeneration"),
    ("V1DaemonSetStatus", "observedGeneration"), ("V1StatefulSetStatus", "observedGeneration"),
    ("V1Condition", "observedGeneration"), ("V1PodCondition", "observedGeneration"),
    ("V1PodStatus", "observedGeneration"),
    ("V1ReplicationControllerStatus", "observedGeneration"),
})

_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_TIME_LAYOUT = "2006-01-02T15:04:05Z07:00"


class JsonFloat(float):
    """A JSON number that is not an integer literal, remembering how it was written."""

    literal: str

    def __new__(cls, literal: str | float) -> JsonFloat:
        value = float(literal)
        # Beyond float64 (``1e400``): kept only to be reported with its literal; a typed
        # field refuses it, and where nothing reads it (an unknown field) it stores as 0.
        obj = super().__new__(cls, 0.0 if math.isinf(value) else value)
        obj.literal = literal if isinstance(literal, str) else repr(value)
        return obj

    def __repr__(self) -> str:
        return self.literal

    def __reduce__(self) -> tuple[Any, ...]:
        return (JsonFloat, (self.literal,))

    def __deepcopy__(self, memo: dict[int, Any]) -> JsonFloat:
        return self


class DecodeError(ValueError):
    """A body Go's decoder would refuse; ``str()`` is the decoder's message."""


def _reject_constant(name: str) -> Any:
    raise DecodeError(f"invalid character '{name[0]}' looking for beginning of value")


def _int_literal(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # past Python's digit limit: far outside any Go integer anyway
        return JsonFloat("1e400") if text[:1] != "-" else JsonFloat("-1e400")  # type: ignore[return-value]


def loads(text: str | bytes) -> Any:
    """Parse JSON as the Go decoder reads it (see the module docstring).

    Raises :class:`DecodeError` (a ``ValueError``) with Go's wording for what Go refuses and
    ``json.JSONDecodeError`` for plain syntax errors.
    """
    try:
        value = json.loads(text, parse_float=JsonFloat, parse_int=_int_literal,
                           parse_constant=_reject_constant)
    except RecursionError as exc:
        raise DecodeError(DEPTH_ERROR) from exc
    check_depth(value)
    return value


def check_depth(value: Any, limit: int = MAX_DEPTH) -> None:
    """Raise :class:`DecodeError` when ``value`` nests deeper than ``limit`` (iteratively, so
    the check itself cannot overflow the stack)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            raise DecodeError(DEPTH_ERROR)
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, dict | list))


# --------------------------------------------------------------------------------------------
# The typed walk.
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _T:
    """A compiled field type: ``kind`` as in :class:`openapi.FieldType`, the Go type name."""

    kind: str
    go: str
    model: str = ""
    item: _T | None = None


def go_struct_name(model: str) -> str:
    """``V1DeploymentSpec`` -> ``DeploymentSpec`` (the Go type's own name)."""
    return openapi.definition_name(model).rsplit(".", 1)[1]


def _go_package(model: str) -> str:
    name = openapi.definition_name(model)
    return name.rsplit(".", 2)[1]  # io.k8s.api.apps.v1.X -> v1; ...meta.v1.X -> v1


def _compile(ftype: openapi.FieldType, model: str, wire: str) -> _T:
    kind = ftype.kind
    if kind == "model":
        return _T("model", f"{_go_package(ftype.model)}.{go_struct_name(ftype.model)}",
                  ftype.model)
    if kind in ("array", "map"):
        assert ftype.item is not None
        inner = _compile(ftype.item, model, wire)
        go = f"[]{inner.go}" if kind == "array" else f"map[string]{inner.go}"
        return _T(kind, go, item=inner)
    if kind == "integer":
        return _T("integer", "int64" if (model, wire) in INT64_FIELDS else "int32")
    return _T(kind, {"string": "string", "boolean": "bool", "number": "float64",
                     "byte": "[]uint8", "quantity": "resource.Quantity",
                     "int-or-string": "intstr.IntOrString", "time": "v1.Time",
                     "micro-time": "v1.MicroTime"}.get(kind, "interface {}"))


@cache
def _fields(model: str) -> dict[str, _T]:
    return {f.wire: _compile(f.type, model, f.wire) for f in openapi.model_fields(model)}


def _json_type(value: Any) -> str:
    """How ``UnmarshalTypeError.Value`` names a JSON value."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _literal(value: Any) -> str:
    if isinstance(value, JsonFloat):
        return value.literal
    if isinstance(value, float):
        return repr(value)
    return str(value)


class _Walk:
    """One decode: the first error wins, as ``decodeState.saveError`` keeps the first."""

    def __init__(self) -> None:
        self.error: str | None = None

    def fail(self, message: str) -> None:
        if self.error is None:
            self.error = message

    def type_error(self, value: str, struct: str, path: str, go: str) -> None:
        where = f"Go struct field {struct}.{path}" if struct else "Go value"
        self.fail(f"json: cannot unmarshal {value} into {where} of type {go}")

    def model(self, value: Any, model: str, path: str) -> None:
        fields = _fields(model)
        struct = go_struct_name(model)
        for key, child in value.items():
            spec = fields.get(key)
            if spec is None or child is None:
                continue  # unknown fields are fieldValidation's business; null is zero
            self.value(child, spec, struct, f"{path}.{key}" if path else key)
            if self.error is not None:
                return

    def value(self, value: Any, spec: _T, struct: str, path: str) -> None:
        kind = spec.kind
        if kind == "model":
            if not isinstance(value, dict):
                self.type_error(_json_type(value), struct, path, spec.go)
            else:
                self.model(value, spec.model, path)
        elif kind in ("array", "map"):
            wanted = list if kind == "array" else dict
            if not isinstance(value, wanted):
                self.type_error(_json_type(value), struct, path, spec.go)
                return
            assert spec.item is not None
            items = value if isinstance(value, list) else value.values()
            for child in items:
                if child is not None:
                    self.value(child, spec.item, struct, path)
                if self.error is not None:
                    return
        elif kind == "integer":
            self.integer(value, spec.go, struct, path)
        elif kind == "string":
            if not isinstance(value, str):
                self.type_error(_json_type(value), struct, path, spec.go)
        elif kind == "boolean":
            if not isinstance(value, bool):
                self.type_error(_json_type(value), struct, path, spec.go)
        elif kind == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                self.type_error(_json_type(value), struct, path, spec.go)
            elif isinstance(value, JsonFloat) and math.isinf(float(value.literal)):
                self.type_error(f"number {value.literal}", struct, path, spec.go)
        elif kind == "byte":
            self.byte(value, struct, path, spec.go)
        elif kind == "quantity":
            self.quantity(value)
        elif kind == "int-or-string":
            if isinstance(value, str):
                return
            # intstr.UnmarshalJSON: anything but a string decodes into an int32.
            if isinstance(value, bool) or not isinstance(value, int | float):
                self.type_error(_json_type(value), "", "", "int32")
            else:
                self.integer(value, "int32", "", "")
        elif kind in ("time", "micro-time"):
            self.time(value, struct, path)

    def integer(self, value: Any, go: str, struct: str, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.type_error(_json_type(value), struct, path, go)
            return
        low, high = _INT_RANGES[go]
        if isinstance(value, float) or not low <= value <= high:
            self.type_error(f"number {_literal(value)}", struct, path, go)

    def byte(self, value: Any, struct: str, path: str, go: str) -> None:
        if not isinstance(value, str):
            self.type_error(_json_type(value), struct, path, go)
            return
        try:
            base64.b64decode(value.encode(), validate=True)
        except (binascii.Error, ValueError):
            bad = next((i for i, c in enumerate(value)
                        if not (c.isascii() and (c.isalnum() or c in "+/="))), len(value))
            self.fail(f"illegal base64 data at input byte {bad}")

    def quantity(self, value: Any) -> None:
        # Quantity.UnmarshalJSON parses the string (or the bare number) and returns
        # ParseQuantity's error as the decode error.
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.fail(quantity.FORMAT_ERROR)
            return
        text = value if isinstance(value, str) else _literal(value)
        try:
            quantity.parse_quantity(text.strip())
        except ValueError as exc:
            self.fail(str(exc))

    def time(self, value: Any, struct: str, path: str) -> None:
        # metav1.Time.UnmarshalJSON: a JSON string, then time.Parse(RFC3339).
        if not isinstance(value, str):
            self.fail(f"json: cannot unmarshal {_json_type(value)} into Go value of type "
                      "string")
        elif value and not _RFC3339.match(value):
            self.fail(f'parsing time "{value}" as "{_TIME_LAYOUT}": cannot parse '
                      f'"{value}" as "2006"')


def type_error(model: str, obj: dict[str, Any]) -> str | None:
    """The first error Go's decoder reports for ``obj`` as a ``model``, or None.

    >>> type_error("V1Deployment", {"spec": {"replicas": "three"}})
    'json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32'
    """
    walk = _Walk()
    walk.model(obj, model, "")
    return walk.error


def cannot_handle(kind: str, api_version: str, error: str) -> str:
    """``transformDecodeError``'s message for a body whose kind is known."""
    version = api_version.rpartition("/")[2]
    return f'{kind} in version "{version}" cannot be handled as a {kind}: {error}'
