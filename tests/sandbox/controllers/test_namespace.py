"""Namespace deletion: content first, conditions, then the finalize subresource."""

from __future__ import annotations

from sandbox.controllers.controller_fakes import Cluster

from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.controllers.namespace import Finalize, NamespaceController
from kubelab.sandbox.reconcile.types import Key, Update

NS = kinds.core("namespaces")
PODS = kinds.core("pods")
CM = kinds.core("configmaps")
KEY = Key("namespaces", "", "shop")


def test_terminating_namespace_empties_then_finalizes() -> None:
    cluster = Cluster(ManualClock())
    cluster.add(NS, {"metadata": {"name": "shop"}, "spec": {"finalizers": ["kubernetes"]},
                     "status": {"phase": "Active"}})
    cluster.add(PODS, {"metadata": {"name": "a", "namespace": "shop",
                                    "finalizers": ["example.com/hold"]},
                       "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    cluster.add(CM, {"metadata": {"name": "cfg", "namespace": "shop"}})
    cluster.delete(NS, "", "shop")
    controller = NamespaceController()
    result = cluster.run(controller, KEY)
    assert result.requeue_after is not None
    ns = cluster.get(NS, "", "shop")
    assert ns is not None and ns["status"]["phase"] == "Terminating"
    conds = {c["type"]: c for c in ns["status"]["conditions"]}
    assert conds["NamespaceContentRemaining"]["reason"] == "SomeResourcesRemain"
    assert conds["NamespaceContentRemaining"]["message"] == (
        "Some resources are remaining: configmaps has 1 resource instances, "
        "pods has 1 resource instances")
    assert conds["NamespaceFinalizersRemaining"]["message"] == (
        "Some content in the namespace has finalizers remaining: example.com/hold in 1 "
        "resource instances")
    assert conds["NamespaceDeletionDiscoveryFailure"]["reason"] == "ResourcesDiscovered"
    assert cluster.list(CM) == []  # deleted; the pod waits on its finalizer
    pod = cluster.objects[("pods", "shop", "a")]
    pod["metadata"]["finalizers"] = []
    cluster.objects.pop(("pods", "shop", "a"))
    result = controller.reconcile(cluster, KEY, cluster.clock)
    finalize = [a for a in result.actions if isinstance(a, Finalize)]
    assert len(finalize) == 1 and isinstance(finalize[0], Update)
    assert finalize[0].obj["spec"]["finalizers"] == []
    cluster.apply(result.actions)
    assert cluster.get(NS, "", "shop") is None


def test_live_namespace_is_ignored() -> None:
    cluster = Cluster(ManualClock())
    cluster.add(NS, {"metadata": {"name": "shop"}, "spec": {"finalizers": ["kubernetes"]}})
    assert NamespaceController().reconcile(cluster, KEY, cluster.clock).actions == []
