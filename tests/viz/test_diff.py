"""``diff`` explains what changed between two drawn states."""

from __future__ import annotations

from kubelab.viz.model import ClusterSnapshot, diff, project
from kubelab.viz.render import render
from viz.support import find, raw_fixture, snapshot


def _kinds(changes: tuple) -> dict[str, set[str]]:  # type: ignore[type-arg]
    out: dict[str, set[str]] = {}
    for c in changes:
        out.setdefault(c.kind, set()).add(c.subject)
    return out


def test_no_previous_state_means_no_changes() -> None:
    state = project(snapshot("kubeadm"))
    assert diff(None, state) == () and state.changes == ()
    assert diff(state, state) == ()


def test_pod_scheduled_onto_a_node() -> None:
    data = raw_fixture("many_pods")
    before = project(ClusterSnapshot.from_dict(data))
    pod = find(data, "pods", "resource-quota-demo-6f9d-070")
    pod["spec"]["nodeName"] = "worker-2"
    pod["status"] = {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True"}]}
    after = project(ClusterSnapshot.from_dict(data), previous=before)
    assert [(c.kind, c.subject, c.node) for c in after.changes] == [
        ("scheduled", "default/resource-quota-demo-6f9d-070", "worker-2")
    ]
    assert "scheduled onto worker-2" in after.changes[0].message


def test_pod_became_ready_and_old_one_deleted() -> None:
    data = raw_fixture("rolling_update")
    before = project(ClusterSnapshot.from_dict(data))
    new = find(data, "pods", "kdemo-dep-7c4b8d6f5-j7k8l")
    new["status"] = {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True"}],
        "containerStatuses": [{"name": "app", "ready": True, "state": {"running": {}}}],
    }
    data["pods"].remove(find(data, "pods", "kdemo-dep-5d8f6c7b9-d3e4f"))
    kinds = _kinds(project(ClusterSnapshot.from_dict(data), previous=before).changes)
    assert kinds == {
        "ready": {"default/kdemo-dep-7c4b8d6f5-j7k8l"},
        "deleted": {"default/kdemo-dep-5d8f6c7b9-d3e4f"},
    }


def test_probe_failing_and_not_ready() -> None:
    data = raw_fixture("kubeadm")
    before = project(ClusterSnapshot.from_dict(data))
    hello = next(p for p in data["pods"] if p["metadata"]["name"].startswith("hello-world-"))
    hello["status"]["conditions"][1]["status"] = "False"
    hello["status"]["containerStatuses"][0]["ready"] = False
    find(data, "events", "probes-demo-5f7-aaaaa.unhealthy")["count"] = 4
    after = project(ClusterSnapshot.from_dict(data), previous=before)
    key = f"default/{hello['metadata']['name']}"
    kinds = _kinds(after.changes)
    assert kinds == {"not-ready": {key}, "probe-failing": {"default/probes-demo-5f7-aaaaa"}}
    probe = next(c for c in after.changes if c.kind == "probe-failing")
    assert "Readiness probe failed" in probe.message


def test_node_not_ready_and_component_going_down() -> None:
    before = project(snapshot("kubeadm"))
    after = project(snapshot("node_not_ready"), previous=before)
    kinds = _kinds(after.changes)
    assert kinds == {"node-not-ready": {"worker-2"}, "component": {"scheduler"}}
    back = project(snapshot("kubeadm"), previous=after)
    assert _kinds(back.changes) == {"node-ready": {"worker-2"}, "component": {"scheduler"}}


def test_changes_are_highlighted_in_the_rendering() -> None:
    data = raw_fixture("kubeadm")
    before = project(ClusterSnapshot.from_dict(data))
    find(data, "pods", "crashy-1")["status"]["containerStatuses"][0]["restartCount"] = 5
    data["pods"].append(
        {**find(data, "pods", "big-1"), "metadata": {"name": "big-2", "namespace": "default"}}
    )
    after = project(ClusterSnapshot.from_dict(data), previous=before)
    html = render(after)
    assert 'data-pod="default/big-2" data-status="unscheduled" data-changed="pending"' in html
    assert (
        'data-pod="default/crashy-1" data-status="failed" transform' in html
    )  # unchanged: no highlight
    assert 'data-change="pending"' in html
