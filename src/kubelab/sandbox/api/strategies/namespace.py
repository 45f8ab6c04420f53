"""Namespaces: the ``kubernetes`` finalizer, phase ``Active`` and the name label.

Mirrors ``pkg/registry/core/namespace/strategy.go`` (status ``Active`` and the
``kubernetes`` finalizer added on create; finalizers and status kept on a main-resource
update, so only ``/finalize`` and ``/status`` change them), ``SetDefaults_Namespace`` (the
``kubernetes.io/metadata.name`` label, re-applied on every write) and
``ValidateNamespace`` in ``pkg/apis/core/validation`` (DNS-1123 label names).
"""

from __future__ import annotations

from kubelab.apimachinery.types import deep_copy_json
from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import Obj, Strategy, register
from kubelab.sandbox.api.validation import (
    invalid,
    qualified_name_errors,
    validate_object_meta,
)

FINALIZER_KUBERNETES = "kubernetes"
NAME_LABEL = "kubernetes.io/metadata.name"


class NamespaceStrategy(Strategy):
    """``namespaceStrategy``: cluster-scoped, no generation, status via ``/status``."""

    has_status_subresource = True

    def default(self, obj: Obj) -> None:
        meta = obj.setdefault("metadata", {})
        if meta.get("name"):
            labels = meta.get("labels")
            if not isinstance(labels, dict):
                labels = meta["labels"] = {}
            labels[NAME_LABEL] = meta["name"]

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        causes = validate_object_meta(obj, info)
        for i, name in enumerate((obj.get("spec") or {}).get("finalizers") or []):
            path = f"spec.finalizers[{i}]"
            if "/" not in str(name) and name != FINALIZER_KUBERNETES:
                causes.append(invalid(path, name,
                                      "name is neither a standard finalizer name nor is it "
                                      "fully qualified"))
            else:
                causes += [invalid(path, name, e) for e in qualified_name_errors(str(name))]
        return causes

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            spec = obj["spec"] = {}
        finalizers = list(spec.get("finalizers") or [])
        if FINALIZER_KUBERNETES not in finalizers:
            finalizers.append(FINALIZER_KUBERNETES)
        spec["finalizers"] = finalizers

    def prepare_for_update(self, obj: Obj, old: Obj) -> None:
        super().prepare_for_update(obj, old)
        old_spec = old.get("spec") or {}
        spec = obj.setdefault("spec", {})
        if "finalizers" in old_spec:
            spec["finalizers"] = deep_copy_json(old_spec["finalizers"])
        else:
            spec.pop("finalizers", None)

    def initial_status(self, obj: Obj) -> Obj | None:
        return {"phase": "Active"}

    def selectable_fields(self, obj: Obj) -> dict[str, str]:
        phase = (obj.get("status") or {}).get("phase", "")
        return super().selectable_fields(obj) | {"status.phase": phase}


register("v1", "Namespace", NamespaceStrategy())
