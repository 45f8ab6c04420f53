"""HorizontalPodAutoscalers at autoscaling/v1 and v2: one stored object, two versions.

kube-apiserver stores HPAs as autoscaling/v2 and serves autoscaling/v1 by conversion
(``pkg/apis/autoscaling/v1/conversion.go``): the cpu utilisation target is
``targetCPUUtilizationPercentage``, what v1 cannot say travels in the
``autoscaling.alpha.kubernetes.io/*`` annotations. ``kubectl autoscale`` posts v2 and, on any
error, falls back to v1 (``pkg/cmd/autoscale/autoscale.go``), so a second autoscale of the same
Deployment ends in the v1 POST's AlreadyExists. Driven with the real kubectl and the official
Python client's AutoscalingV1Api / AutoscalingV2Api.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from sandbox_support import SandboxHandle

# The full resource.version.group: kubectl's short-name expansion (``hpa``) keeps the group
# and drops the version, so ``hpa.v1.autoscaling`` reads the preferred v2 on any cluster.
V1 = "horizontalpodautoscalers.v1.autoscaling"
V2 = "horizontalpodautoscalers.v2.autoscaling"

DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata: {name: %(name)s}
spec:
  replicas: 1
  selector: {matchLabels: {app: %(name)s}}
  template:
    metadata: {labels: {app: %(name)s}}
    spec:
      containers:
      - {name: web, image: nginx, resources: {requests: {cpu: 100m}}}
"""


def _deploy(sb: SandboxHandle, name: str) -> None:
    sb.kubectl("apply", "-f", "-", input=DEPLOY % {"name": name})


def test_autoscale_twice_says_already_exists_and_v1_reads_the_same_hpa(
        api_sandbox: SandboxHandle) -> None:
    sb = api_sandbox
    _deploy(sb, "twice")
    # --cpu (kubectl 1.35+): the deprecated --cpu-percent leaves kubectl's v1 fallback
    # nothing to build ("incompatible with autoscaling/v1: empty input", client-side).
    first = sb.kubectl("autoscale", "deployment", "twice", "--cpu=50%", "--min=1",
                       "--max=4")
    assert first.stdout == "horizontalpodautoscaler.autoscaling/twice autoscaled\n"
    again = sb.kubectl("autoscale", "deployment", "twice", "--cpu=50%", "--min=1",
                       "--max=4", check=False)
    assert again.returncode != 0
    assert again.stderr.strip().endswith(
        'Error from server (AlreadyExists): horizontalpodautoscalers.autoscaling "twice" '
        "already exists"), again.stderr

    v1 = json.loads(sb.kubectl("get", V1, "twice", "-o", "json").stdout)
    assert v1["apiVersion"] == "autoscaling/v1"
    assert v1["spec"] == {"maxReplicas": 4, "minReplicas": 1,
                          "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": "twice"},
                          "targetCPUUtilizationPercentage": 50}
    v2 = json.loads(sb.kubectl("get", V2, "twice", "-o", "json").stdout)
    assert v2["apiVersion"] == "autoscaling/v2"
    assert v2["metadata"]["uid"] == v1["metadata"]["uid"]
    assert v2["metadata"]["resourceVersion"] == v1["metadata"]["resourceVersion"]
    assert "targetCPUUtilizationPercentage" not in v2["spec"]
    # The preferred version is v2, as upstream: a plain `get hpa` reads v2.
    plain = json.loads(sb.kubectl("get", "hpa", "twice", "-o", "json").stdout)
    assert plain["apiVersion"] == "autoscaling/v2"
    yaml_v1 = sb.kubectl("get", V1, "twice", "-o", "yaml").stdout
    assert "apiVersion: autoscaling/v1\n" in yaml_v1
    assert "targetCPUUtilizationPercentage: 50\n" in yaml_v1
    table = sb.kubectl("get", V1, "twice").stdout.splitlines()
    assert table[0].split() == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS",
                                "REPLICAS", "AGE"]
    assert table[1].split()[:2] == ["twice", "Deployment/twice"]
    sb.kubectl("delete", "hpa", "twice")


def test_a_v1_manifest_applies_and_v2_only_fields_round_trip_through_annotations(
        api_sandbox: SandboxHandle) -> None:
    sb = api_sandbox
    _deploy(sb, "mem")
    v2 = """apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: mem}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: mem}
  minReplicas: 2
  maxReplicas: 5
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}
  - type: Resource
    resource: {name: memory, target: {type: AverageValue, averageValue: 100Mi}}
"""
    assert sb.kubectl("apply", "-f", "-", input=v2).stdout == \
        "horizontalpodautoscaler.autoscaling/mem created\n"
    v1 = json.loads(sb.kubectl("get", V1, "mem", "-o", "json").stdout)
    assert v1["spec"]["targetCPUUtilizationPercentage"] == 60
    others = json.loads(v1["metadata"]["annotations"]["autoscaling.alpha.kubernetes.io/metrics"])
    assert others == [{"type": "Resource", "resource": {
        "name": "memory", "target": {"type": "AverageValue", "averageValue": "100Mi"}}}]
    # A v1 patch keeps the memory metric (it round-trips through the annotation).
    sb.kubectl("patch", V1, "mem", "--type=merge", "-p",
               '{"spec":{"targetCPUUtilizationPercentage":70}}')
    metrics = json.loads(sb.kubectl("get", "hpa", "mem", "-o", "json").stdout)["spec"]["metrics"]
    assert [m["resource"]["name"] for m in metrics] == ["cpu", "memory"]
    assert metrics[0]["resource"]["target"]["averageUtilization"] == 70
    v1_manifest = """apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: old}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: mem}
  maxReplicas: 3
  targetCPUUtilizationPercentage: 40
"""
    assert sb.kubectl("apply", "-f", "-", input=v1_manifest).stdout == \
        "horizontalpodautoscaler.autoscaling/old created\n"
    stored = json.loads(sb.kubectl("get", "hpa", "old", "-o", "json").stdout)
    assert stored["spec"]["minReplicas"] == 1
    assert stored["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 40}}}]
    sb.kubectl("delete", "hpa", "mem", "old")


def test_the_python_clients_autoscaling_v1_api(api_sandbox: SandboxHandle) -> None:
    from kubernetes import client, watch

    sb = api_sandbox
    _deploy(sb, "py")
    api_client = sb.api_client()
    v1 = client.AutoscalingV1Api(api_client)
    v2 = client.AutoscalingV2Api(api_client)
    body = client.V1HorizontalPodAutoscaler(
        metadata=client.V1ObjectMeta(name="py"),
        spec=client.V1HorizontalPodAutoscalerSpec(
            scale_target_ref=client.V1CrossVersionObjectReference(
                api_version="apps/v1", kind="Deployment", name="py"),
            min_replicas=1, max_replicas=3, target_cpu_utilization_percentage=50))
    events: list[Any] = []
    w = watch.Watch()

    def watching() -> None:
        for event in w.stream(v1.list_namespaced_horizontal_pod_autoscaler, "default",
                              field_selector="metadata.name=py", timeout_seconds=20):
            events.append(event)
            if event["type"] == "DELETED":
                w.stop()

    thread = threading.Thread(target=watching)
    thread.start()
    created = v1.create_namespaced_horizontal_pod_autoscaler("default", body)
    assert isinstance(created, client.V1HorizontalPodAutoscaler)
    assert created.spec.target_cpu_utilization_percentage == 50
    read = v1.read_namespaced_horizontal_pod_autoscaler("py", "default")
    assert read.spec.max_replicas == 3 and read.metadata.uid == created.metadata.uid
    listed = v1.list_namespaced_horizontal_pod_autoscaler("default")
    assert listed.api_version == "autoscaling/v1"
    assert "py" in [item.metadata.name for item in listed.items]
    patched = v1.patch_namespaced_horizontal_pod_autoscaler(
        "py", "default", {"spec": {"targetCPUUtilizationPercentage": 65}})
    assert patched.spec.target_cpu_utilization_percentage == 65
    seen = v2.read_namespaced_horizontal_pod_autoscaler("py", "default")
    assert seen.metadata.uid == created.metadata.uid
    assert seen.spec.metrics[0].resource.target.average_utilization == 65
    # The status the controller writes at v2, read at v1.
    status = v2.read_namespaced_horizontal_pod_autoscaler_status("py", "default")
    status.status.current_metrics = [client.V2MetricStatus(
        type="Resource", resource=client.V2ResourceMetricStatus(
            name="cpu", current=client.V2MetricValueStatus(average_utilization=12)))]
    status.status.current_replicas, status.status.desired_replicas = 1, 1
    v2.replace_namespaced_horizontal_pod_autoscaler_status("py", "default", status)
    assert v1.read_namespaced_horizontal_pod_autoscaler_status(
        "py", "default").status.current_cpu_utilization_percentage is not None
    v1.delete_namespaced_horizontal_pod_autoscaler("py", "default")
    thread.join(30)
    types = [e["type"] for e in events]
    assert types[0] == "ADDED" and types[-1] == "DELETED", types
    assert all(isinstance(e["object"], client.V1HorizontalPodAutoscaler) for e in events)
    assert all(e["object"].api_version == "autoscaling/v1" for e in events)


@pytest.mark.parametrize("path", ["/apis/autoscaling", "/apis/autoscaling/v1"])
def test_discovery_lists_v1_beside_the_preferred_v2(api_sandbox: SandboxHandle,
                                                      path: str) -> None:
    status, body = api_sandbox.request("GET", path)
    assert status == 200
    if body["kind"] == "APIGroup":
        assert [v["version"] for v in body["versions"]] == ["v2", "v1"]
        assert body["preferredVersion"]["version"] == "v2"
    else:
        names = [r["name"] for r in body["resources"]]
        assert names == ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]
