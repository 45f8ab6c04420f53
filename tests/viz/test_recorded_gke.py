"""The diagram on objects recorded from a real GKE cluster, not made by us.

The recording (``tests/why/recorded/gke-node.node.yaml`` and ``gke-kube-dns.pod.yaml``, origin
in that folder's PROVENANCE.toml) is one Node and the kube-dns Pod of a GKE 1.11 cluster as
``kubectl get -o yaml`` printed them. On GKE the control plane is run by Google out of sight:
no node carries a control-plane role and no kube-apiserver, etcd, scheduler or controller
manager pod exists, so the diagram must say "hidden, run by the provider", never "missing"
or "unhealthy". The kube-dns pod runs on a second node whose Node object the recording
lacks; a pod bound to a node is not waiting for the scheduler, whatever the list holds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from kubelab.viz import scene as scenes
from kubelab.viz.model import ClusterSnapshot, project
from kubelab.viz.render import render
from kubelab.viz.widgets import details_html

RECORDED = Path(__file__).parent.parent / "why" / "recorded"
Obj = dict[str, Any]


def _as_served(value: Any) -> Any:
    """The API serves times as RFC 3339 strings; the recording's kubectl printed them unquoted
    in YAML, which a YAML loader reads back as datetimes. Undo only that."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dict):
        return {k: _as_served(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_served(v) for v in value]
    return value


def _recorded(file: str) -> Obj:
    obj: Obj = _as_served(yaml.safe_load((RECORDED / file).read_text()))
    return obj


def gke_snapshot() -> tuple[ClusterSnapshot, Obj, Obj]:
    """The recorded node and pod, seen at the node's last recorded heartbeat."""
    node, pod = _recorded("gke-node.node.yaml"), _recorded("gke-kube-dns.pod.yaml")
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    data = {"now": ready["lastHeartbeatTime"], "nodes": [node], "pods": [pod]}
    return ClusterSnapshot.from_dict(data), node, pod


def test_the_recorded_objects_are_gke_as_served() -> None:
    snap, node, pod = gke_snapshot()
    assert node["metadata"]["labels"]["cloud.google.com/gke-nodepool"] == "default-pool"
    assert node["metadata"]["name"].startswith("gke-")
    assert node["status"]["nodeInfo"]["kubeletVersion"].endswith("-gke.18")
    assert pod["metadata"]["namespace"] == "kube-system"
    assert pod["status"]["conditions"][0]["lastTransitionTime"] == "2018-12-03T17:00:00Z"
    assert snap.now == datetime(2019, 1, 15, 17, 37, 32, tzinfo=UTC)


def test_gke_control_plane_is_hidden_not_missing() -> None:
    snap, _node, _pod = gke_snapshot()
    state = project(snap)
    assert state.cluster.control_plane_hidden
    assert "hidden" in state.cluster.note and "provider" in state.cluster.note
    health = {c.key: c.health for c in state.control_plane}
    assert health == {"apiserver": "ok", "etcd": "hidden", "scheduler": "hidden",
                      "controller-manager": "hidden"}
    for comp in state.control_plane:
        for word in ("missing", "unhealthy", "not found", "no kube-", "down"):
            assert word not in comp.why, (comp.key, comp.why)
    assert "run by the cloud provider" in state.component("scheduler").why  # type: ignore[union-attr]


def test_gke_node_is_drawn_as_recorded() -> None:
    snap, node, _pod = gke_snapshot()
    state = project(snap)
    assert [n.name for n in state.nodes] == [node["metadata"]["name"]]
    drawn = state.nodes[0]
    assert not drawn.control_plane and drawn.roles == ()
    assert drawn.kubelet.health == "ok", drawn.kubelet.why
    assert drawn.kubelet.why.startswith("Ready, heartbeat "), drawn.kubelet.why
    assert drawn.runtime == node["status"]["nodeInfo"]["containerRuntimeVersion"]
    cpu = next(u for u in drawn.capacity if u.resource == "cpu")
    assert cpu.allocatable == 3.92 and cpu.text == "0 / 3920m"
    # GKE 1.11 ran kube-proxy as a static pod on each node; it is not in the recording, and
    # the diagram says what it sees rather than inventing one
    assert drawn.kube_proxy.health == "unknown" and "no kube-proxy pod" in drawn.kube_proxy.why


def test_a_pod_bound_to_an_unlisted_node_is_not_waiting_for_the_scheduler() -> None:
    snap, _node, pod = gke_snapshot()
    state = project(snap)
    assert [p.key for p in state.waiting] == ["kube-system/kube-dns-548976df6c-d9kkv"]
    chip = state.waiting[0]
    assert chip.node == pod["spec"]["nodeName"] and chip.ready == "4/4"
    scene = scenes.build(state)
    title = scene["waiting#title"]["x"]
    assert title == "On nodes not listed (1)", title
    reasons = [el["x"] for eid, el in scene.items() if eid.startswith("waiting#reason")]
    assert reasons == [f"1 \u00d7 Running on {pod['spec']['nodeName']} (node not listed)"]


def test_a_pending_pod_beside_it_still_waits_for_the_scheduler() -> None:
    snap, _node, _pod = gke_snapshot()
    pending = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "web-0", "namespace": "default"},
               "spec": {"containers": [{"name": "web", "image": "nginx"}]},
               "status": {"phase": "Pending"}}
    data = snap.to_dict()
    data["pods"].append(pending)
    scene = scenes.build(project(ClusterSnapshot.from_dict(data)))
    assert scene["waiting#title"]["x"] == ("Waiting for the scheduler (1 Pending) \u00b7 "
                                           "On nodes not listed (1)")


def test_gke_recording_renders_with_the_managed_note() -> None:
    snap, node, _pod = gke_snapshot()
    state = project(snap)
    scene = scenes.build(state)
    assert scene["note/hidden"]["x"].startswith("Managed cluster: the provider runs")
    assert scene["cp/scheduler"]["a"]["data-health"] == "hidden"
    assert scene["cp/label"]["x"] == "control plane: run by the provider, out of sight"
    links = {eid for eid in scene if eid.startswith("link/")}
    assert {f"link/kubelet/{node['metadata']['name']}", "link/scheduler"} <= links
    html = render(state)
    assert 'data-note="control-plane-hidden"' in html and node["metadata"]["name"] in html


def test_clicking_the_recorded_pod_and_node_shows_their_diagnosis() -> None:
    snap, node, pod = gke_snapshot()
    state = project(snap)
    key = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
    html = details_html(snap, state, "pod", key)
    assert "data-diagnosis='Ready'" in html and "running and ready" in html
    assert pod["spec"]["nodeName"] in html and "4/4" in html
    html = details_html(snap, state, "node", node["metadata"]["name"])
    assert "data-diagnosis='Ready'" in html
    assert "kubelet is posting ready status. AppArmor enabled" in html
