"""Storage of the volume kinds: PersistentVolumeClaims, PersistentVolumes, StatefulSets.

Mirrors ``pkg/registry/core/persistentvolumeclaim/storage`` and the ``DefaultStorageClass``
admission plugin (``plugin/pkg/admission/storage/storageclass/setdefault``): a claim created
without ``spec.storageClassName`` (the field absent, not ``""``) gets the name of the default
StorageClass — the one annotated ``storageclass.kubernetes.io/is-default-class: "true"``,
the newest if several are — so ``kubectl get pvc`` shows ``standard`` for a claim that named
none. StatefulSets get the ``scale`` subresource (``pkg/registry/apps/statefulset/storage``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kubelab.apimachinery.types import Obj
from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.strategies.storageclass import is_default_class
from kubelab.sandbox.storage.workloads import ScalableStorage
from kubelab.sandbox.store.storage import Storage

if TYPE_CHECKING:
    from kubelab.sandbox.store.registry import Registry

STORAGECLASSES = kinds.resource("storageclasses.storage.k8s.io")


def default_class_name(classes: list[Obj]) -> str | None:
    """``GetDefaultClass``: the newest default class (ties by name), or None."""
    defaults = [sc for sc in classes if is_default_class(sc)]
    if not defaults:
        return None
    defaults.sort(key=lambda sc: (str((sc.get("metadata") or {}).get("creationTimestamp", "")),
                                  str((sc.get("metadata") or {}).get("name", ""))))
    return str(defaults[-1]["metadata"]["name"])


class ClaimStorage(Storage):
    """The PersistentVolumeClaim REST with the ``DefaultStorageClass`` admission plugin."""

    def before_create(self, registry: Registry, obj: Obj) -> list[Cause]:
        spec = obj.setdefault("spec", {})
        if isinstance(spec, dict) and "storageClassName" not in spec:
            name = default_class_name(list(registry.iter_objects(STORAGECLASSES)))
            if name is not None:
                spec["storageClassName"] = name
        return []


class StatefulSetStorage(ScalableStorage):
    """The StatefulSet REST: ``/status`` and ``/scale``."""
