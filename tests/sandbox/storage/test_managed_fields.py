"""Field managers recorded on every write of the registry, as kube-apiserver's field
manager records them (``metadata.managedFields``, operation ``Update``, FieldsV1).

The real kubectl's view of the same entries is in
``tests/conformance/test_managed_fields.py``; here the registry is driven directly, as the
in-process components drive it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import pytest

from kubelab.apimachinery.types import Obj
from kubelab.sandbox import bootstrap
from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import Clock, ManualClock
from kubelab.sandbox.reconcile.events import EventRecorder
from kubelab.sandbox.reconcile.runner import ComponentRunner
from kubelab.sandbox.reconcile.types import Create, Key, RecordEvent, Result, Snapshot
from kubelab.sandbox.storage import Registry

PODS = kinds.core("pods")
SERVICES = kinds.core("services")
CONFIGMAPS = kinds.core("configmaps")
DEPLOYMENTS = kinds.apps("deployments")


@pytest.fixture
def setup() -> tuple[ManualClock, Registry]:
    clock = ManualClock()
    registry = Registry(clock)
    bootstrap.seed(registry, 1)
    return clock, registry


def entries(obj: Obj) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e["manager"], e.get("subresource", "")): e
            for e in obj["metadata"].get("managedFields") or []}


def pod(name: str = "web") -> Obj:
    return {"metadata": {"name": name, "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27",
                                     "ports": [{"containerPort": 80}]}]}}


def test_create_records_the_request_after_defaulting(setup: tuple[ManualClock, Registry]) -> None:
    _, reg = setup
    created = reg.create(PODS, pod(), namespace="default", manager="kubectl-run")
    (key, entry), = entries(created).items()
    assert key == ("kubectl-run", "")
    assert entry["operation"] == "Update" and entry["apiVersion"] == "v1"
    assert entry["fieldsType"] == "FieldsV1" and entry["time"] == \
        created["metadata"]["creationTimestamp"]
    fields = entry["fieldsV1"]
    # Maps and lists the write created own a ".", value-typed structs do not.
    assert fields["f:metadata"] == {"f:labels": {".": {}, "f:app": {}}}
    container = fields["f:spec"]["f:containers"]['k:{"name":"nginx"}']
    assert container["."] == {} and container["f:ports"]["."] == {}
    assert "f:imagePullPolicy" in container and "f:terminationMessagePath" in container
    assert "f:dnsPolicy" in fields["f:spec"] and "f:status" not in fields
    # Set later by admission and the strategy, not by the request: nobody's field.
    assert "f:tolerations" not in fields["f:spec"] and "f:priority" not in fields["f:spec"]


def test_allocated_cluster_ips_belong_to_no_manager(setup: tuple[ManualClock, Registry]) -> None:
    _, reg = setup
    svc = reg.create(SERVICES, {"metadata": {"name": "web"},
                                "spec": {"selector": {"app": "web"},
                                         "ports": [{"port": 80}]}},
                     namespace="default", manager="kubectl-expose")
    assert svc["spec"]["clusterIP"]
    spec = entries(svc)[("kubectl-expose", "")]["fieldsV1"]["f:spec"]
    assert "f:clusterIP" not in spec and "f:clusterIPs" not in spec
    assert 'k:{"port":80,"protocol":"TCP"}' in spec["f:ports"]


def test_a_status_write_is_its_writers_with_subresource_status(
        setup: tuple[ManualClock, Registry]) -> None:
    clock, reg = setup
    created = reg.create(PODS, pod(), namespace="default", manager="kubectl-run")
    clock.advance(5)
    current = reg.get(PODS, "default", "web")
    current["status"]["phase"] = "Running"
    current["status"]["podIP"] = "10.244.1.5"
    updated = reg.update(PODS, current, subresource="status", manager="kubelet")
    found = entries(updated)
    assert found[("kubectl-run", "")] == entries(created)[("kubectl-run", "")]
    kubelet = found[("kubelet", "status")]
    assert kubelet["fieldsV1"] == {"f:status": {"f:phase": {}, "f:podIP": {}}}
    assert kubelet["time"] != entries(created)[("kubectl-run", "")]["time"]


def test_scale_takes_replicas_from_the_creator(setup: tuple[ManualClock, Registry]) -> None:
    _, reg = setup
    body = {"metadata": {"name": "web"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "nginx",
                                                           "image": "nginx:1.27"}]}}}}
    reg.create(DEPLOYMENTS, body, namespace="default", manager="kubectl-create")
    current = reg.get(DEPLOYMENTS, "default", "web")
    current["spec"]["replicas"] = 3
    scaled = reg.update(DEPLOYMENTS, current, manager="kubectl", via="scale")
    found = entries(scaled)
    assert found[("kubectl", "scale")]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in found[("kubectl-create", "")]["fieldsV1"]["f:spec"]


def test_a_write_that_changes_nothing_changes_no_entry(
        setup: tuple[ManualClock, Registry]) -> None:
    clock, reg = setup
    created = reg.create(CONFIGMAPS, {"metadata": {"name": "c"}, "data": {"a": "1"}},
                         namespace="default", manager="kubectl-create")
    clock.advance(5)
    same = reg.update(CONFIGMAPS, copy.deepcopy(created), manager="kubectl-edit")
    assert same == created
    changed = copy.deepcopy(created)
    changed["data"]["a"] = "2"
    edited = reg.update(CONFIGMAPS, changed, manager="kubectl-edit")
    found = entries(edited)
    assert found[("kubectl-edit", "")]["fieldsV1"] == {"f:data": {"f:a": {}}}
    # The creator keeps the map itself (a member without children serialises as {}),
    # and loses the value someone else changed.
    assert found[("kubectl-create", "")]["fieldsV1"] == {"f:data": {}}


def test_server_side_apply_keeps_what_apply_recorded(setup: tuple[ManualClock, Registry]) -> None:
    _, reg = setup
    applied: Obj = {"metadata": {"name": "c", "managedFields": [
        {"manager": "kubectl", "operation": "Apply", "apiVersion": "v1",
         "time": "2026-01-01T00:00:00Z", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:data": {"f:a": {}}}}]}, "data": {"a": "1"}}
    created = reg.create(CONFIGMAPS, applied, namespace="default", applied=True)
    assert created["metadata"]["managedFields"] == applied["metadata"]["managedFields"]


class Writer:
    """A component that creates one ConfigMap and reports an Event about it."""

    name = "writer-controller"
    watches = (CONFIGMAPS,)

    def keys_for(self, info: kinds.KindInfo, obj: Obj, snapshot: Snapshot) -> Iterable[Key]:
        return []

    def reconcile(self, snapshot: Snapshot, key: Key, clock: Clock) -> Result:
        return Result()


def test_components_write_under_their_binarys_name(setup: tuple[ManualClock, Registry]) -> None:
    clock, reg = setup
    runner = ComponentRunner(Writer(), reg, clock, EventRecorder(reg, clock),
                             field_manager="kube-controller-manager")
    made = {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "made", "namespace": "default"}, "data": {"a": "1"}}
    runner.apply(Create(CONFIGMAPS, made))
    stored = reg.get(CONFIGMAPS, "default", "made")
    assert list(entries(stored)) == [("kube-controller-manager", "")]
    runner.apply(RecordEvent(stored, "Normal", "Made", "made it", "writer-controller"))
    (event,), _ = reg.list_objects(kinds.core("events"), "default")
    assert list(entries(event)) == [("kube-controller-manager", "")]
    # Without a binary name, the component's own name.
    plain = ComponentRunner(Writer(), reg, clock, EventRecorder(reg, clock))
    assert plain.field_manager == "writer-controller"


def test_the_control_planes_leader_leases_are_their_binarys(
        setup: tuple[ManualClock, Registry]) -> None:
    """The control plane component stands for the control-plane node's kubelet (its static
    pods' mirrors) and for the leaders it renews Leases for: each Lease is written under
    the binary that holds it, as kube-scheduler's and kube-controller-manager's leader
    election (user agent ``kube-scheduler/v1.x …/leader-election``) write them upstream."""
    from kubelab.sandbox.cluster import field_manager_of
    from kubelab.sandbox.control_plane import KEY, LEADER_LEASES, LEASES, RENEW_PERIOD, ControlPlane

    clock, reg = setup
    plane = ControlPlane("kubelab-control-plane", "1.37.0", lambda: {})
    runner = ComponentRunner(plane, reg, clock, EventRecorder(reg, clock),
                             field_manager=field_manager_of(plane))
    assert runner.field_manager == "kubelet"
    for _ in range(2):  # create, then renew
        runner.process(KEY)
        clock.advance(RENEW_PERIOD)
    for name in LEADER_LEASES:
        lease = reg.get(LEASES, "kube-system", name)
        assert [e["manager"] for e in lease["metadata"]["managedFields"]] == [name]
    mirror = reg.get(PODS, "kube-system", "kube-scheduler-kubelab-control-plane")
    assert {e["manager"] for e in mirror["metadata"]["managedFields"]} == {"kubelet"}


def test_successive_writes_record_what_walking_each_stored_version_again_records(
        setup: tuple[ManualClock, Registry]) -> None:
    """A main-resource write keeps its walk for the next write of the object (as a status
    write does): entries after many writes by turns equal those computed from scratch."""
    from kubelab.sandbox.api import patch

    clock, reg = setup
    reg.create(CONFIGMAPS, {"metadata": {"name": "c"}, "data": {"a": "0"}},
               namespace="default", manager="m0")
    writes = [("m1", {"a": "1", "b": "1"}), ("m2", {"a": "1", "b": "2"}), ("m1", {"b": "2"}),
              ("m0", {"b": "2", "c": "3"}), ("m2", {"b": "2", "c": "4"}), ("m2", {"d": "1"})]
    for manager, data in writes:
        clock.advance(1)
        old = reg.get(CONFIGMAPS, "default", "c")
        new = copy.deepcopy(old)
        new["data"] = data
        patch._WALKS.clear()  # the reference: every version walked afresh
        expected = patch.update_managed_fields(
            copy.deepcopy(old), copy.deepcopy(new), manager=manager, api_version="v1",
            kind="ConfigMap", now=patch_time(clock))
        stored = reg.update(CONFIGMAPS, new, manager=manager, copy_result=False)
        assert stored["metadata"]["managedFields"] == expected["metadata"]["managedFields"]
        assert any(entry[0] is stored for entry in patch._WALKS.values())  # kept


def test_an_allocated_node_port_stays_nobodys_on_the_next_write(
        setup: tuple[ManualClock, Registry]) -> None:
    """A Service's update allocates its nodePort after the field manager ran, so that
    version's walk is not kept: the next writer must not take the allocated port."""
    _, reg = setup
    reg.create(SERVICES, {"metadata": {"name": "web"},
                          "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}},
               namespace="default", manager="kubectl-expose")
    current = reg.get(SERVICES, "default", "web")
    current["spec"]["type"] = "NodePort"
    exposed = reg.update(SERVICES, current, manager="kubectl-patch")
    assert exposed["spec"]["ports"][0]["nodePort"]
    exposed["metadata"]["labels"] = {"tier": "web"}
    labelled = reg.update(SERVICES, exposed, manager="kubectl-label")
    for entry in labelled["metadata"]["managedFields"]:
        assert "nodePort" not in str(entry["fieldsV1"]), entry["manager"]


def patch_time(clock: Clock) -> str:
    from kubelab.apimachinery.times import rfc3339

    return rfc3339(clock.now())
