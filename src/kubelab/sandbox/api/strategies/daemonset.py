"""DaemonSets (the sandbox's ``kube-proxy``): one pod per node, rolled one node at a time.

Mirrors ``SetDefaults_DaemonSet`` in ``pkg/apis/apps/v1/defaults.go`` (``RollingUpdate`` with
``maxUnavailable`` 1 and ``maxSurge`` 0, ``revisionHistoryLimit`` 10),
``ValidateDaemonSet`` in ``pkg/apis/apps/validation/validation.go`` and
``pkg/registry/apps/daemonset/strategy.go`` (including the template generation kept in the
``deprecated.daemonset.template.generation`` annotation). The initial status carries the four
counters
the official client requires (all zero, as the real server writes them).
"""

from __future__ import annotations

from typing import Any

from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import Obj, register
from kubelab.sandbox.api.strategies.deployment import int_or_percent_errors, int_or_percent_value
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
    invalid,
    not_supported,
    required,
    validate_nonnegative,
    validate_object_meta,
)

UPDATE_STRATEGY_TYPES = ("OnDelete", "RollingUpdate")
# The internal ``spec.templateGeneration`` (1 on create, +1 on every template change) that
# apps/v1 carries as this annotation (``pkg/apis/apps/v1/conversion.go``).
TEMPLATE_GENERATION = "deprecated.daemonset.template.generation"


def _validate_update_strategy(strategy: Any, path: str) -> list[Cause]:
    strategy = strategy if isinstance(strategy, dict) else {}
    kind = strategy.get("type", "")
    if kind not in UPDATE_STRATEGY_TYPES:
        return [not_supported(f"{path}.type", kind, UPDATE_STRATEGY_TYPES)]
    if kind != "RollingUpdate":
        return []
    rolling = strategy.get("rollingUpdate")
    if not isinstance(rolling, dict):
        return [required(f"{path}.rollingUpdate")]
    rpath = f"{path}.rollingUpdate"
    unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
    causes = int_or_percent_errors(unavailable, f"{rpath}.maxUnavailable")
    causes += int_or_percent_errors(surge, f"{rpath}.maxSurge")
    if int_or_percent_value(unavailable) == 0 and int_or_percent_value(surge) == 0:
        causes.append(invalid(f"{rpath}.maxUnavailable", unavailable if unavailable is not None
                              else 0, "may not be 0 when `maxSurge` is 0"))
    return causes


def _template_generation(obj: Obj) -> int:
    value = ((obj.get("metadata") or {}).get("annotations") or {}).get(TEMPLATE_GENERATION)
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return 0


def _set_template_generation(obj: Obj, value: int) -> None:
    meta = obj.setdefault("metadata", {})
    annotations = meta.get("annotations")
    if not isinstance(annotations, dict):
        annotations = meta["annotations"] = {}
    annotations[TEMPLATE_GENERATION] = str(value)


class DaemonSetStrategy(WorkloadStrategy):
    """``daemonSetStrategy``."""

    def default(self, obj: Obj) -> None:
        spec = spec_to_default(obj)
        if spec is None:
            return
        default_rolling_update(spec, "updateStrategy", {"maxUnavailable": 1, "maxSurge": 0})
        if spec.get("revisionHistoryLimit") is None:
            spec["revisionHistoryLimit"] = 10
        default_pod_template(spec.get("template"), "DaemonSet")

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        spec = obj.get("spec") or {}
        causes = validate_object_meta(obj, info)
        causes += validate_selector(spec, "daemonset")
        causes += validate_template_for_replicaset(spec, kind="DaemonSet")
        causes += validate_nonnegative(spec.get("minReadySeconds"), "spec.minReadySeconds")
        causes += validate_nonnegative(spec.get("revisionHistoryLimit"),
                                       "spec.revisionHistoryLimit")
        causes += _validate_update_strategy(spec.get("updateStrategy"), "spec.updateStrategy")
        return causes

    def validate_update(self, obj: Obj, old: Obj, info: KindInfo) -> list[Cause]:
        return self.validate(obj, info) + validate_selector_update(obj, old)

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        _set_template_generation(obj, max(_template_generation(obj), 1))

    def prepare_for_update(self, obj: Obj, old: Obj) -> None:
        super().prepare_for_update(obj, old)
        previous = _template_generation(old)
        if (obj.get("spec") or {}).get("template") != (old.get("spec") or {}).get("template"):
            _set_template_generation(obj, previous + 1)
        elif _template_generation(obj) < 1:
            _set_template_generation(obj, previous)

    def initial_status(self, obj: Obj) -> Obj | None:
        return {"currentNumberScheduled": 0, "desiredNumberScheduled": 0,
                "numberMisscheduled": 0, "numberReady": 0}


register("apps/v1", "DaemonSet", DaemonSetStrategy())
