"""The ServiceAccounts controller: a ``default`` ServiceAccount in every namespace.

Mirrors kube-controller-manager's ``serviceaccount-controller``
(``pkg/controller/serviceaccount/serviceaccounts_controller.go``): every active namespace
gets the ServiceAccounts the controller is configured with (upstream: just ``default``),
created again when someone deletes one. It is why a pod created in a brand-new namespace
runs as ``default`` without anyone making that account, and why ``kubectl get
serviceaccounts`` in a fresh namespace lists it. A namespace being deleted is left alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.clock import Clock
from kubelab.sandbox.controllers import common
from kubelab.sandbox.reconcile.types import Create, Key, Obj, Result, Snapshot

NAMESPACES = kinds.core("namespaces")
SERVICEACCOUNTS = kinds.core("serviceaccounts")
COMPONENT = "serviceaccount-controller"
#: ``--service-account-names`` is not a flag upstream: the controller's options hold this one.
ACCOUNTS = ("default",)


class ServiceAccountsController:
    """``serviceaccount-controller``: keep ``default`` in each active namespace."""

    name = COMPONENT
    watches: tuple[KindInfo, ...] = (NAMESPACES, SERVICEACCOUNTS)

    def keys_for(self, info: KindInfo, obj: Obj, snapshot: Snapshot) -> Iterable[Key]:
        if info == NAMESPACES:
            yield Key.of(NAMESPACES, obj)
        elif common.name_of(obj) in ACCOUNTS:
            yield Key(NAMESPACES.group_resource, "", common.namespace_of(obj))

    def reconcile(self, snapshot: Snapshot, key: Key, clock: Clock) -> Result:
        """Pure: create each missing account in an active namespace."""
        ns = snapshot.get(NAMESPACES, "", key.name)
        if ns is None or common.is_deleting(ns) or \
                (ns.get("status") or {}).get("phase") == "Terminating":
            return Result()
        return Result([
            Create(SERVICEACCOUNTS, {"apiVersion": "v1", "kind": "ServiceAccount",
                                     "metadata": {"name": name, "namespace": key.name}})
            for name in ACCOUNTS if snapshot.get(SERVICEACCOUNTS, key.name, name) is None])
