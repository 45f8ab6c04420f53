"""The resource quota controller: ``status.hard`` and ``status.used`` of every ResourceQuota.

Mirrors ``pkg/controller/resourcequota`` in kube-controller-manager: whenever an object that
quotas count changes in a namespace, recompute each quota's usage there (with the same
evaluators the API server's admission uses, :mod:`kubelab.sandbox.api.quota`) and write the
status when it differs, so ``kubectl describe quota`` shows ``Used`` beside ``Hard``.
"""

from __future__ import annotations

from collections.abc import Iterable

from kubelab.apimachinery.types import deep_copy_json
from kubelab.sandbox.api import kinds, quota
from kubelab.sandbox.clock import Clock
from kubelab.sandbox.reconcile.types import Key, Obj, Result, Snapshot, UpdateStatus

QUOTAS = kinds.core("resourcequotas")
COUNTED = tuple(k for k in kinds.KINDS if k.namespaced and k.kind not in ("Event", "Binding"))


class ResourceQuotaController:
    name = "resourcequota-controller"
    watches: tuple[kinds.KindInfo, ...] = COUNTED

    def keys_for(self, info: kinds.KindInfo, obj: Obj, snapshot: Snapshot) -> Iterable[Key]:
        namespace = (obj.get("metadata") or {}).get("namespace", "")
        for q in snapshot.list(QUOTAS, namespace):
            yield Key.of(QUOTAS, q)

    def reconcile(self, snapshot: Snapshot, key: Key, clock: Clock) -> Result:
        current = snapshot.get(QUOTAS, key.namespace, key.name)
        if current is None:
            return Result()
        hard = dict((current.get("spec") or {}).get("hard") or {})
        objects = ((info, o) for info in COUNTED
                   for o in snapshot.list(info, key.namespace))
        used = quota.namespace_usage(objects, hard)
        status = {"hard": hard,
                  "used": {name: quota.format_value(name, value)
                           for name, value in sorted(used.items())}}
        if current.get("status") == status:
            return Result()
        updated = deep_copy_json(current)
        updated["status"] = status
        return Result([UpdateStatus(QUOTAS, updated)])
