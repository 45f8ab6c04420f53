"""What the workload kinds' strategies share: the pod-template checks and defaulting blocks.

Upstream writes these once too: ``ValidatePodTemplateSpecForReplicaSet`` (used by
ReplicaSets and Deployments), the DaemonSet and StatefulSet spec validations and
``ValidatePodTemplateSpecForRC`` in ``pkg/apis/{apps,core}/validation/validation.go`` all
check that the selector matches the template's labels, that ``restartPolicy`` is
``Always`` and that ``activeDeadlineSeconds`` is unset; the ``SetDefaults_*`` functions in
``pkg/apis/{apps,core,batch}/v1/defaults.go`` default an update strategy of type
``RollingUpdate`` and copy the template's labels to an object that has none. The helpers
here keep each kind's wording (the kind named in a message is a parameter) so every
strategy answers exactly as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubelab.apimachinery.selectors import selector_is_empty, selector_matches
from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.strategies import Obj, Strategy
from kubelab.sandbox.api.validation import forbidden, go_string_map, invalid, not_supported


def spec_to_default(obj: Obj) -> dict[str, Any] | None:
    """``obj.spec``, created when missing; ``None`` when it is not an object (nothing to default)."""
    spec = obj.setdefault("spec", {})
    return spec if isinstance(spec, dict) else None


def child_dict(parent: dict[str, Any], key: str) -> dict[str, Any]:
    """``parent[key]`` as an object, replacing a missing or non-object value with ``{}``.

    The generated defaulters allocate a nil pointer struct before filling it the same way.
    """
    child = parent.get(key)
    if not isinstance(child, dict):
        child = parent[key] = {}
    return child


def default_rolling_update(spec: dict[str, Any], key: str, defaults: Mapping[str, Any]) -> None:
    """An update strategy of type ``RollingUpdate`` unless set, with ``defaults`` for its knobs."""
    strategy = child_dict(spec, key)
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        rolling = child_dict(strategy, "rollingUpdate")
        for field, value in defaults.items():
            if rolling.get(field) is None:
                rolling[field] = value


def copy_template_labels(obj: Obj, labels: Any) -> None:
    """The object's labels default to the template's when it has none (RC and Job defaults)."""
    meta = obj.setdefault("metadata", {})
    if labels and not meta.get("labels"):
        meta["labels"] = dict(labels)


def selector_template_causes(selector: Any, labels: Any, tpath: str) -> list[Cause]:
    """The apps/v1 check that the selector selects the template's labels.

    A missing selector matches nothing (``labels.Nothing()``), so that fires too; an empty one
    is reported by the selector's own validation instead.
    """
    if (selector is None or not selector_is_empty(selector)) \
            and not selector_matches(selector, labels):
        return [invalid(f"{tpath}.metadata.labels", go_string_map(labels),
                        "`selector` does not match template `labels`")]
    return []


def restart_policy_causes(pod_spec: Mapping[str, Any], tpath: str, kind: str, *,
                          missing: str = "", allow_blank: bool = True) -> list[Cause]:
    """``restartPolicy`` must be ``Always`` and ``activeDeadlineSeconds`` unset.

    ``missing`` is what an absent policy reads as and ``allow_blank`` whether an empty one
    passes: the kinds' validations differ there (a ReplicaSet's template accepts an empty
    policy, a StatefulSet's does not, a ReplicationController treats an absent one as
    ``Always``).
    """
    causes: list[Cause] = []
    restart = pod_spec.get("restartPolicy", missing)
    if restart != "Always" and (restart or not allow_blank):
        causes.append(not_supported(f"{tpath}.spec.restartPolicy", restart, ("Always",)))
    if pod_spec.get("activeDeadlineSeconds") is not None:
        causes.append(forbidden(f"{tpath}.spec.activeDeadlineSeconds",
                                f"activeDeadlineSeconds in {kind} is not Supported"))
    return causes


class WorkloadStrategy(Strategy):
    """A workload kind: ``metadata.generation`` follows the spec, status has its own
    subresource (every workload strategy upstream resets status on create and ignores it on
    update)."""

    has_spec = True
    has_status_subresource = True


class ReplicaCountStrategy(WorkloadStrategy):
    """A workload whose status starts at ``replicas: 0`` and is selectable by it.

    ``rsStrategy`` and ``rcStrategy`` both offer ``status.replicas`` as a field selector.
    """

    def initial_status(self, obj: Obj) -> Obj | None:
        return {"replicas": 0}

    def selectable_fields(self, obj: Obj) -> dict[str, str]:
        replicas = (obj.get("status") or {}).get("replicas", 0)
        return super().selectable_fields(obj) | {"status.replicas": str(replicas)}
