"""The HorizontalPodAutoscaler controller on the real registry with a manual clock.

Upstream: ``pkg/controller/podautoscaler/horizontal.go`` (``reconcileAutoscaler``,
``normalizeDesiredReplicas``, ``convertDesiredReplicasWithRules``) and
``replica_calculator.go`` (``GetResourceReplicas``: usage over requests as an integer
percentage, tolerance 0.1, ``ceil(ratio * ready pods)``). Metrics are given as the resource
metrics API would give them; pods are Running and Ready as their kubelet reports them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sandbox.controllers.controller_fakes import Cluster

from kubelab.sandbox.api import kinds, tables
from kubelab.sandbox.api.errors import ApiError
from kubelab.sandbox.api.strategies.horizontalpodautoscaler import v1_to_v2, v2_to_v1
from kubelab.sandbox.clock import ManualClock, rfc3339
from kubelab.sandbox.controllers.podautoscaler import (
    HorizontalController,
    PodMetric,
    limit_replicas,
)
from kubelab.sandbox.reconcile.types import Key, Obj

HPAS = kinds.resource("horizontalpodautoscalers.autoscaling")
DEPLOYMENTS = kinds.apps("deployments")
PODS = kinds.core("pods")
KEY = Key("horizontalpodautoscalers.autoscaling", "default", "php-apache")


class Metrics:
    """The resource metrics API as the controller reads it: usage per pod, settable."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.usage: dict[str, int] = {}

    def __call__(self, namespace: str, resource: str) -> dict[str, PodMetric]:
        assert resource == "cpu"
        return {name: PodMetric(milli, self.clock.now(), 15.0)
                for name, milli in self.usage.items()}


def setup(clock: ManualClock, replicas: int = 1, target: int = 50, low: int = 1,
          high: int = 10, **spec: Any) -> tuple[Cluster, HorizontalController, Metrics]:
    cluster = Cluster(clock)
    cluster.add(DEPLOYMENTS, {
        "metadata": {"name": "php-apache", "namespace": "default"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"run": "php-apache"}},
                 "template": {"metadata": {"labels": {"run": "php-apache"}},
                              "spec": {"containers": [{
                                  "name": "php-apache", "image": "registry.k8s.io/hpa-example",
                                  "resources": {"requests": {"cpu": "200m"},
                                                "limits": {"cpu": "500m"}}}]}}}})
    cluster.add(HPAS, {
        "metadata": {"name": "php-apache", "namespace": "default"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                    "name": "php-apache"},
                 "minReplicas": low, "maxReplicas": high,
                 "metrics": [{"type": "Resource", "resource": {
                     "name": "cpu", "target": {"type": "Utilization",
                                               "averageUtilization": target}}}], **spec}})
    metrics = Metrics(clock)
    sync_pods(cluster, replicas)
    clock.advance(600)  # past the CPU initialisation period of the first pods
    return cluster, HorizontalController(metrics), metrics


def sync_pods(cluster: Cluster, count: int) -> list[str]:
    """Ready pods for the Deployment (what its ReplicaSet and the kubelets would make)."""
    names = [f"php-apache-{i}" for i in range(count)]
    now = rfc3339(cluster.clock.now() - timedelta(seconds=1))
    for name in names:
        if cluster.get(PODS, "default", name) is None:
            cluster.add(PODS, {
                "metadata": {"name": name, "namespace": "default",
                             "labels": {"run": "php-apache"}},
                "spec": {"containers": [{"name": "php-apache",
                                         "image": "registry.k8s.io/hpa-example",
                                         "resources": {"requests": {"cpu": "200m"}}}]},
                "status": {"phase": "Running", "startTime": now, "conditions": [
                    {"type": "Ready", "status": "True", "lastTransitionTime": now}]}})
    return names


def hpa(cluster: Cluster) -> Obj:
    found = cluster.get(HPAS, "default", "php-apache")
    assert found is not None
    return found


def replicas(cluster: Cluster) -> int:
    deploy = cluster.get(DEPLOYMENTS, "default", "php-apache")
    assert deploy is not None
    return int(deploy["spec"]["replicas"])


def conditions(obj: Obj) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in obj["status"]["conditions"]}


def targets_cell(obj: Obj, clock: ManualClock) -> str:
    return str(tables.print_horizontal_pod_autoscaler(obj, clock.now()).cells[2])


def test_without_metrics_scaling_is_inactive_with_upstream_events(clock: ManualClock) -> None:
    cluster, controller, _ = setup(clock)
    assert targets_cell(hpa(cluster), clock) == "cpu: <unknown>/50%"
    result = cluster.run(controller, KEY)
    assert result.requeue_after == 15.0
    obj = hpa(cluster)
    assert conditions(obj) == {"AbleToScale": ("True", "SucceededGetScale"),
                               "ScalingActive": ("False", "FailedGetResourceMetric")}
    assert obj["status"]["currentReplicas"] == 1
    assert obj["status"]["currentMetrics"] == [{"type": ""}]
    assert cluster.events("FailedGetResourceMetric") == [
        "failed to get cpu utilization: unable to get metrics for resource cpu: no metrics "
        "returned from resource metrics API"]
    assert cluster.events("FailedComputeMetricsReplicas") == [
        "invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource "
        "metric value: failed to get cpu utilization: unable to get metrics for resource cpu: "
        "no metrics returned from resource metrics API"]
    assert targets_cell(obj, clock) == "cpu: <unknown>/50%"
    assert replicas(cluster) == 1


def test_load_scales_up_by_the_usage_to_request_ratio(clock: ManualClock) -> None:
    cluster, controller, metrics = setup(clock)
    metrics.usage = {"php-apache-0": 250}  # 125% of the 200m request: ratio 2.5 → 3
    cluster.run(controller, KEY)
    assert replicas(cluster) == 3
    assert cluster.events("SuccessfulRescale") == [
        "New size: 3; reason: cpu resource utilization (percentage of request) above target"]
    obj = hpa(cluster)
    assert obj["status"]["desiredReplicas"] == 3 and obj["status"]["currentReplicas"] == 1
    assert obj["status"]["currentMetrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "current": {"averageValue": "250m", "averageUtilization": 125}}}]
    assert obj["status"]["lastScaleTime"] == rfc3339(clock.now())
    assert conditions(obj) == {"AbleToScale": ("True", "SucceededRescale"),
                               "ScalingActive": ("True", "ValidMetricFound"),
                               "ScalingLimited": ("False", "DesiredWithinRange")}
    assert targets_cell(obj, clock) == "cpu: 125%/50%"
    # Its own status write wakes it again: the queue lets it through once per sync period.
    clock.advance(5)
    metrics.usage = {"php-apache-0": 500}
    again = cluster.run(controller, KEY)
    assert again.actions == [] and again.requeue_after == 10.0
    assert replicas(cluster) == 3


def test_within_tolerance_nothing_changes(clock: ManualClock) -> None:
    cluster, controller, metrics = setup(clock, replicas=2)
    metrics.usage = {"php-apache-0": 105, "php-apache-1": 104}  # 52%: ratio 1.04
    cluster.run(controller, KEY)
    assert replicas(cluster) == 2
    assert cluster.events("SuccessfulRescale") == []
    assert hpa(cluster)["status"]["desiredReplicas"] == 2


def test_a_settled_autoscaler_resyncs_as_upkeep_a_moving_one_as_a_wait(
        clock: ManualClock) -> None:
    """A resync that would change nothing unless a metric moves is upkeep (a virtual clock
    does not skip idle time for it); one after a change, or with a recommendation held
    back, is what someone waits for."""
    cluster, controller, metrics = setup(clock, replicas=2)
    metrics.usage = {"php-apache-0": 105, "php-apache-1": 104}  # within tolerance
    first = cluster.run(controller, KEY)
    assert first.requeue_after == 15 and not first.background  # it wrote its first status
    clock.advance(15)
    steady = cluster.run(controller, KEY)
    assert steady.requeue_after == 15 and steady.background
    early = cluster.run(controller, KEY)  # an event before the sync period: same verdict
    assert early.requeue_after == 15 and early.background
    clock.advance(15)
    metrics.usage = {"php-apache-0": 150, "php-apache-1": 150}  # 75%: 3 replicas
    moved = cluster.run(controller, KEY)
    assert replicas(cluster) == 3 and not moved.background
    sync_pods(cluster, 3)
    metrics.usage = {f"php-apache-{i}": 1 for i in range(3)}  # idle: scale-down waits
    for _ in range(5):
        clock.advance(15)
        held = cluster.run(controller, KEY)
        assert conditions(hpa(cluster))["AbleToScale"] == ("True", "ScaleDownStabilized")
        assert not held.background  # the window ends with a scale-down someone waits for
    clock.advance(300)
    cluster.run(controller, KEY)
    assert replicas(cluster) == 1
    clock.advance(15)
    cluster.run(controller, KEY)
    clock.advance(15)
    assert cluster.run(controller, KEY).background
    # A change held back by a rate limit: the next sync scales further by itself.
    metrics.usage = {"php-apache-0": 500}  # 250%: 5 wanted, 4 at most from 1
    clock.advance(15)
    limited = cluster.run(controller, KEY)
    assert replicas(cluster) == 4 and not limited.background
    assert conditions(hpa(cluster))["ScalingLimited"] == ("True", "ScaleUpLimit")


def test_scale_up_is_limited_to_twice_or_four(clock: ManualClock) -> None:
    cluster, controller, metrics = setup(clock, target=10, high=10)
    metrics.usage = {"php-apache-0": 500}  # 250% of request against 10%: 25 wanted
    cluster.run(controller, KEY)
    assert replicas(cluster) == 4
    assert conditions(hpa(cluster))["ScalingLimited"] == ("True", "ScaleUpLimit")
    assert limit_replicas(4, 25, 1, 10) == (8, "ScaleUpLimit", "the desired replica count is "
                                                               "increasing faster than the "
                                                               "maximum scale rate")
    assert limit_replicas(8, 25, 1, 10)[:2] == (10, "TooManyReplicas")


def test_scale_down_waits_for_the_stabilization_window(clock: ManualClock) -> None:
    cluster, controller, metrics = setup(clock)
    metrics.usage = {"php-apache-0": 250}
    cluster.run(controller, KEY)
    assert replicas(cluster) == 3
    sync_pods(cluster, 3)
    metrics.usage = {f"php-apache-{i}": 1 for i in range(3)}  # idle: 0%
    for _ in range(19):  # 285 s of syncs every 15 s: the recommendation of 3 still counts
        clock.advance(15)
        cluster.run(controller, KEY)
    assert replicas(cluster) == 3
    assert conditions(hpa(cluster))["AbleToScale"] == ("True", "ScaleDownStabilized")
    assert targets_cell(hpa(cluster), clock) == "cpu: 0%/50%"
    clock.advance(300)
    cluster.run(controller, KEY)
    assert replicas(cluster) == 1
    assert cluster.events("SuccessfulRescale")[-1] == "New size: 1; reason: All metrics below target"


def test_replicas_outside_min_max_move_inside_at_once(clock: ManualClock) -> None:
    cluster, controller, _ = setup(clock, replicas=12)
    cluster.run(controller, KEY)
    assert replicas(cluster) == 10
    assert cluster.events("SuccessfulRescale") == [
        "New size: 10; reason: Current number of replicas above Spec.MaxReplicas"]


def test_new_unready_pods_count_as_idle_only_when_scaling_up(clock: ManualClock) -> None:
    cluster, controller, metrics = setup(clock, replicas=2)
    # A second pod whose readiness changed inside the last sample's window: unready.
    pod = cluster.get(PODS, "default", "php-apache-1")
    assert pod is not None
    changed = rfc3339(clock.now() - timedelta(seconds=5))
    pod["status"]["conditions"][0]["lastTransitionTime"] = changed
    pod["status"]["startTime"] = changed
    cluster.update_status(PODS, pod)
    metrics.usage = {"php-apache-0": 250, "php-apache-1": 250}
    cluster.run(controller, KEY)
    # Ready pod alone: 125%; with the unready one at 0: 62% → ratio 1.25 → ceil(2.5) = 3.
    assert replicas(cluster) == 3


def test_behavior_scale_down_policy_limits_the_rate(clock: ManualClock) -> None:
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 0,
                              "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}}
    cluster, controller, metrics = setup(clock, replicas=4, behavior=behavior)
    metrics.usage = {f"php-apache-{i}": 1 for i in range(4)}
    cluster.run(controller, KEY)
    assert replicas(cluster) == 3
    assert conditions(hpa(cluster))["ScalingLimited"] == ("True", "ScaleDownLimit")
    clock.advance(15)
    cluster.run(controller, KEY)
    assert replicas(cluster) == 3  # one pod per 60 s
    clock.advance(60)
    cluster.run(controller, KEY)
    assert replicas(cluster) == 2


def test_strategy_defaults_and_validation_wording(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.ensure_namespace("default")
    stored = cluster.registry.create(HPAS, {
        "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3,
                 "behavior": {"scaleUp": {"stabilizationWindowSeconds": 10}}}},
        namespace="default")
    assert stored["spec"]["minReplicas"] == 1
    assert stored["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
    assert stored["spec"]["behavior"] == {
        "scaleUp": {"stabilizationWindowSeconds": 10, "selectPolicy": "Max", "policies": [
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15}]},
        "scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Max",
                      "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}}
    assert stored["status"] == {"desiredReplicas": 0}
    with pytest.raises(ApiError) as refused:
        cluster.registry.create(HPAS, {
            "metadata": {"name": "bad"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": ""},
                     "minReplicas": 5, "maxReplicas": 2}}, namespace="default")
    assert refused.value.code == 422
    message = refused.value.message
    assert "spec.maxReplicas: Invalid value: 2: must be greater than or equal to " \
           "`minReplicas`" in message
    assert "spec.scaleTargetRef.name: Required value" in message
    with pytest.raises(ApiError) as zero:
        cluster.registry.create(HPAS, {
            "metadata": {"name": "zero"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
                     "minReplicas": 0, "maxReplicas": 2}}, namespace="default")
    assert "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1" in \
        zero.value.message


def test_v1_form_converts_to_v2_and_back() -> None:
    v1: Obj = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
               "metadata": {"name": "web"},
               "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
                        "minReplicas": 1, "maxReplicas": 5,
                        "targetCPUUtilizationPercentage": 50},
               "status": {"currentReplicas": 2, "desiredReplicas": 2,
                          "currentCPUUtilizationPercentage": 30}}
    v2 = v1_to_v2(v1)
    assert v2["apiVersion"] == "autoscaling/v2"
    assert v2["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]
    assert v2["status"]["currentMetrics"][0]["resource"]["current"] == {"averageUtilization": 30}
    back = v2_to_v1(v2)
    assert back["spec"] == v1["spec"]
    assert back["status"]["currentCPUUtilizationPercentage"] == 30
    memory = {"type": "Resource", "resource": {"name": "memory", "target": {
        "type": "AverageValue", "averageValue": "100Mi"}}}
    v2["spec"]["metrics"].append(memory)
    kept = v2_to_v1(v2)
    assert kept["metadata"]["annotations"]["autoscaling.alpha.kubernetes.io/metrics"] == \
        '[{"type":"Resource","resource":{"name":"memory","target":{"type":"AverageValue",' \
        '"averageValue":"100Mi"}}}]'
    assert v1_to_v2(kept)["spec"]["metrics"] == v2["spec"]["metrics"]


def test_targets_column_formats() -> None:
    cpu = {"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 50}}}
    memory = {"type": "Resource", "resource": {"name": "memory", "target": {
        "type": "AverageValue", "averageValue": "100Mi"}}}
    assert tables.format_hpa_metrics([], []) == "<none>"
    assert tables.format_hpa_metrics([cpu, memory], [
        {"type": "Resource", "resource": {"name": "cpu", "current": {
            "averageUtilization": 12, "averageValue": "24m"}}},
        {"type": "Resource", "resource": {"name": "memory", "current": {
            "averageValue": "11Mi"}}}]) == "cpu: 12%/50%, memory: 11Mi/100Mi"
    assert tables.format_hpa_metrics([cpu, cpu, memory], []) == \
        "cpu: <unknown>/50%, cpu: <unknown>/50% + 1 more..."
