"""ReplicaSets: ``replicas`` defaulted to 1, a selector that must match the template.

Mirrors ``pkg/registry/apps/replicaset/strategy.go`` (status cleared on create,
``metadata.generation`` 1 and bumped only on spec changes, ``status.replicas`` selectable),
``SetDefaults_ReplicaSet`` in ``pkg/apis/apps/v1/defaults.go`` and ``ValidateReplicaSet`` /
``ValidatePodTemplateSpecForReplicaSet`` in ``pkg/apis/apps/validation/validation.go``. The
template checks are shared with Deployments and DaemonSets, which upstream reuses too.
"""

from __future__ import annotations

from typing import Any

from kubelab.apimachinery.selectors import selector_is_empty
from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import Obj, register
from kubelab.sandbox.api.strategies.pod import default_pod_template, validate_pod_template
from kubelab.sandbox.api.strategies.workload import (
    ReplicaCountStrategy,
    restart_policy_causes,
    selector_template_causes,
    spec_to_default,
)
from kubelab.sandbox.api.validation import (
    go_label_selector,
    invalid,
    required,
    validate_immutable,
    validate_label_selector,
    validate_nonnegative,
    validate_object_meta,
)


def validate_selector(spec: dict[str, Any], kind: str, path: str = "spec") -> list[Cause]:
    """``spec.selector`` is required, well formed and not empty."""
    selector = spec.get("selector")
    if selector is None:
        return [required(f"{path}.selector")]
    causes = validate_label_selector(selector, f"{path}.selector")
    if selector_is_empty(selector):
        causes.append(invalid(f"{path}.selector", go_label_selector(selector),
                              f"empty selector is invalid for {kind}"))
    return causes


def validate_template_for_replicaset(spec: dict[str, Any], path: str = "spec",
                                     kind: str = "ReplicaSet") -> list[Cause]:
    """``ValidatePodTemplateSpecForReplicaSet``: labels match, restartPolicy Always.

    DaemonSets check their template the same way, naming themselves (``kind``).
    """
    template = spec.get("template")
    tpath = f"{path}.template"
    if not isinstance(template, dict):
        return [required(tpath)]
    labels = (template.get("metadata") or {}).get("labels")
    causes = selector_template_causes(spec.get("selector"), labels, tpath)
    causes += validate_pod_template(template, tpath)
    causes += restart_policy_causes(template.get("spec") or {}, tpath, kind)
    return causes


def validate_selector_update(new: Obj, old: Obj) -> list[Cause]:
    """apps/v1 forbids changing ``spec.selector`` after creation."""
    new_sel = (new.get("spec") or {}).get("selector")
    old_sel = (old.get("spec") or {}).get("selector")
    return validate_immutable(new_sel, old_sel, "spec.selector", go_label_selector(new_sel))


class ReplicaSetStrategy(ReplicaCountStrategy):
    """``rsStrategy``: spec/status split, generation follows the spec."""

    def default(self, obj: Obj) -> None:
        spec = spec_to_default(obj)
        if spec is None:
            return
        if spec.get("replicas") is None:
            spec["replicas"] = 1
        default_pod_template(spec.get("template"), "ReplicaSet")

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        spec = obj.get("spec") or {}
        causes = validate_object_meta(obj, info)
        causes += validate_nonnegative(spec.get("replicas"), "spec.replicas")
        causes += validate_nonnegative(spec.get("minReadySeconds"), "spec.minReadySeconds")
        # Upstream's ReplicaSet validation words this with "deployment" too.
        causes += validate_selector(spec, "deployment")
        causes += validate_template_for_replicaset(spec)
        return causes

    def validate_update(self, obj: Obj, old: Obj, info: KindInfo) -> list[Cause]:
        return self.validate(obj, info) + validate_selector_update(obj, old)


register("apps/v1", "ReplicaSet", ReplicaSetStrategy())
