"""The type of a Kubernetes object as JSON: ``dict[str, Any]``, defined once.

Kubernetes objects travel as JSON (``unstructured.Unstructured`` in client-go holds them as
``map[string]interface{}`` for the same reason): the sandbox stores, patches and serves them
as plain dictionaries, and the diagram and graders read them as returned by the API.
:data:`Obj` is the mutable form the API server's strategies and the components write;
:data:`ObjView` the read-only form for code that only looks (the diagram, printers).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

#: A Kubernetes object (or any JSON object inside one), as the API serves it.
Obj: TypeAlias = dict[str, Any]
#: The same, for code that must not mutate what it is given.
ObjView: TypeAlias = Mapping[str, Any]
