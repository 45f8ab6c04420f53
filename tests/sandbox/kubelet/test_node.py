"""Node registration, status and Lease heartbeats; stopping the kubelet silences them."""

from __future__ import annotations

from kubernetes import client
from sandbox.kubelet.kubelet_sim import Cluster

from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.fabric import Fabric
from kubelab.sandbox.kubelet import build_components
from kubelab.sandbox.kubelet.kubelet import LEASES, NODES, Kubelet
from kubelab.sandbox.reconcile.types import Create, Key, RecordEvent, Update, UpdateStatus

NODE_KEY = Key("nodes", "", "kubelab-worker")


def setup() -> tuple[ManualClock, Cluster, Kubelet]:
    clock = ManualClock()
    components = build_components(Fabric(), clock, ["kubelab-control-plane", "kubelab-worker"])
    kubelet = components[1]
    assert isinstance(kubelet, Kubelet)
    return clock, Cluster(clock), kubelet


def sync(kubelet: Kubelet, cluster: Cluster, clock: ManualClock, key: Key = NODE_KEY):  # type: ignore[no-untyped-def]
    result = kubelet.reconcile(cluster, key, clock)
    cluster.apply(result.actions)
    return result


def test_registers_a_workshop_node() -> None:
    clock, cluster, kubelet = setup()
    assert kubelet.initial_keys() == [NODE_KEY]
    result = sync(kubelet, cluster, clock)
    creates = [a for a in result.actions if isinstance(a, Create)]
    assert [a.info for a in creates] == [NODES]
    node = cluster.get(NODES, "", "kubelab-worker")
    assert node is not None
    status = node["status"]
    assert status["allocatable"]["cpu"] == "940m" and status["capacity"]["cpu"] == "1"
    assert status["allocatable"]["pods"] == "110"
    assert status["allocatable"]["memory"].endswith("Ki")
    assert 2.6 < int(status["allocatable"]["memory"][:-2]) / 2**20 < 2.8
    assert node["spec"]["podCIDR"] == "10.244.1.0/24" and "taints" not in node["spec"]
    assert {c["type"]: c["status"] for c in status["conditions"]} == {
        "MemoryPressure": "False", "DiskPressure": "False", "PIDPressure": "False",
        "Ready": "True"}
    assert status["addresses"][0] == {"type": "InternalIP", "address": "172.18.0.3"}
    client.V1Node.model_validate(node)
    reasons = [a.reason for a in result.actions if isinstance(a, RecordEvent)]
    assert reasons[0] == "Starting" and "NodeReady" in reasons
    events = [a for a in result.actions if isinstance(a, RecordEvent)]
    assert events[0].involved["metadata"] == {"name": "kubelab-worker", "uid": "kubelab-worker"}


def test_control_plane_is_labelled_and_tainted() -> None:
    clock = ManualClock()
    cp = build_components(Fabric(), clock, ["kubelab-control-plane", "kubelab-worker"])[0]
    cluster = Cluster(clock)
    cluster.apply(cp.reconcile(cluster, Key("nodes", "", "kubelab-control-plane"),
                               clock).actions)
    node = cluster.get(NODES, "", "kubelab-control-plane")
    assert node is not None
    assert node["spec"]["taints"] == [{"key": "node-role.kubernetes.io/control-plane",
                                       "effect": "NoSchedule"}]
    assert "node-role.kubernetes.io/control-plane" in node["metadata"]["labels"]
    assert node["spec"]["podCIDR"] == "10.244.0.0/24"


def test_lease_is_created_then_renewed_every_ten_seconds() -> None:
    clock, cluster, kubelet = setup()
    sync(kubelet, cluster, clock)
    result = sync(kubelet, cluster, clock)
    assert [type(a) for a in result.actions] == [Create]
    lease = cluster.get(LEASES, "kube-node-lease", "kubelab-worker")
    assert lease is not None
    node = cluster.get(NODES, "", "kubelab-worker")
    assert lease["spec"]["holderIdentity"] == "kubelab-worker"
    assert lease["spec"]["leaseDurationSeconds"] == 40
    assert lease["metadata"]["ownerReferences"][0]["uid"] == node["metadata"]["uid"]  # type: ignore[index]
    assert result.requeue_after == 10
    clock.advance(5)
    assert sync(kubelet, cluster, clock).actions == []
    clock.advance(5)
    result = sync(kubelet, cluster, clock)
    assert [type(a) for a in result.actions] == [Update]
    renewed = cluster.get(LEASES, "kube-node-lease", "kubelab-worker")
    assert renewed is not None and renewed["spec"]["renewTime"] == "2026-01-01T00:00:10.000000Z"
    client.V1Lease.model_validate(renewed)


def test_status_reported_every_five_minutes_and_after_a_change() -> None:
    clock, cluster, kubelet = setup()
    sync(kubelet, cluster, clock)
    sync(kubelet, cluster, clock)
    clock.advance(290)
    assert not any(isinstance(a, UpdateStatus) for a in sync(kubelet, cluster, clock).actions)
    clock.advance(10)
    assert any(isinstance(a, UpdateStatus) for a in sync(kubelet, cluster, clock).actions)
    # The node-lifecycle controller marked the node Unknown: the kubelet corrects it at once.
    node = cluster.get(NODES, "", "kubelab-worker")
    assert node is not None
    for cond in node["status"]["conditions"]:
        cond["status"] = "Unknown"
    result = sync(kubelet, cluster, clock)
    assert any(isinstance(a, UpdateStatus) for a in result.actions)
    assert "NodeReady" in [a.reason for a in result.actions if isinstance(a, RecordEvent)]


def test_stopped_kubelet_sends_no_heartbeats() -> None:
    clock, cluster, kubelet = setup()
    sync(kubelet, cluster, clock)
    sync(kubelet, cluster, clock)
    kubelet.agent.stop_kubelet()
    clock.advance(60)
    result = sync(kubelet, cluster, clock)
    assert result.actions == [] and result.requeue_after is None
    kubelet.agent.start_kubelet()
    assert any(isinstance(a, Update) for a in sync(kubelet, cluster, clock).actions)


def test_keys_for_only_its_own_pods_and_node() -> None:
    _clock, cluster, kubelet = setup()
    mine = {"metadata": {"name": "a", "namespace": "default"},
            "spec": {"nodeName": "kubelab-worker"}}
    other = {"metadata": {"name": "b", "namespace": "default"},
             "spec": {"nodeName": "kubelab-worker2"}}
    from kubelab.sandbox.kubelet.kubelet import PODS

    assert list(kubelet.keys_for(PODS, mine, cluster)) == [Key("pods", "default", "a")]
    assert list(kubelet.keys_for(PODS, other, cluster)) == []
    lease = {"metadata": {"name": "kubelab-worker", "namespace": "kube-node-lease"}}
    assert list(kubelet.keys_for(LEASES, lease, cluster)) == [NODE_KEY]


def test_a_lost_lease_write_is_retried() -> None:
    clock, cluster, kubelet = setup()
    sync(kubelet, cluster, clock)
    sync(kubelet, cluster, clock)
    clock.advance(10)
    lost = kubelet.reconcile(cluster, NODE_KEY, clock)  # e.g. a 409: nothing was written
    assert [type(a) for a in lost.actions] == [Update]
    clock.advance(1)
    retry = sync(kubelet, cluster, clock)
    assert [type(a) for a in retry.actions] == [Update]
