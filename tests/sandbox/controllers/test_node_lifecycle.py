"""Node lifecycle: stale lease → Unknown → taints → pods NotReady → eviction."""

from __future__ import annotations

import copy

import pytest
from sandbox.controllers.controller_fakes import Cluster, make_ready

from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import ManualClock, rfc3339, rfc3339_micro
from kubelab.sandbox.controllers import common
from kubelab.sandbox.controllers.node_lifecycle import NodeLifecycleController
from kubelab.sandbox.reconcile.types import Delete, Key, UpdateStatus

NODES = kinds.core("nodes")
PODS = kinds.core("pods")
LEASES = kinds.resource("leases.coordination.k8s.io")
KEY = Key("nodes", "", "worker-1")


@pytest.fixture
def cluster(clock: ManualClock) -> Cluster:
    c = Cluster(clock)
    now = rfc3339(clock.now())
    c.add(NODES, {"metadata": {"name": "worker-1"}, "spec": {}, "status": {"conditions": [
        {"type": "Ready", "status": "True", "reason": "KubeletReady",
         "message": "kubelet is posting ready status", "lastHeartbeatTime": now,
         "lastTransitionTime": now},
        {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory",
         "lastHeartbeatTime": now, "lastTransitionTime": now}]}})
    c.add(LEASES, {"metadata": {"name": "worker-1", "namespace": "kube-node-lease"},
                   "spec": {"holderIdentity": "worker-1",
                            "renewTime": rfc3339_micro(clock.now())}})
    for name, tolerations in (("web-1", None), ("tolerant", [
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists",
             "effect": "NoExecute", "tolerationSeconds": 30}])):
        pod = c.add(PODS, {"metadata": {"name": name}, "spec": {
            "containers": [{"name": "c", "image": "nginx"}], **({"tolerations": tolerations} if tolerations else {})}})
        c.objects[("pods", "default", name)] = make_ready(pod, clock)
    return c


def renew(cluster: Cluster, clock: ManualClock) -> None:
    lease = cluster.objects[("leases.coordination.k8s.io", "kube-node-lease", "worker-1")]
    lease["spec"]["renewTime"] = rfc3339_micro(clock.now())


def test_healthy_node_is_left_alone_and_requeued(cluster: Cluster,
                                                 clock: ManualClock) -> None:
    controller = NodeLifecycleController(grace_period=50)
    clock.advance(40)
    renew(cluster, clock)
    clock.advance(10)
    result = cluster.run(controller, KEY)
    assert result.actions == []
    assert result.requeue_after == pytest.approx(40.001)


def test_reconcile_reads_the_stored_node_in_place_without_changing_it(
        cluster: Cluster, clock: ManualClock) -> None:
    """The runner's snapshot hands out the stored objects themselves (no copies): a healthy
    node's reconcile writes nothing, and a stale one's Unknown status goes into the write,
    not into the stored Node."""
    controller = NodeLifecycleController(grace_period=50)
    stored = cluster.registry.peek(NODES, "", "worker-1")
    before = copy.deepcopy(stored)
    clock.advance(10)
    assert controller.reconcile(cluster.snapshot, KEY, clock).actions == []
    clock.advance(41)
    result = controller.reconcile(cluster.snapshot, KEY, clock)
    assert cluster.registry.peek(NODES, "", "worker-1") == before
    written = [a.obj for a in result.actions if isinstance(a, UpdateStatus)]
    assert [c["status"] for c in written[0]["status"]["conditions"]
            if c["type"] == "Ready"] == ["Unknown"]


def test_silent_node_goes_unknown_then_pods_are_evicted(cluster: Cluster,
                                                        clock: ManualClock) -> None:
    controller = NodeLifecycleController(grace_period=50)
    clock.advance(51)
    result = cluster.run(controller, KEY)
    node = cluster.get(NODES, "", "worker-1")
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")  # type: ignore[index]
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
    memory = next(c for c in node["status"]["conditions"] if c["type"] == "MemoryPressure")  # type: ignore[index]
    assert memory["status"] == "Unknown"
    disk = next(c for c in node["status"]["conditions"] if c["type"] == "DiskPressure")  # type: ignore[index]
    assert disk["reason"] == "NodeStatusNeverUpdated"
    taints = {(t["key"], t["effect"]) for t in node["spec"]["taints"]}  # type: ignore[index]
    assert taints == {("node.kubernetes.io/unreachable", "NoSchedule"),
                      ("node.kubernetes.io/unreachable", "NoExecute")}
    for pod in cluster.list(PODS):
        assert common.pod_condition(pod, "Ready")["status"] == "False"  # type: ignore[index]
    assert "Node is not ready" in cluster.events("NodeNotReady")
    assert not any(isinstance(a, Delete) for a in result.actions)
    assert result.requeue_after == pytest.approx(30)  # the tolerant pod's 30 s
    clock.advance(30)
    result = cluster.run(controller, KEY)
    assert [a.name for a in result.actions if isinstance(a, Delete)] == ["tolerant"]
    assert cluster.events("TaintManagerEviction") == ["Marking for deletion Pod default/tolerant"]
    assert result.requeue_after == pytest.approx(270)  # default 300 s for web-1
    clock.advance(270)
    result = cluster.run(controller, KEY)
    assert [a.name for a in result.actions if isinstance(a, Delete)] == ["web-1"]
    # Both are Terminating now; with their kubelet unreachable nobody confirms the deletion.
    assert all(p["metadata"].get("deletionTimestamp") for p in cluster.list(PODS))


def test_recovery_removes_taints(cluster: Cluster, clock: ManualClock) -> None:
    controller = NodeLifecycleController(grace_period=50)
    clock.advance(51)
    cluster.run(controller, KEY)
    node = cluster.objects[("nodes", "", "worker-1")]
    now = rfc3339(clock.now())
    for cond in node["status"]["conditions"]:
        cond.update({"status": "True" if cond["type"] == "Ready" else "False",
                     "lastHeartbeatTime": now})
    renew(cluster, clock)
    cluster.run(controller, KEY)
    assert not cluster.get(NODES, "", "worker-1")["spec"].get("taints")  # type: ignore[index]


def test_untolerated_no_execute_taint_evicts_at_once(cluster: Cluster,
                                                     clock: ManualClock) -> None:
    node = cluster.objects[("nodes", "", "worker-1")]
    node["spec"]["taints"] = [{"key": "maintenance", "effect": "NoExecute",
                               "timeAdded": rfc3339(clock.now())}]
    result = NodeLifecycleController().reconcile(cluster, KEY, clock)
    assert sorted(a.name for a in result.actions if isinstance(a, Delete)) == [
        "tolerant", "web-1"]


def test_the_grace_watchdog_is_upkeep_only_while_the_kubelet_runs(
        cluster: Cluster, clock: ManualClock) -> None:
    """A running kubelet's renewals push the grace period back: nobody waits for it, and a
    virtual clock must not skip for it; a stopped kubelet's is the wait for NotReady."""
    controller = NodeLifecycleController(grace_period=50)
    running = {"worker-1": True}
    controller.heartbeating = running.__getitem__
    clock.advance(10)
    upkeep = cluster.run(controller, KEY)
    assert upkeep.requeue_after == pytest.approx(40.001)
    assert upkeep.background
    running["worker-1"] = False
    wait = cluster.run(controller, KEY)
    assert wait.requeue_after == pytest.approx(40.001)
    assert not wait.background
    # Without a reading of the kubelet (a kubelet the sandbox does not run): a real wait.
    controller.heartbeating = None
    assert not cluster.run(controller, KEY).background
