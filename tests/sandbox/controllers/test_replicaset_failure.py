"""ReplicaSet and Deployment status when the API server refuses a pod (exceeded quota).

Upstream (``replica_set.go`` ``syncReplicaSet``, ``replica_set_utils.go`` ``calculateStatus``)
writes the status even when ``manageReplicas`` failed: ``replicas`` counts the pods the
ReplicaSet has, and a ``ReplicaFailure`` condition (``FailedCreate``, the error's message)
appears; the next sync without an error removes it. The Deployment controller copies the
condition (``progress.go`` ``getReplicaFailures``). Run here on the real registry, whose
quota admission refuses the third pod, with the runner's handling of a refused create.
"""

from __future__ import annotations

import pytest
from sandbox.controllers.controller_fakes import Cluster, deployment

from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import ManualClock, rfc3339
from kubelab.sandbox.controllers.deployment import DeploymentController
from kubelab.sandbox.controllers.replicaset import ReplicaSetController
from kubelab.sandbox.reconcile.types import Key, Obj

RS = kinds.apps("replicasets")
DEPLOYMENTS = kinds.apps("deployments")
PODS = kinds.core("pods")
QUOTAS = kinds.core("resourcequotas")
KEY = Key("replicasets.apps", "default", "web-abc")


def replica_set(replicas: int) -> Obj:
    labels = {"app": "web", "pod-template-hash": "abc"}
    return {"metadata": {"name": "web-abc", "namespace": "default", "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": "x"}]}}}}


def quota(pods: int) -> Obj:
    hard = {"pods": str(pods)}
    return {"metadata": {"name": "q", "namespace": "default"}, "spec": {"hard": hard},
            "status": {"hard": hard, "used": {"pods": "0"}}}


@pytest.fixture
def cluster_with_quota(clock: ManualClock) -> Cluster:
    cluster = Cluster(clock)
    cluster.add(QUOTAS, quota(2))
    return cluster


def sync_until_settled(cluster: Cluster, key: Key = KEY, rounds: int = 4) -> None:
    for _ in range(rounds):
        cluster.run(ReplicaSetController(), key)


def test_a_refused_create_reports_replica_failure_and_counts_the_pods(
        cluster_with_quota: Cluster, clock: ManualClock) -> None:
    cluster = cluster_with_quota
    cluster.add(RS, replica_set(3))
    sync_until_settled(cluster)
    assert len(cluster.list(PODS)) == 2
    assert cluster.refused, "the quota admitted a third pod"
    status = cluster.get(RS, "default", "web-abc")["status"]  # type: ignore[index]
    assert status["replicas"] == 2
    [condition] = status["conditions"]
    assert condition == {
        "type": "ReplicaFailure", "status": "True", "lastTransitionTime": rfc3339(clock.now()),
        "reason": "FailedCreate", "message": cluster.refused[0]}
    assert condition["message"].startswith('pods "web-abc-')
    assert "is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2" \
        in condition["message"]
    assert cluster.events("FailedCreate")[0] == "Error creating: " + cluster.refused[0]


def test_the_condition_stays_unchanged_while_failing_and_goes_once_creates_succeed(
        cluster_with_quota: Cluster, clock: ManualClock) -> None:
    cluster = cluster_with_quota
    cluster.add(RS, replica_set(3))
    sync_until_settled(cluster)
    first = cluster.get(RS, "default", "web-abc")["status"]["conditions"]  # type: ignore[index]
    clock.advance(30)
    sync_until_settled(cluster)
    assert cluster.get(RS, "default", "web-abc")["status"]["conditions"] == first  # type: ignore[index]
    raised = cluster.get(QUOTAS, "default", "q")
    assert raised is not None
    raised["spec"]["hard"] = raised["status"]["hard"] = {"pods": "3"}
    cluster.update(QUOTAS, raised)
    cluster.update_status(QUOTAS, cluster.get(QUOTAS, "default", "q") | {
        "status": raised["status"]})
    sync_until_settled(cluster)
    status = cluster.get(RS, "default", "web-abc")["status"]  # type: ignore[index]
    assert len(cluster.list(PODS)) == 3
    assert status["replicas"] == 3
    assert "conditions" not in status


def test_the_deployment_copies_its_replica_sets_failure(
        cluster_with_quota: Cluster, clock: ManualClock) -> None:
    cluster = cluster_with_quota
    cluster.add(DEPLOYMENTS, deployment("web", replicas=3))
    dkey = Key("deployments.apps", "default", "web")
    cluster.run(DeploymentController(), dkey)
    [rs] = cluster.list(RS)
    rkey = Key.of(RS, rs)
    sync_until_settled(cluster, rkey)
    cluster.run(DeploymentController(), dkey)
    rs_failure = next(c for c in cluster.get(RS, "default", rs["metadata"]["name"])  # type: ignore[index]
                      ["status"]["conditions"] if c["type"] == "ReplicaFailure")
    status = cluster.get(DEPLOYMENTS, "default", "web")["status"]  # type: ignore[index]
    failure = next(c for c in status["conditions"] if c["type"] == "ReplicaFailure")
    assert failure == {"type": "ReplicaFailure", "status": "True",
                       "lastUpdateTime": rs_failure["lastTransitionTime"],
                       "lastTransitionTime": rs_failure["lastTransitionTime"],
                       "reason": "FailedCreate", "message": rs_failure["message"]}
    assert status["replicas"] == 2
