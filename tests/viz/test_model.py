"""View-model tests on recorded cluster snapshots."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from kubernetes.utils import parse_quantity

from kubelab.viz import model
from kubelab.viz.model import ClusterSnapshot, project
from viz.support import NAMES, find, raw_fixture, snapshot

COMPONENTS = ("apiserver", "etcd", "scheduler", "controller-manager")


def _app_pods(data: dict[str, Any]) -> set[str]:
    """Pods the diagram should draw as chips: all but static control-plane and kube-proxy pods."""
    out = set()
    for p in data["pods"]:
        labels = p["metadata"].get("labels") or {}
        if labels.get("tier") == "control-plane" or labels.get("k8s-app") == "kube-proxy":
            continue
        if labels.get("component") == "kube-proxy":
            continue
        out.add(f"{p['metadata']['namespace']}/{p['metadata']['name']}")
    return out


@pytest.mark.parametrize("name", NAMES)
def test_every_pod_is_drawn_once(name: str) -> None:
    """Each workload pod is on exactly one node or in the waiting lane."""
    data = raw_fixture(name)
    state = project(ClusterSnapshot.from_dict(data))
    drawn = [p.key for p in state.pods]
    assert sorted(drawn) == sorted(_app_pods(data))
    assert len(state.nodes) == len(data["nodes"])


@pytest.mark.parametrize("name", ["kubeadm", "kind"])
def test_static_pod_clusters_show_a_healthy_control_plane(name: str) -> None:
    data = raw_fixture(name)
    state = project(ClusterSnapshot.from_dict(data))
    cp_node = next(
        n["metadata"]["name"]
        for n in data["nodes"]
        if "node-role.kubernetes.io/control-plane" in n["metadata"]["labels"]
    )
    assert not state.cluster.control_plane_hidden
    assert [c.key for c in state.control_plane] == list(COMPONENTS)
    for comp in state.control_plane:
        assert comp.health == "ok", comp
        assert comp.node == cp_node
        assert comp.pod and comp.pod.endswith(cp_node)
    assert "leader" in state.component("scheduler").why  # type: ignore[union-attr]
    assert state.nodes[0].control_plane and state.nodes[0].name == cp_node


def test_kubeadm_pod_colours_follow_kubectl_status() -> None:
    state = project(snapshot("kubeadm"))
    by_name = {p.name: p for p in state.pods}
    assert by_name["crashy-1"].status == model.FAILED
    assert by_name["crashy-1"].reason == "CrashLoopBackOff"
    assert by_name["crashy-1"].restarts == 4
    assert by_name["old-web-1"].status == model.TERMINATING
    assert by_name["old-web-1"].reason == "Terminating"
    assert by_name["job-done-1"].status == model.SUCCEEDED
    assert by_name["job-done-1"].reason == "Completed"
    assert by_name["web-6b8-creating"].status == model.CREATING
    assert by_name["web-6b8-creating"].reason == "ContainerCreating"
    probes = by_name["probes-demo-5f7-aaaaa"]
    assert (probes.status, probes.ready) == (model.NOT_READY, "0/1")
    assert probes.probe_failures == 3
    assert "statuscode: 404" in probes.probe_message
    assert all(by_name[n].status == model.READY for n in by_name if n.startswith("hello-world-"))


def test_unscheduled_pod_waits_with_the_scheduler_reason() -> None:
    data = raw_fixture("kubeadm")
    state = project(ClusterSnapshot.from_dict(data))
    assert [p.name for p in state.waiting] == ["big-1"]
    cond = find(data, "pods", "big-1")["status"]["conditions"][0]
    assert state.waiting[0].reason == cond["message"]
    assert state.waiting[0].status == model.UNSCHEDULED


def test_waiting_reason_falls_back_to_the_failed_scheduling_event() -> None:
    data = raw_fixture("kubeadm")
    find(data, "pods", "big-1")["status"].pop("conditions")
    data["events"].append(
        {
            "metadata": {"name": "big-1.x", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "namespace": "default", "name": "big-1"},
            "reason": "FailedScheduling",
            "message": "0/4 nodes are available: 4 Insufficient memory.",
            "lastTimestamp": data["now"],
        }
    )
    state = project(ClusterSnapshot.from_dict(data))
    assert state.waiting[0].reason == "0/4 nodes are available: 4 Insufficient memory."
    find(data, "pods", "big-1")
    data["events"].clear()
    assert project(ClusterSnapshot.from_dict(data)).waiting[0].reason == "waiting for the scheduler"


def test_workers_show_kubelet_proxy_runtime_and_requests() -> None:
    data = raw_fixture("kubeadm")
    state = project(ClusterSnapshot.from_dict(data))
    for node in state.nodes:
        raw = find(data, "nodes", node.name)
        assert node.kubelet.health == "ok" and "Ready" in node.kubelet.why
        assert node.kube_proxy.health == "ok" and node.kube_proxy.pod
        assert node.runtime == raw["status"]["nodeInfo"]["containerRuntimeVersion"]
        on_node = [
            p
            for p in data["pods"]
            if p["spec"].get("nodeName") == node.name
            and p["status"].get("phase") not in ("Succeeded", "Failed")
        ]
        cpu = sum(
            Decimal(parse_quantity(c["resources"]["requests"]["cpu"]))
            for p in on_node
            for c in p["spec"]["containers"]
        )
        use = {u.resource: u for u in node.capacity}
        assert use["cpu"].requested == pytest.approx(float(cpu))
        assert use["cpu"].allocatable == float(
            parse_quantity(raw["status"]["allocatable"]["cpu"])
        )
        assert use["pods"].requested == len(on_node)
        assert use["pods"].allocatable == 110


def test_gke_like_cluster_says_the_control_plane_is_hidden() -> None:
    state = project(snapshot("gke"))
    assert state.cluster.control_plane_hidden
    assert "hidden" in state.cluster.note
    health = {c.key: c.health for c in state.control_plane}
    assert health == {
        "apiserver": "ok",
        "etcd": "hidden",
        "scheduler": "hidden",
        "controller-manager": "hidden",
    }
    assert not any(n.control_plane for n in state.nodes)
    assert all(n.kube_proxy.health == "ok" for n in state.nodes)


def test_cloud_controller_manager_is_drawn_only_when_present() -> None:
    data = raw_fixture("kubeadm")
    assert project(ClusterSnapshot.from_dict(data)).component("cloud-controller-manager") is None
    lease = find(data, "leases", "kube-controller-manager")
    data["leases"].append(
        {**lease, "metadata": {"name": "cloud-controller-manager", "namespace": "kube-system"}}
    )
    ccm = project(ClusterSnapshot.from_dict(data)).component("cloud-controller-manager")
    assert ccm is not None and ccm.health == "ok"


def test_node_not_ready_with_stale_lease() -> None:
    state = project(snapshot("node_not_ready"))
    worker2 = state.node("worker-2")
    assert worker2 is not None
    assert worker2.kubelet.health == "down"
    assert (
        "NotReady" in worker2.kubelet.why
        and "NotReady: Kubelet stopped posting node status; heartbeat" in worker2.kubelet.why
    )
    assert "95s" in worker2.kubelet.why
    assert state.node("worker-1").kubelet.health == "ok"  # type: ignore[union-attr]
    scheduler = state.component("scheduler")
    assert scheduler is not None and scheduler.health == "down"
    assert "stale" in scheduler.why and "55s" in scheduler.why


def test_ready_node_whose_lease_stopped_is_degraded() -> None:
    data = raw_fixture("kubeadm")
    find(data, "leases", "worker-1")["spec"]["renewTime"] = "2026-03-02T09:58:30.000000Z"
    state = project(ClusterSnapshot.from_dict(data))
    kubelet = state.node("worker-1").kubelet  # type: ignore[union-attr]
    assert kubelet.health == "degraded"
    assert "no heartbeat for 90s" in kubelet.why


def test_failing_readyz_marks_etcd_down_and_apiserver_degraded() -> None:
    data = raw_fixture("kubeadm")
    data["readyz"] = (
        "[+]ping ok\n[-]etcd failed: reason withheld\n[+]informer-sync ok\nreadyz check failed"
    )
    state = project(ClusterSnapshot.from_dict(data))
    assert state.component("etcd").health == "down"  # type: ignore[union-attr]
    api = state.component("apiserver")
    assert api is not None and api.health == "degraded" and "etcd" in api.why


def test_unreachable_api_server_is_down() -> None:
    snap = ClusterSnapshot(now=snapshot("kubeadm").now, api_error="Connection refused")
    api = project(snap).component("apiserver")
    assert api is not None and api.health == "down" and "Connection refused" in api.why


def test_rolling_update_mid_way() -> None:
    state = project(snapshot("rolling_update"))
    by_owner: dict[str, list[str]] = {}
    for p in state.pods:
        by_owner.setdefault(p.owner, []).append(p.status)
    assert sorted(by_owner["ReplicaSet/kdemo-dep-5d8f6c7b9"]) == [model.READY, model.TERMINATING]
    assert sorted(by_owner["ReplicaSet/kdemo-dep-7c4b8d6f5"]) == [model.CREATING, model.READY]


def test_hundred_pods_stay_compact() -> None:
    state = project(snapshot("many_pods"), chip_limit=10)
    workers = [n for n in state.nodes if not n.control_plane]
    for node in workers:
        assert len(node.visible_pods) == 10
        assert node.more_pods == len(node.pods) - 10 > 0
        assert sum(n for _, n in node.status_counts) == len(node.pods)
    assert len(state.waiting) == 43 and state.more_waiting == 33
    assert sum(len(n.pods) for n in workers) + len(state.waiting) == 100


def test_ten_nodes_sorted_naturally_with_control_plane_first() -> None:
    state = project(snapshot("ten_nodes"))
    assert [n.name for n in state.nodes] == ["control-plane"] + [
        f"worker-{i}" for i in range(1, 10)
    ]


@pytest.mark.parametrize(
    ("namespace", "selector", "expected"),
    [
        ("kube-system", None, {"coredns-668d6bf9bc-x7k2p"}),
        (None, "app=web", {"web-6b8-creating", "old-web-1"}),
        (None, "app in (web, crashy)", {"web-6b8-creating", "old-web-1", "crashy-1"}),
        ("default", "app notin (web),app", {"probes-demo-5f7-aaaaa", "crashy-1", "big-1"}),
        (None, "job-name", {"job-done-1"}),
        ("default", "!run,!app", {"job-done-1"}),
        (None, "run!=load-balancer-example,k8s-app==kube-dns", {"coredns-668d6bf9bc-x7k2p"}),
    ],
)
def test_namespace_and_label_filters(
    namespace: str | None, selector: str | None, expected: set[str]
) -> None:
    state = project(snapshot("kubeadm"), namespace=namespace, label_selector=selector)
    assert {p.name for p in state.pods} == expected
    # the cluster itself is unaffected by the filter
    assert len(state.nodes) == 4 and len(state.control_plane) == 4


def test_bad_label_selector_is_rejected() -> None:
    with pytest.raises(ValueError, match="unable to parse"):
        project(snapshot("kubeadm"), label_selector="app=(x")


def test_kubectl_status_for_init_containers_and_signals() -> None:
    pod = {
        "metadata": {"name": "p"},
        "spec": {"nodeName": "n", "containers": [{"name": "a"}], "initContainers": [{"name": "i"}]},
        "status": {
            "phase": "Pending",
            "initContainerStatuses": [{"name": "i", "state": {"running": {}}}],
        },
    }
    assert model.kubectl_pod_status(pod) == "Init:0/1"
    assert model.classify_pod(pod) == model.CREATING
    pod["status"]["initContainerStatuses"][0]["state"] = {"waiting": {"reason": "ImagePullBackOff"}}
    assert model.kubectl_pod_status(pod) == "Init:ImagePullBackOff"
    assert model.classify_pod(pod) == model.FAILED
    failed = {
        "metadata": {"name": "f"},
        "status": {
            "phase": "Failed",
            "containerStatuses": [{"state": {"terminated": {"exitCode": 137, "signal": 9}}}],
        },
    }
    assert model.kubectl_pod_status(failed) == "Signal:9"
    assert model.classify_pod(failed) == model.FAILED


def test_pod_requests_use_max_of_init_and_add_overhead() -> None:
    pod = {
        "spec": {
            "containers": [
                {"resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}},
                {"resources": {"requests": {"cpu": "250m"}}},
            ],
            "initContainers": [{"resources": {"requests": {"cpu": "500m", "memory": "32Mi"}}}],
            "overhead": {"cpu": "10m"},
        }
    }
    req = model.pod_requests(pod)
    assert req["cpu"] == Decimal("0.510")
    assert req["memory"] == 64 * 1024 * 1024


def test_pod_requests_count_a_sidecar_as_the_scheduler_does() -> None:
    pod = {"spec": {"containers": [{"resources": {"requests": {"cpu": "200m"}}}],
                    "initContainers": [{"restartPolicy": "Always",
                                        "resources": {"requests": {"cpu": "100m"}}}]}}
    assert model.pod_requests(pod)["cpu"] == Decimal("0.3")  # was 0.2: sidecars add up


def test_state_is_json_able_and_snapshot_round_trips() -> None:
    snap = snapshot("kubeadm")
    state = project(snap)
    text = json.dumps(state.to_dict())
    assert "probes-demo-5f7-aaaaa" in text
    again = ClusterSnapshot.from_dict(json.loads(json.dumps(snap.to_dict())))
    assert project(again) == state


def test_human_duration_matches_kubectl_age() -> None:
    # HumanDuration's two-unit forms, as the sandbox's AGE column prints them (was "3d").
    assert model.human_duration(3 * 86400 + 5 * 3600) == "3d5h"
    assert [model.human_duration(s) for s in (5, 119, 130, 600, 7200, 3 * 86400)] == [
        "5s",
        "119s",
        "2m10s",
        "10m",
        "120m",
        "3d",
    ]
