"""Deployment controller: first sync, rolling updates under the fencepost invariants,
Recreate, rollback bookkeeping, proportional scaling, pause and the progress deadline."""

from __future__ import annotations

import copy

import pytest
from sandbox.controllers.controller_fakes import Cluster, deployment, events_of, make_ready

from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.controllers import common
from kubelab.sandbox.controllers import deployment_util as du
from kubelab.sandbox.controllers.deployment import DeploymentController
from kubelab.sandbox.controllers.replicaset import ReplicaSetController
from kubelab.sandbox.reconcile.types import Create, Key, Obj, UpdateStatus

DEPLOY = kinds.apps("deployments")
RS = kinds.apps("replicasets")
PODS = kinds.core("pods")
KEY = Key("deployments.apps", "default", "web")


@pytest.fixture
def cluster(clock: ManualClock) -> Cluster:
    return Cluster(clock)


def settle(cluster: Cluster, check: object = None, rounds: int = 50) -> None:
    """Run both controllers until neither writes anything; ``check`` after every batch."""
    dc, rsc = DeploymentController(), ReplicaSetController()
    for _ in range(rounds):
        wrote = False
        for key in cluster.keys(DEPLOY):
            result = cluster.run(dc, key)
            wrote |= any(not hasattr(a, "reason") for a in result.actions)
            if callable(check):
                check()
        for key in cluster.keys(RS):
            result = cluster.run(rsc, key)
            wrote |= any(not hasattr(a, "reason") for a in result.actions)
            if callable(check):
                check()
        if not wrote:
            return
    raise AssertionError("controllers did not settle")


def kubelet(cluster: Cluster, clock: ManualClock) -> None:
    """Every pending pod starts and turns Ready now."""
    for key, pod in list(cluster.objects.items()):
        if key[0] == "pods" and not pod.get("status", {}).get("conditions"):
            cluster.objects[key] = make_ready(pod, clock)


def rs_by_image(cluster: Cluster) -> dict[str, Obj]:
    return {rs["spec"]["template"]["spec"]["containers"][0]["image"]: rs
            for rs in cluster.list(RS)}


def available_pods(cluster: Cluster, min_ready: int, clock: ManualClock) -> int:
    return sum(1 for p in cluster.list(PODS)
               if common.is_pod_active(p) and du.is_pod_available(p, min_ready, clock))


def rollout_complete(cluster: Cluster) -> bool:
    d = cluster.get(DEPLOY, "default", "web")
    assert d is not None
    s, want = d.get("status", {}), d["spec"]["replicas"]
    return (s.get("observedGeneration", 0) >= d["metadata"]["generation"]
            and s.get("updatedReplicas", 0) == want == s.get("replicas", 0)
            and s.get("availableReplicas", 0) == want)


def roll(cluster: Cluster, clock: ManualClock, check: object = None,
         max_steps: int = 100) -> int:
    steps = 0
    settle(cluster, check)
    while not rollout_complete(cluster):
        steps += 1
        assert steps < max_steps, "rollout never completed"
        kubelet(cluster, clock)
        settle(cluster, check)
        clock.advance(10)
        settle(cluster, check)
    return steps


def set_image(cluster: Cluster, image: str) -> None:
    d = cluster.get(DEPLOY, "default", "web")
    assert d is not None
    d["spec"]["template"]["spec"]["containers"][0]["image"] = image
    cluster.update(DEPLOY, d)


def test_first_sync_creates_the_new_replica_set(cluster: Cluster,
                                                clock: ManualClock) -> None:
    d = cluster.add(DEPLOY, deployment(replicas=3))
    result = DeploymentController().reconcile(cluster, KEY, clock)
    creates = [a for a in result.actions if isinstance(a, Create)]
    assert len(creates) == 1
    rs = creates[0].obj
    pod_hash = du.compute_hash(d["spec"]["template"])
    assert rs["metadata"]["name"] == f"web-{pod_hash}"
    assert rs["metadata"]["labels"] == {"app": "web", "pod-template-hash": pod_hash}
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "web",
                                                     "pod-template-hash": pod_hash}
    assert rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == pod_hash
    assert rs["spec"]["replicas"] == 3
    assert rs["metadata"]["ownerReferences"] == [{
        "apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
        "uid": d["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
    assert rs["metadata"]["annotations"] == {du.REVISION_ANNOTATION: "1",
                                             du.DESIRED_REPLICAS_ANNOTATION: "3",
                                             du.MAX_REPLICAS_ANNOTATION: "4"}
    assert events_of(result) == [("ScalingReplicaSet",
                                  f"Scaled up replica set web-{pod_hash} from 0 to 3")]
    status = next(a for a in result.actions if isinstance(a, UpdateStatus)).obj["status"]
    progressing = du.get_condition(status, "Progressing")
    assert progressing is not None
    assert progressing["reason"] == "NewReplicaSetCreated"
    assert progressing["message"] == f'Created new replica set "web-{pod_hash}"'
    assert du.get_condition(status, "Available")["status"] == "False"  # type: ignore[index]
    assert status["observedGeneration"] == 1
    cluster.apply(result.actions)
    stored = cluster.get(DEPLOY, "default", "web")
    assert stored["metadata"]["annotations"][du.REVISION_ANNOTATION] == "1"  # type: ignore[index]


def _invariant(cluster: Cluster, clock: ManualClock, replicas: int, surge: int,
               unavailable: int, min_ready: int) -> object:
    def check() -> None:
        active = [p for p in cluster.list(PODS) if common.is_pod_active(p)]
        assert len(active) <= replicas + surge
        total_spec = sum(du.rs_replicas(rs) for rs in cluster.list(RS))
        assert total_spec <= replicas + surge
        assert available_pods(cluster, min_ready, clock) >= replicas - unavailable
    return check


@pytest.mark.parametrize(("replicas", "surge", "unavailable", "min_ready", "resolved"), [
    (3, 1, 1, 30, (1, 1)),          # the workshop's kdemo
    (10, "25%", "25%", 0, (3, 2)),
    (10, "25%", "25%", 10, (3, 2)),
    (4, 0, 1, 0, (0, 1)),
], ids=["kdemo", "10-25pct", "10-25pct-minready", "no-surge"])
def test_rolling_update_respects_surge_and_unavailable(
        cluster: Cluster, clock: ManualClock, replicas: int, surge: object,
        unavailable: object, min_ready: int, resolved: tuple[int, int]) -> None:
    """At every write: pods <= replicas + maxSurge, available >= replicas - maxUnavailable."""
    cluster.add(DEPLOY, deployment(replicas=replicas, surge=surge, unavailable=unavailable,
                                   min_ready=min_ready, image="kdemo:v1"))
    roll(cluster, clock)
    clock.advance(min_ready + 1)
    settle(cluster)
    set_image(cluster, "kdemo:v2")
    max_surge, max_unavailable = resolved
    steps = roll(cluster, clock, _invariant(cluster, clock, replicas, max_surge,
                                            max_unavailable, min_ready))
    assert steps >= 2  # it really was a gradual rollout
    by_image = rs_by_image(cluster)
    assert du.rs_replicas(by_image["kdemo:v1"]) == 0
    assert du.rs_replicas(by_image["kdemo:v2"]) == replicas
    assert du.revision(by_image["kdemo:v2"]) == 2
    pods = [p for p in cluster.list(PODS) if common.is_pod_active(p)]
    assert len(pods) == replicas
    assert all(p["spec"]["containers"][0]["image"] == "kdemo:v2" for p in pods)
    d = cluster.get(DEPLOY, "default", "web")
    assert du.get_condition(d["status"], "Progressing")["reason"] == \
        "NewReplicaSetAvailable"  # type: ignore[index]
    scaled = cluster.events("ScalingReplicaSet")
    new_name = by_image["kdemo:v2"]["metadata"]["name"]
    assert any(m.startswith(f"Scaled up replica set {new_name} from 0 to ") for m in scaled)
    old_name = by_image["kdemo:v1"]["metadata"]["name"]
    assert any(m.startswith(f"Scaled down replica set {old_name} from ") for m in scaled)


def test_kdemo_first_step_is_one_up_one_down(cluster: Cluster, clock: ManualClock) -> None:
    """3 replicas, surge 1, unavailable 1: the new RS gets 1, the old goes to 2."""
    cluster.add(DEPLOY, deployment(replicas=3, surge=1, unavailable=1, image="kdemo:v1"))
    roll(cluster, clock)
    set_image(cluster, "kdemo:v2")
    settle(cluster)
    by_image = rs_by_image(cluster)
    assert du.rs_replicas(by_image["kdemo:v2"]) == 2
    assert du.rs_replicas(by_image["kdemo:v1"]) == 2
    messages = cluster.events("ScalingReplicaSet")
    v2 = by_image["kdemo:v2"]["metadata"]["name"]
    v1 = by_image["kdemo:v1"]["metadata"]["name"]
    assert f"Scaled up replica set {v2} from 0 to 1" in messages
    assert f"Scaled down replica set {v1} from 3 to 2" in messages
    assert f"Scaled up replica set {v2} from 1 to 2" in messages


def test_rollback_bumps_revision_and_records_history(cluster: Cluster,
                                                     clock: ManualClock) -> None:
    cluster.add(DEPLOY, deployment(replicas=2, image="app:v1"))
    roll(cluster, clock)
    set_image(cluster, "app:v2")
    roll(cluster, clock)
    set_image(cluster, "app:v1")  # what `kubectl rollout undo` sends
    roll(cluster, clock)
    by_image = rs_by_image(cluster)
    assert len(by_image) == 2  # the old RS was reused, not recreated
    v1 = by_image["app:v1"]
    assert du.revision(v1) == 3
    assert common.annotations_of(v1)[du.REVISION_HISTORY_ANNOTATION] == "1"
    assert du.revision(by_image["app:v2"]) == 2
    d = cluster.get(DEPLOY, "default", "web")
    assert common.annotations_of(d)[du.REVISION_ANNOTATION] == "3"  # type: ignore[arg-type]
    assert du.rs_replicas(v1) == 2 and du.rs_replicas(by_image["app:v2"]) == 0
    set_image(cluster, "app:v2")
    roll(cluster, clock)
    assert common.annotations_of(rs_by_image(cluster)["app:v2"])[
        du.REVISION_HISTORY_ANNOTATION] == "2"
    assert du.revision(rs_by_image(cluster)["app:v2"]) == 4


def test_recreate_scales_old_to_zero_before_new(cluster: Cluster,
                                                clock: ManualClock) -> None:
    cluster.add(DEPLOY, deployment(replicas=3, strategy="Recreate", image="app:v1"))
    roll(cluster, clock)
    set_image(cluster, "app:v2")
    dc = DeploymentController()
    result = cluster.run(dc, KEY)
    assert next(m for _, m in events_of(result)).startswith("Scaled down replica set")
    assert not [a for a in result.actions if isinstance(a, Create)]
    # Old pods still exist: the new RS must not appear yet.
    result = cluster.run(dc, KEY)
    assert not [a for a in result.actions if isinstance(a, Create)]
    assert "app:v2" not in rs_by_image(cluster)
    cluster.run(ReplicaSetController(), Key.of(RS, rs_by_image(cluster)["app:v1"]))
    assert not [p for p in cluster.list(PODS) if common.is_pod_active(p)]
    cluster.run(ReplicaSetController(), Key.of(RS, rs_by_image(cluster)["app:v1"]))
    result = cluster.run(dc, KEY)
    # Terminating pods still count as running old pods (oldPodsRunning): nothing new yet.
    assert not [a for a in result.actions if isinstance(a, Create)]
    cluster.finish_terminating_pods()
    result = cluster.run(dc, KEY)
    creates = [a for a in result.actions if isinstance(a, Create)]
    assert len(creates) == 1 and creates[0].obj["spec"]["replicas"] == 3
    roll(cluster, clock)


def test_progress_deadline_exceeded(cluster: Cluster, clock: ManualClock) -> None:
    """Pods that never become ready: after progressDeadlineSeconds (simulated) → False."""
    cluster.add(DEPLOY, deployment(replicas=2, progressDeadlineSeconds=60))
    settle(cluster)
    result = DeploymentController().reconcile(cluster, KEY, clock)
    assert result.requeue_after == pytest.approx(61)
    clock.advance(30)
    result = cluster.run(DeploymentController(), KEY)
    assert result.requeue_after == pytest.approx(31)
    d = cluster.get(DEPLOY, "default", "web")
    assert du.get_condition(d["status"], "Progressing")["status"] == "True"  # type: ignore[index]
    clock.advance(31)
    result = cluster.run(DeploymentController(), KEY)
    d = cluster.get(DEPLOY, "default", "web")
    cond = du.get_condition(d["status"], "Progressing")  # type: ignore[index]
    rs_name = cluster.list(RS)[0]["metadata"]["name"]
    assert cond == {**cond, "status": "False", "reason": "ProgressDeadlineExceeded",  # type: ignore[dict-item]
                    "message": f'ReplicaSet "{rs_name}" has timed out progressing.'}
    assert result.requeue_after is None


def test_progress_resets_the_deadline(cluster: Cluster, clock: ManualClock) -> None:
    cluster.add(DEPLOY, deployment(replicas=2, progressDeadlineSeconds=60))
    settle(cluster)
    clock.advance(50)
    pod_key = next(k for k in cluster.objects if k[0] == "pods")
    cluster.objects[pod_key] = make_ready(cluster.objects[pod_key], clock)
    settle(cluster)
    d = cluster.get(DEPLOY, "default", "web")
    cond = du.get_condition(d["status"], "Progressing")  # type: ignore[index]
    assert cond["reason"] == "ReplicaSetUpdated"  # type: ignore[index]
    clock.advance(50)
    cluster.run(DeploymentController(), KEY)
    d = cluster.get(DEPLOY, "default", "web")
    assert du.get_condition(d["status"], "Progressing")["status"] == "True"  # type: ignore[index]


def test_proportional_scaling_mid_rollout(cluster: Cluster, clock: ManualClock) -> None:
    cluster.add(DEPLOY, deployment(replicas=10, image="app:v1"))
    roll(cluster, clock)
    set_image(cluster, "app:v2")
    settle(cluster)  # new pods never become ready: the rollout is stuck midway
    before = {img: du.rs_replicas(rs) for img, rs in rs_by_image(cluster).items()}
    assert sum(before.values()) == 13 and before["app:v2"] > 0 and before["app:v1"] > 0
    d = cluster.get(DEPLOY, "default", "web")
    d["spec"]["replicas"] = 20  # type: ignore[index]
    cluster.update(DEPLOY, d)  # type: ignore[arg-type]
    cluster.run(DeploymentController(), KEY)
    after = {img: du.rs_replicas(rs) for img, rs in rs_by_image(cluster).items()}
    assert sum(after.values()) == 20 + 5  # replicas + maxSurge (25% of 20)
    for img in before:  # each grew in proportion to its size
        assert after[img] > before[img]
    assert after["app:v1"] / after["app:v2"] == pytest.approx(
        before["app:v1"] / before["app:v2"], rel=0.2)
    for rs in cluster.list(RS):
        assert common.annotations_of(rs)[du.DESIRED_REPLICAS_ANNOTATION] == "20"


def test_paused_deployment_does_not_roll_but_scales(cluster: Cluster,
                                                    clock: ManualClock) -> None:
    cluster.add(DEPLOY, deployment(replicas=2, image="app:v1"))
    roll(cluster, clock)
    d = cluster.get(DEPLOY, "default", "web")
    d["spec"]["paused"] = True  # type: ignore[index]
    d["spec"]["template"]["spec"]["containers"][0]["image"] = "app:v2"  # type: ignore[index]
    cluster.update(DEPLOY, d)  # type: ignore[arg-type]
    settle(cluster)
    assert set(rs_by_image(cluster)) == {"app:v1"}
    d = cluster.get(DEPLOY, "default", "web")
    cond = du.get_condition(d["status"], "Progressing")  # type: ignore[index]
    assert (cond["status"], cond["reason"], cond["message"]) == (  # type: ignore[index]
        "Unknown", "DeploymentPaused", "Deployment is paused")
    d["spec"]["replicas"] = 4  # type: ignore[index]
    cluster.update(DEPLOY, d)  # type: ignore[arg-type]
    settle(cluster)
    assert du.rs_replicas(rs_by_image(cluster)["app:v1"]) == 4
    d = cluster.get(DEPLOY, "default", "web")
    d["spec"]["paused"] = False  # type: ignore[index]
    cluster.update(DEPLOY, d)  # type: ignore[arg-type]
    cluster.run(DeploymentController(), KEY)
    d = cluster.get(DEPLOY, "default", "web")
    assert "app:v2" in rs_by_image(cluster)
    roll(cluster, clock)


def test_revision_history_limit_cleans_oldest(cluster: Cluster, clock: ManualClock) -> None:
    cluster.add(DEPLOY, deployment(replicas=1, image="app:v0", revisionHistoryLimit=2))
    roll(cluster, clock)
    for version in range(1, 5):
        clock.advance(1)
        set_image(cluster, f"app:v{version}")
        roll(cluster, clock)
    settle(cluster)
    assert sorted(rs_by_image(cluster)) == ["app:v2", "app:v3", "app:v4"]


def test_adopts_orphan_replica_set(cluster: Cluster, clock: ManualClock) -> None:
    d = deployment(replicas=1)
    template = copy.deepcopy(d["spec"]["template"])
    pod_hash = du.compute_hash(template)
    template["metadata"]["labels"]["pod-template-hash"] = pod_hash
    cluster.add(RS, {"metadata": {"name": f"web-{pod_hash}", "namespace": "default",
                                  "labels": {"app": "web", "pod-template-hash": pod_hash}},
                     "spec": {"replicas": 1, "selector": {"matchLabels": {
                         "app": "web", "pod-template-hash": pod_hash}}, "template": template}})
    cluster.add(DEPLOY, d)
    result = cluster.run(DeploymentController(), KEY)
    assert not [a for a in result.actions if isinstance(a, Create)]
    rs = cluster.list(RS)[0]
    assert common.controller_ref(rs)["name"] == "web"  # type: ignore[index]
    settle(cluster)
    d2 = cluster.get(DEPLOY, "default", "web")
    assert du.get_condition(d2["status"], "Progressing")["reason"] in (  # type: ignore[index]
        "FoundNewReplicaSet", "ReplicaSetUpdated")


def test_keys_for_maps_replica_sets_to_their_deployment(cluster: Cluster,
                                                        clock: ManualClock) -> None:
    cluster.add(DEPLOY, deployment())
    settle(cluster)
    rs = cluster.list(RS)[0]
    assert list(DeploymentController().keys_for(RS, rs, cluster)) == [KEY]
