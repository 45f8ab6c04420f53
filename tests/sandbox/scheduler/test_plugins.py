"""Filters, scores and the exact FitError wording."""

from __future__ import annotations

from sandbox.scheduler.scheduler_fakes import FakeSnapshot, control_plane, node, pod

from kubelab.sandbox.api import kinds
from kubelab.sandbox.scheduler import explain, fit_error
from kubelab.sandbox.scheduler.plugins import NodeInfo, filter_node, tolerates

NODES = kinds.core("nodes")
PODS = kinds.core("pods")


def workshop_cluster(*pods: dict) -> FakeSnapshot:
    snap = FakeSnapshot((NODES, control_plane()), (NODES, node("node-1")),
                        (NODES, node("node-2")))
    for p in pods:
        snap.put(PODS, p)
    return snap


def test_tainted_control_plane_and_insufficient_cpu_message() -> None:
    snap = workshop_cluster(pod("a", cpu="900m", node_name="node-1"),
                            pod("b", cpu="900m", node_name="node-2"))
    incoming = pod("hello", cpu="100m")
    verdicts = explain(snap, incoming)
    assert [(v.node, v.plugin) for v in verdicts] == [
        ("control-plane", "TaintToleration"), ("node-1", "NodeResourcesFit"),
        ("node-2", "NodeResourcesFit")]
    assert fit_error(incoming, verdicts) == (
        "0/3 nodes are available: 1 node(s) had untolerated taint "
        "{node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. preemption: 0/3 nodes "
        "are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims "
        "found for incoming pod.")


def test_three_nodes_insufficient_cpu() -> None:
    snap = FakeSnapshot(*[(NODES, node(f"node-{i}", cpu="1")) for i in (1, 2, 3)])
    incoming = pod("big", cpu="2")
    assert fit_error(incoming, explain(snap, incoming)) == (
        "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: "
        "3 No preemption victims found for incoming pod.")


def test_node_selector_mismatch_and_unschedulable() -> None:
    snap = FakeSnapshot((NODES, node("node-1", labels={"disk": "hdd"})),
                        (NODES, node("node-2", unschedulable=True)),
                        (NODES, node("node-3", labels={"disk": "ssd"}, cpu="50m")))
    incoming = pod("p", cpu="100m", nodeSelector={"disk": "ssd"})
    verdicts = explain(snap, incoming)
    assert [v.plugin for v in verdicts] == ["NodeAffinity", "NodeUnschedulable",
                                            "NodeResourcesFit"]
    assert fit_error(incoming, verdicts) == (
        "0/3 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match Pod's node "
        "affinity/selector, 1 node(s) were unschedulable. preemption: 0/3 nodes are "
        "available: 1 No preemption victims found for incoming pod, 2 Preemption is not "
        "helpful for scheduling.")


def test_required_node_affinity() -> None:
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [
            {"key": "zone", "operator": "In", "values": ["b", "c"]}]}]}}}
    snap = FakeSnapshot((NODES, node("node-1", labels={"zone": "a"})),
                        (NODES, node("node-2", labels={"zone": "c"})))
    verdicts = explain(snap, pod("p", affinity=affinity))
    assert [(v.node, v.fits) for v in verdicts] == [("node-1", False), ("node-2", True)]


def test_too_many_pods_and_memory() -> None:
    info = NodeInfo(node("n", pods="1", memory="1Gi"), [pod("x", node_name="n")])
    verdict = filter_node(pod("p", memory="2Gi"), info)
    assert verdict.reasons == ("Too many pods", "Insufficient memory")


def test_tolerations() -> None:
    taint = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
    assert tolerates({"key": taint["key"], "operator": "Exists"}, taint)
    assert tolerates({"operator": "Exists"}, taint)
    assert not tolerates({"key": "other", "operator": "Exists"}, taint)
    assert not tolerates({"key": taint["key"], "operator": "Exists", "effect": "NoExecute"},
                         taint)
    tolerant = pod("p", tolerations=[{"key": taint["key"], "operator": "Exists",
                                      "effect": "NoSchedule"}])
    assert filter_node(tolerant, NodeInfo(control_plane())).fits


def test_preemption_policy_never() -> None:
    snap = FakeSnapshot((NODES, node("node-1", cpu="100m")))
    incoming = pod("p", cpu="1", preemptionPolicy="Never")
    assert fit_error(incoming, explain(snap, incoming)) == (
        "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to "
        "preemptionPolicy=Never.")


def test_no_nodes() -> None:
    assert fit_error(pod("p"), []) == "no nodes available to schedule pods"


def test_terminal_pods_do_not_count() -> None:
    done = pod("done", cpu="900m", node_name="node-1")
    done["status"]["phase"] = "Succeeded"
    snap = FakeSnapshot((NODES, node("node-1")), (PODS, done))
    assert explain(snap, pod("p", cpu="500m"))[0].fits
