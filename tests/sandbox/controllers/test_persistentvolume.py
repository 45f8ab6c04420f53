"""The PV binder, the local-path provisioner and volume protection on the real registry.

Upstream: ``pkg/controller/volume/persistentvolume`` (binding, phases, Released),
kind's ``rancher.io/local-path`` provisioner (``pvc-<uid>`` volumes pinned to the selected
node), ``pkg/controller/volume/pvcprotection`` and ``pvprotection``, the
``StorageObjectInUseProtection`` and ``DefaultStorageClass`` admission plugins.
"""

from __future__ import annotations

from typing import Any

from sandbox.controllers.controller_fakes import Cluster

from kubelab.sandbox.api import kinds
from kubelab.sandbox.bootstrap import DEFAULT_STORAGE_CLASS
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.controllers.persistentvolume import (
    LocalPathProvisioner,
    PersistentVolumeBinder,
    VolumeProtectionController,
)
from kubelab.sandbox.reconcile.types import Key, Obj

PVS = kinds.core("persistentvolumes")
PVCS = kinds.core("persistentvolumeclaims")
PODS = kinds.core("pods")
CLASSES = kinds.resource("storageclasses.storage.k8s.io")


def claim(name: str = "data", size: str = "1Gi", **spec: Any) -> Obj:
    return {"metadata": {"name": name, "namespace": "default"},
            "spec": {"accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": size}}, **spec}}


def volume(name: str, size: str, klass: str = "manual", **spec: Any) -> Obj:
    return {"metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": size},
                     "storageClassName": klass, "hostPath": {"path": f"/mnt/{name}"}, **spec}}


def immediate_class() -> Obj:
    return {"metadata": {"name": "fast"}, "provisioner": "rancher.io/local-path",
            "volumeBindingMode": "Immediate"}


def settle(cluster: Cluster, rounds: int = 4) -> None:
    """Run the three components over every claim and volume, a few times."""
    components = (PersistentVolumeBinder(), LocalPathProvisioner(), VolumeProtectionController())
    for _ in range(rounds):
        for info in (PVCS, PVS):
            for obj in cluster.list(info):
                for component in components:
                    if list(component.keys_for(info, obj, cluster)) or info == PVCS:
                        cluster.run(component, Key.of(info, obj))


def get(cluster: Cluster, info: Any, name: str, namespace: str = "default") -> Obj:
    found = cluster.get(info, namespace, name)
    assert found is not None
    return found


def test_admission_adds_protection_finalizers_and_the_default_class(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.add(CLASSES, DEFAULT_STORAGE_CLASS)
    stored = cluster.add(PVCS, claim())
    assert stored["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    assert stored["spec"]["storageClassName"] == "standard"
    assert stored["spec"]["volumeMode"] == "Filesystem"
    assert stored["status"] == {"phase": "Pending"}
    explicit = cluster.add(PVCS, claim("static", storageClassName=""))
    assert explicit["spec"]["storageClassName"] == ""
    pv = cluster.add(PVS, volume("pv1", "1Gi"))
    assert pv["metadata"]["finalizers"] == ["kubernetes.io/pv-protection"]
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert pv["status"]["phase"] == "Pending"


def test_a_claim_binds_to_the_smallest_volume_that_fits(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    for name, size in (("big", "10Gi"), ("small", "500Mi"), ("right", "2Gi")):
        cluster.add(PVS, volume(name, size))
    cluster.add(PVCS, claim(size="1Gi", storageClassName="manual"))
    settle(cluster)
    bound = get(cluster, PVCS, "data")
    assert bound["spec"]["volumeName"] == "right"
    assert bound["status"] == {"phase": "Bound", "accessModes": ["ReadWriteOnce"],
                               "capacity": {"storage": "2Gi"}}
    assert bound["metadata"]["annotations"] == {"pv.kubernetes.io/bind-completed": "yes",
                                                "pv.kubernetes.io/bound-by-controller": "yes"}
    pv = get(cluster, PVS, "right", "")
    assert pv["status"]["phase"] == "Bound"
    assert pv["spec"]["claimRef"]["name"] == "data"
    assert pv["spec"]["claimRef"]["uid"] == bound["metadata"]["uid"]
    assert {get(cluster, PVS, n, "")["status"]["phase"] for n in ("big", "small")} == {
        "Available"}


def test_a_claim_with_no_class_and_no_volume_waits(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.add(PVCS, claim(storageClassName=""))
    settle(cluster, 1)
    assert get(cluster, PVCS, "data")["status"]["phase"] == "Pending"
    assert "no persistent volumes available for this claim and no storage class is set" in \
        cluster.events("FailedBinding")


def test_immediate_class_is_provisioned_and_bound_at_once(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.add(CLASSES, immediate_class())
    stored = cluster.add(PVCS, claim(storageClassName="fast"))
    settle(cluster)
    uid = stored["metadata"]["uid"]
    bound = get(cluster, PVCS, "data")
    assert bound["status"]["phase"] == "Bound"
    assert bound["spec"]["volumeName"] == f"pvc-{uid}"
    assert bound["metadata"]["annotations"]["volume.kubernetes.io/storage-provisioner"] == \
        "rancher.io/local-path"
    pv = get(cluster, PVS, f"pvc-{uid}", "")
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    assert pv["spec"]["hostPath"]["path"] == \
        f"/var/local-path-provisioner/pvc-{uid}_default_data"
    assert pv["metadata"]["annotations"]["pv.kubernetes.io/provisioned-by"] == \
        "rancher.io/local-path"
    assert cluster.events("ProvisioningSucceeded") == [
        f"Successfully provisioned volume pvc-{uid}"]
    assert cluster.events("ExternalProvisioning")[0].startswith(
        "Waiting for a volume to be created either by the external provisioner "
        "'rancher.io/local-path'")


def test_wait_for_first_consumer_binds_on_the_selected_node(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.add(CLASSES, DEFAULT_STORAGE_CLASS)
    cluster.add(kinds.core("nodes"), {"metadata": {"name": "kubelab-worker2", "labels": {
        "kubernetes.io/hostname": "kubelab-worker2"}}})
    stored = cluster.add(PVCS, claim())
    settle(cluster)
    assert get(cluster, PVCS, "data")["status"]["phase"] == "Pending"
    assert cluster.list(PVS) == []
    assert "waiting for first consumer to be created before binding" in \
        cluster.events("WaitForFirstConsumer")
    # The scheduler picked a node for the claim's first pod.
    selected = get(cluster, PVCS, "data")
    selected["metadata"].setdefault("annotations", {})[
        "volume.kubernetes.io/selected-node"] = "kubelab-worker2"
    cluster.update(PVCS, selected)
    settle(cluster)
    pv = get(cluster, PVS, f"pvc-{stored['metadata']['uid']}", "")
    assert pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0][
        "matchExpressions"] == [{"key": "kubernetes.io/hostname", "operator": "In",
                                 "values": ["kubelab-worker2"]}]
    assert get(cluster, PVCS, "data")["status"]["phase"] == "Bound"


def test_deleting_a_claim_waits_for_its_pod_then_releases_and_deletes_the_volume(
        clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.add(CLASSES, immediate_class())
    stored = cluster.add(PVCS, claim(storageClassName="fast"))
    settle(cluster)
    pv_name = f"pvc-{stored['metadata']['uid']}"
    cluster.add(PODS, {"metadata": {"name": "user", "namespace": "default"}, "spec": {
        "containers": [{"name": "c", "image": "busybox"}],
        "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}})
    cluster.delete(PVCS, "default", "data")
    settle(cluster)
    held = get(cluster, PVCS, "data")
    assert held["metadata"]["deletionTimestamp"]
    assert held["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    cluster.delete(PODS, "default", "user", grace_period_seconds=0)
    # The binder hears of the claim's deletion and looks at its volume again.
    assert Key("persistentvolumes", "", pv_name) in list(PersistentVolumeBinder().keys_for(
        PVCS, held, cluster))
    settle(cluster)
    assert cluster.get(PVCS, "default", "data") is None
    # Released, then deleted by its provisioner (reclaimPolicy Delete), finalizer lifted.
    assert cluster.get(PVS, "", pv_name) is None


def test_a_retained_volume_stays_released(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.add(PVS, volume("keep", "1Gi"))
    cluster.add(PVCS, claim(storageClassName="manual"))
    settle(cluster)
    assert get(cluster, PVS, "keep", "")["status"]["phase"] == "Bound"
    cluster.delete(PVCS, "default", "data")
    settle(cluster)
    assert cluster.get(PVCS, "default", "data") is None
    assert get(cluster, PVS, "keep", "")["status"]["phase"] == "Released"
