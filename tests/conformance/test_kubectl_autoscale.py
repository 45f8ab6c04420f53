"""kubernetes.io's "HorizontalPodAutoscaler Walkthrough" with the real kubectl.

The steps as the tutorial gives them: the php-apache Deployment (``registry.k8s.io/hpa-example``,
requests 200m, limits 500m) and its Service, ``kubectl autoscale deployment php-apache
--cpu-percent=50 --min=1 --max=10``, a busybox load generator looping ``wget -q -O-
http://php-apache`` every 10 ms, watching the HPA scale the Deployment up, then deleting the
load generator and watching it scale down once the 300 s downscale stabilisation window has
passed. ``kubectl top`` reads the same metrics (``metrics.k8s.io/v1beta1``).

Upstream: the HPA controller (``pkg/controller/podautoscaler``), metrics-server, kubectl's
``top`` printers (``pkg/metricsutil/metrics_printer.go``) and the API server's HPA Table
(``printHorizontalPodAutoscaler``). The sandbox runs at its test speed, so the simulated
minutes pass in seconds.
"""

from __future__ import annotations

import json
import re

import pytest
from conformance.support import manifest, wait_for
from sandbox_support import SandboxHandle

pytestmark = pytest.mark.slow

LOAD = "while sleep 0.01; do wget -q -O- http://php-apache; done"


def _hpa(sb: SandboxHandle) -> dict:  # type: ignore[type-arg]
    return json.loads(sb.kubectl("get", "hpa", "php-apache", "-o", "json").stdout)


def _hpa_row(sb: SandboxHandle) -> str:
    return sb.kubectl("get", "hpa", "php-apache", "--no-headers").stdout


def test_the_hpa_walkthrough_scales_up_under_load_and_down_after(
        cluster_sandbox: SandboxHandle) -> None:
    sb = cluster_sandbox
    assert sb.kubectl("apply", "-f", manifest("php-apache.yaml")).stdout == \
        "deployment.apps/php-apache created\nservice/php-apache created\n"
    sb.kubectl("rollout", "status", "deployment/php-apache", "--timeout=60s", timeout=90)
    autoscaled = sb.kubectl("autoscale", "deployment", "php-apache", "--cpu-percent=50",
                            "--min=1", "--max=10")
    assert autoscaled.stdout == "horizontalpodautoscaler.autoscaling/php-apache autoscaled\n"
    hpa = _hpa(sb)
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]

    lines = sb.kubectl("get", "hpa").stdout.splitlines()
    assert lines[0].split() == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS",
                                "REPLICAS", "AGE"]
    wait_for(lambda: "cpu: 0%/50%" in _hpa_row(sb) or "cpu: 1%/50%" in _hpa_row(sb), 60,
             "the HPA to read the idle pod's CPU")
    row = _hpa_row(sb).split()
    assert row[:2] == ["php-apache", "Deployment/php-apache"] and row[4:7] == ["1", "10", "1"]

    top = sb.kubectl("top", "pods", "-l", "run=php-apache").stdout.splitlines()
    assert top[0].split() == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert re.fullmatch(r"php-apache-\S+\s+\d+m\s+\d+Mi\s*", top[1]), top
    nodes = sb.kubectl("top", "nodes").stdout.splitlines()
    assert nodes[0].split() == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
    assert len(nodes) == 5 and all(re.fullmatch(r"\S+\s+\d+m\s+\d+%\s+\d+Mi\s+\d+%\s*", n)
                                   for n in nodes[1:]), nodes

    sb.kubectl("run", "load-generator", "--image=busybox:1.28", "--restart=Never", "--",
               "/bin/sh", "-c", LOAD)

    def scaled_up() -> bool:
        status = _hpa(sb)["status"]
        return status.get("currentReplicas", 0) > 1 and status.get("desiredReplicas", 0) > 1

    wait_for(scaled_up, 90, "the HPA to scale php-apache up under load")
    wait_for(lambda: int(json.loads(sb.kubectl(
        "get", "deployment", "php-apache", "-o", "json").stdout)["status"].get(
        "readyReplicas", 0)) > 1, 90, "more php-apache replicas ready")
    assert "OK!" in sb.kubectl("logs", "load-generator", "--tail=3").stdout
    described = sb.kubectl("describe", "hpa", "php-apache").stdout
    assert re.search(r"New size: \d+; reason: cpu resource utilization \(percentage of "
                     r"request\) above target", described), described
    assert "ValidMetricFound" in described
    usage = sb.kubectl("top", "pod", "-l", "run=php-apache", "--no-headers").stdout
    assert max(int(line.split()[1].rstrip("m")) for line in usage.splitlines()) > 100, usage

    sb.kubectl("delete", "pod", "load-generator", "--wait=false")

    def scaled_down() -> bool:
        return int(_hpa(sb)["status"].get("currentReplicas", 0)) == 1

    wait_for(scaled_down, 120, "the HPA to scale back to 1 after the stabilisation window")
    described = sb.kubectl("describe", "hpa", "php-apache").stdout
    assert "New size: 1; reason: All metrics below target" in described
    assert "cpu: 0%/50%" in _hpa_row(sb) or "cpu: 1%/50%" in _hpa_row(sb)


def test_top_answers_as_metrics_server_does(cluster_sandbox: SandboxHandle) -> None:
    sb = cluster_sandbox
    wait_for(lambda: sb.kubectl("top", "pods", "-n", "kube-system", check=False).returncode
             == 0, 30, "pod metrics in kube-system")
    every = sb.kubectl("top", "pods", "-A").stdout.splitlines()
    assert every[0].split() == ["NAMESPACE", "NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert any(line.startswith("kube-system ") and "coredns-" in line for line in every)
    containers = sb.kubectl("top", "pods", "-n", "kube-system", "--containers").stdout
    assert containers.splitlines()[0].split() == ["POD", "NAME", "CPU(cores)",
                                                  "MEMORY(bytes)"]
    missing = sb.kubectl("top", "pod", "nope", check=False)
    assert missing.returncode == 1
    assert missing.stderr.strip() == \
        'Error from server (NotFound): podmetrics.metrics.k8s.io "default/nope" not found'
    raw = json.loads(sb.kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes").stdout)
    assert raw["kind"] == "NodeMetricsList" and raw["apiVersion"] == "metrics.k8s.io/v1beta1"
    item = raw["items"][0]
    assert set(item) == {"metadata", "timestamp", "window", "usage"}
    assert re.fullmatch(r"\d+n", item["usage"]["cpu"]) and re.fullmatch(
        r"\d+Ki", item["usage"]["memory"])
