"""The StatefulSet controller on the real registry with a manual clock.

Upstream: ``pkg/controller/statefulset`` (ordered creation, ``<set>-<n>`` names, claims from
``volumeClaimTemplates``, ControllerRevisions, RollingUpdate with partition in reverse
ordinal order, OnDelete, the status counters). Pods become Running and Ready here as their
kubelet would report it.
"""

from __future__ import annotations

import copy
from typing import Any

from sandbox.controllers.controller_fakes import Cluster

from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import ManualClock, rfc3339
from kubelab.sandbox.controllers.garbage_collector import GarbageCollector
from kubelab.sandbox.controllers.statefulset import StatefulSetController, template_of
from kubelab.sandbox.reconcile.types import Key, Obj

STS = kinds.apps("statefulsets")
REVISIONS = kinds.apps("controllerrevisions")
PODS = kinds.core("pods")
PVCS = kinds.core("persistentvolumeclaims")


def web(replicas: int = 2, **spec: Any) -> Obj:
    return {"metadata": {"name": "web", "namespace": "default"},
            "spec": {"serviceName": "nginx", "replicas": replicas,
                     "selector": {"matchLabels": {"app": "nginx"}},
                     "template": {"metadata": {"labels": {"app": "nginx"}},
                                  "spec": {"containers": [{
                                      "name": "nginx", "image": "registry.k8s.io/nginx-slim:0.24",
                                      "volumeMounts": [{"name": "www",
                                                        "mountPath": "/usr/share/nginx/html"}]}]}},
                     "volumeClaimTemplates": [{"metadata": {"name": "www"}, "spec": {
                         "accessModes": ["ReadWriteOnce"],
                         "resources": {"requests": {"storage": "1Gi"}}}}],
                     **spec}}


KEY = Key("statefulsets.apps", "default", "web")


def pod_names(cluster: Cluster) -> list[str]:
    return sorted(p["metadata"]["name"] for p in cluster.list(PODS, "default")
                  if not p["metadata"].get("deletionTimestamp"))


def make_ready(cluster: Cluster, clock: ManualClock) -> None:
    """What the kubelet reports once a pod's containers run and pass readiness."""
    now = rfc3339(clock.now())
    for pod in cluster.list(PODS, "default"):
        if pod.get("status", {}).get("phase") == "Running" or pod["metadata"].get(
                "deletionTimestamp"):
            continue
        pod = copy.deepcopy(pod)
        pod["status"] = {"phase": "Running", "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": now}]}
        cluster.update_status(PODS, pod)


def converge(cluster: Cluster, clock: ManualClock, rounds: int = 30) -> None:
    for _ in range(rounds):
        cluster.run(StatefulSetController(), KEY)
        cluster.finish_terminating_pods()
        make_ready(cluster, clock)
        clock.advance(1)
    cluster.run(StatefulSetController(), KEY)


def status(cluster: Cluster) -> Obj:
    found = cluster.get(STS, "default", "web")
    assert found is not None
    return dict(found["status"])


def test_defaults_and_validation_follow_upstream(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    stored = cluster.add(STS, web())
    spec = stored["spec"]
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain",
                                                             "whenScaled": "Retain"}
    assert spec["revisionHistoryLimit"] == 10
    claim = spec["volumeClaimTemplates"][0]
    assert (claim["apiVersion"], claim["kind"], claim["spec"]["volumeMode"],
            claim["status"]) == ("v1", "PersistentVolumeClaim", "Filesystem",
                                 {"phase": "Pending"})
    assert stored["status"] == {"replicas": 0, "availableReplicas": 0}


def test_ordered_ready_creates_one_pod_at_a_time_with_its_claim(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.add(STS, web())
    cluster.run(StatefulSetController(), KEY)
    assert pod_names(cluster) == ["web-0"]
    [claim] = cluster.list(PVCS, "default")
    assert claim["metadata"]["name"] == "www-web-0"
    assert claim["metadata"]["labels"] == {"app": "nginx"}
    pod = cluster.get(PODS, "default", "web-0")
    assert pod is not None
    assert pod["spec"]["hostname"] == "web-0" and pod["spec"]["subdomain"] == "nginx"
    assert {"name": "www", "persistentVolumeClaim": {"claimName": "www-web-0"}} in \
        pod["spec"]["volumes"]
    labels = pod["metadata"]["labels"]
    assert labels["statefulset.kubernetes.io/pod-name"] == "web-0"
    assert labels["apps.kubernetes.io/pod-index"] == "0"
    [revision] = cluster.list(REVISIONS, "default")
    assert labels["controller-revision-hash"] == revision["metadata"]["name"]
    assert revision["revision"] == 1
    assert revision["data"]["spec"]["template"]["$patch"] == "replace"
    # web-1 waits until web-0 is Running and Ready.
    cluster.run(StatefulSetController(), KEY)
    assert pod_names(cluster) == ["web-0"]
    make_ready(cluster, clock)
    cluster.run(StatefulSetController(), KEY)
    assert pod_names(cluster) == ["web-0", "web-1"]
    assert cluster.events("SuccessfulCreate") == [
        "create Claim www-web-0 Pod web-0 in StatefulSet web success",
        "create Pod web-0 in StatefulSet web successful",
        "create Claim www-web-1 Pod web-1 in StatefulSet web success",
        "create Pod web-1 in StatefulSet web successful"]
    make_ready(cluster, clock)
    cluster.run(StatefulSetController(), KEY)
    got = status(cluster)
    assert (got["replicas"], got["readyReplicas"], got["currentReplicas"],
            got["updatedReplicas"], got["availableReplicas"]) == (2, 2, 2, 2, 2)
    assert got["currentRevision"] == got["updateRevision"] == revision["metadata"]["name"]


def test_parallel_creates_and_scale_down_removes_the_highest_ordinal_first(
        clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.add(STS, web(3, podManagementPolicy="Parallel"))
    cluster.run(StatefulSetController(), KEY)
    assert pod_names(cluster) == ["web-0", "web-1", "web-2"]

    ordered = Cluster(clock)
    ordered.add(STS, web(4))
    converge(ordered, clock)
    assert pod_names(ordered) == ["web-0", "web-1", "web-2", "web-3"]
    sts = ordered.get(STS, "default", "web")
    assert sts is not None
    sts["spec"]["replicas"] = 2
    ordered.update(STS, sts)
    ordered.run(StatefulSetController(), KEY)
    # One at a time, the highest ordinal first (an unbound pod goes at once).
    assert pod_names(ordered) == ["web-0", "web-1", "web-2"]
    assert ordered.events("SuccessfulDelete") == [
        "delete Pod web-3 in StatefulSet web successful"]
    ordered.run(StatefulSetController(), KEY)
    assert pod_names(ordered) == ["web-0", "web-1"]
    assert ordered.events("SuccessfulDelete") == [
        "delete Pod web-3 in StatefulSet web successful",
        "delete Pod web-2 in StatefulSet web successful"]
    # Claims stay (whenScaled: Retain).
    assert sorted(c["metadata"]["name"] for c in ordered.list(PVCS, "default")) == [
        "www-web-0", "www-web-1", "www-web-2", "www-web-3"]


def _set_image(cluster: Cluster, image: str, partition: int | None = None) -> None:
    sts = cluster.get(STS, "default", "web")
    assert sts is not None
    sts["spec"]["template"]["spec"]["containers"][0]["image"] = image
    if partition is not None:
        sts["spec"]["updateStrategy"] = {"type": "RollingUpdate",
                                         "rollingUpdate": {"partition": partition}}
    cluster.update(STS, sts)


def _images(cluster: Cluster) -> dict[str, str]:
    return {p["metadata"]["name"]: p["spec"]["containers"][0]["image"]
            for p in cluster.list(PODS, "default")}


def test_rolling_update_goes_in_reverse_ordinal_order_and_honours_the_partition(
        clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.add(STS, web(3))
    converge(cluster, clock)
    first = status(cluster)["currentRevision"]
    _set_image(cluster, "registry.k8s.io/nginx-slim:0.21", partition=2)
    cluster.run(StatefulSetController(), KEY)
    # Only web-2 (ordinal >= partition) is replaced, and it goes first.
    assert cluster.events("SuccessfulDelete") == ["delete Pod web-2 in StatefulSet web successful"]
    converge(cluster, clock)
    assert _images(cluster) == {"web-0": "registry.k8s.io/nginx-slim:0.24",
                                "web-1": "registry.k8s.io/nginx-slim:0.24",
                                "web-2": "registry.k8s.io/nginx-slim:0.21"}
    got = status(cluster)
    assert got["currentRevision"] == first and got["updateRevision"] != first
    assert (got["currentReplicas"], got["updatedReplicas"]) == (2, 1)
    # A pod below the partition that is deleted comes back at the current revision.
    cluster.delete(PODS, "default", "web-0", grace_period_seconds=0)
    converge(cluster, clock)
    assert _images(cluster)["web-0"] == "registry.k8s.io/nginx-slim:0.24"
    # Partition 0: the rest roll, web-1 before web-0; then the update revision is current.
    sts = cluster.get(STS, "default", "web")
    assert sts is not None
    sts["spec"]["updateStrategy"]["rollingUpdate"]["partition"] = 0
    cluster.update(STS, sts)
    converge(cluster, clock)
    assert set(_images(cluster).values()) == {"registry.k8s.io/nginx-slim:0.21"}
    deleted = cluster.events("SuccessfulDelete")
    assert deleted.index("delete Pod web-1 in StatefulSet web successful") < \
        len(deleted) - 1 - deleted[::-1].index("delete Pod web-0 in StatefulSet web successful")
    got = status(cluster)
    assert got["currentRevision"] == got["updateRevision"] != first
    assert got["currentReplicas"] == got["updatedReplicas"] == 3
    assert len(cluster.list(REVISIONS, "default")) == 2


def test_a_template_equal_to_an_old_revision_reuses_it_with_the_next_number(
        clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.add(STS, web(1))
    converge(cluster, clock)
    _set_image(cluster, "registry.k8s.io/nginx-slim:0.21")
    converge(cluster, clock)
    _set_image(cluster, "registry.k8s.io/nginx-slim:0.24")  # what rollout undo writes
    converge(cluster, clock)
    revisions = {r["metadata"]["name"]: r["revision"] for r in cluster.list(REVISIONS)}
    assert sorted(revisions.values()) == [2, 3]
    current = status(cluster)["currentRevision"]
    assert revisions[current] == 3
    [revision] = [r for r in cluster.list(REVISIONS) if r["metadata"]["name"] == current]
    assert template_of(revision)["spec"]["containers"][0]["image"] == \
        "registry.k8s.io/nginx-slim:0.24"


def test_on_delete_replaces_only_pods_deleted_by_hand(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.add(STS, web(2, updateStrategy={"type": "OnDelete"}))
    converge(cluster, clock)
    _set_image(cluster, "registry.k8s.io/nginx-slim:0.21")
    converge(cluster, clock)
    assert set(_images(cluster).values()) == {"registry.k8s.io/nginx-slim:0.24"}
    cluster.delete(PODS, "default", "web-1", grace_period_seconds=0)
    converge(cluster, clock)
    assert _images(cluster) == {"web-0": "registry.k8s.io/nginx-slim:0.24",
                                "web-1": "registry.k8s.io/nginx-slim:0.21"}
    assert status(cluster)["updatedReplicas"] == 1


def test_a_failed_pod_is_deleted_and_recreated_with_the_same_name(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.add(STS, web(1))
    converge(cluster, clock)
    pod = cluster.get(PODS, "default", "web-0")
    assert pod is not None
    old_uid = pod["metadata"]["uid"]
    pod["status"] = {"phase": "Failed"}
    cluster.update_status(PODS, pod)
    converge(cluster, clock)
    again = cluster.get(PODS, "default", "web-0")
    assert again is not None and again["metadata"]["uid"] != old_uid


def test_deleting_the_set_collects_its_pods_and_revisions_but_keeps_claims(
        clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.add(STS, web(2))
    converge(cluster, clock)
    cluster.delete(STS, "default", "web")
    gc = GarbageCollector()
    for info in (PODS, REVISIONS, PVCS):
        for obj in cluster.list(info, "default"):
            cluster.run(gc, Key.of(info, obj))
    cluster.finish_terminating_pods()
    assert cluster.list(PODS, "default") == []
    assert cluster.list(REVISIONS, "default") == []
    assert len(cluster.list(PVCS, "default")) == 2


def test_a_parallel_set_of_two_billion_replicas_creates_500_pods_a_pass(
        clock: ManualClock) -> None:
    """``replicas: 2147483647`` (a valid int32) must not plan two billion writes in one
    sync: a pass creates BURST_PODS pods, the next pass (their events) the next ones."""
    cluster = Cluster(clock)
    cluster.add(STS, web(2**31 - 1, podManagementPolicy="Parallel"))
    cluster.run(StatefulSetController(), KEY)
    assert len(pod_names(cluster)) == 500
    assert pod_names(cluster)[:2] == ["web-0", "web-1"]
    cluster.run(StatefulSetController(), KEY)
    assert len(pod_names(cluster)) == 1000
