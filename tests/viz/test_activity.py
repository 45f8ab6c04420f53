"""Who changed what: pulses from watch events, by managedFields managers and by the fallback
rules, on hand-made changes with real-cluster managedFields and on the recorded fixtures."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubelab.viz.activity import (
    Flow,
    Pulse,
    WatchEvent,
    component_of_manager,
    dedupe,
    events_between,
    pulses_between,
    pulses_for,
    writers,
)
from kubelab.viz.model import ClusterSnapshot
from viz.support import find, raw_fixture

T0, T1, T2 = "2026-03-02T10:00:00Z", "2026-03-02T10:00:05Z", "2026-03-02T10:00:06Z"


def _mf(manager: str, time: str, subresource: str = "", operation: str = "Update") -> dict[str, Any]:
    entry = {"manager": manager, "operation": operation, "apiVersion": "v1", "time": time,
             "fieldsType": "FieldsV1", "fieldsV1": {}}
    if subresource:
        entry["subresource"] = subresource
    return entry


def _hops(pulses: list[Pulse]) -> list[tuple[str, str]]:
    return [(p.link, p.direction) for p in pulses]


@pytest.mark.parametrize(("manager", "component"), [
    ("kube-scheduler", "scheduler"), ("kubelet", "kubelet"),
    ("kube-controller-manager", "controller-manager"), ("kubectl-scale", "kubectl"),
    ("kubectl-client-side-apply", "kubectl"), ("OpenAPI-Generator", "kubectl"),
    ("kube-apiserver", None), ("kube-proxy", "kube-proxy"),
])
def test_managers_map_to_components(manager: str, component: str | None) -> None:
    assert component_of_manager(manager) == component


def test_a_scale_travels_through_the_api_server_by_managed_fields() -> None:
    """kubectl scale → controller manager → scheduler → kubelet, read from managedFields."""
    deploy_old: dict[str, Any] = {"metadata": {"name": "web", "namespace": "default", "resourceVersion": "10",
                               "managedFields": [_mf("kubectl-create", T0),
                                                 _mf("kube-controller-manager", T0, "status")]},
                  "spec": {"replicas": 1}}
    deploy_new = copy.deepcopy(deploy_old)
    deploy_new["metadata"]["resourceVersion"] = "11"
    deploy_new["spec"]["replicas"] = 2
    deploy_new["metadata"]["managedFields"].append(_mf("kubectl-scale", T1, "scale"))
    rs_old: dict[str, Any] = {"metadata": {"name": "web-6b8", "namespace": "default", "resourceVersion": "12",
                           "ownerReferences": [{"kind": "Deployment", "name": "web",
                                                "controller": True}],
                           "managedFields": [_mf("kube-controller-manager", T0)]},
              "spec": {"replicas": 1}}
    rs_new = copy.deepcopy(rs_old)
    rs_new["spec"]["replicas"] = 2
    rs_new["metadata"].update(resourceVersion="13",
                              managedFields=[_mf("kube-controller-manager", T1)])
    pod: dict[str, Any] = {"metadata": {"name": "web-6b8-x2", "namespace": "default", "resourceVersion": "14",
                        "ownerReferences": [{"kind": "ReplicaSet", "name": "web-6b8",
                                             "controller": True}],
                        "managedFields": [_mf("kube-controller-manager", T1)]},
           "spec": {"containers": [{"name": "web", "image": "nginx"}]},
           "status": {"phase": "Pending"}}
    bound = copy.deepcopy(pod)
    bound["metadata"]["resourceVersion"] = "15"
    bound["spec"]["nodeName"] = "worker-2"  # pods/binding: no managedFields entry of its own
    running = copy.deepcopy(bound)
    running["metadata"]["resourceVersion"] = "16"
    running["metadata"]["managedFields"].append(_mf("kubelet", T2, "status"))
    running["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    previous = ClusterSnapshot.from_dict({"now": T0, "deployments": [deploy_old],
                                          "replicasets": [rs_old]})
    events = [WatchEvent("MODIFIED", "deployments", deploy_new),
              WatchEvent("MODIFIED", "replicasets", rs_new),
              WatchEvent("ADDED", "pods", pod),
              WatchEvent("MODIFIED", "pods", bound),
              WatchEvent("MODIFIED", "pods", running)]
    pulses = list(dedupe(pulses_between(previous, events, ["worker-1", "worker-2"])))
    assert _hops(pulses) == [
        ("kubectl", "up"), ("controller-manager", "down"),  # scale; the Deployment controller sees it
        ("controller-manager", "up"), ("controller-manager", "down"),  # ReplicaSet resized
        ("controller-manager", "up"), ("scheduler", "down"),  # pod created; scheduler sees it
        ("scheduler", "up"), ("kubelet/worker-2", "down"),  # bound; the node's kubelet sees it
        ("kubelet/worker-2", "up"),  # status reported
        ("controller-manager", "down"),  # ready: the ReplicaSet controller counts it
        ("etcd", "down"),
    ]
    assert pulses[0].manager == "kubectl-scale" and pulses[0].verb == "update scale"
    assert pulses[4].verb == "create" and pulses[4].object == "pod default/web-6b8-x2"
    assert pulses[6].verb == "bind to worker-2"
    assert pulses[8].verb == "update status" and pulses[8].manager == "kubelet"
    assert pulses[0].text() == "kubectl → API server: update scale deployment default/web"
    assert pulses[7].text() == ("API server → kubelet on worker-2: watch: pod bound to this "
                                "node pod default/web-6b8-x2")


def test_writers_are_the_new_or_newer_entries() -> None:
    old: dict[str, Any] = {"metadata": {"managedFields": [_mf("kubectl-create", T0), _mf("kubelet", T0, "status")]}}
    new = {"metadata": {"managedFields": [_mf("kubectl-create", T0), _mf("kubelet", T1, "status"),
                                          _mf("kubectl-label", T2)]}}
    assert [e["manager"] for e in writers(old, new)] == ["kubelet", "kubectl-label"]
    assert writers(new, new) == []


def test_same_second_write_falls_back_to_the_changed_fields() -> None:
    """A manager writing twice within its entry's one-second time leaves no newer entry."""
    old = {"metadata": {"name": "p", "namespace": "default", "resourceVersion": "1",
                        "managedFields": [_mf("kubelet", T1, "status")]},
           "spec": {"nodeName": "worker-1"}, "status": {"phase": "Pending"}}
    new = copy.deepcopy(old)
    new["status"] = {"phase": "Running"}
    new["metadata"]["resourceVersion"] = "2"
    pulses = pulses_for(WatchEvent("MODIFIED", "pods", new), old)
    assert _hops(pulses) == [("kubelet/worker-1", "up")]


def _snap(data: dict[str, Any]) -> ClusterSnapshot:
    return ClusterSnapshot.from_dict(data)


@pytest.mark.parametrize("fixture", ["kind", "gke", "rolling_update"])
def test_fallback_on_recorded_fixtures_a_replica_is_created_bound_and_started(
        fixture: str) -> None:
    """Recordings carry no managedFields: the changed fields tell who did it."""
    data = raw_fixture(fixture)
    before = _snap(copy.deepcopy(data))
    template = next(p for p in data["pods"] if (p["metadata"].get("ownerReferences") or [{}])[0]
                    .get("kind") == "ReplicaSet")
    node = template["spec"]["nodeName"]
    new = copy.deepcopy(template)
    new["metadata"]["name"] += "-new"
    new["spec"].pop("nodeName")
    new["status"] = {"phase": "Pending"}
    data["pods"].append(new)
    created = _snap(copy.deepcopy(data))
    events = events_between(before, created)
    assert [(e.type, e.kind) for e in events] == [("ADDED", "pods")]
    nodes = [n["metadata"]["name"] for n in data["nodes"]]
    assert _hops(pulses_between(before, events, nodes)) == [
        ("controller-manager", "up"), ("scheduler", "down"), ("etcd", "down")]
    new = find(data, "pods", new["metadata"]["name"])
    new["spec"]["nodeName"] = node
    bound = _snap(copy.deepcopy(data))
    assert _hops(pulses_between(created, events_between(created, bound), nodes))[:2] == [
        ("scheduler", "up"), (f"kubelet/{node}", "down")]
    new["status"] = copy.deepcopy(template["status"])
    started = _snap(data)
    assert _hops(pulses_between(bound, events_between(bound, started), nodes)) == [
        (f"kubelet/{node}", "up"), ("controller-manager", "down"), ("etcd", "down")]


def test_fallback_a_node_goes_not_ready_and_its_pods_are_evicted() -> None:
    data = raw_fixture("node_not_ready")
    node = find(data, "nodes", "worker-2")
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    healthy = copy.deepcopy(data)
    next(c for c in find(healthy, "nodes", "worker-2")["status"]["conditions"]
         if c["type"] == "Ready")["status"] = "True"
    assert ready["status"] == "Unknown"
    nodes = [n["metadata"]["name"] for n in data["nodes"]]
    events = events_between(_snap(healthy), _snap(data))
    assert [(e.type, e.kind) for e in events] == [("MODIFIED", "nodes")]
    assert _hops(pulses_between(_snap(healthy), events, nodes)) == [
        ("controller-manager", "up"), ("controller-manager", "down"), ("scheduler", "down"),
        ("etcd", "down")]
    victim = next(p for p in data["pods"] if p["spec"].get("nodeName") == "worker-2"
                  and p["metadata"].get("ownerReferences"))
    evicted = copy.deepcopy(data)
    find(evicted, "pods", victim["metadata"]["name"])["metadata"]["deletionTimestamp"] = T1
    pulses = pulses_between(_snap(data), events_between(_snap(data), _snap(evicted)), nodes)
    assert _hops(pulses) == [("controller-manager", "up"), ("kubelet/worker-2", "down"),
                             ("etcd", "down")]


def test_endpoint_changes_reach_every_kube_proxy_and_leases_are_ignored() -> None:
    slice_ = {"metadata": {"name": "web-abc", "namespace": "default"}, "endpoints": []}
    pulses = pulses_for(WatchEvent("ADDED", "endpointslices", slice_), None, ["a", "b", "c"])
    assert _hops(pulses) == [("controller-manager", "up"), ("kube-proxy/a", "down"),
                             ("kube-proxy/b", "down"), ("kube-proxy/c", "down")]
    lease = {"metadata": {"name": "worker-1", "namespace": "kube-node-lease"}}
    assert pulses_for(WatchEvent("MODIFIED", "leases", lease), lease) == []


def test_a_binding_with_its_podscheduled_condition_is_the_schedulers_alone() -> None:
    old = {"metadata": {"name": "p", "namespace": "default", "resourceVersion": "1"},
           "spec": {}, "status": {"phase": "Pending"}}
    new = copy.deepcopy(old)
    new["metadata"]["resourceVersion"] = "2"
    new["spec"]["nodeName"] = "worker-1"
    new["status"]["conditions"] = [{"type": "PodScheduled", "status": "True"}]
    assert _hops(pulses_for(WatchEvent("MODIFIED", "pods", new), old)) == [
        ("scheduler", "up"), ("kubelet/worker-1", "down")]


def test_deleted_pods_and_json_form() -> None:
    pod = {"metadata": {"name": "p", "namespace": "default"}, "spec": {"nodeName": "n1"}}
    pulses = pulses_for(WatchEvent("DELETED", "pods", pod), pod)
    assert _hops(pulses) == [("kubelet/n1", "up")]
    assert pulses[0].to_json() == {"c": "kubelet", "v": "delete", "o": "pod default/p", "d": "up",
                                   "l": "kubelet/n1", "n": "n1",
                                   "t": "kubelet on n1 → API server: delete pod default/p"}


def test_flow_folds_repeats_and_names_components_in_order() -> None:
    flow = Flow.of([
        "kubectl → API server: create deployment default/web",
        "API server → controller manager: deployment default/web changed",
        "kubelet on w1 → API server: status pod default/web-1",
        "kubelet on w1 → API server: status pod default/web-1",
        "scheduler → API server: bind to w1 pod default/web-2",
    ])
    assert flow.hops[2] == "kubelet on w1 → API server: status pod default/web-1 (2 times)"
    assert len(flow.hops) == 4
    assert flow.components() == ["kubectl", "controller manager", "kubelet", "scheduler"]
    assert str(flow).splitlines()[0] == "  1. kubectl → API server: create deployment default/web"
    assert str(Flow(())) == "(no activity recorded)"
