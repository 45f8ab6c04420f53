"""autoscaling/v2 HorizontalPodAutoscalers: defaults and validation with upstream wording.

Mirrors ``pkg/registry/autoscaling/horizontalpodautoscaler/strategy.go`` (status cleared on
create and kept on a main-resource update; no ``metadata.generation``), ``SetDefaults_*`` of
``pkg/apis/autoscaling/v2/defaults.go`` (``minReplicas`` 1, an 80% CPU utilisation metric
when none is given, and the scale-up/scale-down rules filled in only when ``behavior`` is
set) and ``ValidateHorizontalPodAutoscaler`` of ``pkg/apis/autoscaling/validation``.

The autoscaling/v1 form (``targetCPUUtilizationPercentage``) converts to and from this one
as upstream's ``pkg/apis/autoscaling/v1/conversion.go`` does: see :func:`v1_to_v2` and
:func:`v2_to_v1`.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from kubelab.apimachinery.types import deep_copy_json
from kubelab.sandbox.api import versions
from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import Obj, Strategy, register
from kubelab.sandbox.api.validation import (
    forbidden,
    invalid,
    not_supported,
    required,
    validate_object_meta,
)

#: ``autoscaling.DefaultCPUUtilization``: the metric of an HPA that names none.
DEFAULT_CPU_UTILIZATION = 80
#: ``GenerateHPAScaleUpRules`` / ``GenerateHPAScaleDownRules`` defaults.
SCALE_UP_STABILIZATION = 0
SCALE_DOWN_STABILIZATION = 300
MAX_STABILIZATION_WINDOW = 3600
MAX_PERIOD_SECONDS = 1800
METRIC_SOURCE_TYPES = ("ContainerResource", "External", "Object", "Pods", "Resource")
METRIC_TARGET_TYPES = ("AverageValue", "Utilization", "Value")
SELECT_POLICIES = ("Disabled", "Max", "Min")
POLICY_TYPES = ("Percent", "Pods")
#: The annotation upstream's v1 conversion keeps the v2-only fields in.
V1_METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/metrics"
V1_CONDITIONS_ANNOTATION = "autoscaling.alpha.kubernetes.io/conditions"
V1_CURRENT_METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/current-metrics"
V1_BEHAVIOR_ANNOTATION = "autoscaling.alpha.kubernetes.io/behavior"


def default_scale_up_rules(rules: Any) -> Obj:
    """``GenerateHPAScaleUpRules``: 4 pods or 100% per 15 s, the larger, no stabilisation."""
    out: Obj = dict(rules) if isinstance(rules, dict) else {}
    if out.get("stabilizationWindowSeconds") is None:
        out["stabilizationWindowSeconds"] = SCALE_UP_STABILIZATION
    if out.get("selectPolicy") is None:
        out["selectPolicy"] = "Max"
    if out.get("policies") is None:
        out["policies"] = [{"type": "Pods", "value": 4, "periodSeconds": 15},
                           {"type": "Percent", "value": 100, "periodSeconds": 15}]
    return out


def default_scale_down_rules(rules: Any) -> Obj:
    """``GenerateHPAScaleDownRules``: down to the minimum at once, after a 300 s window."""
    out: Obj = dict(rules) if isinstance(rules, dict) else {}
    if out.get("stabilizationWindowSeconds") is None:
        out["stabilizationWindowSeconds"] = SCALE_DOWN_STABILIZATION
    if out.get("selectPolicy") is None:
        out["selectPolicy"] = "Max"
    if out.get("policies") is None:
        out["policies"] = [{"type": "Percent", "value": 100, "periodSeconds": 15}]
    return out


def default_hpa_spec(spec: Obj) -> None:
    """``SetDefaults_HorizontalPodAutoscaler`` (v2)."""
    if spec.get("minReplicas") is None:
        spec["minReplicas"] = 1
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {
            "name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}}}]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        behavior["scaleUp"] = default_scale_up_rules(behavior.get("scaleUp"))
        behavior["scaleDown"] = default_scale_down_rules(behavior.get("scaleDown"))


def _validate_target_ref(ref: Any, path: str) -> list[Cause]:
    """``ValidateCrossVersionObjectReference``."""
    ref = ref if isinstance(ref, dict) else {}
    causes: list[Cause] = []
    for field in ("kind", "name"):
        value = ref.get(field) or ""
        if not value:
            causes.append(required(f"{path}.{field}"))
        elif "/" in value or "%" in value or value in (".", ".."):
            detail = (f"may not be '{value}'" if value in (".", "..")
                      else f"may not contain '{'/' if '/' in value else '%'}'")
            causes.append(invalid(f"{path}.{field}", value, detail))
    return causes


def _validate_metric_target(target: Any, path: str) -> list[Cause]:
    """``validateMetricTarget``."""
    target = target if isinstance(target, dict) else {}
    causes: list[Cause] = []
    kind = target.get("type") or ""
    if not kind:
        causes.append(required(f"{path}.type", "must specify a metric target type"))
    elif kind not in METRIC_TARGET_TYPES:
        causes.append(invalid(f"{path}.type", kind,
                              "must be either Utilization, Value, or AverageValue"))
    utilization = target.get("averageUtilization")
    if isinstance(utilization, int) and utilization < 1:
        causes.append(invalid(f"{path}.averageUtilization", utilization,
                              "must be greater than 0"))
    return causes


def _validate_resource_source(source: Any, path: str, container: bool) -> list[Cause]:
    """``validateResourceSource`` / ``validateContainerResourceSource``."""
    source = source if isinstance(source, dict) else {}
    causes: list[Cause] = []
    if not source.get("name"):
        causes.append(required(f"{path}.name", "must specify a resource name"))
    if container and not source.get("container"):
        causes.append(required(f"{path}.container", "must specify a container"))
    target = source.get("target") if isinstance(source.get("target"), dict) else {}
    causes += _validate_metric_target(target, f"{path}.target")
    if target.get("averageUtilization") is None and target.get("averageValue") is None:
        causes.append(required(f"{path}.target.averageUtilization",
                               "must set either a target raw value or a target utilization"))
    if target.get("averageUtilization") is not None and target.get("averageValue") is not None:
        causes.append(forbidden(f"{path}.target.averageValue",
                                "may not set both a target raw value and a target "
                                "utilization"))
    return causes


def _validate_metrics(metrics: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for i, metric in enumerate(metrics if isinstance(metrics, list) else []):
        metric = metric if isinstance(metric, dict) else {}
        mpath = f"{path}[{i}]"
        kind = metric.get("type") or ""
        if not kind:
            causes.append(required(f"{mpath}.type", "must specify a metric source type"))
            continue
        if kind not in METRIC_SOURCE_TYPES:
            causes.append(not_supported(f"{mpath}.type", kind, METRIC_SOURCE_TYPES))
            continue
        field = kind[0].lower() + kind[1:]
        if not isinstance(metric.get(field), dict):
            causes.append(required(f"{mpath}.{field}",
                                   f"must populate information for the given metric source "
                                   f"(type {kind})"))
            continue
        if kind in ("Resource", "ContainerResource"):
            causes += _validate_resource_source(metric[field], f"{mpath}.{field}",
                                                kind == "ContainerResource")
        else:
            causes += _validate_metric_target(metric[field].get("target"),
                                              f"{mpath}.{field}.target")
    return causes


def _validate_rules(rules: Any, path: str) -> list[Cause]:
    """``validateScalingRules``."""
    if not isinstance(rules, dict):
        return []
    causes: list[Cause] = []
    window = rules.get("stabilizationWindowSeconds")
    if isinstance(window, int):
        if window < 0:
            causes.append(invalid(f"{path}.stabilizationWindowSeconds", window,
                                  "must be greater than or equal to zero"))
        elif window > MAX_STABILIZATION_WINDOW:
            causes.append(invalid(f"{path}.stabilizationWindowSeconds", window,
                                  f"must be less than or equal to {MAX_STABILIZATION_WINDOW}"))
    select = rules.get("selectPolicy")
    if select is not None and select not in SELECT_POLICIES:
        causes.append(not_supported(f"{path}.selectPolicy", select, SELECT_POLICIES))
    policies = rules.get("policies")
    if not policies:
        causes.append(required(f"{path}.policies", "must specify at least one Policy"))
    for i, policy in enumerate(policies if isinstance(policies, list) else []):
        policy = policy if isinstance(policy, dict) else {}
        ppath = f"{path}.policies[{i}]"
        if policy.get("type") not in POLICY_TYPES:
            causes.append(not_supported(f"{ppath}.type", policy.get("type", ""),
                                        POLICY_TYPES))
        period = policy.get("periodSeconds", 0)
        if not isinstance(period, int) or period <= 0:
            causes.append(invalid(f"{ppath}.periodSeconds", period,
                                  "must be greater than zero"))
        elif period > MAX_PERIOD_SECONDS:
            causes.append(invalid(f"{ppath}.periodSeconds", period,
                                  f"must be less than or equal to {MAX_PERIOD_SECONDS}"))
        value = policy.get("value", 0)
        if not isinstance(value, int) or value <= 0:
            causes.append(invalid(f"{ppath}.value", value, "must be greater than zero"))
    return causes


def validate_hpa_spec(spec: Any, path: str = "spec") -> list[Cause]:
    """``validateHorizontalPodAutoscalerSpec`` (``minReplicas`` may not be 0: the
    ``HPAScaleToZero`` gate is alpha and off)."""
    spec = spec if isinstance(spec, dict) else {}
    causes: list[Cause] = []
    low, high = spec.get("minReplicas"), spec.get("maxReplicas")
    if isinstance(low, int) and low < 1:
        causes.append(invalid(f"{path}.minReplicas", low, "must be greater than or equal to 1"))
    if not isinstance(high, int) or high < 1:
        causes.append(invalid(f"{path}.maxReplicas", high if high is not None else 0,
                              "must be greater than 0"))
    elif isinstance(low, int) and high < low:
        causes.append(invalid(f"{path}.maxReplicas", high,
                              "must be greater than or equal to `minReplicas`"))
    causes += _validate_target_ref(spec.get("scaleTargetRef"), f"{path}.scaleTargetRef")
    causes += _validate_metrics(spec.get("metrics"), f"{path}.metrics")
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        causes += _validate_rules(behavior.get("scaleUp"), f"{path}.behavior.scaleUp")
        causes += _validate_rules(behavior.get("scaleDown"), f"{path}.behavior.scaleDown")
    return causes


class HorizontalPodAutoscalerStrategy(Strategy):
    """``autoscalerStrategy``: status reset on create, kept on update; no generation."""

    has_status_subresource = True

    def default(self, obj: Obj) -> None:
        spec = obj.setdefault("spec", {})
        if isinstance(spec, dict):
            default_hpa_spec(spec)

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        return validate_object_meta(obj, info) + validate_hpa_spec(obj.get("spec"))

    def initial_status(self, obj: Obj) -> Obj | None:
        # ``desiredReplicas`` has no omitempty: an empty v2 status still shows it.
        return {"desiredReplicas": 0}


register("autoscaling/v2", "HorizontalPodAutoscaler", HorizontalPodAutoscalerStrategy())


# ------------------------------------------------------------------------- v1 <-> v2

def _cpu_utilization_metric(metric: Any) -> int | None:
    """The target of a ``Resource`` cpu ``Utilization`` metric (the one v1 can say)."""
    if not isinstance(metric, dict) or metric.get("type") != "Resource":
        return None
    resource = metric.get("resource") or {}
    target = resource.get("target") or {}
    if resource.get("name") == "cpu" and target.get("type") == "Utilization":
        value = target.get("averageUtilization")
        return value if isinstance(value, int) else None
    return None


def v1_to_v2(obj: Obj) -> Obj:
    """An ``autoscaling/v1`` HPA as the v2 object it is stored as
    (``Convert_v1_HorizontalPodAutoscaler_To_autoscaling_HorizontalPodAutoscaler``)."""
    out = deep_copy_json(obj)
    out["apiVersion"] = "autoscaling/v2"
    raw_spec = out.get("spec")
    spec: Obj = raw_spec if isinstance(raw_spec, dict) else {}
    target = spec.pop("targetCPUUtilizationPercentage", None)
    annotations = (out.get("metadata") or {}).get("annotations") or {}
    metrics: list[Any] = []
    if target is not None:
        metrics.append({"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}})
    extra = annotations.pop(V1_METRICS_ANNOTATION, None)
    if extra:
        with contextlib.suppress(ValueError):
            metrics += [m for m in json.loads(extra) if isinstance(m, dict)]
    behavior = annotations.pop(V1_BEHAVIOR_ANNOTATION, None)
    if behavior:
        with contextlib.suppress(ValueError):
            spec["behavior"] = json.loads(behavior)
    annotations.pop(V1_CONDITIONS_ANNOTATION, None)
    annotations.pop(V1_CURRENT_METRICS_ANNOTATION, None)
    if metrics:
        spec["metrics"] = metrics
    status = out.get("status")
    if isinstance(status, dict):
        current = status.pop("currentCPUUtilizationPercentage", None)
        if current is not None:
            status["currentMetrics"] = [{"type": "Resource", "resource": {
                "name": "cpu", "current": {"averageUtilization": current}}}]
    out["spec"] = spec
    return out


def v2_to_v1(obj: Obj) -> Obj:
    """The stored v2 HPA as ``autoscaling/v1`` shows it: the cpu utilisation target as
    ``targetCPUUtilizationPercentage``; other metrics, conditions and behavior in the
    ``autoscaling.alpha.kubernetes.io/*`` annotations, as upstream's conversion keeps them."""
    out = deep_copy_json(obj)
    out["apiVersion"] = "autoscaling/v1"
    spec = out.get("spec") or {}
    metrics = spec.pop("metrics", None) or []
    behavior = spec.pop("behavior", None)
    others = [m for m in metrics if _cpu_utilization_metric(m) is None]
    cpu = next((_cpu_utilization_metric(m) for m in metrics
                if _cpu_utilization_metric(m) is not None), None)
    if cpu is not None:
        spec["targetCPUUtilizationPercentage"] = cpu
    meta = out.setdefault("metadata", {})
    annotations = dict(meta.get("annotations") or {})
    if others:
        annotations[V1_METRICS_ANNOTATION] = json.dumps(others, separators=(",", ":"))
    if behavior:
        annotations[V1_BEHAVIOR_ANNOTATION] = json.dumps(behavior, separators=(",", ":"))
    # v1's currentReplicas and desiredReplicas have no omitempty: always shown, 0 if unset.
    status = out.setdefault("status", {})
    if isinstance(status, dict):
        status.setdefault("currentReplicas", 0)
        status.setdefault("desiredReplicas", 0)
        current = status.pop("currentMetrics", None) or []
        conditions = status.pop("conditions", None)
        for metric in current:
            resource = (metric or {}).get("resource") or {}
            value = (resource.get("current") or {}).get("averageUtilization")
            if resource.get("name") == "cpu" and value is not None:
                status["currentCPUUtilizationPercentage"] = value
        if conditions:
            annotations[V1_CONDITIONS_ANNOTATION] = json.dumps(conditions,
                                                               separators=(",", ":"))
    if annotations:
        meta["annotations"] = annotations
    return out


# Served as autoscaling/v1 too (kinds.ALSO_SERVED): requests at v1 convert at the server's edge.
versions.register("autoscaling/v1", "HorizontalPodAutoscaler", v1_to_v2, v2_to_v1)
