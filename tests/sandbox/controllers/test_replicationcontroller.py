"""The ReplicationController's strategy and controller on the real registry with a manual
clock.

Upstream: ``SetDefaults_ReplicationController`` (selector and labels from the template),
``ValidateReplicationController`` and ``pkg/controller/replication`` (the ReplicaSet
controller's logic over an equality-based selector).
"""

from __future__ import annotations

import pytest
from sandbox.controllers.controller_fakes import Cluster

from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.errors import ApiError
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.controllers.replicationcontroller import ReplicationControllerController
from kubelab.sandbox.reconcile.types import Key, Obj

RCS = kinds.core("replicationcontrollers")
PODS = kinds.core("pods")


def rc(replicas: int = 2, **spec: object) -> Obj:
    return {"metadata": {"name": "frontend", "namespace": "default"},
            "spec": {"replicas": replicas, **spec,
                     "template": {"metadata": {"labels": {"name": "frontend"}},
                                  "spec": {"containers": [{"name": "nginx",
                                                           "image": "nginx"}]}}}}


KEY = Key("replicationcontrollers", "default", "frontend")


def test_selector_and_labels_default_to_the_templates(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    stored = cluster.add(RCS, rc())
    assert stored["spec"]["selector"] == {"name": "frontend"}
    assert stored["metadata"]["labels"] == {"name": "frontend"}
    assert stored["status"] == {"replicas": 0}
    assert stored["metadata"]["generation"] == 1


def test_a_selector_that_misses_the_template_is_invalid(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    with pytest.raises(ApiError) as refused:
        cluster.add(RCS, rc(selector={"name": "other"}))
    assert refused.value.message == (
        'ReplicationController "frontend" is invalid: spec.template.metadata.labels: Invalid '
        'value: map[string]string{"name":"frontend"}: selector does not match labels in '
        'template')


def test_the_controller_creates_scales_and_adopts(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.add(PODS, {"metadata": {"name": "stray", "labels": {"name": "frontend"}},
                       "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}})
    cluster.add(PODS, {"metadata": {"name": "other", "labels": {"name": "backend"}},
                       "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}})
    cluster.add(RCS, rc(3))
    cluster.run(ReplicationControllerController(), KEY)
    mine = [p for p in cluster.list(PODS, "default")
            if p["metadata"].get("ownerReferences")]
    assert len(mine) == 3
    assert {r["kind"] for p in mine for r in p["metadata"]["ownerReferences"]} == \
        {"ReplicationController"}
    assert "stray" in {p["metadata"]["name"] for p in mine}
    created = cluster.events("SuccessfulCreate")
    assert len(created) == 2 and all(m.startswith("Created pod: frontend-") for m in created)
    cluster.run(ReplicationControllerController(), KEY)
    stored = cluster.get(RCS, "default", "frontend")
    assert stored is not None and stored["status"]["replicas"] == 3
    assert stored["status"]["fullyLabeledReplicas"] == 3

    stored["spec"]["replicas"] = 1
    cluster.update(RCS, stored)
    cluster.run(ReplicationControllerController(), KEY)
    assert len(cluster.events("SuccessfulDelete")) == 2
    keys = list(ReplicationControllerController().keys_for(
        PODS, cluster.get(PODS, "default", "other") or {}, cluster.snapshot))
    assert keys == []


def test_a_quota_counts_replicationcontrollers(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.add(kinds.core("resourcequotas"), {"metadata": {"name": "q"}, "spec": {
        "hard": {"replicationcontrollers": "1"}}})
    cluster.add(RCS, rc())
    second = rc()
    second["metadata"]["name"] = "backend"
    with pytest.raises(ApiError) as refused:
        cluster.add(RCS, second)
    assert refused.value.message == (
        'replicationcontrollers "backend" is forbidden: exceeded quota: q, requested: '
        "replicationcontrollers=1, used: replicationcontrollers=1, limited: "
        "replicationcontrollers=1")
