"""Namespace storage: finalisation before a namespace goes.

Mirrors ``pkg/registry/core/namespace/storage/storage.go``: the first DELETE of a namespace
sets ``deletionTimestamp`` and phase ``Terminating``, and the namespace stays while
``spec.finalizers`` lists anything (the namespace controller empties the namespace, then
removes ``kubernetes`` through ``/finalize``, which is what lets it go). ``/finalize``
writes ``spec.finalizers`` and nothing else (``namespaceFinalizeStrategy``).

The NamespaceLifecycle admission plugin's DELETE rule lives here too: the namespaces the
cluster itself needs (``default``, ``kube-system``, ``kube-public``, its "immortal"
namespaces) are refused with 403 ``this namespace may not be deleted``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kubelab.apimachinery.types import Obj, deep_copy_json
from kubelab.sandbox.api import errors
from kubelab.sandbox.store.storage import Storage, Strategy, UpdateSubresource

if TYPE_CHECKING:
    from kubelab.sandbox.api.kinds import KindInfo
    from kubelab.sandbox.store.registry import Registry

#: NamespaceLifecycle's immortal namespaces (kube-apiserver's default set).
IMMORTAL_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})


class FinalizeSubresource(UpdateSubresource):
    """``namespaces/<name>/finalize``: only ``spec.finalizers`` of the write counts."""

    def prepare(self, obj: Obj, old: Obj) -> Obj:
        finalizers = deep_copy_json((obj.get("spec") or {}).get("finalizers"))
        updated = deep_copy_json(old)
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

    def before_delete(self, registry: Registry, info: KindInfo, obj: Obj) -> None:
        name = obj["metadata"]["name"]
        if name in IMMORTAL_NAMESPACES:
            raise errors.forbidden(info, name,
                                   "this namespace may not be deleted")

    def prepare_for_delete(self, obj: Obj) -> None:
        obj.setdefault("status", {})["phase"] = "Terminating"

    def finalizing(self, obj: Obj) -> bool:
        return bool((obj.get("spec") or {}).get("finalizers"))
