"""Namespace storage: finalisation before a namespace goes.

Mirrors ``pkg/registry/core/namespace/storage/storage.go``: the first DELETE of a namespace
sets ``deletionTimestamp`` and phase ``Terminating``, and the namespace stays while
``spec.finalizers`` lists anything (the namespace controller empties the namespace, then
removes ``kubernetes`` through ``/finalize``, which is what lets it go). ``/finalize``
writes ``spec.finalizers`` and nothing else (``namespaceFinalizeStrategy``).
"""

from __future__ import annotations

import copy

from kubelab.apimachinery.types import Obj
from kubelab.sandbox.store.storage import Storage, Strategy, UpdateSubresource


class FinalizeSubresource(UpdateSubresource):
    """``namespaces/<name>/finalize``: only ``spec.finalizers`` of the write counts."""

    def prepare(self, obj: Obj, old: Obj) -> Obj:
        finalizers = (obj.get("spec") or {}).get("finalizers")
        updated = copy.deepcopy(old)
        spec = updated.setdefault("spec", {})
        if finalizers:
            spec["finalizers"] = finalizers
        else:
            spec.pop("finalizers", None)
        return updated


class NamespaceStorage(Storage):
    """The Namespace REST: ``Terminating`` on delete, kept until finalised."""

    def __init__(self, strategy: Strategy) -> None:
        super().__init__(strategy)
        self.subresources["finalize"] = FinalizeSubresource()

    def prepare_for_delete(self, obj: Obj) -> None:
        obj.setdefault("status", {})["phase"] = "Terminating"

    def finalizing(self, obj: Obj) -> bool:
        return bool((obj.get("spec") or {}).get("finalizers"))
