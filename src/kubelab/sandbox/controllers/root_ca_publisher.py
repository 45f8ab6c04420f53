"""The root CA publisher: a ``kube-root-ca.crt`` ConfigMap in every namespace.

Mirrors kube-controller-manager's ``root-ca-cert-publisher``
(``pkg/controller/certificates/rootcacertpublisher``): every active namespace gets a
ConfigMap ``kube-root-ca.crt`` whose ``ca.crt`` is the cluster's CA bundle, so a pod can
verify the API server at ``kubernetes.default.svc``; the controller puts it back when someone
deletes or edits it. It is why ``kubectl get configmaps`` in a fresh namespace of a real
cluster is never empty. A namespace being deleted is left alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from kubelab.apimachinery.types import deep_copy_json
from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.clock import Clock
from kubelab.sandbox.controllers import common
from kubelab.sandbox.reconcile.types import Create, Key, Obj, Result, Snapshot, Update

NAMESPACES = kinds.core("namespaces")
CONFIGMAPS = kinds.core("configmaps")
COMPONENT = "root-ca-cert-publisher"
NAME = "kube-root-ca.crt"
DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using "
               "internal endpoints such as the internal service IP or kubernetes.default.svc. "
               "No other usage is guaranteed across distributions of Kubernetes clusters.")


class RootCAPublisher:
    """``root-ca-cert-publisher``: keep ``kube-root-ca.crt`` in each namespace."""

    name = COMPONENT
    watches: tuple[KindInfo, ...] = (NAMESPACES, CONFIGMAPS)

    def __init__(self, ca_pem: str) -> None:
        self.ca_pem = ca_pem

    def keys_for(self, info: KindInfo, obj: Obj, snapshot: Snapshot) -> Iterable[Key]:
        if info == NAMESPACES:
            yield Key.of(NAMESPACES, obj)
        elif common.name_of(obj) == NAME:
            yield Key(NAMESPACES.group_resource, "", common.namespace_of(obj))

    def reconcile(self, snapshot: Snapshot, key: Key, clock: Clock) -> Result:
        """Pure: create the ConfigMap, or restore its data, in an active namespace."""
        ns = snapshot.get(NAMESPACES, "", key.name)
        if ns is None or common.is_deleting(ns) or \
                (ns.get("status") or {}).get("phase") == "Terminating":
            return Result()
        data = {"ca.crt": self.ca_pem}
        current = snapshot.get(CONFIGMAPS, key.name, NAME)
        if current is None:
            return Result([Create(CONFIGMAPS, {
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": NAME, "namespace": key.name,
                             "annotations": {"kubernetes.io/description": DESCRIPTION}},
                "data": data})])
        if common.is_deleting(current) or current.get("data") == data:
            return Result()
        fixed = deep_copy_json(current)
        fixed["data"] = data
        return Result([Update(CONFIGMAPS, fixed)])
