"""Strict and warning field validation (``fieldValidation=Strict|Warn``).

kube-apiserver decodes a request body into the Go type with ``sigs.k8s.io/json``'s
``UnmarshalStrict`` when the request asks for ``fieldValidation=Strict`` or ``Warn`` (kubectl
sends ``Strict`` for ``apply``/``create``/``replace -f``). Every JSON key the Go struct does not
declare is an *unknown field*, every key seen twice a *duplicate field*, each reported by its
dotted path with list indexes (``spec.template.spec.containers[0].imagee``) in the order the
decoder meets them. The decoder knows nothing of ``status`` being ignored on the main resource,
so unknown ``status`` fields are reported too; ``metadata.managedFields[*].fieldsV1`` is an
opaque ``FieldsV1`` and is never looked into.

Then (``apiserver/pkg/endpoints/handlers``):

* create/update (``create.go``, ``update.go`` via ``transformDecodeError`` in ``rest.go``):
  **400 BadRequest**, ``Deployment in version "v1" cannot be handled as a Deployment: strict
  decoding error: unknown field "spec.replcias"``; duplicates are the same error with
  ``duplicate field "spec.replicas"`` entries (``runtime.NewStrictDecodingError`` joins all of
  them with ", ");
* patch (``patch.go``): **422 Invalid** with one cause on field ``patch`` whose message is the
  same ``strict decoding error: …`` text (:func:`strict_decoding_error`);
* ``fieldValidation=Warn``: the request succeeds and each error becomes a ``Warning`` header,
  ``299 - "unknown field \\"spec.replcias\\""`` (:func:`warning_texts`).

Unknown fields are checked against field tables compiled once per client model from
:mod:`kubelab.sandbox.api.openapi` (the pydantic models' wire names). We do not call
``model_validate``: it also accepts the Python attribute names (``min_ready_seconds``) and
mixes type errors in; a plain walk over the JSON is exact and takes microseconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from kubelab.sandbox.api import kinds, openapi

# A compiled field type: None for a leaf (nothing below it is checked), ("m", model),
# ("a", item) for arrays, ("d", item) for maps.
_Spec = tuple[str, Any] | None


def _compile(ftype: openapi.FieldType) -> _Spec:
    if ftype.kind == "model":
        return ("m", ftype.model)
    if ftype.kind in ("array", "map"):
        assert ftype.item is not None
        inner = _compile(ftype.item)
        if inner is None:
            return None
        return ("a" if ftype.kind == "array" else "d", inner)
    return None


@cache
def _fields(model: str) -> dict[str, _Spec]:
    return {f.wire: _compile(f.type) for f in openapi.model_fields(model)}


def model_for(api_version: str, kind: str) -> str:
    """The client model that decodes ``api_version``/``kind``; KeyError if none is served."""
    info = kinds.by_kind(api_version, kind)
    if info is not None and info.model:
        return info.model
    for owner in kinds.KINDS:
        for sub in owner.subresources:
            sub_api = f"{sub.group}/{sub.version}" if sub.group else sub.version
            if sub.kind == kind and sub_api == api_version and sub.name != "status":
                model = f"V1{kind}"
                if openapi.has_model(model):
                    return model
    raise KeyError(f"{api_version}/{kind}")


def _walk(value: Any, spec: tuple[str, Any], path: str, out: list[str]) -> None:
    tag, arg = spec
    if tag == "m":
        if not isinstance(value, dict):
            return  # a type error, reported by the decoder, not a strict error
        fields = _fields(arg)
        for key, child in value.items():
            sub_path = f"{path}.{key}" if path else str(key)
            if key not in fields:
                out.append(sub_path)
                continue
            sub_spec = fields[key]
            if sub_spec is not None and child is not None:
                _walk(child, sub_spec, sub_path, out)
    elif tag == "a":
        if isinstance(value, list):
            for i, child in enumerate(value):
                if child is not None:
                    _walk(child, arg, f"{path}[{i}]", out)
    elif tag == "d" and isinstance(value, dict):
        for key, child in value.items():
            if child is not None:
                _walk(child, arg, f"{path}.{key}", out)


def unknown_fields(api_version: str, kind: str, obj: dict[str, Any]) -> list[str]:
    """Dotted paths of the fields of ``obj`` its kind does not declare, in document order.

    >>> unknown_fields("apps/v1", "Deployment", {"spec": {"replcias": 3}})
    ['spec.replcias']
    """
    out: list[str] = []
    _walk(obj, ("m", model_for(api_version, kind)), "", out)
    return out


class _Pairs(list[tuple[str, Any]]):
    """A JSON object as decoded, keeping repeated keys (``object_pairs_hook``)."""


def _duplicates(value: Any, spec: _Spec, path: str, out: list[str]) -> None:
    """Walk a pairs-preserving decode; like the Go decoder, report repeats of known keys
    (and of any key in a map or in an untyped object) and recurse into every occurrence."""
    if isinstance(value, _Pairs):
        fields = _fields(spec[1]) if spec is not None and spec[0] == "m" else None
        seen: set[str] = set()
        for key, child in value:
            sub_path = f"{path}.{key}" if path else key
            if fields is not None and key not in fields:
                continue  # unknown: reported as unknown, never as duplicate
            if key in seen:
                out.append(sub_path)
            seen.add(key)
            if fields is not None:
                child_spec = fields[key]
            elif spec is not None and spec[0] == "d":
                child_spec = spec[1]
            else:
                child_spec = None
            _duplicates(child, child_spec, sub_path, out)
    elif isinstance(value, list):
        item_spec = spec[1] if spec is not None and spec[0] == "a" else None
        for i, child in enumerate(value):
            _duplicates(child, item_spec, f"{path}[{i}]", out)


def duplicate_fields(api_version: str, kind: str, body: str | bytes) -> list[str]:
    """Dotted paths of keys repeated in a JSON ``body`` (a parsed dict has lost them).

    Raises ``ValueError`` for a body that is not JSON.
    """
    decoded = json.loads(body, object_pairs_hook=_Pairs)
    out: list[str] = []
    _duplicates(decoded, ("m", model_for(api_version, kind)), "", out)
    return list(dict.fromkeys(out))  # each path once, as the Go decoder records them


def _quote(path: str) -> str:
    """Go's ``strconv.Quote`` for the paths that occur: JSON escaping, Unicode kept."""
    return json.dumps(path, ensure_ascii=False)


def _errors(paths: Iterable[str], duplicates: Iterable[str]) -> list[str]:
    return ([f"unknown field {_quote(p)}" for p in paths]
            + [f"duplicate field {_quote(p)}" for p in duplicates])


def strict_decoding_error(paths: Sequence[str], duplicates: Sequence[str] = ()) -> str:
    """``strict decoding error: unknown field "a", unknown field "b"`` (runtime/error.go)."""
    return "strict decoding error: " + ", ".join(_errors(paths, duplicates))


def strict_error_message(api_version: str, kind: str, paths: Sequence[str],
                         duplicates: Sequence[str] = ()) -> str:
    """The 400 BadRequest message for a create or update body with strict errors."""
    version = api_version.rpartition("/")[2]
    return (f"{kind} in version {_quote(version)} cannot be handled as a {kind}: "
            f"{strict_decoding_error(paths, duplicates)}")


def warning_texts(paths: Iterable[str], duplicates: Iterable[str] = ()) -> list[str]:
    """One ``Warning`` header text per problem, for ``fieldValidation=Warn``."""
    return _errors(paths, duplicates)
