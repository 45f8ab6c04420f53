"""The VolumeBinding plugin in the scheduler, on the real registry.

Upstream: ``pkg/scheduler/framework/plugins/volumebinding`` — PreFilter rejects a pod with an
unbound immediate claim (the FitError has that one reason), Filter keeps a pod on its bound
volume's node (``node(s) had volume node affinity conflict``), PreBind writes
``volume.kubernetes.io/selected-node`` on WaitForFirstConsumer claims and binds the pod only
once they are bound.
"""

from __future__ import annotations

import copy

import pytest
from sandbox.scheduler.driver import Driver
from sandbox.scheduler.scheduler_fakes import control_plane, node, pod

from kubelab.sandbox.api import kinds
from kubelab.sandbox.scheduler import scheduler

PVCS = kinds.core("persistentvolumeclaims")
PVS = kinds.core("persistentvolumes")
CLASSES = kinds.resource("storageclasses.storage.k8s.io")
EVENTS = kinds.core("events")


@pytest.fixture
async def drv() -> object:
    driver = Driver(scheduler())
    for n in (control_plane(), node("node-1"), node("node-2")):
        driver.add_node(n)
    yield driver
    await driver.stop()


def claim(name: str, klass: str) -> dict[str, object]:
    return {"metadata": {"name": name}, "spec": {
        "accessModes": ["ReadWriteOnce"], "storageClassName": klass,
        "resources": {"requests": {"storage": "1Gi"}}}}


def with_claim(name: str, claim_name: str) -> dict[str, object]:
    return pod(name, volumes=[{"name": "d", "persistentVolumeClaim": {
        "claimName": claim_name}}])


def events(driver: Driver, reason: str) -> list[str]:
    return [e["message"] for e in driver.registry.iter_objects(EVENTS)
            if e.get("reason") == reason]


def bind_claim(driver: Driver, name: str, volume: str) -> None:
    stored = copy.deepcopy(driver.registry.get(PVCS, "default", name))
    stored["spec"]["volumeName"] = volume
    stored = driver.registry.update(PVCS, stored, namespace="default")
    stored["status"] = {"phase": "Bound"}
    driver.registry.update(PVCS, stored, namespace="default", subresource="status")


async def test_a_missing_claim_and_an_unbound_immediate_claim_stop_the_pod(
        drv: Driver) -> None:
    drv.start()
    drv.add_pod(with_claim("lost", "nope"))
    await drv.drain()
    assert events(drv, "FailedScheduling") == [
        '0/3 nodes are available: persistentvolumeclaim "nope" not found. preemption: 0/3 '
        "nodes are available: 3 Preemption is not helpful for scheduling."]
    drv.registry.create(PVCS, claim("static", ""), namespace="default")
    drv.add_pod(with_claim("waits", "static"))
    await drv.drain()
    assert drv.node_of("waits") == ""
    assert "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. " \
        "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling." \
        in events(drv, "FailedScheduling")
    # The claim binds to a volume pinned to node-1: the pod goes there, and only there.
    drv.registry.create(PVS, {"metadata": {"name": "pv1"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"},
        "hostPath": {"path": "/mnt/pv1"},
        "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": ["node-1"]}]}]}}}})
    bind_claim(drv, "static", "pv1")
    drv.clock.advance(20)
    await drv.drain()
    assert drv.node_of("waits") == "node-1"


async def test_a_volume_on_a_full_node_gives_a_node_affinity_conflict(drv: Driver) -> None:
    drv.registry.create(PVS, {"metadata": {"name": "pv2"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"},
        "hostPath": {"path": "/mnt/pv2"},
        "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": ["node-2"]}]}]}}}})
    drv.registry.create(PVCS, claim("pinned", ""), namespace="default")
    bind_claim(drv, "pinned", "pv2")
    drv.start()
    drv.add_pod(pod("hog", cpu="900m", node_name="node-2"))
    big = with_claim("big", "pinned")
    big["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "500m"}}
    drv.add_pod(big)
    await drv.drain()
    assert events(drv, "FailedScheduling") == [
        "0/3 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint "
        "{node-role.kubernetes.io/control-plane: }, 1 node(s) had volume node affinity "
        "conflict. preemption: 0/3 nodes are available: 1 No preemption victims found for "
        "incoming pod, 2 Preemption is not helpful for scheduling."]


async def test_wait_for_first_consumer_selects_the_node_then_binds_once_bound(
        drv: Driver) -> None:
    drv.registry.create(CLASSES, {"metadata": {"name": "standard"},
                                  "provisioner": "rancher.io/local-path",
                                  "volumeBindingMode": "WaitForFirstConsumer"})
    drv.registry.create(PVCS, claim("late", "standard"), namespace="default")
    drv.start()
    drv.add_pod(with_claim("consumer", "late"))
    await drv.drain()
    assert drv.node_of("consumer") == ""
    selected = drv.registry.get(PVCS, "default", "late")["metadata"]["annotations"]
    assert selected == {"volume.kubernetes.io/selected-node": "node-1"}
    assert events(drv, "FailedScheduling") == []
    bind_claim(drv, "late", "pvc-late")
    drv.clock.advance(2)
    await drv.drain()
    assert drv.node_of("consumer") == "node-1"
