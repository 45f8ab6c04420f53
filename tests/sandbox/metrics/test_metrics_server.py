"""The usage model and metrics-server's scrape on a manual clock.

Upstream: metrics-server scrapes every kubelet each ``--metric-resolution`` (15 s) and serves
``metrics.k8s.io/v1beta1`` NodeMetrics/PodMetrics with ``timestamp``, ``window`` and usage in
nanocores and kibibytes; a container is measured from its start on its first scrape; a CPU
limit caps what a container gets (the CFS quota).
"""

from __future__ import annotations

from datetime import timedelta

from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.metrics import ContainerFacts, MetricsServer
from kubelab.sandbox.metrics.model import interval_usage
from kubelab.sandbox.metrics.server import cpu_quantity, go_duration, memory_quantity

PHP = "registry.k8s.io/hpa-example"


class Kubelet:
    """A node's ``/metrics/resource``: its containers' facts, or None when stopped."""

    def __init__(self) -> None:
        self.facts: list[ContainerFacts] | None = []

    def resource_usage(self, active_only: bool = False) -> list[ContainerFacts] | None:
        return self.facts  # every container sampled

    def container_facts(self, namespace: str | None = None,
                        name: str | None = None) -> list[ContainerFacts]:
        return [f for f in self.facts or [] if namespace in (None, f.namespace)
                and name in (None, f.pod)]


def node(name: str, role: str = "worker") -> dict[str, object]:
    labels = {"kubernetes.io/hostname": name}
    if role == "control-plane":
        labels["node-role.kubernetes.io/control-plane"] = ""
    return {"metadata": {"name": name, "labels": labels}}


def pod(name: str) -> dict[str, object]:
    return {"metadata": {"name": name, "namespace": "default", "labels": {"run": "php"}}}


def php(clock: ManualClock, served: int, *, busy: bool = False,
        limit: float | None = 0.5) -> ContainerFacts:
    return ContainerFacts("default", "php", "uid-1", "php", 0, PHP,
                          clock.now() - timedelta(seconds=30), requests_served=served,
                          cpu_seconds_per_request=0.02, busy=busy, cpu_limit_cores=limit)


def test_requests_cost_cpu_and_the_limit_caps_it() -> None:
    clock = ManualClock()
    idle = interval_usage(php(clock, 0), 15, 0)
    assert round(idle.cpu_cores * 1000) == 1 and idle.memory_bytes == 11059 * 1024
    assert round(interval_usage(php(clock, 0), 15, 150).cpu_cores * 1000) == 201
    assert interval_usage(php(clock, 0), 15, 10_000).cpu_cores == 0.5
    assert interval_usage(php(clock, 0, limit=None), 15, 10_000).cpu_cores > 13
    assert interval_usage(php(clock, 0, busy=True), 15, 0).cpu_cores == 0.5
    assert interval_usage(php(clock, 0, busy=True, limit=None), 15, 0).cpu_cores > 1
    # A load generator busy sending requests pays 2 ms per request, not a spinning core.
    wget = ContainerFacts("default", "load", "uid-2", "load", 0, "docker.io/library/busybox",
                          clock.now(), client_requests=1500.0)
    assert round(interval_usage(wget, 15, 0, 1500.0).cpu_cores * 1000) == 200


def test_scrapes_give_rates_over_the_window() -> None:
    clock = ManualClock()
    kubelet = Kubelet()
    server = MetricsServer(clock, lambda name: kubelet if name == "w1" else None,
                           lambda: [node("w1"), node("w2")])
    kubelet.facts = [php(clock, 0)]
    server.scrape()  # first scrape: measured from the container's start 30 s ago
    first = server.pod_metrics([pod("php"), pod("other")])
    assert [m["metadata"]["name"] for m in first] == ["php"]
    assert first[0]["window"] == "30s"
    assert first[0]["containers"] == [{"name": "php", "usage": {"cpu": "1000000n",
                                                                "memory": "11059Ki"}}]
    clock.advance(15)
    kubelet.facts = [php(clock, 300)]  # 300 requests * 20 ms = 6 CPU seconds
    server.scrape()
    [metrics] = server.pod_metrics([pod("php")])
    # The rate over the last minute of samples: since the start, 45 s ago.
    assert metrics["window"] == "45s"
    assert metrics["containers"][0]["usage"]["cpu"] == "134333333n"
    assert metrics["timestamp"] == "2026-01-01T00:00:15Z"
    assert metrics["metadata"]["labels"] == {"run": "php"}
    [node_metrics] = server.node_metrics([node("w1"), node("w2")])  # w2 has no kubelet
    assert node_metrics["metadata"]["name"] == "w1"
    assert node_metrics["usage"]["cpu"] == "156333333n"  # plus the node's own 22m
    usage = server.pod_usage("default", "php")
    assert usage is not None and round(usage.cpu_cores, 3) == 0.134
    for _ in range(5):  # a minute on without requests: the old burst leaves the window
        clock.advance(15)
        server.scrape()
    [idle] = server.pod_metrics([pod("php")])
    assert idle["window"] == "60s" and idle["containers"][0]["usage"]["cpu"] == "1000000n"


def test_a_stopped_kubelet_drops_its_node_and_pods() -> None:
    clock = ManualClock()
    kubelet = Kubelet()
    server = MetricsServer(clock, lambda name: kubelet, lambda: [node("w1")])
    kubelet.facts = [php(clock, 0)]
    server.scrape()
    assert server.pod_usages("default")
    kubelet.facts = None
    clock.advance(15)
    server.scrape()
    assert server.pod_usages("default") == []
    assert server.node_metrics([node("w1")]) == []


def test_quantities_as_metrics_server_writes_them() -> None:
    assert cpu_quantity(0.0123) == "12300000n"
    assert memory_quantity(3 * 1024 * 1024) == "3072Ki"
    assert go_duration(15.0) == "15s" and go_duration(14.9984) == "14.998s"
