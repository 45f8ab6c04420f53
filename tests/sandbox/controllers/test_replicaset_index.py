"""A ReplicaSet or Deployment sync reads its own objects and its namespace's orphans only.

The registry's controller-UID index (with a per-namespace orphan key, as kube-controller-
manager's pod indexer has it) is what makes a sync cost O(its pods): these tests count the
objects a sync reads through the snapshot, and check that adoption and release still work
through the index.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sandbox.controllers.controller_fakes import Cluster

from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.controllers.deployment import DeploymentController
from kubelab.sandbox.controllers.replicaset import ReplicaSetController
from kubelab.sandbox.reconcile.types import Create, Key, Obj, Update
from kubelab.sandbox.storage import RegistrySnapshot

RS = kinds.apps("replicasets")
DEPLOYMENTS = kinds.apps("deployments")
PODS = kinds.core("pods")
Objects = list[Obj]


class CountingSnapshot:
    """The registry's snapshot, counting every object it hands out (and by namespace)."""

    def __init__(self, inner: RegistrySnapshot) -> None:
        self.inner = inner
        self.read = 0
        self.namespaces: set[str] = set()

    def _count(self, objs: list[Obj]) -> list[Obj]:
        self.read += len(objs)
        self.namespaces |= {str(o["metadata"].get("namespace", "")) for o in objs}
        return objs

    def get(self, info: KindInfo, namespace: str, name: str) -> Obj | None:
        obj = self.inner.get(info, namespace, name)
        return self._count([obj])[0] if obj is not None else None

    def list(self, info: KindInfo, namespace: str | None = None,
             labels: dict[str, str] | None = None) -> list[Obj]:
        return self._count(self.inner.list(info, namespace, labels))

    def controlled_by(self, info: KindInfo, uid: str) -> Objects:
        return self._count(self.inner.controlled_by(info, uid))

    def orphans(self, info: KindInfo, namespace: str) -> Objects:
        return self._count(self.inner.orphans(info, namespace))

    def dependents(self, uid: str) -> Any:
        return self.inner.dependents(uid)


def replica_set(name: str, namespace: str, replicas: int, app: str) -> Obj:
    labels = {"app": app}
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": "x"}]}}}}


def bring_up(cluster: Cluster, rs: Obj) -> Obj:
    stored = cluster.add(RS, rs)
    cluster.run(ReplicaSetController(), Key.of(RS, stored))  # creates the pods
    cluster.run(ReplicaSetController(), Key.of(RS, stored))  # reports them in status
    return stored


@pytest.fixture
def cluster(clock: ManualClock) -> Cluster:
    return Cluster(clock)


def test_a_sync_reads_only_its_own_pods_and_its_namespaces_orphans(
        cluster: Cluster, clock: ManualClock) -> None:
    # 120 pods of another ReplicaSet in the same namespace, 120 in another namespace.
    bring_up(cluster, replica_set("big", "default", 120, "big"))
    bring_up(cluster, replica_set("far", "elsewhere", 120, "web"))
    mine = bring_up(cluster, replica_set("web", "default", 3, "web"))
    orphan = {"metadata": {"name": "stray", "namespace": "default", "labels": {"x": "y"}},
              "spec": {"containers": [{"name": "c", "image": "x"}]}}
    cluster.add(PODS, orphan)
    assert len(cluster.list(PODS)) == 244

    snapshot = CountingSnapshot(cluster.snapshot)
    result = ReplicaSetController().reconcile(snapshot, Key.of(RS, mine), clock)
    assert result.actions == []  # nothing to do: 3 pods, status written
    # The ReplicaSet, its 3 pods and the one orphan: not the 240 other pods.
    assert snapshot.read == 1 + 3 + 1
    assert snapshot.namespaces == {"default"}

    # Scaling up looks names up one by one rather than listing the namespace.
    scaled = cluster.get(RS, "default", "web")
    assert scaled is not None
    scaled["spec"]["replicas"] = 5
    cluster.update(RS, scaled)
    snapshot = CountingSnapshot(cluster.snapshot)
    result = ReplicaSetController().reconcile(snapshot, Key.of(RS, mine), clock)
    assert len([a for a in result.actions if isinstance(a, Create)]) == 2
    assert snapshot.read == 1 + 3 + 1


def test_orphans_are_adopted_and_strays_released_through_the_index(
        cluster: Cluster, clock: ManualClock) -> None:
    rs = bring_up(cluster, replica_set("web", "default", 2, "web"))
    uid = rs["metadata"]["uid"]
    cluster.add(PODS, {"metadata": {"name": "lost", "namespace": "default",
                                    "labels": {"app": "web"}},
                       "spec": {"containers": [{"name": "c", "image": "x"}]}})
    cluster.add(PODS, {"metadata": {"name": "other", "namespace": "default",
                                    "labels": {"app": "db"}},
                       "spec": {"containers": [{"name": "c", "image": "x"}]}})
    assert [p["metadata"]["name"] for p in cluster.snapshot.orphans(PODS, "default")] == \
        ["lost", "other"]

    result = cluster.run(ReplicaSetController(), Key.of(RS, rs))
    adopted = [a.obj["metadata"]["name"] for a in result.actions if isinstance(a, Update)]
    assert adopted == ["lost"]
    # 3 pods for 2 replicas: one deleted; the index follows the adoption.
    assert [p["metadata"]["name"] for p in cluster.snapshot.orphans(PODS, "default")] == \
        ["other"]
    owned = cluster.snapshot.controlled_by(PODS, uid)
    assert "lost" in {p["metadata"]["name"] for p in owned}

    # A pod relabelled out of the selector is released: an orphan again.
    pod = copy.deepcopy(next(p for p in owned if not p["metadata"].get("deletionTimestamp")))
    pod["metadata"]["labels"] = {"app": "elsewhere"}
    cluster.update(PODS, pod)
    cluster.run(ReplicaSetController(), Key.of(RS, rs))
    assert pod["metadata"]["name"] in {
        p["metadata"]["name"] for p in cluster.snapshot.orphans(PODS, "default")}
    assert pod["metadata"]["name"] not in {
        p["metadata"]["name"] for p in cluster.snapshot.controlled_by(PODS, uid)}


def test_the_index_forgets_deleted_objects(cluster: Cluster) -> None:
    rs = bring_up(cluster, replica_set("web", "default", 2, "web"))
    uid = rs["metadata"]["uid"]
    assert len(cluster.snapshot.controlled_by(PODS, uid)) == 2
    for pod in cluster.list(PODS):
        cluster.delete(PODS, "default", pod["metadata"]["name"], grace_period_seconds=0)
    assert cluster.snapshot.controlled_by(PODS, uid) == []
    assert cluster.registry._controlled == {}
    assert not any(cluster.registry._orphans.get((PODS.group_resource, ns))
                   for ns in ("default",))


def test_a_deployment_sync_reads_its_replica_sets_not_the_namespaces_pods(
        cluster: Cluster, clock: ManualClock) -> None:
    bring_up(cluster, replica_set("big", "default", 150, "big"))
    labels = {"app": "web"}
    deploy = cluster.add(DEPLOYMENTS, {
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                 "strategy": {"type": "Recreate"},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "c", "image": "x"}]}}}})
    key = Key.of(DEPLOYMENTS, deploy)
    cluster.run(DeploymentController(), key)
    new_rs = cluster.snapshot.controlled_by(RS, deploy["metadata"]["uid"])
    assert len(new_rs) == 1
    cluster.run(ReplicaSetController(), Key.of(RS, new_rs[0]))

    snapshot = CountingSnapshot(cluster.snapshot)
    DeploymentController().reconcile(snapshot, key, clock)
    # The Deployment, its ReplicaSet and the orphan ReplicaSet "big": no pod at all.
    assert snapshot.read <= 4
