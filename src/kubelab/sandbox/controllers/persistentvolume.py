"""Volumes for claims: the PV binder, the local-path provisioner, and the protection controllers.

Three components of a real cluster, each a reconcile function here:

* **persistentvolume-binder** (kube-controller-manager's ``pkg/controller/volume/
  persistentvolume/pv_controller.go``: ``syncClaim``, ``syncUnboundClaim``,
  ``syncBoundClaim``, ``syncVolume``, ``findBestMatchForClaim`` in ``index.go``). A claim
  binds to the smallest Available volume of its class whose access modes include the
  claim's, whose capacity covers the request and whose node affinity admits the claim's
  selected node; a volume pre-bound to the claim (``claimRef``) wins. Binding writes the
  volume's ``claimRef`` and phase ``Bound``, the claim's ``volumeName``, phase ``Bound``,
  capacity and access modes, and the ``pv.kubernetes.io/bind-completed`` /
  ``bound-by-controller`` annotations. A claim of a ``WaitForFirstConsumer`` class waits
  (event ``WaitForFirstConsumer``) until the scheduler names a node in
  ``volume.kubernetes.io/selected-node``; a claim with no match and a provisioner-backed
  class is handed to that provisioner (``volume.kubernetes.io/storage-provisioner``,
  event ``ExternalProvisioning``). A volume whose claim is gone is ``Released``.
* **rancher.io/local-path** (kind's ``local-path-provisioner``, which runs as a pod in
  ``local-path-storage`` on kind; simulated in-process here, with no pod): for a claim handed
  to it, a volume ``pvc-<claim uid>`` of the requested size, a ``hostPath`` under
  ``/var/local-path-provisioner`` pinned by node affinity to the selected node (a claim of an
  ``Immediate`` class has no selected node: the sandbox makes its volume without node
  affinity, where the real provisioner would refuse), pre-bound to the claim; events
  ``Provisioning`` and ``ProvisioningSucceeded``. A ``Released`` volume it made whose reclaim
  policy is ``Delete`` is deleted, and its files with it (the kubelets keep a volume's
  files by its uid: see :mod:`kubelab.sandbox.kubelet.disks`).
* **pvc-protection** and **pv-protection** (``pkg/controller/volume/pvcprotection``,
  ``pvprotection``): a deleted claim keeps its ``kubernetes.io/pvc-protection`` finalizer
  while a pod that is not finished uses it; a deleted volume keeps
  ``kubernetes.io/pv-protection`` while it is ``Bound``.

The scheduler's part (``volume.kubernetes.io/selected-node``, waiting for unbound immediate
claims) lives in :mod:`kubelab.sandbox.scheduler`. Binding a ``WaitForFirstConsumer`` claim
to an existing volume is done here once the node is selected, where upstream's scheduler
binds it in its PreBind step; the result is the same objects.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kubelab.apimachinery.quantity import parse_quantity
from kubelab.apimachinery.selectors import required_node_affinity_matches
from kubelab.apimachinery.types import deep_copy_json
from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.clock import Clock
from kubelab.sandbox.controllers import common
from kubelab.sandbox.reconcile.types import Key, Obj, Result, Snapshot

PVS = kinds.core("persistentvolumes")
PVCS = kinds.core("persistentvolumeclaims")
PODS = kinds.core("pods")
NODES = kinds.core("nodes")
STORAGECLASSES = kinds.resource("storageclasses.storage.k8s.io")

BINDER = "persistentvolume-controller"
LOCAL_PATH = "rancher.io/local-path"
PROVISIONER_COMPONENT = "rancher.io/local-path_local-path-provisioner"
PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"

BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
LOCAL_PATH_NODE = "local.path.provisioner/selected-node"
HOSTNAME_LABEL = "kubernetes.io/hostname"
LOCAL_PATH_ROOT = "/var/local-path-provisioner"

MSG_WAIT_CONSUMER = "waiting for first consumer to be created before binding"
MSG_NO_CLASS = "no persistent volumes available for this claim and no storage class is set"


def external_provisioning_message(provisioner: str) -> str:
    return (f"Waiting for a volume to be created either by the external provisioner "
            f"'{provisioner}' or manually by the system administrator. If volume creation is "
            "delayed, please verify that the provisioner is running and correctly registered.")


# ----------------------------------------------------------------------------- helpers


def claim_class(claim: Obj) -> str:
    """``GetPersistentVolumeClaimClass``: the beta annotation, else the field."""
    beta = common.annotations_of(claim).get("volume.beta.kubernetes.io/storage-class")
    if beta is not None:
        return beta
    return str((claim.get("spec") or {}).get("storageClassName") or "")


def volume_class(pv: Obj) -> str:
    beta = common.annotations_of(pv).get("volume.beta.kubernetes.io/storage-class")
    if beta is not None:
        return beta
    return str((pv.get("spec") or {}).get("storageClassName") or "")


def _storage(resources: Any) -> int:
    try:
        return int(parse_quantity(str((resources or {}).get("storage") or "0")))
    except ValueError:
        return 0


def requested_bytes(claim: Obj) -> int:
    return _storage(((claim.get("spec") or {}).get("resources") or {}).get("requests"))


def volume_bytes(pv: Obj) -> int:
    return _storage((pv.get("spec") or {}).get("capacity"))


def phase_of(obj: Obj) -> str:
    return str((obj.get("status") or {}).get("phase") or "")


def claim_ref_matches(pv: Obj, claim: Obj) -> bool:
    """The volume's ``claimRef`` names this claim (and this incarnation, if it has a uid)."""
    ref = (pv.get("spec") or {}).get("claimRef") or {}
    if not ref:
        return False
    if ref.get("name") != common.name_of(claim) or ref.get("namespace") != common.namespace_of(
            claim):
        return False
    return not ref.get("uid") or ref.get("uid") == common.uid_of(claim)


def node_admits(pv: Obj, node: Obj | None) -> bool:
    """``CheckNodeAffinity``: the volume's required node affinity admits ``node``."""
    required = ((pv.get("spec") or {}).get("nodeAffinity") or {}).get("required")
    if not required:
        return True
    if node is None:
        return False
    spec = {"affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": required}}}
    return bool(required_node_affinity_matches(spec, node))


def find_best_match(claim: Obj, volumes: Iterable[Obj], node: Obj | None,
                    delay_binding: bool) -> Obj | None:
    """``findBestMatchForClaim``: a volume pre-bound to the claim, else the smallest
    Available one that fits (class, access modes, volume mode, size, node affinity)."""
    spec = claim.get("spec") or {}
    modes = set(spec.get("accessModes") or [])
    wanted = requested_bytes(claim)
    klass = claim_class(claim)
    mode = spec.get("volumeMode") or "Filesystem"
    best: Obj | None = None
    for pv in volumes:
        pv_spec = pv.get("spec") or {}
        if common.is_deleting(pv):
            continue
        if not modes <= set(pv_spec.get("accessModes") or []):
            continue
        if (pv_spec.get("volumeMode") or "Filesystem") != mode:
            continue
        if volume_bytes(pv) < wanted:
            continue
        if delay_binding and not node_admits(pv, node):
            continue
        if pv_spec.get("claimRef"):
            if claim_ref_matches(pv, claim):
                return pv
            continue
        if volume_class(pv) != klass or phase_of(pv) not in ("Available", "Pending", ""):
            continue
        if best is None or volume_bytes(pv) < volume_bytes(best):
            best = pv
    return best


def _set_annotation(obj: Obj, key: str, value: str) -> None:
    meta = obj.setdefault("metadata", {})
    annotations = meta.get("annotations")
    if not isinstance(annotations, dict):
        annotations = meta["annotations"] = {}
    annotations[key] = value


def _with_status(obj: Obj, **fields: Any) -> Obj:
    updated = deep_copy_json(obj)
    status = updated.setdefault("status", {})
    status.update(fields)
    return updated


def claims_used_by(pod: Obj) -> list[str]:
    return [str(v["persistentVolumeClaim"].get("claimName", ""))
            for v in (pod.get("spec") or {}).get("volumes") or []
            if isinstance(v, dict) and isinstance(v.get("persistentVolumeClaim"), dict)]


# ----------------------------------------------------------------------------- the binder


class PersistentVolumeBinder:
    """``persistentvolume-binder``: claims ↔ volumes."""

    name = "persistentvolume-binder-controller"
    watches: tuple[KindInfo, ...] = (PVCS, PVS, STORAGECLASSES)

    def keys_for(self, info: KindInfo, obj: Obj, snapshot: Snapshot) -> Iterable[Key]:
        if info == PVCS:
            yield Key.of(info, obj)
            volume = (obj.get("spec") or {}).get("volumeName")
            if volume:
                # A claim deleted (or changed) moves its volume's phase (Released).
                yield Key(PVS.group_resource, "", str(volume))
        elif info == PVS:
            yield Key.of(info, obj)
            ref = (obj.get("spec") or {}).get("claimRef") or {}
            if ref.get("name"):
                yield Key(PVCS.group_resource, str(ref.get("namespace", "")),
                          str(ref["name"]))
            else:
                # A new volume may be the match an unbound claim waits for.
                for claim in snapshot.list(PVCS):
                    if not (claim.get("spec") or {}).get("volumeName"):
                        yield Key.of(PVCS, claim)
        elif info == STORAGECLASSES:
            for claim in snapshot.list(PVCS):
                if phase_of(claim) == "Pending":
                    yield Key.of(PVCS, claim)

    def reconcile(self, snapshot: Snapshot, key: Key, clock: Clock) -> Result:
        writes = common.Writes()
        if key.resource == PVS.group_resource:
            pv = snapshot.get(PVS, "", key.name)
            if pv is not None:
                self.sync_volume(snapshot, pv, writes)
        else:
            claim = snapshot.get(PVCS, key.namespace, key.name)
            if claim is not None:
                self.sync_claim(snapshot, claim, writes)
        return Result(writes.actions())

    # --- claims

    def sync_claim(self, snapshot: Snapshot, claim: Obj, writes: common.Writes) -> None:
        volume_name = (claim.get("spec") or {}).get("volumeName")
        if volume_name:
            self._sync_bound_claim(snapshot, claim, str(volume_name), writes)
        else:
            self._sync_unbound_claim(snapshot, claim, writes)

    def _sync_bound_claim(self, snapshot: Snapshot, claim: Obj, volume_name: str,
                          writes: common.Writes) -> None:
        pv = snapshot.get(PVS, "", volume_name)
        if pv is None:
            if phase_of(claim) != "Lost":
                writes.update_status(PVCS, _with_status(claim, phase="Lost"))
                writes.event(claim, "Warning", "ClaimLost",
                             "Bound claim has lost its PersistentVolume. Data on the volume "
                             "is lost!", BINDER)
            return
        ref = (pv.get("spec") or {}).get("claimRef") or {}
        if not ref or claim_ref_matches(pv, claim):
            self._bind(claim, pv, writes, by_controller=False)
        elif phase_of(claim) != "Lost":
            writes.update_status(PVCS, _with_status(claim, phase="Lost"))
            writes.event(claim, "Warning", "ClaimMisbound",
                         "Two claims are bound to the same volume, this one is bound "
                         "incorrectly", BINDER)

    def _sync_unbound_claim(self, snapshot: Snapshot, claim: Obj,
                            writes: common.Writes) -> None:
        if common.is_deleting(claim):
            return
        klass = claim_class(claim)
        sc = snapshot.get(STORAGECLASSES, "", klass) if klass else None
        delay = sc is not None and sc.get("volumeBindingMode") == "WaitForFirstConsumer"
        selected = common.annotations_of(claim).get(SELECTED_NODE, "")
        node = snapshot.get(NODES, "", selected) if selected else None
        if delay and not selected:
            pre_bound = [pv for pv in snapshot.list(PVS) if claim_ref_matches(pv, claim)]
            if not pre_bound:
                writes.event(claim, "Normal", "WaitForFirstConsumer", MSG_WAIT_CONSUMER, BINDER)
                return
        match = find_best_match(claim, snapshot.list(PVS), node, delay)
        if match is not None:
            self._bind(claim, match, writes, by_controller=True)
            return
        if not klass:
            writes.event(claim, "Normal", "FailedBinding", MSG_NO_CLASS, BINDER)
            return
        if sc is None:
            writes.event(claim, "Warning", "ProvisioningFailed",
                         f'storageclass.storage.k8s.io "{klass}" not found', BINDER)
            return
        provisioner = str(sc.get("provisioner") or "")
        if common.annotations_of(claim).get(STORAGE_PROVISIONER) != provisioner:
            updated = deep_copy_json(claim)
            _set_annotation(updated, STORAGE_PROVISIONER, provisioner)
            _set_annotation(updated, BETA_STORAGE_PROVISIONER, provisioner)
            writes.update(PVCS, updated)
        writes.event(claim, "Normal", "ExternalProvisioning",
                     external_provisioning_message(provisioner), BINDER)

    def _bind(self, claim: Obj, pv: Obj, writes: common.Writes, *, by_controller: bool) -> None:
        """``bind``: ``bindVolumeToClaim``, ``updateVolumePhase``, ``bindClaimToVolume``,
        ``updateClaimStatus`` — each write only when something changes."""
        pv_spec = pv.get("spec") or {}
        ref = pv_spec.get("claimRef") or {}
        if not ref.get("uid") or ref.get("name") != common.name_of(claim):
            updated = deep_copy_json(pv)
            updated["spec"]["claimRef"] = {
                "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "namespace": common.namespace_of(claim), "name": common.name_of(claim),
                "uid": common.uid_of(claim),
                "resourceVersion": str((claim.get("metadata") or {}).get(
                    "resourceVersion", ""))}
            if not ref:
                _set_annotation(updated, BOUND_BY_CONTROLLER, "yes")
            writes.update(PVS, updated)
            pv = updated
        if phase_of(pv) != "Bound":
            writes.update_status(PVS, _with_status(pv, phase="Bound"))
        claim_spec = claim.get("spec") or {}
        annotations = common.annotations_of(claim)
        if claim_spec.get("volumeName") != common.name_of(pv) \
                or annotations.get(BIND_COMPLETED) != "yes":
            updated_claim = deep_copy_json(claim)
            updated_claim["spec"]["volumeName"] = common.name_of(pv)
            _set_annotation(updated_claim, BIND_COMPLETED, "yes")
            if by_controller or claim_spec.get("volumeName") != common.name_of(pv):
                _set_annotation(updated_claim, BOUND_BY_CONTROLLER, "yes")
            writes.update(PVCS, updated_claim)
            claim = updated_claim
        status = claim.get("status") or {}
        wanted = {"phase": "Bound",
                  "accessModes": list(pv_spec.get("accessModes") or []),
                  "capacity": dict(pv_spec.get("capacity") or {})}
        if any(status.get(k) != v for k, v in wanted.items()):
            writes.update_status(PVCS, _with_status(claim, **wanted))

    # --- volumes

    def sync_volume(self, snapshot: Snapshot, pv: Obj, writes: common.Writes) -> None:
        ref = (pv.get("spec") or {}).get("claimRef") or {}
        phase = phase_of(pv)
        if not ref:
            if phase != "Available":
                writes.update_status(PVS, _with_status(pv, phase="Available"))
            return
        claim = snapshot.get(PVCS, str(ref.get("namespace", "")), str(ref.get("name", "")))
        if claim is not None and (not ref.get("uid") or ref.get("uid") == common.uid_of(claim)):
            if not ref.get("uid") and phase != "Available":
                writes.update_status(PVS, _with_status(pv, phase="Available"))
            return  # the claim's own sync binds or confirms
        if not ref.get("uid"):
            if phase != "Available":
                writes.update_status(PVS, _with_status(pv, phase="Available"))
            return
        # The claim is gone: Released; the reclaim policy decides what follows.
        if phase not in ("Released", "Failed"):
            writes.update_status(PVS, _with_status(pv, phase="Released"))
        policy = (pv.get("spec") or {}).get("persistentVolumeReclaimPolicy", "Retain")
        if policy == "Delete" and not common.annotations_of(pv).get(PROVISIONED_BY):
            writes.event(pv, "Warning", "VolumeFailedDelete",
                         "error getting deleter volume plugin for volume "
                         f'"{common.name_of(pv)}": no deletable volume plugin matched', BINDER)


# ----------------------------------------------------------------------------- provisioner


class LocalPathProvisioner:
    """``rancher.io/local-path``: kind's dynamic provisioner, simulated in-process."""

    name = "local-path-provisioner"
    watches: tuple[KindInfo, ...] = (PVCS, PVS)

    def keys_for(self, info: KindInfo, obj: Obj, snapshot: Snapshot) -> Iterable[Key]:
        if info == PVCS:
            if common.annotations_of(obj).get(STORAGE_PROVISIONER) == LOCAL_PATH:
                yield Key.of(info, obj)
        elif common.annotations_of(obj).get(PROVISIONED_BY) == LOCAL_PATH:
            yield Key.of(info, obj)

    def reconcile(self, snapshot: Snapshot, key: Key, clock: Clock) -> Result:
        writes = common.Writes()
        if key.resource == PVS.group_resource:
            pv = snapshot.get(PVS, "", key.name)
            if pv is not None and phase_of(pv) == "Released" and not common.is_deleting(pv) \
                    and (pv.get("spec") or {}).get("persistentVolumeReclaimPolicy") == "Delete":
                writes.delete(PVS, pv)
            return Result(writes.actions())
        claim = snapshot.get(PVCS, key.namespace, key.name)
        if claim is None or common.is_deleting(claim) \
                or (claim.get("spec") or {}).get("volumeName"):
            return Result()
        name = f"pvc-{common.uid_of(claim)}"
        if snapshot.get(PVS, "", name) is not None:
            return Result()
        sc = snapshot.get(STORAGECLASSES, "", claim_class(claim))
        if sc is None or sc.get("provisioner") != LOCAL_PATH:
            return Result()
        node = common.annotations_of(claim).get(SELECTED_NODE, "")
        if sc.get("volumeBindingMode") == "WaitForFirstConsumer" and not node:
            return Result()
        ns, claim_name = common.namespace_of(claim), common.name_of(claim)
        writes.event(claim, "Normal", "Provisioning",
                     f'External provisioner is provisioning volume for claim "{ns}/{claim_name}"',
                     PROVISIONER_COMPONENT)
        writes.create(PVS, provisioned_volume(claim, sc, node))
        writes.event(claim, "Normal", "ProvisioningSucceeded",
                     f"Successfully provisioned volume {name}", PROVISIONER_COMPONENT)
        return Result(writes.actions())


def provisioned_volume(claim: Obj, sc: Obj, node: str) -> Obj:
    """The volume local-path-provisioner makes for ``claim`` on ``node``."""
    spec = claim.get("spec") or {}
    ns, claim_name, uid = common.namespace_of(claim), common.name_of(claim), common.uid_of(claim)
    name = f"pvc-{uid}"
    annotations = {PROVISIONED_BY: LOCAL_PATH}
    pv_spec: Obj = {
        "accessModes": list(spec.get("accessModes") or []),
        "capacity": {"storage": str(((spec.get("resources") or {}).get("requests") or {})
                                    .get("storage", "0"))},
        "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": ns,
                     "name": claim_name, "uid": uid,
                     "resourceVersion": str((claim.get("metadata") or {}).get(
                         "resourceVersion", ""))},
        "hostPath": {"path": f"{LOCAL_PATH_ROOT}/{name}_{ns}_{claim_name}",
                     "type": "DirectoryOrCreate"},
        "persistentVolumeReclaimPolicy": str(sc.get("reclaimPolicy") or "Delete"),
        "storageClassName": common.name_of(sc),
        "volumeMode": str(spec.get("volumeMode") or "Filesystem"),
    }
    if node:
        annotations[LOCAL_PATH_NODE] = node
        pv_spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": HOSTNAME_LABEL, "operator": "In", "values": [node]}]}]}}
    return {"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": name, "annotations": annotations}, "spec": pv_spec}


# ----------------------------------------------------------------------------- protection


class VolumeProtectionController:
    """``pvc-protection`` and ``pv-protection``: finalizers held while in use."""

    name = "volume-protection-controller"
    watches: tuple[KindInfo, ...] = (PVCS, PVS, PODS)

    def keys_for(self, info: KindInfo, obj: Obj, snapshot: Snapshot) -> Iterable[Key]:
        if info in (PVCS, PVS):
            if common.is_deleting(obj):
                yield Key.of(info, obj)
            return
        ns = common.namespace_of(obj)
        for name in claims_used_by(obj):
            claim = snapshot.get(PVCS, ns, name)
            if claim is not None and common.is_deleting(claim):
                yield Key(PVCS.group_resource, ns, name)

    def reconcile(self, snapshot: Snapshot, key: Key, clock: Clock) -> Result:
        writes = common.Writes()
        if key.resource == PVS.group_resource:
            pv = snapshot.get(PVS, "", key.name)
            if pv is not None and common.is_deleting(pv) and phase_of(pv) != "Bound":
                self._release(PVS, pv, PV_PROTECTION, writes)
            return Result(writes.actions())
        claim = snapshot.get(PVCS, key.namespace, key.name)
        if claim is None or not common.is_deleting(claim):
            return Result()
        in_use = any(key.name in claims_used_by(pod) and not common.is_pod_terminal(pod)
                     for pod in snapshot.list(PODS, key.namespace))
        if not in_use:
            self._release(PVCS, claim, PVC_PROTECTION, writes)
        return Result(writes.actions())

    @staticmethod
    def _release(info: KindInfo, obj: Obj, finalizer: str, writes: common.Writes) -> None:
        finalizers = list((obj.get("metadata") or {}).get("finalizers") or [])
        if finalizer not in finalizers:
            return
        updated = deep_copy_json(obj)
        updated["metadata"]["finalizers"] = [f for f in finalizers if f != finalizer]
        writes.update(info, updated)
