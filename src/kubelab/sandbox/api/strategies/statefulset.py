"""StatefulSets: stable pod names, ordered start, a claim per pod from each template.

Mirrors ``SetDefaults_StatefulSet`` in ``pkg/apis/apps/v1/defaults.go``
(``podManagementPolicy: OrderedReady``, ``updateStrategy`` RollingUpdate with
``partition: 0``, ``persistentVolumeClaimRetentionPolicy`` Retain/Retain, ``replicas`` 1,
``revisionHistoryLimit`` 10; each ``volumeClaimTemplates[]`` entry gets the claim defaults:
``volumeMode: Filesystem``, ``status.phase: Pending``, and the ``apiVersion``/``kind`` a
real server shows), ``ValidateStatefulSet``/``ValidateStatefulSetUpdate`` in
``pkg/apis/apps/validation/validation.go`` (the template is checked only for its labels,
selector match and restart policy, as upstream, because its volume mounts name the claim
templates; the pods the controller makes are validated in full) and
``pkg/registry/apps/statefulset/strategy.go`` (status on its own subresource, generation on
spec changes).
"""

from __future__ import annotations

from typing import Any

from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import Obj, register
from kubelab.sandbox.api.strategies.pod import default_pod_template
from kubelab.sandbox.api.strategies.replicaset import validate_selector, validate_selector_update
from kubelab.sandbox.api.strategies.workload import (
    WorkloadStrategy,
    child_dict,
    default_rolling_update,
    restart_policy_causes,
    selector_template_causes,
    spec_to_default,
)
from kubelab.sandbox.api.validation import (
    forbidden,
    invalid,
    not_supported,
    required,
    validate_annotations,
    validate_labels,
    validate_nonnegative,
    validate_object_meta,
)

POD_MANAGEMENT_POLICIES = ("OrderedReady", "Parallel")
UPDATE_STRATEGY_TYPES = ("RollingUpdate", "OnDelete")
RETENTION_POLICIES = ("Retain", "Delete")
#: The spec fields ``ValidateStatefulSetUpdate`` lets an update change.
MUTABLE_SPEC_FIELDS = ("replicas", "ordinals", "template", "updateStrategy",
                       "persistentVolumeClaimRetentionPolicy", "minReadySeconds")
_UPDATE_FORBIDDEN = ("updates to statefulset spec for fields other than 'replicas', "
                     "'ordinals', 'template', 'updateStrategy', "
                     "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are "
                     "forbidden")


def default_claim_template(claim: Any) -> None:
    """``SetDefaults_PersistentVolumeClaim`` on an embedded claim template."""
    if not isinstance(claim, dict):
        return
    claim.setdefault("apiVersion", "v1")
    claim.setdefault("kind", "PersistentVolumeClaim")
    spec = claim.setdefault("spec", {})
    if isinstance(spec, dict) and not spec.get("volumeMode"):
        spec["volumeMode"] = "Filesystem"
    child_dict(claim, "status").setdefault("phase", "Pending")


def _validate_update_strategy(strategy: Any) -> list[Cause]:
    path = "spec.updateStrategy"
    strategy = strategy if isinstance(strategy, dict) else {}
    kind = strategy.get("type", "")
    if not kind:
        return [required(f"{path}.type")]
    if kind not in UPDATE_STRATEGY_TYPES:
        return [not_supported(f"{path}.type", kind, UPDATE_STRATEGY_TYPES)]
    rolling = strategy.get("rollingUpdate")
    if kind == "OnDelete" and rolling is not None:
        return [invalid(f"{path}.rollingUpdate", rolling,
                        "only allowed for updateStrategy 'RollingUpdate'")]
    if isinstance(rolling, dict):
        return validate_nonnegative(rolling.get("partition"), f"{path}.rollingUpdate.partition")
    return []


def _validate_retention(policy: Any) -> list[Cause]:
    causes: list[Cause] = []
    path = "spec.persistentVolumeClaimRetentionPolicy"
    for field in ("whenDeleted", "whenScaled"):
        value = (policy or {}).get(field) if isinstance(policy, dict) else None
        if value not in RETENTION_POLICIES:
            causes.append(not_supported(f"{path}.{field}", value or "", RETENTION_POLICIES))
    return causes


def _validate_claim_templates(claims: Any) -> list[Cause]:
    causes: list[Cause] = []
    for i, claim in enumerate(claims or []):
        path = f"spec.volumeClaimTemplates[{i}]"
        claim = claim if isinstance(claim, dict) else {}
        if not (claim.get("metadata") or {}).get("name"):
            causes.append(required(f"{path}.metadata.name", "name or generateName is required"))
        spec = claim.get("spec") or {}
        if not spec.get("accessModes"):
            causes.append(required(f"{path}.spec.accessModes",
                                   "at least 1 access mode is required"))
        if "storage" not in ((spec.get("resources") or {}).get("requests") or {}):
            causes.append(required(f"{path}.spec.resources[storage]"))
    return causes


class StatefulSetStrategy(WorkloadStrategy):
    """``statefulSetStrategy``."""

    def default(self, obj: Obj) -> None:
        spec = spec_to_default(obj)
        if spec is None:
            return
        if not spec.get("podManagementPolicy"):
            spec["podManagementPolicy"] = "OrderedReady"
        default_rolling_update(spec, "updateStrategy", {"partition": 0})
        retention = child_dict(spec, "persistentVolumeClaimRetentionPolicy")
        for field in ("whenDeleted", "whenScaled"):
            if not retention.get(field):
                retention[field] = "Retain"
        if spec.get("replicas") is None:
            spec["replicas"] = 1
        if spec.get("revisionHistoryLimit") is None:
            spec["revisionHistoryLimit"] = 10
        for claim in spec.get("volumeClaimTemplates") or []:
            default_claim_template(claim)
        default_pod_template(spec.get("template"), "StatefulSet")

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        spec = obj.get("spec") or {}
        causes = validate_object_meta(obj, info)
        policy = spec.get("podManagementPolicy", "")
        if not policy:
            causes.append(required("spec.podManagementPolicy", ""))
        elif policy not in POD_MANAGEMENT_POLICIES:
            causes.append(not_supported("spec.podManagementPolicy", policy,
                                        POD_MANAGEMENT_POLICIES))
        causes += _validate_update_strategy(spec.get("updateStrategy"))
        causes += _validate_retention(spec.get("persistentVolumeClaimRetentionPolicy"))
        causes += _validate_claim_templates(spec.get("volumeClaimTemplates"))
        causes += validate_nonnegative(spec.get("replicas"), "spec.replicas")
        causes += validate_nonnegative(spec.get("minReadySeconds"), "spec.minReadySeconds")
        ordinals = spec.get("ordinals")
        if isinstance(ordinals, dict):
            causes += validate_nonnegative(ordinals.get("start"), "spec.ordinals.start")
        causes += validate_selector(spec, "statefulset")
        template = spec.get("template")
        if not isinstance(template, dict):
            causes.append(required("spec.template"))
            return causes
        meta = template.get("metadata") or {}
        causes += selector_template_causes(spec.get("selector"), meta.get("labels"),
                                           "spec.template")
        causes += validate_labels(meta.get("labels"), "spec.template.labels")
        causes += validate_annotations(meta.get("annotations"), "spec.template.annotations")
        causes += restart_policy_causes(template.get("spec") or {}, "spec.template",
                                        "StatefulSet", allow_blank=False)
        return causes

    def validate_update(self, obj: Obj, old: Obj, info: KindInfo) -> list[Cause]:
        causes = self.validate(obj, info)
        new_spec, old_spec = obj.get("spec") or {}, old.get("spec") or {}
        rest_new = {k: v for k, v in new_spec.items() if k not in MUTABLE_SPEC_FIELDS}
        rest_old = {k: v for k, v in old_spec.items() if k not in MUTABLE_SPEC_FIELDS}
        if rest_new != rest_old:
            causes.append(forbidden("spec", _UPDATE_FORBIDDEN))
        return causes + validate_selector_update(obj, old)

    def initial_status(self, obj: Obj) -> Obj | None:
        return {"replicas": 0, "availableReplicas": 0}


register("apps/v1", "StatefulSet", StatefulSetStrategy())
