"""PersistentVolumes and PersistentVolumeClaims: storage and the claims that bind it.

Mirrors ``pkg/registry/core/persistentvolume/strategy.go`` and
``.../persistentvolumeclaim/strategy.go`` (status on its own subresource; a new volume starts
``Pending``, a new claim ``Pending``), ``SetDefaults_PersistentVolume`` /
``SetDefaults_PersistentVolumeClaim`` in ``pkg/apis/core/v1/defaults.go``
(``persistentVolumeReclaimPolicy: Retain``, ``volumeMode: Filesystem``) and
``ValidatePersistentVolume``/``ValidatePersistentVolumeClaim(Update)`` in
``pkg/apis/core/validation/validation.go`` with their wording. The
``StorageObjectInUseProtection`` admission plugin's finalizers
(``kubernetes.io/pv-protection``, ``kubernetes.io/pvc-protection``) are added on create,
as that plugin does; the ``DefaultStorageClass`` plugin needs the StorageClass list and
lives in the claim's storage (:mod:`kubelab.sandbox.storage.volumes`).
"""

from __future__ import annotations

from typing import Any

from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import Obj, Strategy, register
from kubelab.sandbox.api.strategies.workload import spec_to_default
from kubelab.sandbox.api.validation import (
    forbidden,
    invalid,
    not_supported,
    required,
    validate_object_meta,
)

PV_PROTECTION = "kubernetes.io/pv-protection"
PVC_PROTECTION = "kubernetes.io/pvc-protection"
ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
RECLAIM_POLICIES = ("Delete", "Recycle", "Retain")
VOLUME_MODES = ("Block", "Filesystem")
#: The volume sources a PersistentVolume may name (one of them, exactly).
PV_SOURCES = ("hostPath", "local", "nfs", "csi", "iscsi", "fc", "gcePersistentDisk",
              "awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder",
              "flexVolume", "glusterfs", "photonPersistentDisk", "portworxVolume",
              "quobyte", "rbd", "scaleIO", "storageos", "vsphereVolume", "flocker")
_CLAIM_IMMUTABLE = ("spec is immutable after creation except resources.requests and "
                    "volumeAttributesClassName for bound claims")


def _add_finalizer(obj: Obj, finalizer: str) -> None:
    meta = obj.setdefault("metadata", {})
    finalizers = meta.get("finalizers")
    if not isinstance(finalizers, list):
        finalizers = meta["finalizers"] = []
    if finalizer not in finalizers:
        finalizers.append(finalizer)


def _validate_access_modes(modes: Any, path: str) -> list[Cause]:
    if not modes:
        return [required(path, "at least 1 access mode is required")]
    causes: list[Cause] = []
    for mode in modes:
        if mode not in ACCESS_MODES:
            causes.append(not_supported(path, mode, ACCESS_MODES))
    if "ReadWriteOncePod" in modes and len(modes) > 1:
        causes.append(forbidden(path, "may not use ReadWriteOncePod with other access modes"))
    return causes


def _validate_volume_mode(mode: Any, path: str) -> list[Cause]:
    if mode is not None and mode not in VOLUME_MODES:
        return [not_supported(path, mode, VOLUME_MODES)]
    return []


class _StorageStrategy(Strategy):
    """What PersistentVolumes and claims share: a protection finalizer added on create
    (the ``StorageObjectInUseProtection`` admission plugin), status on its own subresource
    starting ``Pending``, and ``status.phase`` as a field selector."""

    has_spec = False
    has_status_subresource = True
    #: The finalizer the admission plugin adds to this kind.
    finalizer = ""

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        _add_finalizer(obj, self.finalizer)

    def initial_status(self, obj: Obj) -> Obj | None:
        return {"phase": "Pending"}

    def selectable_fields(self, obj: Obj) -> dict[str, str]:
        return super().selectable_fields(obj) | {
            "status.phase": str((obj.get("status") or {}).get("phase", ""))}


class PersistentVolumeStrategy(_StorageStrategy):
    """``persistentvolumeStrategy``: cluster-scoped, ``status.phase`` from the PV controller."""

    finalizer = PV_PROTECTION

    def default(self, obj: Obj) -> None:
        spec = spec_to_default(obj)
        if spec is None:
            return
        if not spec.get("persistentVolumeReclaimPolicy"):
            spec["persistentVolumeReclaimPolicy"] = "Retain"
        if not spec.get("volumeMode"):
            spec["volumeMode"] = "Filesystem"
        host_path = spec.get("hostPath")
        if isinstance(host_path, dict):
            host_path.setdefault("type", "")

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        spec = obj.get("spec") or {}
        causes = validate_object_meta(obj, info)
        causes += _validate_access_modes(spec.get("accessModes"), "spec.accessModes")
        capacity = spec.get("capacity") or {}
        if not capacity:
            causes.append(required("spec.capacity"))
        elif "storage" not in capacity:
            causes.append(not_supported("spec.capacity", sorted(capacity)[0], ("storage",)))
        policy = spec.get("persistentVolumeReclaimPolicy")
        if policy and policy not in RECLAIM_POLICIES:
            causes.append(not_supported("spec.persistentVolumeReclaimPolicy", policy,
                                        RECLAIM_POLICIES))
        causes += _validate_volume_mode(spec.get("volumeMode"), "spec.volumeMode")
        sources = [s for s in PV_SOURCES if spec.get(s) is not None]
        if not sources:
            causes.append(required("spec", "must specify a volume type"))
        elif len(sources) > 1:
            causes.append(forbidden(f"spec.{sources[1]}",
                                    "may not specify more than 1 volume type"))
        host_path = spec.get("hostPath")
        if isinstance(host_path, dict) and not host_path.get("path"):
            causes.append(required("spec.hostPath.path"))
        return causes

    def validate_update(self, obj: Obj, old: Obj, info: KindInfo) -> list[Cause]:
        causes = self.validate(obj, info)
        new_spec, old_spec = obj.get("spec") or {}, old.get("spec") or {}
        for source in PV_SOURCES:
            if old_spec.get(source) is not None and new_spec.get(source) != old_spec.get(source):
                causes.append(forbidden("spec.persistentvolumesource",
                                        "spec.persistentvolumesource is immutable after "
                                        "creation"))
                break
        if new_spec.get("volumeMode") != old_spec.get("volumeMode"):
            causes.append(invalid("spec.volumeMode", new_spec.get("volumeMode"),
                                  "field is immutable"))
        return causes


class PersistentVolumeClaimStrategy(_StorageStrategy):
    """``persistentvolumeclaimStrategy``."""

    finalizer = PVC_PROTECTION

    def default(self, obj: Obj) -> None:
        spec = obj.setdefault("spec", {})
        if isinstance(spec, dict) and not spec.get("volumeMode"):
            spec["volumeMode"] = "Filesystem"

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        spec = obj.get("spec") or {}
        causes = validate_object_meta(obj, info)
        causes += _validate_access_modes(spec.get("accessModes"), "spec.accessModes")
        requests = (spec.get("resources") or {}).get("requests") or {}
        if "storage" not in requests:
            causes.append(required("spec.resources[storage]"))
        causes += _validate_volume_mode(spec.get("volumeMode"), "spec.volumeMode")
        return causes

    def validate_update(self, obj: Obj, old: Obj, info: KindInfo) -> list[Cause]:
        causes = self.validate(obj, info)
        new_spec = dict(obj.get("spec") or {})
        old_spec = dict(old.get("spec") or {})
        # The binder may set volumeName once; a bound claim may grow its request.
        if not old_spec.get("volumeName"):
            old_spec.pop("volumeName", None)
            new_spec.pop("volumeName", None)
        if old_spec.get("storageClassName") is None:
            old_spec.pop("storageClassName", None)
            new_spec.pop("storageClassName", None)
        for spec in (new_spec, old_spec):
            resources = dict(spec.get("resources") or {})
            resources.pop("requests", None)
            spec["resources"] = resources
            spec.pop("volumeAttributesClassName", None)
        if new_spec != old_spec:
            causes.append(forbidden("spec", _CLAIM_IMMUTABLE))
        return causes


register("v1", "PersistentVolume", PersistentVolumeStrategy())
register("v1", "PersistentVolumeClaim", PersistentVolumeClaimStrategy())
