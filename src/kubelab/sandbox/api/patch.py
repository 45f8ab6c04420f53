"""The four PATCH bodies kube-apiserver accepts, applied to plain JSON objects.

Every mutating ``kubectl`` command except ``create``/``replace`` is a PATCH: ``apply`` and
``set image`` send a strategic merge patch, ``label``/``annotate``/``scale`` a JSON merge
patch, ``rollout undo`` a JSON patch, ``apply --server-side`` an apply patch. This module
mirrors what the apiserver does with each body:

* ``application/json-patch+json`` -- RFC 6902, as ``gopkg.in/evanphx/json-patch.v4`` applies
  it in ``k8s.io/apiserver/pkg/endpoints/handlers/patch.go`` (we use the ``jsonpatch``
  library and reword its failures the way the Go library words them);
* ``application/merge-patch+json`` -- RFC 7386 (``jsonpatch.MergePatch``);
* ``application/strategic-merge-patch+json`` -- ``k8s.io/apimachinery/pkg/util/strategicpatch``
  (``StrategicMergeMapPatch``: maps merged recursively, ``null`` deletes, lists merged by
  their patch merge key from :mod:`kubelab.sandbox.api.patch_keys`, and the ``$patch``,
  ``$setElementOrder``, ``$retainKeys`` and ``$deleteFromPrimitiveList`` directives);
* ``application/apply-patch+yaml`` -- server-side apply, simplified from
  ``k8s.io/apimachinery/pkg/util/managedfields`` and ``sigs.k8s.io/structured-merge-diff``:
  field ownership per manager in ``metadata.managedFields`` (FieldsV1), removal of fields a
  manager stops applying, and conflicts with other managers.

All functions are pure: they never mutate their arguments and raise :class:`PatchError`
carrying the HTTP code and message the apiserver would answer with.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import jsonpatch
import jsonpointer
import yaml

from kubelab.apimachinery.types import deep_copy_json
from kubelab.sandbox.api import decode
from kubelab.sandbox.api.errors import ApiError, Cause
from kubelab.sandbox.api.patch_keys import FieldMeta, Table, field_meta, table_for

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC, APPLY)

# Directives of strategic merge patch (strategicpatch/patch.go).
_DIRECTIVE = "$patch"
_RETAIN_KEYS = "$retainKeys"
_DELETE_FROM_PRIMITIVE = "$deleteFromPrimitiveList"
_SET_ELEMENT_ORDER = "$setElementOrder"

# Messages of k8s.io/apimachinery/pkg/util/mergepatch/errors.go.
_BAD_PRIMITIVE_LIST = "invalid patch format of primitive list"
_BAD_RETAIN_KEYS = "invalid patch format of retainKeys"
_BAD_SET_ELEMENT_ORDER = "invalid patch format of setElementOrder list"
_NO_LIST_OF_LISTS = "lists of lists are not supported"

_INVALID_422 = "the server rejected our request due to an error in our request"


class PatchError(ValueError):
    """A patch the apiserver would refuse; ``code`` is the HTTP status it answers with.

    400 for a malformed body or directive, 422 when a well-formed patch cannot apply
    (failed JSON-patch ``test``, missing path), 500 for the strategic-merge errors upstream
    passes through untyped (e.g. an unknown ``$patch`` value) — which :meth:`api_error`
    answers as 400, keeping upstream's text.
    """

    def __init__(self, message: str, *, code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def api_error(self) -> ApiError:
        """The Status the apiserver sends for this error."""
        if self.code == 400:
            return ApiError(400, "BadRequest", self.message)
        if self.code == 415:
            return ApiError(415, "UnsupportedMediaType", self.message)
        if self.code == 422:
            # errors.NewGenericServerResponse(422, ...): the detail is not shown.
            return ApiError(422, "Invalid", _INVALID_422)
        # Upstream passes the remaining strategic-merge errors through untyped (a 500 with
        # upstream's text). They are the client's fault, never the server's: the sandbox
        # answers 400 BadRequest with the same text, so no bad patch ever reads as a crash.
        return ApiError(400, "BadRequest", self.message)


@dataclass(frozen=True)
class Conflict:
    """One field another manager owns with a different value (``merge.Conflict``)."""

    path: str  # ".spec.replicas"
    manager: str  # the manager's name, e.g. "kubectl-client-side-apply"
    label: str  # as printed: '"kubectl-client-side-apply" using apps/v1'


class ApplyConflict(PatchError):
    """Server-side apply conflicts; the server answers 409 with one cause per field."""

    def __init__(self, conflicts: list[Conflict]) -> None:
        self.details = conflicts
        self.conflicts: list[tuple[str, str]] = [(c.path, c.manager) for c in conflicts]
        super().__init__(_conflict_message(conflicts), code=409)

    def api_error(self) -> ApiError:
        causes = [Cause("FieldManagerConflict", f"conflict with {c.label}", c.path)
                  for c in self.details]
        return ApiError(409, "Conflict", self.message, {}, causes)


def _conflict_message(conflicts: list[Conflict]) -> str:
    # managedfields/internal/conflict.go getConflictMessage
    if len(conflicts) == 1:
        c = conflicts[0]
        return f"Apply failed with 1 conflict: conflict with {c.label}: {c.path}"
    by_label: dict[str, list[str]] = {}
    for c in conflicts:
        by_label.setdefault(c.label, []).append(c.path)
    lines: list[str] = []
    for label in sorted(by_label, key=lambda lab: lab.split('"')[1] if '"' in lab else lab):
        lines.append(f"conflicts with {label}:")
        lines.extend(f"- {p}" for p in by_label[label])
    return f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)


# ---------------------------------------------------------------------------------------
# Go-style rendering, for messages that quote values the way the Go code prints them.


def _go_fmt(value: Any) -> str:
    """``fmt.Sprintf("%v", value)`` of a decoded JSON value."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_fmt(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go_fmt(v) for v in value) + "]"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _go_type(value: Any) -> str:
    """``reflect.TypeOf(value)`` of a decoded JSON value."""
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    return "<nil>"


def _json_kind(value: Any) -> str:
    """The JSON kind named by ``encoding/json`` unmarshal errors."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "string"


# ---------------------------------------------------------------------------------------
# RFC 6902 JSON patch


def apply_json_patch(obj: dict[str, Any], ops: list[Any]) -> dict[str, Any]:
    """Apply RFC 6902 ``ops`` to ``obj``; failures are 422 as in the apiserver."""
    if not isinstance(ops, list):
        raise PatchError(f"json: cannot unmarshal {_json_kind(ops)} into Go value of type "
                         "jsonpatch.Patch")
    doc: Any = deep_copy_json(obj)
    for op in ops:
        if not isinstance(op, dict):
            raise PatchError(f"json: cannot unmarshal {_json_kind(op)} into Go struct field "
                             "of type jsonpatch.Operation")
        kind = op.get("op")
        if kind not in ("add", "remove", "replace", "move", "copy", "test"):
            raise PatchError(f"Unexpected kind: {kind if kind is not None else 'unknown'}",
                             code=422)
        if not isinstance(op.get("path"), str):
            raise PatchError("operation missing path field: missing value", code=422)
        if kind in ("add", "replace", "test") and "value" not in op:
            raise PatchError(f"{kind} operation, missing value field: missing value", code=422)
        if kind in ("move", "copy") and not isinstance(op.get("from"), str):
            raise PatchError(f"{kind} operation, missing from field: missing value", code=422)
        try:
            doc = jsonpatch.JsonPatch([op]).apply(doc, in_place=True)
        except jsonpatch.JsonPatchTestFailed as exc:
            raise PatchError(f"testing value {op['path']} failed: test failed", code=422) from exc
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException,
                TypeError, KeyError, IndexError) as exc:
            raise PatchError(_json_patch_failure(doc, op), code=422) from exc
    if not isinstance(doc, dict):
        raise PatchError("json: cannot unmarshal " + _json_kind(doc)
                         + " into Go value of type map[string]interface {}", code=422)
    return doc


def _json_patch_failure(doc: Any, op: dict[str, Any]) -> str:
    """The evanphx/json-patch wording for an operation that does not apply."""
    kind, path = op["op"], op["path"]
    missing = object()

    def resolves(pointer: str) -> bool:
        try:
            return jsonpointer.resolve_pointer(doc, pointer, missing) is not missing
        except jsonpointer.JsonPointerException:
            return False

    parent = path.rsplit("/", 1)[0]
    if kind in ("move", "copy") and not resolves(op["from"]):
        return f"{kind} operation does not apply: doc is missing from path: {op['from']}: missing value"
    if not resolves(parent):
        if kind in ("add", "remove"):
            return f'{kind} operation does not apply: doc is missing path: "{path}": missing value'
        if kind == "test":
            return f"test operation does not apply: is missing path: {path}: missing value"
        if kind == "replace":
            return f"replace operation does not apply: doc is missing path: {path}: missing value"
        return f"{kind} operation does not apply: doc is missing destination path: {path}: missing value"
    key = path.rsplit("/", 1)[1]
    if kind == "replace":
        return f"replace operation does not apply: doc is missing key: {path}: missing value"
    if kind == "remove":
        return f"error in remove for path: '{path}': Unable to remove nonexistent key: {key}: missing value"
    return f"error in {kind} for path: '{path}': Unable to access invalid index: {key}: invalid index referenced"


# ---------------------------------------------------------------------------------------
# RFC 7386 JSON merge patch


def apply_merge_patch(obj: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Apply an RFC 7386 merge patch: objects merge, ``null`` deletes, lists replace."""
    if not isinstance(patch, dict):
        raise PatchError("Invalid JSON Patch")
    result = _merge_patch(deep_copy_json(obj), deep_copy_json(patch))
    assert isinstance(result, dict)
    return result


def _merge_patch(doc: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return patch
    if not isinstance(doc, dict):
        return _prune_nulls(patch)
    for key, value in patch.items():
        if value is None:
            doc.pop(key, None)
        elif doc.get(key) is None:
            doc[key] = _prune_nulls(value)
        else:
            doc[key] = _merge_patch(doc[key], value)
    return doc


def _prune_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _prune_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_prune_nulls(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------
# Strategic merge patch


def apply_strategic_merge_patch(obj: dict[str, Any], patch: dict[str, Any], *,
                                api_version: str, kind: str) -> dict[str, Any]:
    """Apply a strategic merge patch as ``strategicpatch.StrategicMergeMapPatch`` does."""
    if not isinstance(patch, dict):
        raise PatchError(f"json: cannot unmarshal {_json_kind(patch)} into Go value of type "
                         "map[string]interface {}")
    merger = _Merger(table_for(api_version, kind))
    return merger.merge_map(deep_copy_json(obj), deep_copy_json(patch), "")


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _same(a: Any, b: Any) -> bool:
    """Go's ``==`` on decoded JSON scalars (``1 == true`` is false there)."""
    return (type(a) is type(b) and a == b) or (
        isinstance(a, int | float) and isinstance(b, int | float)
        and not isinstance(a, bool) and not isinstance(b, bool) and a == b)


def _key_of(item: Any, merge_key: str) -> Any:
    return item.get(merge_key) if isinstance(item, dict) else None


def _strip_directives(value: Any) -> tuple[Any, bool]:
    """``removeDirectives``: drop maps carrying ``$patch`` and ``$``-directive keys."""
    if isinstance(value, dict):
        if _DIRECTIVE in value:
            return None, False
        out = {}
        for k, v in value.items():
            if k.startswith((_RETAIN_KEYS, _SET_ELEMENT_ORDER, _DELETE_FROM_PRIMITIVE)):
                continue
            new, keep = _strip_directives(v)
            if keep:
                out[k] = new
        return out, True
    if isinstance(value, list):
        kept = [_strip_directives(v) for v in value]
        return [v for v, keep in kept if keep], True
    return value, True


def _discard_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _discard_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_discard_nulls(v) for v in value]
    return value


def _extract_key(key: str, prefix: str, message: str) -> str:
    head, sep, rest = key.partition("/")
    if not sep or head != prefix:
        raise PatchError(message)
    return rest


def _no_merge_key(item: Any, merge_key: str) -> PatchError:
    return PatchError(f"map: {_go_fmt(item)} does not contain declared merge key: {merge_key}",
                      code=500)


def _element_kind(*lists: list[Any]) -> str:
    """``sliceElementType``: every item of every list must have one JSON type."""
    prev: str | None = None
    for items in lists:
        for item in items:
            current = _go_type(item)
            if prev is None:
                if current == "[]interface {}":
                    raise PatchError(_NO_LIST_OF_LISTS, code=422)
                prev = current
            elif prev != current:
                raise PatchError("list element types are not identical: "
                                 + _go_fmt(list(lists)), code=500)
    if prev is None:
        raise PatchError("no elements in any of the given slices", code=500)
    return prev


@dataclass
class _Merger:
    """One strategic merge over a kind's merge-key table."""

    table: Table

    def meta(self, path: str) -> FieldMeta:
        return field_meta(self.table, path)

    # -- maps --------------------------------------------------------------------------

    def merge_map(self, original: dict[str, Any] | None, patch: dict[str, Any],
                  path: str) -> dict[str, Any]:
        if _DIRECTIVE in patch:
            directive = patch[_DIRECTIVE]
            if directive == "replace":
                rest = {k: v for k, v in patch.items() if k != _DIRECTIVE}
                return _strip_directives(_discard_nulls(rest))[0]  # type: ignore[no-any-return]
            if directive == "delete":
                return {}
            raise PatchError(f"unknown patch type: {_go_fmt(directive)} in map: "
                             f"{_go_fmt(patch)}", code=500)
        if original is None:
            original = {}
        self.retain_keys(original, patch)
        self.set_element_order(original, patch, path)

        for key, patch_value in list(patch.items()):
            is_delete_list = key.startswith(_DELETE_FROM_PRIMITIVE)
            if is_delete_list:
                key = _extract_key(key, _DELETE_FROM_PRIMITIVE, _BAD_PRIMITIVE_LIST)
            if patch_value is None:
                original.pop(key, None)
                continue
            field_path = _child(path, key)
            if key not in original or _go_type(original[key]) != _go_type(patch_value):
                if not is_delete_list:
                    value, keep = _strip_directives(_discard_nulls(patch_value))
                    if keep:
                        original[key] = value
                    else:
                        original.pop(key, None)
                continue
            current = original[key]
            meta = self.meta(field_path)
            if isinstance(current, dict):
                if meta.strategy == "replace":
                    original[key] = _strip_directives(patch_value)[0]
                else:
                    original[key] = self.merge_map(current, patch_value, field_path)
            elif isinstance(current, list):
                if meta.strategy == "merge" or is_delete_list:
                    original[key] = self.merge_list(current, patch_value, field_path,
                                                    meta.merge_key, is_delete_list)
                else:
                    original[key] = _strip_directives(patch_value)[0]
            else:
                original[key] = patch_value
        return original

    def retain_keys(self, original: dict[str, Any], patch: dict[str, Any]) -> None:
        """``$retainKeys``: clear every key of ``original`` the list does not name."""
        if _RETAIN_KEYS not in patch:
            return
        keep = patch.pop(_RETAIN_KEYS)
        if not isinstance(keep, list):
            raise PatchError(_BAD_RETAIN_KEYS)
        for key, value in patch.items():
            if value is None or key.startswith((_DELETE_FROM_PRIMITIVE, _SET_ELEMENT_ORDER)):
                continue
            if not any(_same(key, k) for k in keep):
                raise PatchError(_BAD_RETAIN_KEYS)
        for key in list(original):
            if key not in keep:
                del original[key]

    def set_element_order(self, original: dict[str, Any], patch: dict[str, Any],
                          path: str) -> None:
        """``$setElementOrder/<list>``: merge the list and put it in the given order."""
        for key in [k for k in patch if k.startswith(_SET_ELEMENT_ORDER)]:
            order = patch.pop(key)
            if not isinstance(order, list):
                raise PatchError(f"expected a []interface {{}}, but received a {_go_type(order)}",
                                 code=500)
            name = _extract_key(key, _SET_ELEMENT_ORDER, _BAD_SET_ELEMENT_ORDER)
            found_original, found_patch = name in original, name in patch
            original_list = original.get(name)
            patch_list = patch.get(name)
            for value in (original_list if found_original else [],
                          patch_list if found_patch else []):
                if not isinstance(value, list):
                    raise PatchError("expected a []interface {}, but received a "
                                     + _go_type(value), code=500)
            field_path = _child(path, name)
            meta = self.meta(field_path)
            merge_key = meta.merge_key
            _validate_order(patch_list if found_patch else [], order, merge_key)
            if found_original and not found_patch:
                merged = original_list
            elif found_patch and not found_original:
                merged = _strip_directives(patch_list)[0]
            elif found_original and found_patch:
                assert isinstance(original_list, list) and isinstance(patch_list, list)
                if meta.strategy == "merge":
                    merged = self.merge_list(original_list, patch_list, field_path,
                                             merge_key, False)
                else:
                    merged = patch_list
            else:
                continue
            assert isinstance(merged, list)
            in_order, server_only = _partition(merged, order, merge_key)
            kind = _element_kind(original_list if found_original else [],  # type: ignore[arg-type]
                                 patch_list if found_patch else [])  # type: ignore[arg-type]
            original[name] = _normalize_order(in_order, server_only, order,
                                              original_list if found_original else [],  # type: ignore[arg-type]
                                              merge_key, kind)
            patch.pop(name, None)

    # -- lists -------------------------------------------------------------------------

    def merge_list(self, original: list[Any], patch: list[Any], path: str, merge_key: str,
                   is_delete_list: bool) -> list[Any]:
        if not original and not patch:
            return original
        kind = _element_kind(original, patch)
        if kind != "map[string]interface {}":
            if is_delete_list:
                return [v for v in original if not any(_same(v, d) for d in patch)]
            merged: list[Any] = []
            for v in original + patch:
                if not any(_same(v, m) for m in merged):
                    merged.append(v)
        else:
            if not merge_key:
                raise PatchError(f"cannot merge lists without merge key for {path}", code=500)
            original, patch = self._special_elements(original, patch, merge_key)
            merged = list(original)
            for item in patch:
                if merge_key not in item:
                    raise _no_merge_key(item, merge_key)
                at = _find(merged, merge_key, item[merge_key])
                if at >= 0:
                    merged[at] = self.merge_map(merged[at], item, f"{path}[]")
                else:
                    merged.append(_strip_directives(item)[0])
        in_patch, server_only = _partition(merged, patch, merge_key)
        return _normalize_order(in_patch, server_only, patch, original, merge_key, kind)

    def _special_elements(self, original: list[Any], patch: list[Any],
                          merge_key: str) -> tuple[list[Any], list[Any]]:
        """List items carrying ``$patch``: ``delete`` by key, ``replace`` the whole list."""
        plain: list[Any] = []
        replace = False
        for item in patch:
            if _DIRECTIVE not in item:
                plain.append(item)
                continue
            directive = item[_DIRECTIVE]
            if directive == "delete":
                if merge_key not in item:
                    raise _no_merge_key(item, merge_key)
                original = [o for o in original
                            if not _same(_key_of(o, merge_key), item[merge_key])]
            elif directive == "replace":
                replace = True
            elif directive == "merge":
                raise PatchError("merging lists cannot yet be specified in the patch", code=500)
            else:
                raise PatchError(f"unknown patch type: {_go_fmt(directive)} in map: "
                                 f"{_go_fmt(item)}", code=500)
        if replace:
            return [_strip_directives(_discard_nulls(i))[0] for i in plain], []
        return list(original), plain


def _find(items: list[Any], merge_key: str, value: Any) -> int:
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise PatchError(f"value for key {i} is not a map", code=500)
        if merge_key in item and _same(item[merge_key], value):
            return i
    return -1


def _identity(item: Any, merge_key: str) -> Any:
    return _key_of(item, merge_key) if merge_key else item


def _index(items: list[Any], item: Any, merge_key: str) -> int:
    wanted = _identity(item, merge_key)
    for i, candidate in enumerate(items):
        if _same(_identity(candidate, merge_key), wanted):
            return i
    return -1


def _partition(items: list[Any], by: list[Any], merge_key: str) -> tuple[list[Any], list[Any]]:
    """Split ``items`` into those present in ``by`` and the rest (server-only)."""
    present: list[Any] = []
    rest: list[Any] = []
    for item in items:
        if merge_key:
            if not isinstance(item, dict):
                raise PatchError(f"expected a map[string]interface {{}}, but received a "
                                 f"{_go_type(item)}", code=500)
            if merge_key not in item:
                raise _no_merge_key(item, merge_key)
            found = any(isinstance(b, dict) and merge_key in b
                        and _same(b[merge_key], item[merge_key]) for b in by)
        else:
            found = any(_same(b, item) for b in by)
        (present if found else rest).append(item)
    return present, rest


def _normalize_order(in_patch: list[Any], server_only: list[Any], patch_order: list[Any],
                     server_order: list[Any], merge_key: str, kind: str) -> list[Any]:
    """Patch items in patch order, server-only items in live order, interleaved by live order.

    ``normalizeElementOrder`` + ``mergeSortedSlice``: the relative order of each group is
    kept, and a server-only item goes before a patch item only when the live list had it
    first.
    """
    key = merge_key if kind == "map[string]interface {}" else ""
    left = _sort_by(server_only, server_order, key)
    right = _sort_by(in_patch, patch_order, key)
    out: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            out.append(right[j])
            j += 1
        elif j >= len(right):
            out.append(left[i])
            i += 1
        else:
            li, ri = _index(server_order, left[i], key), _index(server_order, right[j], key)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out


def _sort_by(items: list[Any], order: list[Any], merge_key: str) -> list[Any]:
    if merge_key:
        for item in [*items, *order]:
            if isinstance(item, dict) and merge_key not in item:
                raise _no_merge_key(item, merge_key)
    deleted = [i for i in items if isinstance(i, dict) and i.get(_DIRECTIVE) == "delete"]
    kept = [i for i in items if not (isinstance(i, dict) and i.get(_DIRECTIVE) == "delete")]
    positions = [_index(order, item, merge_key) for item in kept]
    ranked = sorted(range(len(kept)),
                    key=lambda n: (positions[n] < 0, positions[n] if positions[n] >= 0 else n))
    return [kept[n] for n in ranked] + deleted


def _validate_order(patch_list: Any, order: list[Any], merge_key: str) -> None:
    """``validatePatchWithSetOrderList``: patch items appear in ``$setElementOrder`` order."""
    if not isinstance(patch_list, list):
        raise PatchError(_BAD_SET_ELEMENT_ORDER)
    if not order or not patch_list:
        return
    items = patch_list
    if merge_key:
        items = [i for i in patch_list
                 if not (isinstance(i, dict) and i.get(_DIRECTIVE) == "delete")]
    p = s = 0
    while p < len(items) and s < len(order):
        if isinstance(items[p], dict) and _DIRECTIVE in items[p]:
            p += 1
            continue
        if merge_key:
            for item in (items[p], order[s]):
                if not isinstance(item, dict):
                    raise PatchError(f"expected a map[string]interface {{}}, but received a "
                                     f"{_go_type(item)}", code=500)
                if merge_key not in item:
                    raise _no_merge_key(item, merge_key)
            equal = _same(items[p][merge_key], order[s][merge_key])
        else:
            equal = _same(items[p], order[s])
        if equal:
            p += 1
        s += 1
    if p < len(items) and s >= len(order):
        raise PatchError(f"The order in patch list:\n{_go_fmt(patch_list)}\n doesn't match "
                         f"{_SET_ELEMENT_ORDER} list:\n{_go_fmt(order)}\n", code=500)


# ---------------------------------------------------------------------------------------
# Server-side apply (simplified structured merge)

# A field path in FieldsV1 notation: ("f:spec", "f:template", 'k:{"name":"nginx"}', ...).
FieldPath = tuple[str, ...]

# Fields no manager owns (managedfields/internal/stripmeta.go).
_STRIPPED: frozenset[FieldPath] = frozenset({
    ("f:apiVersion",), ("f:kind",), ("f:metadata",),
    *(("f:metadata", f"f:{name}") for name in (
        "name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName",
        "generation", "managedFields", "resourceVersion")),
})

# Stripped metadata fields are skipped whole (a write's field set never walks the
# object's own managedFields).
_NOT_WALKED: frozenset[FieldPath] = frozenset(p for p in _STRIPPED if len(p) == 2)

# Defaults of list-map key fields that an applied item may leave out (OpenAPI defaults).
_KEY_DEFAULTS = {"protocol": "TCP"}


@dataclass
class _Manager:
    """One ``metadata.managedFields`` entry with its field set decoded."""

    manager: str
    operation: str
    api_version: str
    time: str | None
    subresource: str
    fields: set[FieldPath] = field(default_factory=set)
    #: The entry this manager was read from, and its field set then: an entry nothing
    #: changed is written back as it was, not encoded again.
    source: dict[str, Any] | None = field(default=None, compare=False)
    read: frozenset[FieldPath] = field(default=frozenset(), compare=False)

    def label(self) -> str:
        # managedfields/internal/conflict.go printManager (the identifier carries no time)
        text = json.dumps(self.manager)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource)}"
        if self.operation == "Update":
            text += f" using {self.api_version}"
        return text

    def to_entry(self) -> dict[str, Any]:
        if self.source is not None and self.fields == self.read \
                and self.time == self.source.get("time") \
                and self.api_version == self.source.get("apiVersion"):
            return self.source
        entry: dict[str, Any] = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
        }
        if self.time is not None:
            entry["time"] = self.time
        entry["fieldsType"] = "FieldsV1"
        entry["fieldsV1"] = fields_v1(self.fields)
        if self.subresource:
            entry["subresource"] = self.subresource
        return entry


def _read_managers(obj: dict[str, Any]) -> list[_Manager]:
    out = []
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        if not isinstance(entry, dict):
            continue
        fields = parse_fields_v1(entry.get("fieldsV1") or {})
        out.append(_Manager(
            manager=str(entry.get("manager", "")),
            operation=str(entry.get("operation", "")),
            api_version=str(entry.get("apiVersion", "")),
            time=entry.get("time"),
            subresource=str(entry.get("subresource", "")),
            fields=fields, source=entry, read=frozenset(fields),
        ))
    return out


def _write_managers(obj: dict[str, Any], managers: list[_Manager]) -> None:
    kept = [m for m in managers if m.fields]
    kept.sort(key=lambda m: (m.operation, m.time or "", m.manager, m.api_version,
                             m.subresource))
    metadata = obj.setdefault("metadata", {})
    if kept:
        metadata["managedFields"] = [m.to_entry() for m in kept]
    else:
        metadata.pop("managedFields", None)


def parse_fields_v1(tree: dict[str, Any]) -> set[FieldPath]:
    """The set of owned paths encoded by a ``fieldsV1`` tree."""
    out: set[FieldPath] = set()

    def walk(node: dict[str, Any], prefix: FieldPath) -> None:
        if not node and prefix:
            out.add(prefix)
        for key, child in node.items():
            if key == ".":
                out.add(prefix)
            elif isinstance(child, dict):
                walk(child, (*prefix, key))

    walk(tree, ())
    return out


def _element_order(element: str) -> tuple[int, str]:
    return ({"f": 0, "k": 1, "v": 2, "i": 3}.get(element[:1], 4), element)


def fields_v1(paths: Iterable[FieldPath]) -> dict[str, Any]:
    """Encode owned paths as a ``fieldsV1`` tree (``"."`` marks an owned inner node)."""
    root: dict[str, Any] = {}
    members = set(paths)
    for path in members:
        node = root
        for element in path:
            node = node.setdefault(element, {})
    def finish(node: dict[str, Any], prefix: FieldPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if node and prefix in members:
            out["."] = {}
        for key in sorted(node, key=_element_order):
            out[key] = finish(node[key], (*prefix, key))
        return out
    return finish(root, ())


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _item_key(item: dict[str, Any], keys: tuple[str, ...]) -> str:
    fields = {k: item.get(k, _KEY_DEFAULTS.get(k)) for k in sorted(keys)}
    return "k:" + _compact({k: v for k, v in fields.items() if v is not None})


def field_set(obj: dict[str, Any], *, api_version: str, kind: str,
              subresource: str = "", nodes: set[FieldPath] | None = None,
              values: dict[FieldPath, Any] | None = None) -> set[FieldPath]:
    """Every path of ``obj`` a manager would own (leaves, list items, set values).

    The status strategies' reset fields: a write to the ``status`` subresource owns no
    ``spec`` (its metadata, such as the deployment controller's revision annotation, it
    does), and any other write owns no ``status``. ``nodes`` collects the paths of the
    non-empty, non-atomic maps and lists on the way (what an ``Update`` owns as ``.``
    when it creates them). ``values`` collects the value at each leaf path (so comparing two
    versions needs no lookup from the root per path).
    """
    table = table_for(api_version, kind)
    out: set[FieldPath] = set()

    def leaf(path: FieldPath, value: Any) -> None:
        out.add(path)
        if values is not None:
            values[path] = value

    def walk(value: Any, path: FieldPath, schema_path: str) -> None:
        if isinstance(value, dict):
            meta = field_meta(table, schema_path)
            if not value or meta.strategy == "replace":
                leaf(path, value)
                return
            if nodes is not None:
                nodes.add(path)
            for key, child in value.items():
                child_path = (*path, f"f:{key}")
                if child_path in _NOT_WALKED:
                    continue
                walk(child, child_path, _child(schema_path, key))
        elif isinstance(value, list):
            meta = field_meta(table, schema_path)
            if value and meta.list_type in ("map", "set") and nodes is not None:
                nodes.add(path)
            if not value:
                leaf(path, value)
            elif meta.list_type == "map" and all(isinstance(i, dict) for i in value):
                for item in value:
                    item_path = (*path, _item_key(item, meta.ssa_keys))
                    out.add(item_path)
                    for key, child in item.items():
                        walk(child, (*item_path, f"f:{key}"), f"{schema_path}[].{key}")
            elif meta.list_type == "set":
                for item in value:
                    out.add((*path, "v:" + _compact(item)))
            else:
                leaf(path, value)
        else:
            leaf(path, value)

    for key, value in obj.items():
        if key == ("spec" if subresource == "status" else "status"):
            continue
        walk(value, (f"f:{key}",), key)
    return {p for p in out if p not in _STRIPPED}


_MISSING: Any = object()


def _resolve(obj: Any, path: FieldPath) -> Any:
    """The value at ``path`` in ``obj``, or ``_MISSING``."""
    node = obj
    for element in path:
        tag, text = element[:1], element[2:]
        if tag == "f":
            if not isinstance(node, dict) or text not in node:
                return _MISSING
            node = node[text]
        elif tag == "k":
            if not isinstance(node, list):
                return _MISSING
            wanted = json.loads(text)
            node = next((i for i in node if isinstance(i, dict) and all(
                _same(i.get(k, _KEY_DEFAULTS.get(k)), v) for k, v in wanted.items())),
                _MISSING)
            if node is _MISSING:
                return _MISSING
        elif tag == "v":
            wanted = json.loads(text)
            if not isinstance(node, list) or not any(_same(i, wanted) for i in node):
                return _MISSING
            node = wanted
        elif tag == "i":
            index = int(text)
            if not isinstance(node, list) or index >= len(node):
                return _MISSING
            node = node[index]
    return node


def _remove(obj: Any, path: FieldPath) -> None:
    parent = _resolve(obj, path[:-1])
    tag, text = path[-1][:1], path[-1][2:]
    if tag == "f" and isinstance(parent, dict):
        parent.pop(text, None)
    elif tag in ("k", "v") and isinstance(parent, list):
        keep = [i for i in parent if _resolve([i], (path[-1],)) is _MISSING]
        parent[:] = keep


def _display(path: FieldPath) -> str:
    """``fieldpath.Path.String()``: ``.spec.containers[name="nginx"].image``."""
    out = []
    for element in path:
        tag, text = element[:1], element[2:]
        if tag == "f":
            out.append("." + text)
        elif tag == "k":
            key = json.loads(text)
            out.append("[" + ",".join(f"{k}={_compact(v)}" for k, v in sorted(key.items()))
                       + "]")
        elif tag == "v":
            out.append(f"[={_compact(json.loads(text))}]")
        else:
            out.append(f"[{text}]")
    return "".join(out)


def _is_leaf_value(path: FieldPath) -> bool:
    return not path[-1].startswith(("k:", "v:"))


def server_side_apply(live: dict[str, Any] | None, applied: dict[str, Any], *, manager: str,
                      api_version: str, kind: str, force: bool, now: str) -> dict[str, Any]:
    """Apply ``applied`` for ``manager`` and record what it now owns.

    Simplified structured merge: ``applied`` is merged into ``live`` with the strategic
    merge-key table; fields this manager applied last time and no longer applies are
    removed unless another manager owns them; a field another manager owns with a
    different value is a conflict unless ``force`` (then ownership moves to ``manager``).
    """
    if not isinstance(applied, dict):
        raise PatchError("error decoding patch: json: cannot unmarshal "
                         f"{_json_kind(applied)} into Go value of type map[string]interface {{}}")
    if not manager:
        raise PatchError("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required "
                         "value: is required for apply patch", code=422)
    if (applied.get("metadata") or {}).get("managedFields"):
        raise PatchError("metadata.managedFields must be nil")
    base: dict[str, Any] = deep_copy_json(live) if live is not None else {}
    config = deep_copy_json(applied)
    managers = _read_managers(base)
    mine = next((m for m in managers if m.manager == manager and m.operation == "Apply"
                 and not m.subresource), None)
    others = [m for m in managers if m is not mine]
    wanted = field_set(config, api_version=api_version, kind=kind)

    conflicts: list[Conflict] = []
    taken: list[tuple[_Manager, FieldPath]] = []
    for other in others:
        for path in sorted(wanted & other.fields):
            if not _is_leaf_value(path):
                continue
            if not _same_value(_resolve(base, path), _resolve(config, path)):
                conflicts.append(Conflict(_display(path), other.manager, other.label()))
                taken.append((other, path))
    if conflicts and not force:
        raise ApplyConflict(conflicts)
    for other, path in taken:
        other.fields.discard(path)

    if mine is not None:
        still_owned = set(wanted)
        for other in others:
            still_owned |= other.fields
        dropped = sorted(mine.fields - wanted, key=len)
        for path in dropped:
            if any(p[:len(path)] == path for p in still_owned):
                continue
            _remove(base, path)

    config.get("metadata", {}).pop("managedFields", None)
    result = apply_strategic_merge_patch(base, _without_nulls(config),
                                         api_version=api_version, kind=kind)
    if mine is None:
        mine = _Manager(manager, "Apply", api_version, now, "")
        managers.append(mine)
    mine.fields, mine.api_version, mine.time = wanted, api_version, now
    _write_managers(result, managers)
    return result


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b, strict=True))
    return _same(a, b) or (a is None and b is None)


def _without_nulls(value: Any) -> Any:
    # An apply configuration's null means "not specified", never "delete".
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


#: The nodes every object's zero value has (``ObjectMeta``, ``Spec`` and ``Status`` are
#: value-typed fields of the Go structs).
_ZERO_VALUE_ROOTS: frozenset[FieldPath] = frozenset({("f:metadata",), ("f:spec",),
                                                     ("f:status",)})
_TEMPLATE: tuple[FieldPath, ...] = (
    ("f:spec", "f:template"), ("f:spec", "f:template", "f:metadata"),
    ("f:spec", "f:template", "f:spec"), ("f:spec", "f:template", "f:spec", "f:containers"))
#: Further nodes of a kind's Go zero value: value-typed structs and lists without
#: ``omitempty`` (``PodSpec.Containers``), which serialise even when empty.
_ZERO_VALUE_NODES: dict[str, tuple[FieldPath, ...]] = {
    "Pod": (("f:spec", "f:containers"),),
    "Deployment": (*_TEMPLATE, ("f:spec", "f:strategy")),
    "ReplicaSet": _TEMPLATE,
    "DaemonSet": (*_TEMPLATE, ("f:spec", "f:updateStrategy")),
    "StatefulSet": (*_TEMPLATE, ("f:spec", "f:updateStrategy")),
    "Job": _TEMPLATE,
}


Walk = tuple[set[FieldPath], set[FieldPath], dict[FieldPath, Any]]
#: The field sets of the last written versions (stored objects are never mutated, so a
#: version's walk stays true): object id -> (object, subresource, leaves, nodes, values).
_WALKS: dict[int, tuple[dict[str, Any], str, set[FieldPath], set[FieldPath],
                        dict[FieldPath, Any]]] = {}
_WALKS_MAX = 512


def _walk(obj: dict[str, Any], api_version: str, kind: str, subresource: str) -> Walk:
    hit = _WALKS.get(id(obj))
    if hit is not None and hit[0] is obj and hit[1] == subresource:
        return hit[2], hit[3], hit[4]
    nodes: set[FieldPath] = set()
    values: dict[FieldPath, Any] = {}
    leaves = field_set(obj, api_version=api_version, kind=kind, subresource=subresource,
                       nodes=nodes, values=values)
    return leaves, nodes, values


def update_managed_fields(old: dict[str, Any] | None, new: dict[str, Any], *, manager: str,
                          api_version: str, kind: str, now: str,
                          subresource: str = "", in_place: bool = False,
                          keep_walk: bool = False) -> dict[str, Any]:
    """Record a non-apply write (create, update, patch) by ``manager`` in ``new``.

    As the apiserver's field manager does for ``Update`` operations: the writer takes
    ownership of every field it added or changed (every other manager loses those fields,
    whichever subresource it wrote through: ``kubectl scale`` takes ``spec.replicas`` from
    the applier; no conflicts), and fields that disappeared leave every manager's set.
    A ``status`` write looks at everything but spec, any other write at everything but
    status (:func:`field_set`).
    ``in_place`` records into ``new`` itself instead of a copy; ``keep_walk`` (with it): the
    caller stores ``new`` as it is now, so the next write of the object may start from this
    walk instead of walking the stored version again (a status write's object always is).
    """
    result = new if in_place else deep_copy_json(new)
    managers = _read_managers(old) if old is not None else _read_managers(result)
    before, old_nodes, old_values = (_walk(old, api_version, kind, subresource)
                                     if old is not None else (set(), set(), {}))
    after, nodes, new_values = _walk(result, api_version, kind, subresource)
    if old is not None:
        _WALKS.pop(id(old), None)  # a replaced version is nobody's old one again
    if in_place and (keep_walk or subresource == "status"):
        # The next write of this object through the same subresource starts from this
        # version: its walk is kept (nothing changes a status write's object after its field
        # manager ran; for other writes the registry says so). A Lease renewal walked its
        # stored version again every two simulated seconds.
        _WALKS[id(result)] = (result, subresource, after, nodes, new_values)
        while len(_WALKS) > _WALKS_MAX:
            del _WALKS[next(iter(_WALKS))]
    changed = {p for p in after
               if p not in before or (p in new_values and not _same_value(
                   old_values.get(p, _MISSING), new_values[p]))}
    # A map or list this write brought into being is the writer's too (its ``.``), as
    # structured-merge-diff's comparison adds every node the old value lacked. A create
    # compares with the Go zero value of the kind, which has its value-typed structs.
    if old is None:
        existed = set(_ZERO_VALUE_NODES.get(kind, ())) | _ZERO_VALUE_ROOTS
        changed |= {p for p in nodes if p not in existed and p not in _STRIPPED}
    else:
        changed |= {p for p in nodes
                    if p not in _STRIPPED and p not in old_nodes and p not in before}
    gone = before - after
    for m in managers:
        m.fields -= gone
        m.fields -= changed
    if changed:
        mine = next((m for m in managers if m.manager == manager and m.operation == "Update"
                     and m.api_version == api_version and m.subresource == subresource), None)
        if mine is None:
            mine = _Manager(manager, "Update", api_version, now, subresource)
            managers.append(mine)
        mine.fields |= changed
        mine.time = now
    _write_managers(result, managers)
    return result


# ---------------------------------------------------------------------------------------
# Dispatch on Content-Type


class _YamlLoader(yaml.SafeLoader):
    """YAML as ``sigs.k8s.io/yaml`` reads it: timestamps stay strings."""


_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_body(content_type: str, body: bytes | str) -> Any:
    """Decode a PATCH body: JSON for the three JSON types, YAML (or JSON) for apply."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in PATCH_TYPES:
        raise PatchError("the body of the request was in an unknown format - accepted media "
                         "types include: " + ", ".join(PATCH_TYPES), code=415)
    text: str
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError as exc:
        raise PatchError("invalid JSON patch" if media != APPLY
                         else f"error encoding patch: {exc}") from exc
    if media == APPLY:
        try:
            parsed = yaml.load(text, Loader=_YamlLoader)
            decode.check_depth(parsed)
        except yaml.YAMLError as exc:
            raise PatchError(f"error encoding patch: {exc}") from exc
        except (RecursionError, decode.DecodeError) as exc:
            raise PatchError(f"error decoding YAML: {decode.DEPTH_ERROR}") from exc
        return parsed
    try:
        # Go's reader: no NaN/Infinity, literal numbers kept, nesting bounded.
        return decode.loads(text)
    except ValueError as exc:
        raise PatchError("invalid JSON patch") from exc


def patch(obj: dict[str, Any], content_type: str, body: bytes | str, *, api_version: str,
          kind: str, manager: str = "", force: bool = False, now: str = "",
          exists: bool = True) -> dict[str, Any]:
    """Apply a PATCH request body of ``content_type`` to ``obj``.

    For apply patches pass ``manager`` (the ``fieldManager`` query parameter), ``force``
    and ``now``; ``exists=False`` makes the apply create the object from nothing.
    """
    parsed = parse_body(content_type, body)
    media = content_type.split(";", 1)[0].strip().lower()
    if media == JSON_PATCH:
        return apply_json_patch(obj, [] if parsed is None else parsed)
    if media == MERGE_PATCH:
        if parsed is None:
            raise PatchError("Invalid JSON Patch")
        return apply_merge_patch(obj, parsed)
    if media == STRATEGIC:
        return apply_strategic_merge_patch(obj, {} if parsed is None else parsed,
                                           api_version=api_version, kind=kind)
    return server_side_apply(obj if exists else None, {} if parsed is None else parsed,
                             manager=manager, api_version=api_version, kind=kind,
                             force=force, now=now)
