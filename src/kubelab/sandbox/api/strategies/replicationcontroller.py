"""v1 ReplicationControllers: the ReplicaSet's predecessor, with an equality-based selector.

Mirrors ``pkg/registry/core/replicationcontroller/strategy.go`` (status cleared on create,
``metadata.generation`` bumped on spec changes, ``status.replicas`` selectable),
``SetDefaults_ReplicationController`` in ``pkg/apis/core/v1/defaults.go`` (the selector and
the object's labels default to the template's labels, ``replicas`` to 1) and
``ValidateReplicationController`` in ``pkg/apis/core/validation/validation.go`` (a non-empty
selector that matches the template's labels, ``restartPolicy: Always``, no
``activeDeadlineSeconds``). Unlike apps/v1 the selector may change after creation.
"""

from __future__ import annotations

from typing import Any

from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import Obj, register
from kubelab.sandbox.api.strategies.pod import default_pod_template, validate_pod_template
from kubelab.sandbox.api.strategies.workload import (
    ReplicaCountStrategy,
    copy_template_labels,
    restart_policy_causes,
    spec_to_default,
)
from kubelab.sandbox.api.validation import (
    go_string_map,
    invalid,
    required,
    validate_labels,
    validate_nonnegative,
    validate_object_meta,
)


def selector_matches_labels(selector: dict[str, Any] | None,
                            labels: dict[str, Any] | None) -> bool:
    """``labels.Set(selector).AsSelector().Matches(labels)``."""
    labels = labels or {}
    return all(labels.get(k) == v for k, v in (selector or {}).items())


def validate_rc_spec(spec: dict[str, Any], path: str = "spec") -> list[Cause]:
    """``ValidateReplicationControllerSpec`` and ``ValidatePodTemplateSpecForRC``."""
    causes = validate_nonnegative(spec.get("minReadySeconds"), f"{path}.minReadySeconds")
    selector = spec.get("selector") if isinstance(spec.get("selector"), dict) else {}
    if not selector:
        causes.append(required(f"{path}.selector"))
    causes += validate_labels(selector, f"{path}.selector")
    causes += validate_nonnegative(spec.get("replicas"), f"{path}.replicas")
    template = spec.get("template")
    tpath = f"{path}.template"
    if not isinstance(template, dict):
        causes.append(required(tpath))
        return causes
    labels = (template.get("metadata") or {}).get("labels")
    if selector and not selector_matches_labels(selector, labels):
        causes.append(invalid(f"{tpath}.metadata.labels", go_string_map(labels),
                              "selector does not match labels in template"))
    causes += validate_pod_template(template, tpath)
    causes += restart_policy_causes(template.get("spec") or {}, tpath, "ReplicationController",
                                    missing="Always", allow_blank=False)
    return causes


class ReplicationControllerStrategy(ReplicaCountStrategy):
    """``rcStrategy``."""

    def default(self, obj: Obj) -> None:
        spec = spec_to_default(obj)
        if spec is None:
            return
        template = spec.get("template")
        labels = ((template.get("metadata") or {}).get("labels")
                  if isinstance(template, dict) else None)
        if labels and not spec.get("selector"):
            spec["selector"] = dict(labels)
        copy_template_labels(obj, labels)
        if spec.get("replicas") is None:
            spec["replicas"] = 1
        default_pod_template(template, "ReplicationController")

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        return validate_object_meta(obj, info) + validate_rc_spec(obj.get("spec") or {})


register("v1", "ReplicationController", ReplicationControllerStrategy())
