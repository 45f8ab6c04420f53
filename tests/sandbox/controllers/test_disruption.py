"""The disruption controller and the eviction subresource, on the real registry with a
manual clock.

Upstream: ``pkg/controller/disruption/disruption.go`` (expected pods, desired and current
healthy, ``disruptionsAllowed``, the ``DisruptionAllowed`` condition, disrupted pods kept
for two minutes, ``failSafe``) and ``pkg/registry/core/pod/storage/eviction.go`` (429 with a
``DisruptionBudget`` cause, check-and-decrement, terminal and pending pods evicted freely).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sandbox.controllers.controller_fakes import Cluster, deployment, make_ready

from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.errors import ApiError
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.controllers.deployment import DeploymentController
from kubelab.sandbox.controllers.disruption import DisruptionController
from kubelab.sandbox.controllers.replicaset import ReplicaSetController
from kubelab.sandbox.reconcile.types import Key, Obj

PDBS = kinds.resource("poddisruptionbudgets.policy")
PODS = kinds.core("pods")
DEPLOYMENTS = kinds.apps("deployments")
REPLICASETS = kinds.apps("replicasets")


def pdb(name: str = "web", **spec: Any) -> Obj:
    return {"metadata": {"name": name, "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, **spec}}


def key(name: str = "web") -> Key:
    return Key("poddisruptionbudgets.policy", "default", name)


def running_deployment(cluster: Cluster, clock: ManualClock, replicas: int) -> list[Obj]:
    """A Deployment whose pods are all ready (the kubelets' part done by hand)."""
    cluster.add(DEPLOYMENTS, deployment("web", replicas=replicas))
    cluster.run(DeploymentController(), Key("deployments.apps", "default", "web"))
    [rs] = cluster.list(REPLICASETS, "default")
    cluster.run(ReplicaSetController(), Key.of(REPLICASETS, rs))
    for i, pod in enumerate(cluster.list(PODS, "default")):
        bound = cluster.registry.bind("default", pod["metadata"]["name"], f"worker-{i + 1}")
        cluster.update_status(PODS, make_ready(bound, clock))
    return cluster.list(PODS, "default")


def status(cluster: Cluster, name: str = "web") -> Obj:
    found = cluster.get(PDBS, "default", name)
    assert found is not None
    return dict(found["status"])


def evict(cluster: Cluster, pod: Obj) -> None:
    name = pod["metadata"]["name"]
    cluster.registry.create_subresource(
        PODS, "default", name, "eviction",
        {"apiVersion": "policy/v1", "kind": "Eviction",
         "metadata": {"name": name, "namespace": "default"}})


def test_min_available_counts_the_matching_ready_pods(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    running_deployment(cluster, clock, 3)
    cluster.add(PDBS, pdb(minAvailable=2))
    created = status(cluster)
    assert created == {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0,
                       "expectedPods": 0}
    cluster.run(DisruptionController(), key())
    got = status(cluster)
    assert (got["currentHealthy"], got["desiredHealthy"], got["expectedPods"],
            got["disruptionsAllowed"], got["observedGeneration"]) == (3, 2, 3, 1, 1)
    [cond] = got["conditions"]
    assert (cond["type"], cond["status"], cond["reason"], cond["observedGeneration"]) == \
        ("DisruptionAllowed", "True", "SufficientPods", 1)
    # Current: a second sync writes nothing.
    assert cluster.run(DisruptionController(), key()).actions == []


def test_max_unavailable_uses_the_deployments_scale(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    pods = running_deployment(cluster, clock, 4)
    cluster.add(PDBS, pdb(maxUnavailable="50%"))
    unready = copy.deepcopy(pods[0])
    unready["status"]["conditions"][0]["status"] = "False"
    cluster.update_status(PODS, unready)
    cluster.run(DisruptionController(), key())
    got = status(cluster)
    assert (got["expectedPods"], got["desiredHealthy"], got["currentHealthy"],
            got["disruptionsAllowed"]) == (4, 2, 3, 1)


def test_a_percentage_of_bare_pods_fails_safe(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.add(PODS, {"metadata": {"name": "lonely", "labels": {"app": "web"}},
                       "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    job_pod = {"metadata": {"name": "worker", "labels": {"app": "web"},
                            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job",
                                                 "name": "j", "uid": "1234",
                                                 "controller": True}]},
               "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    cluster.add(PODS, job_pod)
    cluster.add(PDBS, pdb(minAvailable="50%"))
    cluster.run(DisruptionController(), key())
    got = status(cluster)
    assert got["disruptionsAllowed"] == 0
    [cond] = got["conditions"]
    assert (cond["status"], cond["reason"], cond["message"]) == \
        ("False", "SyncFailed", 'found no controllers for pod "worker"')
    assert cluster.events("CalculateExpectedPodCountFailed") == [
        'Failed to calculate the number of expected pods: found no controllers for pod '
        '"worker"']


def test_no_matching_pods_allow_nothing(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.add(PDBS, pdb(minAvailable=0))
    cluster.run(DisruptionController(), key())
    got = status(cluster)
    assert (got["expectedPods"], got["disruptionsAllowed"]) == (0, 0)
    assert got["conditions"][0]["reason"] == "InsufficientPods"
    assert cluster.events("NoPods") == ["No matching pods found"]


def test_eviction_is_refused_with_the_budgets_numbers(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    pods = running_deployment(cluster, clock, 2)
    cluster.add(PDBS, pdb(minAvailable=2))
    cluster.run(DisruptionController(), key())
    with pytest.raises(ApiError) as refused:
        evict(cluster, pods[0])
    body = refused.value.status()
    assert (body["code"], body["reason"], body["message"]) == (
        429, "TooManyRequests",
        "Cannot evict pod as it would violate the pod's disruption budget.")
    assert body["details"]["causes"] == [
        {"reason": "DisruptionBudget",
         "message": "The disruption budget web needs 2 healthy pods and has 2 currently"}]
    assert cluster.get(PODS, "default", pods[0]["metadata"]["name"]) is not None


def test_an_allowed_eviction_takes_a_disruption_and_deletes(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    pods = running_deployment(cluster, clock, 3)
    cluster.add(PDBS, pdb(minAvailable=2))
    cluster.run(DisruptionController(), key())
    victim = pods[0]["metadata"]["name"]
    evict(cluster, pods[0])
    got = status(cluster)
    assert got["disruptionsAllowed"] == 0 and victim in got["disruptedPods"]
    assert got["conditions"][0]["reason"] == "InsufficientPods"
    gone = cluster.get(PODS, "default", victim)
    assert gone is not None and gone["metadata"]["deletionTimestamp"]
    target = [c for c in gone["status"]["conditions"] if c["type"] == "DisruptionTarget"]
    assert [(c["status"], c["reason"], c["message"]) for c in target] == [
        ("True", "EvictionByEvictionAPI", "Eviction API: evicting")]
    # The next one is refused until the replacement is ready.
    with pytest.raises(ApiError) as refused:
        evict(cluster, pods[1])
    assert refused.value.code == 429
    # The controller drops the entry once the pod is terminating, and counts it out.
    cluster.run(DisruptionController(), key())
    got = status(cluster)
    assert "disruptedPods" not in got and got["currentHealthy"] == 2


def test_a_disrupted_pod_that_stays_counts_again_after_two_minutes(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    pods = running_deployment(cluster, clock, 3)
    cluster.add(PDBS, pdb(minAvailable=1))
    cluster.run(DisruptionController(), key())
    stored = cluster.get(PDBS, "default", "web")
    assert stored is not None
    stored["status"]["disruptedPods"] = {pods[0]["metadata"]["name"]:
                                         stored["metadata"]["creationTimestamp"]}
    cluster.update_status(PDBS, stored)
    result = cluster.run(DisruptionController(), key())
    assert status(cluster)["currentHealthy"] == 2
    assert result.requeue_after is not None and 119 <= result.requeue_after <= 120
    clock.advance(121)
    cluster.run(DisruptionController(), key())
    got = status(cluster)
    assert got["currentHealthy"] == 3 and "disruptedPods" not in got
    assert cluster.events("NotDeleted") == [
        "Pod was expected by PDB default/default to be deleted but it wasn't"]


def test_pending_pods_and_stale_budgets(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.add(PODS, {"metadata": {"name": "waiting", "labels": {"app": "web"}},
                       "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    cluster.add(PODS, {"metadata": {"name": "up", "labels": {"app": "web"}},
                       "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    up = cluster.get(PODS, "default", "up")
    assert up is not None
    cluster.update_status(PODS, make_ready(up, clock))
    cluster.add(PDBS, pdb(minAvailable=5))
    # Not yet observed by the controller: retry later (the server is still processing it).
    with pytest.raises(ApiError) as stale:
        evict(cluster, cluster.get(PODS, "default", "up") or {})
    assert stale.value.code == 429
    assert stale.value.causes[0].message == \
        "The disruption budget web is still being processed by the server."
    assert stale.value.headers == {"Retry-After": "10"}
    # A pending pod is evicted without asking the budget.
    evict(cluster, cluster.get(PODS, "default", "waiting") or {})
    assert cluster.get(PODS, "default", "waiting") is None


def test_two_budgets_for_one_pod_are_an_error(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    pods = running_deployment(cluster, clock, 1)
    cluster.add(PDBS, pdb("a", maxUnavailable=1))
    cluster.add(PDBS, pdb("b", maxUnavailable=1))
    with pytest.raises(ApiError) as refused:
        evict(cluster, pods[0])
    assert refused.value.code == 500
    assert refused.value.message == ("This pod has more than one PodDisruptionBudget, which "
                                     "the eviction subresource does not support.")


@pytest.mark.parametrize(("spec", "message"), [
    ({"minAvailable": 1, "maxUnavailable": 1},
     "minAvailable and maxUnavailable cannot be both set"),
    ({"minAvailable": "150%"}, "spec.minAvailable: Invalid value: \"150%\": must not be "
                               "greater than 100%"),
    ({"maxUnavailable": -1}, "spec.maxUnavailable: Invalid value: -1: must be greater than or "
                             "equal to 0"),
    ({"minAvailable": 1, "unhealthyPodEvictionPolicy": "Never"},
     'spec.unhealthyPodEvictionPolicy: Unsupported value: "Never": supported values: '
     '"AlwaysAllow", "IfHealthyBudget"'),
])
def test_validation_wording(clock: ManualClock, spec: Obj, message: str) -> None:
    cluster = Cluster(clock)
    with pytest.raises(ApiError) as refused:
        cluster.add(PDBS, pdb(**spec))
    assert refused.value.code == 422
    assert message in refused.value.message
    assert refused.value.message.startswith('PodDisruptionBudget.policy "web" is invalid: ')


def test_both_set_prints_the_spec_as_go_does(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    with pytest.raises(ApiError) as refused:
        cluster.add(PDBS, pdb(minAvailable=1, maxUnavailable=1))
    text = refused.value.message
    assert "spec: Invalid value: policy.PodDisruptionBudgetSpec{MinAvailable:(*intstr." \
           "IntOrString)(0xc" in text
    assert "UnhealthyPodEvictionPolicy:(*policy.UnhealthyPodEvictionPolicyType)(nil)}" in text


def test_unready_pods_go_without_taking_a_disruption(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    pods = running_deployment(cluster, clock, 3)
    cluster.add(PDBS, pdb(minAvailable=2))
    cluster.run(DisruptionController(), key())
    unready = copy.deepcopy(cluster.get(PODS, "default", pods[0]["metadata"]["name"]) or {})
    unready["status"]["conditions"][0]["status"] = "False"
    cluster.update_status(PODS, unready)
    cluster.run(DisruptionController(), key())
    assert status(cluster)["disruptionsAllowed"] == 0  # 2 healthy of 2 desired
    # currentHealthy >= desiredHealthy: an unready pod is deleted, the budget untouched.
    evict(cluster, unready)
    gone = cluster.get(PODS, "default", unready["metadata"]["name"])
    assert gone is not None and gone["metadata"]["deletionTimestamp"]
    assert "disruptedPods" not in status(cluster)
    # A ready one is still protected.
    with pytest.raises(ApiError):
        evict(cluster, pods[1])


def test_always_allow_evicts_unready_pods_of_an_unhealthy_budget(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    pods = running_deployment(cluster, clock, 2)
    cluster.add(PDBS, pdb(minAvailable=2, unhealthyPodEvictionPolicy="AlwaysAllow"))
    for pod in pods:
        unready = copy.deepcopy(cluster.get(PODS, "default", pod["metadata"]["name"]) or {})
        unready["status"]["conditions"][0]["status"] = "False"
        cluster.update_status(PODS, unready)
    cluster.run(DisruptionController(), key())
    assert status(cluster)["currentHealthy"] == 0
    evict(cluster, pods[0])
    assert (cluster.get(PODS, "default", pods[0]["metadata"]["name"]) or {}).get(
        "metadata", {}).get("deletionTimestamp")
