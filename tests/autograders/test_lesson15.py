"""Lesson 15 probes against a fake cluster: the HPA's spec, its ScalingActive condition and
replica counts, and the predictions' accepted spellings."""

from __future__ import annotations

from typing import Any

from autograders.lessons import lesson15

from .fakes import context

HPA = lesson15.HPA


def hpa(*, minimum: int | None = 1, maximum: int = 10, target: int | None = 50,
        kind: str = "Deployment", name: str = "php-apache", active: str | None = None,
        reason: str = "", message: str = "", current: int | None = None,
        desired: int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind,
                                               "name": name},
                            "maxReplicas": maximum, "metrics": []}
    if minimum is not None:
        spec["minReplicas"] = minimum
    if target is not None:
        spec["metrics"].append({"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}})
    status: dict[str, Any] = {"conditions": []}
    if active is not None:
        status["conditions"].append({"type": "ScalingActive", "status": active,
                                     "reason": reason, "message": message})
    if current is not None:
        status["currentReplicas"] = current
    if desired is not None:
        status["desiredReplicas"] = desired
    return {"metadata": {"name": "php-apache"}, "spec": spec, "status": status}


def one(obj: dict[str, Any] | None) -> dict[tuple[str, str, str], Any]:
    return {} if obj is None else {(HPA, "default", "php-apache"): obj}


def test_autoscaler_reads_range_target_and_what_it_scales() -> None:
    check = lesson15.autoscaler("php-apache", minimum=1, maximum=10, target=50)
    assert check.probe(context(one(hpa()))).passed
    # minReplicas left out defaults to 1, as the API server defaults it.
    assert check.probe(context(one(hpa(minimum=None)))).passed
    narrow = check.probe(context(one(hpa(maximum=5))))
    assert not narrow.passed and narrow.settled and "1 to 5 replicas at 50% CPU" in narrow.found
    no_cpu = check.probe(context(one(hpa(target=None))))
    assert not no_cpu.passed and "no CPU utilisation target" in no_cpu.found
    other = check.probe(context(one(hpa(kind="StatefulSet"))))
    assert not other.passed and "StatefulSet/php-apache" in other.found
    missing = check.probe(context({}))
    assert not missing.passed and missing.missing


def test_scaling_active_quotes_the_controllers_reason() -> None:
    check = lesson15.scaling_active("php-apache")
    assert check.probe(context(one(hpa(active="True", reason="ValidMetricFound")))).passed
    blind = check.probe(context(one(hpa(
        active="False", reason="FailedGetResourceMetric",
        message="the HPA was unable to compute the replica count: failed to get cpu "
                "utilization: missing request for cpu in container php-apache of Pod x"))))
    assert not blind.passed and not blind.settled
    assert "FailedGetResourceMetric" in blind.found and "missing request for cpu" in blind.found
    fresh = check.probe(context(one(hpa())))
    assert not fresh.passed and "no ScalingActive condition" in fresh.found


def test_replicas_needs_current_and_desired_to_agree() -> None:
    check = lesson15.replicas("php-apache", 10, description="up", hint=("a", "b", "c"))
    assert check.probe(context(one(hpa(current=10, desired=10)))).passed
    climbing = check.probe(context(one(hpa(current=8, desired=10))))
    assert not climbing.passed and not climbing.settled
    assert climbing.found == "it has 8 replicas and wants 10"
    # An HPA that cannot read its metric wants nothing (desiredReplicas 0): not scaled down.
    down = lesson15.replicas("php-apache", 1, description="down", hint=("a", "b", "c"))
    assert not down.probe(context(one(hpa(current=1, desired=0)))).passed


def test_predictions_accept_the_spellings_a_learner_types() -> None:
    for text in ("cpu: <unknown>/50%", "<unknown>/50%", " CPU: <UNKNOWN> / 50% ", "<unknown>"):
        assert lesson15.targets_unknown(text), text
    for other in ("cpu: 0%/50%", "unknown", None, 0):
        assert not lesson15.targets_unknown(other), other
    at_limit = lesson15.percent(250)
    assert all(at_limit(v) for v in (250, 250.0, "250", "250%", " 250 % "))
    assert not any(at_limit(v) for v in (100, "2.5", True, None, "250m"))


def test_the_exercises_check_what_the_lesson_asks() -> None:
    [_, window, policy, _] = lesson15.scale_down()
    spec = hpa()
    spec["spec"]["behavior"] = {"scaleDown": {"stabilizationWindowSeconds": 30, "policies": [
        {"type": "Percent", "value": 50, "periodSeconds": 15}]}}
    assert window.probe(context(one(spec))).passed and policy.probe(context(one(spec))).passed
    spec["spec"]["behavior"]["scaleDown"]["policies"][0]["type"] = "Pods"
    assert not policy.probe(context(one(spec))).passed
    assert sum(c.points for c in lesson15.requests()) == 6
    assert sum(c.points for c in lesson15.scale_up()) == 4
    assert sum(c.points for c in lesson15.scale_down()) == 6
