"""ReplicaSets: ``replicas`` defaulted to 1, a selector that must match the template.

Mirrors ``pkg/registry/apps/replicaset/strategy.go`` (status cleared on create,
``metadata.generation`` 1 and bumped only on spec changes, ``status.replicas`` selectable),
``SetDefaults_ReplicaSet`` in ``pkg/apis/apps/v1/defaults.go`` and ``ValidateReplicaSet`` /
``ValidatePodTemplateSpecForReplicaSet`` in ``pkg/apis/apps/validation/validation.go``. The
template checks are shared with Deployments and DaemonSets, which upstream reuses too.
"""

from __future__ import annotations

from typing import Any

from kubelab.apimachinery.selectors import selector_is_empty, selector_matches
from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import Obj, Strategy, register
from kubelab.sandbox.api.strategies.pod import default_pod_template, validate_pod_template
from kubelab.sandbox.api.validation import (
    forbidden,
    go_label_selector,
    go_string_map,
    invalid,
    not_supported,
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


def validate_template_for_replicaset(spec: dict[str, Any], path: str = "spec") -> list[Cause]:
    """``ValidatePodTemplateSpecForReplicaSet``: labels match, restartPolicy Always."""
    template = spec.get("template")
    tpath = f"{path}.template"
    if not isinstance(template, dict):
        return [required(tpath)]
    causes: list[Cause] = []
    selector = spec.get("selector")
    labels = (template.get("metadata") or {}).get("labels")
    # A missing selector matches nothing (``labels.Nothing()``), so this fires too.
    if (selector is None or not selector_is_empty(selector)) \
            and not selector_matches(selector, labels):
        causes.append(invalid(f"{tpath}.metadata.labels", go_string_map(labels),
                              "`selector` does not match template `labels`"))
    causes += validate_pod_template(template, tpath)
    pod_spec = template.get("spec") or {}
    restart = pod_spec.get("restartPolicy", "")
    if restart and restart != "Always":
        causes.append(not_supported(f"{tpath}.spec.restartPolicy", restart, ("Always",)))
    if pod_spec.get("activeDeadlineSeconds") is not None:
        causes.append(forbidden(f"{tpath}.spec.activeDeadlineSeconds",
                                "activeDeadlineSeconds in ReplicaSet is not Supported"))
    return causes


def validate_selector_update(new: Obj, old: Obj) -> list[Cause]:
    """apps/v1 forbids changing ``spec.selector`` after creation."""
    new_sel = (new.get("spec") or {}).get("selector")
    old_sel = (old.get("spec") or {}).get("selector")
    return validate_immutable(new_sel, old_sel, "spec.selector", go_label_selector(new_sel))


class ReplicaSetStrategy(Strategy):
    """``rsStrategy``: spec/status split, generation follows the spec."""

    has_spec = True
    has_status_subresource = True

    def default(self, obj: Obj) -> None:
        spec = obj.setdefault("spec", {})
        if not isinstance(spec, dict):
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

    def initial_status(self, obj: Obj) -> Obj | None:
        return {"replicas": 0}

    def selectable_fields(self, obj: Obj) -> dict[str, str]:
        replicas = (obj.get("status") or {}).get("replicas", 0)
        return super().selectable_fields(obj) | {"status.replicas": str(replicas)}


register("apps/v1", "ReplicaSet", ReplicaSetStrategy())
