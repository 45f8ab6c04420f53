"""Garbage collector: background, foreground and orphan propagation."""

from __future__ import annotations

import pytest
from sandbox.controllers.controller_fakes import Cluster

from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.controllers import common
from kubelab.sandbox.controllers.garbage_collector import GarbageCollector
from kubelab.sandbox.reconcile.types import Delete, Key, Obj

DEPLOY = kinds.apps("deployments")
RS = kinds.apps("replicasets")
PODS = kinds.core("pods")


@pytest.fixture
def cluster() -> Cluster:
    return Cluster(ManualClock())


def workload_spec() -> Obj:
    return {"selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}


def owned_by(owner: Obj, info_kind: str, block: bool = True) -> list[Obj]:
    return [{"apiVersion": "apps/v1", "kind": info_kind, "name": owner["metadata"]["name"],
             "uid": owner["metadata"]["uid"], "controller": True,
             "blockOwnerDeletion": block}]


def family(cluster: Cluster) -> tuple[Obj, Obj, list[Obj]]:
    d = cluster.add(DEPLOY, {"metadata": {"name": "web"}, "spec": workload_spec()})
    rs = cluster.add(RS, {"metadata": {"name": "web-1",
                                       "ownerReferences": owned_by(d, "Deployment")},
                          "spec": workload_spec()})
    pods = [cluster.add(PODS, {"metadata": {"name": f"web-1-{i}", "ownerReferences": [
        {**owned_by(rs, "ReplicaSet")[0], "apiVersion": "apps/v1"}]},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
        for i in range(2)]
    return d, rs, pods


def gc_until_quiet(cluster: Cluster, rounds: int = 10) -> None:
    gc = GarbageCollector()
    for _ in range(rounds):
        wrote = False
        for info in gc.watches:
            for key in cluster.keys(info):
                wrote |= bool(cluster.run(gc, key).actions)
        if not wrote:
            return
    raise AssertionError("gc did not settle")


def test_background_deletes_dependents_of_a_vanished_owner(cluster: Cluster) -> None:
    _, _, _pods = family(cluster)
    cluster.delete(DEPLOY, "default", "web")
    assert cluster.get(DEPLOY, "default", "web") is None
    result = GarbageCollector().reconcile(cluster, Key("replicasets.apps", "default", "web-1"),
                                          cluster.clock)
    assert [(type(a), getattr(a, "propagation", None)) for a in result.actions] == [
        (Delete, "Background")]
    gc_until_quiet(cluster)
    assert cluster.list(RS) == [] and cluster.list(PODS) == []


def test_foreground_waits_for_blocking_dependents(cluster: Cluster) -> None:
    family(cluster)
    cluster.delete(DEPLOY, "default", "web", propagation="Foreground")
    d = cluster.get(DEPLOY, "default", "web")
    assert d is not None and d["metadata"]["finalizers"] == ["foregroundDeletion"]
    gc = GarbageCollector()
    # The owner waits while its RS exists.
    assert cluster.run(gc, Key("deployments.apps", "default", "web")).actions == []
    result = cluster.run(gc, Key("replicasets.apps", "default", "web-1"))
    assert [getattr(a, "propagation", None) for a in result.actions] == ["Foreground"]
    rs = cluster.get(RS, "default", "web-1")
    assert rs is not None and common.is_deleting(rs)  # RS itself waits for its pods
    gc_until_quiet(cluster)
    assert cluster.get(DEPLOY, "default", "web") is None
    assert cluster.list(RS) == [] and cluster.list(PODS) == []


def test_orphan_strips_owner_references(cluster: Cluster) -> None:
    family(cluster)
    cluster.delete(DEPLOY, "default", "web", propagation="Orphan")
    gc_until_quiet(cluster)
    assert cluster.get(DEPLOY, "default", "web") is None
    rs = cluster.get(RS, "default", "web-1")
    assert rs is not None and "ownerReferences" not in rs["metadata"]
    assert len(cluster.list(PODS)) == 2  # the pods still belong to the RS


def test_dependent_with_another_live_owner_only_drops_the_dead_ref(
        cluster: Cluster) -> None:
    _d, rs, _ = family(cluster)
    other = cluster.add(DEPLOY, {"metadata": {"name": "other"}, "spec": workload_spec()})
    stored = cluster.objects[("replicasets.apps", "default", "web-1")]
    stored["metadata"]["ownerReferences"].append(
        {**owned_by(other, "Deployment")[0], "controller": False})
    cluster.delete(DEPLOY, "default", "web")
    cluster.run(GarbageCollector(), Key("replicasets.apps", "default", "web-1"))
    rs = cluster.get(RS, "default", "web-1")
    assert rs is not None
    assert [r["name"] for r in rs["metadata"]["ownerReferences"]] == ["other"]


def test_uid_mismatch_counts_as_gone(cluster: Cluster) -> None:
    family(cluster)
    cluster.delete(DEPLOY, "default", "web")
    cluster.add(DEPLOY, {"metadata": {"name": "web"}, "spec": workload_spec()})  # new uid
    result = GarbageCollector().reconcile(cluster, Key("replicasets.apps", "default", "web-1"),
                                          cluster.clock)
    assert any(isinstance(a, Delete) for a in result.actions)
