"""ReplicaSet controller: pod creation, deletion ranking, status and minReadySeconds."""

from __future__ import annotations

import pytest
from sandbox.controllers.controller_fakes import Cluster, events_of, make_ready

from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import ManualClock, rfc3339
from kubelab.sandbox.controllers.replicaset import (
    ReplicaSetController,
    rank_pods_for_deletion,
)
from kubelab.sandbox.reconcile.types import Create, Delete, Key, Obj, UpdateStatus

RS = kinds.apps("replicasets")
PODS = kinds.core("pods")
KEY = Key("replicasets.apps", "default", "web-abc")


@pytest.fixture
def cluster(clock: ManualClock) -> Cluster:
    return Cluster(clock)


def replica_set(replicas: int, min_ready: int = 0) -> Obj:
    labels = {"app": "web", "pod-template-hash": "abc"}
    return {"metadata": {"name": "web-abc", "namespace": "default", "labels": labels},
            "spec": {"replicas": replicas, "minReadySeconds": min_ready,
                     "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": "x"}]}}}}


def test_creates_missing_pods_with_owner_and_events(cluster: Cluster,
                                                     clock: ManualClock) -> None:
    rs = cluster.add(RS, replica_set(3))
    result = ReplicaSetController().reconcile(cluster, KEY, clock)
    pods = [a.obj for a in result.actions if isinstance(a, Create)]
    assert len(pods) == 3
    names = [p["metadata"]["name"] for p in pods]
    assert len(set(names)) == 3
    for pod in pods:
        assert pod["metadata"]["generateName"] == "web-abc-"
        assert pod["metadata"]["name"].startswith("web-abc-")
        assert len(pod["metadata"]["name"]) == len("web-abc-") + 5
        assert pod["metadata"]["labels"] == {"app": "web", "pod-template-hash": "abc"}
        assert pod["metadata"]["ownerReferences"] == [{
            "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-abc",
            "uid": rs["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
    assert events_of(result) == [("SuccessfulCreate", f"Created pod: {n}") for n in names]
    cluster.apply(result.actions)
    result = cluster.run(ReplicaSetController(), KEY)
    assert not [a for a in result.actions if isinstance(a, Create)]
    assert cluster.get(RS, "default", "web-abc")["status"] == {  # type: ignore[index]
        "replicas": 3, "fullyLabeledReplicas": 3, "observedGeneration": 1}


def test_terminating_pods_are_replaced(cluster: Cluster, clock: ManualClock) -> None:
    cluster.add(RS, replica_set(2))
    cluster.run(ReplicaSetController(), KEY)
    key = next(k for k in cluster.objects if k[0] == "pods")
    cluster.objects[key]["metadata"]["deletionTimestamp"] = rfc3339(clock.now())
    result = ReplicaSetController().reconcile(cluster, KEY, clock)
    assert len([a for a in result.actions if isinstance(a, Create)]) == 1


def test_scale_down_deletes_least_valuable_first(cluster: Cluster,
                                                 clock: ManualClock) -> None:
    cluster.add(RS, replica_set(4))
    cluster.run(ReplicaSetController(), KEY)
    keys = sorted(k for k in cluster.objects if k[0] == "pods")
    # pod0: ready on worker-1; pod1: ready on worker-1; pod2: running not ready;
    # pod3: unscheduled (pending).
    cluster.objects[keys[0]] = make_ready(cluster.objects[keys[0]], clock)
    cluster.objects[keys[1]] = make_ready(cluster.objects[keys[1]], clock)
    cluster.objects[keys[2]]["spec"]["nodeName"] = "worker-2"
    cluster.objects[keys[2]]["status"] = {"phase": "Running"}
    rs = cluster.get(RS, "default", "web-abc")
    rs["spec"]["replicas"] = 1  # type: ignore[index]
    cluster.update(RS, rs)  # type: ignore[arg-type]
    result = ReplicaSetController().reconcile(cluster, KEY, clock)
    deleted = [a.name for a in result.actions if isinstance(a, Delete)]
    assert deleted[:2] == [keys[3][2], keys[2][2]]
    assert len(deleted) == 3
    assert ("SuccessfulDelete", f"Deleted pod: {keys[3][2]}") in events_of(result)


def _pod(name: str, *, node: str = "n1", phase: str = "Running", ready_at: str | None = None,
         restarts: int = 0, created: str = "2026-01-01T00:00:00Z") -> Obj:
    status: Obj = {"phase": phase,
                   "containerStatuses": [{"name": "c", "restartCount": restarts}]}
    if ready_at is not None:
        status["conditions"] = [{"type": "Ready", "status": "True",
                                 "lastTransitionTime": ready_at}]
    return {"metadata": {"name": name, "uid": name, "creationTimestamp": created},
            "spec": {"nodeName": node}, "status": status}


@pytest.mark.parametrize(("first", "second"), [
    (_pod("a", node=""), _pod("b")),                                        # unassigned
    (_pod("a", phase="Pending"), _pod("b", phase="Running")),               # phase
    (_pod("a"), _pod("b", ready_at="2026-01-01T00:00:00Z")),                # not ready
    (_pod("a", restarts=5), _pod("b", restarts=0)),                         # restarts
    (_pod("a", created="2026-01-01T00:30:00Z"), _pod("b")),                 # newer first
    (_pod("a", ready_at="2026-01-01T00:59:00Z"),
     _pod("b", ready_at="2026-01-01T00:00:00Z")),                           # ready shorter
], ids=["unassigned", "pending", "not-ready", "restarts", "newer", "ready-shorter"])
def test_pod_ranking(first: Obj, second: Obj) -> None:
    clock = ManualClock()
    clock.advance(3600)
    assert rank_pods_for_deletion([second, first], [], clock)[0] is first
    assert rank_pods_for_deletion([first, second], [], clock)[0] is first


def test_crowded_nodes_lose_pods_first() -> None:
    clock = ManualClock()
    a, b = _pod("a", node="busy"), _pod("b", node="quiet")
    related = [a, b, _pod("c", node="busy"), _pod("d", node="busy")]
    assert rank_pods_for_deletion([b, a], related, clock)[0] is a


def test_available_after_min_ready_seconds_with_requeue(cluster: Cluster,
                                                        clock: ManualClock) -> None:
    cluster.add(RS, replica_set(2, min_ready=30))
    cluster.run(ReplicaSetController(), KEY)
    for key in [k for k in cluster.objects if k[0] == "pods"]:
        cluster.objects[key] = make_ready(cluster.objects[key], clock)
    result = cluster.run(ReplicaSetController(), KEY)
    status = next(a for a in result.actions if isinstance(a, UpdateStatus)).obj["status"]
    assert status.get("readyReplicas") == 2 and "availableReplicas" not in status
    assert result.requeue_after == pytest.approx(30.001)
    clock.advance(result.requeue_after)  # type: ignore[arg-type]
    result = cluster.run(ReplicaSetController(), KEY)
    assert cluster.get(RS, "default", "web-abc")["status"]["availableReplicas"] == 2  # type: ignore[index]
    assert result.requeue_after is None


def test_adopts_orphans_and_releases_mismatched(cluster: Cluster,
                                                clock: ManualClock) -> None:
    cluster.add(RS, replica_set(1))
    cluster.add(PODS, {"metadata": {"name": "stray", "namespace": "default",
                                    "labels": {"app": "web", "pod-template-hash": "abc"}},
                       "spec": {"containers": [{"name": "c", "image": "nginx"}]}, "status": {"phase": "Pending"}})
    result = cluster.run(ReplicaSetController(), KEY)
    assert not [a for a in result.actions if isinstance(a, Create)]
    pod = cluster.get(PODS, "default", "stray")
    assert pod["metadata"]["ownerReferences"][0]["name"] == "web-abc"  # type: ignore[index]
    pod["metadata"]["labels"] = {"app": "other"}  # type: ignore[index]
    cluster.objects[("pods", "default", "stray")] = pod  # type: ignore[assignment]
    result = cluster.run(ReplicaSetController(), KEY)
    assert len([a for a in result.actions if isinstance(a, Create)]) == 1
    assert "ownerReferences" not in cluster.get(PODS, "default", "stray")["metadata"] or \
        cluster.get(PODS, "default", "stray")["metadata"]["ownerReferences"] == []  # type: ignore[index]
