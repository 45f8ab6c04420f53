"""The namespace controller: deleting a namespace deletes everything in it, then itself.

Mirrors kube-controller-manager's ``pkg/controller/namespace`` (``namespace_controller.go``)
and ``pkg/controller/namespace/deletion/namespaced_resources_deleter.go`` with the condition
texts of ``status_condition_utils.go``. ``kubectl delete namespace`` returns at once with
the namespace ``Terminating`` (the API server sets ``deletionTimestamp`` and the phase);
this controller deletes the content of every namespaced resource, reports what remains
in the ``NamespaceContentRemaining`` / ``NamespaceFinalizersRemaining`` conditions, and
when nothing is left removes the ``kubernetes`` entry of ``spec.finalizers`` through the
``/finalize`` subresource, which lets the API server forget the namespace.

The removal is a :class:`Finalize` action: an :class:`Update` the runner must send to
``namespaces/<name>/finalize`` instead of the main resource. The reconcile is pure;
``requeue_after`` looks again while pods are still terminating.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kubelab.apimachinery.types import deep_copy_json
from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.clock import Clock
from kubelab.sandbox.controllers import common
from kubelab.sandbox.reconcile.types import Key, Obj, Result, Snapshot, Update

NAMESPACES = kinds.core("namespaces")
COMPONENT = "namespace-controller"
FINALIZER = "kubernetes"
#: How soon to look again while content is still going away (simulated seconds).
RECHECK_SECONDS = 2.0


@dataclass(frozen=True)
class Finalize(Update):
    """``PUT /api/v1/namespaces/<name>/finalize`` with the object's new ``spec.finalizers``.

    A runner must recognise it before plain :class:`Update` (it is one, for typing).
    """

    def finalize(self, registry: Any) -> None:
        """Apply through a registry offering ``update(info, obj, subresource=...)``."""
        registry.update(self.info, self.obj, subresource="finalize")


def namespaced_kinds() -> tuple[KindInfo, ...]:
    """Every namespaced resource that can be listed and deleted (core events once)."""
    out = []
    for info in kinds.KINDS:
        if not info.namespaced or "delete" not in info.verbs or "list" not in info.verbs:
            continue
        if info.group == "events.k8s.io":
            continue  # the same objects as core/v1 events
        out.append(info)
    return tuple(out)


CONDITION_TYPES = ("NamespaceDeletionDiscoveryFailure", "NamespaceDeletionGroupVersionParsingFailure",
                   "NamespaceDeletionContentFailure", "NamespaceContentRemaining",
                   "NamespaceFinalizersRemaining")
OK_REASONS = {
    "NamespaceDeletionDiscoveryFailure": "ResourcesDiscovered",
    "NamespaceDeletionGroupVersionParsingFailure": "ParsedGroupVersions",
    "NamespaceDeletionContentFailure": "ContentDeleted",
    "NamespaceContentRemaining": "ContentRemoved",
    "NamespaceFinalizersRemaining": "ContentHasNoFinalizers",
}
OK_MESSAGES = {
    "NamespaceDeletionDiscoveryFailure": "All resources successfully discovered",
    "NamespaceDeletionGroupVersionParsingFailure": "All legacy kube types successfully parsed",
    "NamespaceDeletionContentFailure":
        "All content successfully deleted, may be waiting on finalization",
    "NamespaceContentRemaining": "All content successfully removed",
    "NamespaceFinalizersRemaining": "All content-preserving finalizers finished",
}


def deletion_conditions(remaining: dict[str, int], finalizers: dict[str, int],
                        now: str) -> list[dict[str, Any]]:
    """The five deletion conditions, in upstream order, for what is still there."""
    out = []
    for ctype in CONDITION_TYPES:
        status, reason, message = "False", OK_REASONS[ctype], OK_MESSAGES[ctype]
        if ctype == "NamespaceContentRemaining" and remaining:
            status, reason = "True", "SomeResourcesRemain"
            message = "Some resources are remaining: " + ", ".join(
                f"{gr} has {n} resource instances" for gr, n in sorted(remaining.items()))
        if ctype == "NamespaceFinalizersRemaining" and finalizers:
            status, reason = "True", "SomeFinalizersRemain"
            message = "Some content in the namespace has finalizers remaining: " + ", ".join(
                f"{f} in {n} resource instances" for f, n in sorted(finalizers.items()))
        out.append({"type": ctype, "status": status, "lastTransitionTime": now,
                    "reason": reason, "message": message})
    return out


class NamespaceController:
    """``namespace-controller``: empty a terminating namespace, then finalize it."""

    name = COMPONENT

    def __init__(self) -> None:
        self.content_kinds = namespaced_kinds()
        self.watches: tuple[KindInfo, ...] = (NAMESPACES, *self.content_kinds)

    def keys_for(self, info: KindInfo, obj: Obj, snapshot: Snapshot) -> Iterable[Key]:
        if info == NAMESPACES:
            if common.is_deleting(obj):
                yield Key.of(info, obj)
            return
        ns = snapshot.get(NAMESPACES, "", common.namespace_of(obj))
        if ns is not None and common.is_deleting(ns):
            yield Key.of(NAMESPACES, ns)

    def reconcile(self, snapshot: Snapshot, key: Key, clock: Clock) -> Result:
        """Pure: delete content, report conditions, finalize when empty."""
        ns = snapshot.get(NAMESPACES, "", key.name)
        if ns is None or not common.is_deleting(ns):
            return Result()
        writes = common.Writes()
        remaining: dict[str, int] = {}
        finalizers: dict[str, int] = {}
        for info in self.content_kinds:
            objs = snapshot.list(info, key.name)
            if not objs:
                continue
            remaining[info.group_resource] = len(objs)
            for obj in objs:
                for f in obj.get("metadata", {}).get("finalizers") or []:
                    finalizers[f] = finalizers.get(f, 0) + 1
                if not common.is_deleting(obj):
                    writes.delete(info, obj)
        status = deep_copy_json(ns.get("status") or {})
        status["phase"] = "Terminating"
        conditions = list(status.get("conditions") or [])
        for cond in deletion_conditions(remaining, finalizers, common.now_str(clock)):
            common.set_condition(conditions, cond, same=("status", "reason", "message"))
        status["conditions"] = sorted(
            conditions, key=lambda c: CONDITION_TYPES.index(c["type"])
            if c.get("type") in CONDITION_TYPES else len(CONDITION_TYPES))
        status_written = status != ns.get("status")
        if status_written:
            updated = deep_copy_json(ns)
            updated["status"] = status
            writes.update_status(NAMESPACES, updated)
        if remaining:
            return Result(writes.actions(), RECHECK_SECONDS)
        spec_finalizers = list(ns.get("spec", {}).get("finalizers") or [])
        actions = writes.actions()
        if FINALIZER in spec_finalizers:
            done = deep_copy_json(ns)
            done.setdefault("spec", {})["finalizers"] = [
                f for f in spec_finalizers if f != FINALIZER]
            # The status write above already moved resourceVersion.
            if status_written:
                done["metadata"].pop("resourceVersion", None)
            actions.append(Finalize(NAMESPACES, done))
        return Result(actions)
