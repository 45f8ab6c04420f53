"""``root-ca-cert-publisher``: ``kube-root-ca.crt`` in every active namespace, kept intact."""

from __future__ import annotations

from sandbox.controllers.controller_fakes import Cluster

from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.controllers import all_controllers
from kubelab.sandbox.controllers.root_ca_publisher import NAME, RootCAPublisher
from kubelab.sandbox.reconcile.types import Key

NAMESPACES = kinds.core("namespaces")
CONFIGMAPS = kinds.core("configmaps")
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def _cluster(*names: str) -> Cluster:
    cluster = Cluster(ManualClock())
    for name in names:
        cluster.add(NAMESPACES, {"metadata": {"name": name}, "spec": {"finalizers": ["kubernetes"]},
                                 "status": {"phase": "Active"}})
    return cluster


def _sync_all(cluster: Cluster, controller: RootCAPublisher) -> None:
    for key in cluster.keys(NAMESPACES):
        cluster.run(controller, key)


def test_every_active_namespace_gets_the_ca_bundle() -> None:
    cluster = _cluster("default", "kube-system", "team-b")
    controller = RootCAPublisher(PEM)
    _sync_all(cluster, controller)
    published = cluster.list(CONFIGMAPS)
    assert sorted(cm["metadata"]["namespace"] for cm in published) == [
        "default", "kube-system", "team-b"]
    cm = cluster.get(CONFIGMAPS, "team-b", NAME)
    assert cm is not None and cm["data"] == {"ca.crt": PEM}
    assert cm["metadata"]["annotations"]["kubernetes.io/description"].startswith(
        "Contains a CA bundle that can be used to verify the kube-apiserver")
    _sync_all(cluster, controller)
    assert len(cluster.list(CONFIGMAPS)) == 3  # nothing written twice


def test_an_edited_or_deleted_bundle_is_put_back() -> None:
    cluster = _cluster("team-b")
    controller = RootCAPublisher(PEM)
    _sync_all(cluster, controller)
    cm = cluster.get(CONFIGMAPS, "team-b", NAME)
    assert cm is not None
    cm = {**cm, "data": {"ca.crt": "tampered"}}
    cluster.update(CONFIGMAPS, cm)
    keys = list(controller.keys_for(CONFIGMAPS, cm, cluster))
    assert keys == [Key(NAMESPACES.group_resource, "", "team-b")]
    cluster.run(controller, keys[0])
    restored = cluster.get(CONFIGMAPS, "team-b", NAME)
    assert restored is not None and restored["data"] == {"ca.crt": PEM}
    cluster.delete(CONFIGMAPS, "team-b", NAME)
    cluster.run(controller, keys[0])
    assert cluster.get(CONFIGMAPS, "team-b", NAME) is not None
    other = {"metadata": {"name": "app-config", "namespace": "team-b"}}
    assert list(controller.keys_for(CONFIGMAPS, other, cluster)) == []


def test_a_namespace_being_deleted_is_left_alone() -> None:
    cluster = _cluster("going")
    cluster.delete(NAMESPACES, "", "going")
    _sync_all(cluster, RootCAPublisher(PEM))
    assert cluster.list(CONFIGMAPS) == []


def test_the_publisher_runs_only_when_the_cluster_has_a_ca() -> None:
    assert "root-ca-cert-publisher" not in [c.name for c in all_controllers()]
    assert "root-ca-cert-publisher" in [c.name for c in all_controllers(PEM)]
