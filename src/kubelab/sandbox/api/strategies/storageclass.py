"""StorageClasses: which provisioner makes a claim's volume, and when.

Mirrors ``pkg/registry/storage/storageclass/strategy.go``, ``SetDefaults_StorageClass`` in
``pkg/apis/storage/v1/defaults.go`` (``reclaimPolicy: Delete``,
``volumeBindingMode: Immediate``) and ``ValidateStorageClass(Update)`` in
``pkg/apis/storage/validation/validation.go`` (a provisioner is required; provisioner,
parameters, reclaimPolicy and volumeBindingMode never change).
"""

from __future__ import annotations

from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import Obj, Strategy, register
from kubelab.sandbox.api.validation import (
    forbidden,
    invalid,
    not_supported,
    required,
    validate_immutable,
    validate_object_meta,
)

DEFAULT_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
BETA_DEFAULT_ANNOTATION = "storageclass.beta.kubernetes.io/is-default-class"
BINDING_MODES = ("Immediate", "WaitForFirstConsumer")
RECLAIM_POLICIES = ("Delete", "Retain")


def is_default_class(sc: Obj) -> bool:
    """``IsDefaultAnnotation``: either annotation set to ``"true"``."""
    annotations = (sc.get("metadata") or {}).get("annotations") or {}
    return "true" in (annotations.get(DEFAULT_ANNOTATION), annotations.get(BETA_DEFAULT_ANNOTATION))


class StorageClassStrategy(Strategy):
    """``storageClassStrategy``: no spec/status split, fields at the top level."""

    def default(self, obj: Obj) -> None:
        if not obj.get("reclaimPolicy"):
            obj["reclaimPolicy"] = "Delete"
        if not obj.get("volumeBindingMode"):
            obj["volumeBindingMode"] = "Immediate"

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        causes = validate_object_meta(obj, info)
        if not obj.get("provisioner"):
            causes.append(required("provisioner"))
        policy = obj.get("reclaimPolicy")
        if policy not in RECLAIM_POLICIES:
            causes.append(not_supported("reclaimPolicy", policy, RECLAIM_POLICIES))
        mode = obj.get("volumeBindingMode")
        if mode not in BINDING_MODES:
            causes.append(not_supported("volumeBindingMode", mode, BINDING_MODES))
        return causes

    def validate_update(self, obj: Obj, old: Obj, info: KindInfo) -> list[Cause]:
        causes = self.validate(obj, info)
        if obj.get("parameters") != old.get("parameters"):
            causes.append(forbidden("parameters", "updates to parameters are forbidden."))
        if obj.get("provisioner") != old.get("provisioner"):
            causes.append(invalid("provisioner", obj.get("provisioner"),
                                  "updates to provisioner are forbidden."))
        if obj.get("reclaimPolicy") != old.get("reclaimPolicy"):
            causes.append(forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."))
        causes += validate_immutable(obj.get("volumeBindingMode"),
                                     old.get("volumeBindingMode"), "volumeBindingMode")
        return causes


register("storage.k8s.io/v1", "StorageClass", StorageClassStrategy())
