"""The type of a Kubernetes object as JSON: ``dict[str, Any]``, defined once.

Kubernetes objects travel as JSON (``unstructured.Unstructured`` in client-go holds them as
``map[string]interface{}`` for the same reason): the sandbox stores, patches and serves them
as plain dictionaries, and the diagram and graders read them as returned by the API.
:data:`Obj` is the mutable form the API server's strategies and the components write;
:data:`ObjView` the read-only form for code that only looks (the diagram, printers).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, TypeAlias, TypeVar

#: A Kubernetes object (or any JSON object inside one), as the API serves it.
Obj: TypeAlias = dict[str, Any]
#: The same, for code that must not mutate what it is given.
ObjView: TypeAlias = Mapping[str, Any]

_T = TypeVar("_T")
_ATOMS = frozenset({str, int, float, bool, type(None)})


def deep_copy_json(value: _T) -> _T:
    """A deep copy of JSON data (dicts, lists, strings, numbers, booleans, None), as
    apimachinery's ``runtime.DeepCopyJSONValue`` copies an unstructured object.

    Why not ``copy.deepcopy``: it keeps a memo of every object it meets (for cycles and
    shared references, which JSON cannot have) and was the largest single cost of a write
    (a Lease renewal spent a third of its time copying); this is about four times faster on
    a pod. Anything that is not JSON (a float subclass keeping its literal, a tuple, a
    dataclass) is left to ``copy.deepcopy``, so every value still comes out independent.
    """
    kind = type(value)
    if kind is dict:
        return {k: deep_copy_json(v) for k, v in value.items()}  # type: ignore[attr-defined,return-value]
    if kind is list:
        return [deep_copy_json(v) for v in value]  # type: ignore[attr-defined,return-value]
    if kind in _ATOMS:
        return value
    return copy.deepcopy(value)
