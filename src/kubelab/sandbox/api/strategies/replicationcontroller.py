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
from kubelab.sandbox.api.strategies import Obj, Strategy, register
from kubelab.sandbox.api.strategies.pod import default_pod_template, validate_pod_template
from kubelab.sandbox.api.validation import (
    forbidden,
    go_string_map,
    invalid,
    not_supported,
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
    pod_spec = template.get("spec") or {}
    restart = pod_spec.get("restartPolicy", "Always")
    if restart != "Always":
        causes.append(not_supported(f"{tpath}.spec.restartPolicy", restart, ("Always",)))
    if pod_spec.get("activeDeadlineSeconds") is not None:
        causes.append(forbidden(f"{tpath}.spec.activeDeadlineSeconds",
                                "activeDeadlineSeconds in ReplicationController is not Supported"))
    return causes


class ReplicationControllerStrategy(Strategy):
    """``rcStrategy``."""

    has_spec = True
    has_status_subresource = True

    def default(self, obj: Obj) -> None:
        spec = obj.setdefault("spec", {})
        if not isinstance(spec, dict):
            return
        template = spec.get("template")
        labels = ((template.get("metadata") or {}).get("labels")
                  if isinstance(template, dict) else None)
        if labels:
            if not spec.get("selector"):
                spec["selector"] = dict(labels)
            meta = obj.setdefault("metadata", {})
            if not meta.get("labels"):
                meta["labels"] = dict(labels)
        if spec.get("replicas") is None:
            spec["replicas"] = 1
        default_pod_template(template, "ReplicationController")

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        return validate_object_meta(obj, info) + validate_rc_spec(obj.get("spec") or {})

    def initial_status(self, obj: Obj) -> Obj | None:
        return {"replicas": 0}

    def selectable_fields(self, obj: Obj) -> dict[str, str]:
        replicas = (obj.get("status") or {}).get("replicas", 0)
        return super().selectable_fields(obj) | {"status.replicas": str(replicas)}


register("v1", "ReplicationController", ReplicationControllerStrategy())
