"""Deployments: the defaults ``kubectl describe`` shows and the rules a rollout relies on.

Mirrors ``SetDefaults_Deployment`` in ``pkg/apis/apps/v1/defaults.go`` (``replicas`` 1,
``RollingUpdate`` with 25%/25%, ``revisionHistoryLimit`` 10, ``progressDeadlineSeconds``
600), ``ValidateDeployment`` in ``pkg/apis/apps/validation/validation.go`` and
``pkg/registry/apps/deployment/strategy.go``. Upstream bumps ``metadata.generation`` when the
spec *or the annotations* change, because annotations are copied onto ReplicaSets; the
deployment controller's ``observedGeneration`` depends on that.
"""

from __future__ import annotations

import re
from typing import Any

from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import Obj, register
from kubelab.sandbox.api.strategies.pod import default_pod_template
from kubelab.sandbox.api.strategies.replicaset import (
    validate_selector,
    validate_selector_update,
    validate_template_for_replicaset,
)
from kubelab.sandbox.api.strategies.workload import (
    WorkloadStrategy,
    default_rolling_update,
    spec_to_default,
)
from kubelab.sandbox.api.validation import (
    IS_NEGATIVE,
    forbidden,
    invalid,
    not_supported,
    required,
    validate_nonnegative,
    validate_object_meta,
)

STRATEGY_TYPES = ("Recreate", "RollingUpdate")
_PERCENT_RE = re.compile(r"^[0-9]+%$")
PERCENT_ERROR = ("a valid percent string must be a numeric string followed by an ending '%' "
                 "(e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")


def int_or_percent_errors(value: Any, path: str) -> list[Cause]:
    """``ValidatePositiveIntOrPercent``."""
    if isinstance(value, str):
        if not _PERCENT_RE.match(value):
            return [invalid(path, value, PERCENT_ERROR)]
        return []
    if isinstance(value, int) and value < 0:
        return [invalid(path, value, IS_NEGATIVE)]
    return []


def int_or_percent_value(value: Any) -> int:
    if isinstance(value, str):
        return int(value[:-1]) if _PERCENT_RE.match(value) else 0
    return value if isinstance(value, int) else 0


def validate_rolling_update(rolling: dict[str, Any], path: str) -> list[Cause]:
    max_unavailable = rolling.get("maxUnavailable")
    max_surge = rolling.get("maxSurge")
    causes = int_or_percent_errors(max_unavailable, f"{path}.maxUnavailable")
    causes += int_or_percent_errors(max_surge, f"{path}.maxSurge")
    if int_or_percent_value(max_unavailable) == 0 and int_or_percent_value(max_surge) == 0:
        causes.append(invalid(f"{path}.maxUnavailable", max_unavailable if max_unavailable
                              is not None else 0, "may not be 0 when `maxSurge` is 0"))
    if isinstance(max_unavailable, str) and int_or_percent_value(max_unavailable) > 100:
        causes.append(invalid(f"{path}.maxUnavailable", max_unavailable,
                              "must not be greater than 100%"))
    return causes


def validate_strategy(strategy: Any, path: str) -> list[Cause]:
    """``ValidateDeploymentStrategy``."""
    strategy = strategy if isinstance(strategy, dict) else {}
    kind = strategy.get("type", "")
    if kind == "Recreate":
        if strategy.get("rollingUpdate") is not None:
            return [forbidden(f"{path}.rollingUpdate",
                              "may not be specified when strategy `type` is 'Recreate'")]
        return []
    if kind == "RollingUpdate":
        rolling = strategy.get("rollingUpdate")
        if not isinstance(rolling, dict):
            return [required(f"{path}.rollingUpdate",
                             "this should be defaulted and never be nil")]
        return validate_rolling_update(rolling, f"{path}.rollingUpdate")
    return [not_supported(f"{path}.type", kind, STRATEGY_TYPES)]


class DeploymentStrategy(WorkloadStrategy):
    """``deploymentStrategy``."""

    def default(self, obj: Obj) -> None:
        spec = spec_to_default(obj)
        if spec is None:
            return
        if spec.get("replicas") is None:
            spec["replicas"] = 1
        default_rolling_update(spec, "strategy", {"maxUnavailable": "25%", "maxSurge": "25%"})
        if spec.get("revisionHistoryLimit") is None:
            spec["revisionHistoryLimit"] = 10
        if spec.get("progressDeadlineSeconds") is None:
            spec["progressDeadlineSeconds"] = 600
        default_pod_template(spec.get("template"), "Deployment")

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        spec = obj.get("spec") or {}
        causes = validate_object_meta(obj, info)
        causes += validate_nonnegative(spec.get("replicas"), "spec.replicas")
        causes += validate_selector(spec, "deployment")
        causes += validate_template_for_replicaset(spec)
        causes += validate_strategy(spec.get("strategy"), "spec.strategy")
        min_ready = spec.get("minReadySeconds", 0) or 0
        causes += validate_nonnegative(min_ready, "spec.minReadySeconds")
        causes += validate_nonnegative(spec.get("revisionHistoryLimit"),
                                       "spec.revisionHistoryLimit")
        deadline = spec.get("progressDeadlineSeconds")
        if isinstance(deadline, int):
            causes += validate_nonnegative(deadline, "spec.progressDeadlineSeconds")
            if isinstance(min_ready, int) and deadline <= min_ready:
                causes.append(invalid("spec.progressDeadlineSeconds", deadline,
                                      "must be greater than minReadySeconds"))
        return causes

    def validate_update(self, obj: Obj, old: Obj, info: KindInfo) -> list[Cause]:
        return self.validate(obj, info) + validate_selector_update(obj, old)

    def initial_status(self, obj: Obj) -> Obj | None:
        return {}

    def prepare_for_update(self, obj: Obj, old: Obj) -> None:
        super().prepare_for_update(obj, old)
        meta, old_meta = obj.setdefault("metadata", {}), old.get("metadata") or {}
        old_generation = old_meta.get("generation", 1)
        if (meta.get("annotations") or {}) != (old_meta.get("annotations") or {}):
            meta["generation"] = old_generation + 1


register("apps/v1", "Deployment", DeploymentStrategy())
