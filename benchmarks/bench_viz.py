"""Diagram benchmarks: compute + render for 100 pods on 10 nodes, and write → widget latency.

* **Project + render** a recorded-style snapshot of 10 nodes and 100 pods (built here, the
  same shape the watcher produces). Floor: ``json.dumps`` of the same snapshot — the least
  work any view must do to look at every object once.
* **API write → widget state**: a live sandbox, a ``ClusterDiagram`` with its watcher, then
  writes (each creates a pod) and the time until the widget's ``value`` draws the new pod.
  Floor: the same kind of write observed by a bare ``watch.Watch().stream`` on pods in the same run (what the
  diagram cannot beat: the API's own watch delivery).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from kubernetes import client, config, watch

from benchmarks import report
from kubelab.sandbox import daemon
from kubelab.viz import model
from kubelab.viz.render import render as render_html
from kubelab.viz.widgets import ClusterDiagram


def _snapshot(nodes: int = 10, pods: int = 100) -> model.ClusterSnapshot:
    now = "2026-01-01T00:10:00Z"
    node_objs = []
    for i in range(nodes):
        name = f"worker{i}"
        node_objs.append({
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name},
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {},
            "status": {"conditions": [{"type": "Ready", "status": "True",
                                       "lastHeartbeatTime": now}],
                       "allocatable": {"cpu": "940m", "memory": "2760Mi", "pods": "110"},
                       "capacity": {"cpu": "1", "memory": "3786Mi", "pods": "110"},
                       "nodeInfo": {"kubeletVersion": "v1.37.1",
                                    "containerRuntimeVersion": "containerd://2.1.1"}}})
    pod_objs = []
    for i in range(pods):
        ready = "True" if i % 3 else "False"
        pod_objs.append({
            "metadata": {"name": f"web-{i:03d}", "namespace": "default",
                         "labels": {"app": "web"}, "creationTimestamp": now,
                         "uid": f"uid-{i}"},
            "spec": {"nodeName": f"worker{i % nodes}" if i < 90 else None,
                     "containers": [{"name": "web", "image": "nginx",
                                     "resources": {"requests": {"cpu": "100m"}}}]},
            "status": {"phase": "Running" if i < 90 else "Pending",
                       "conditions": [{"type": "Ready", "status": ready}]}})
    return model.ClusterSnapshot.from_dict({
        "now": now, "nodes": node_objs, "pods": pod_objs, "context": "bench"})


def render_figures(rounds: int = 50) -> list[report.Figure]:
    snap = _snapshot()
    raw = snap.to_dict()
    start = time.perf_counter()
    for _ in range(rounds):
        html = render_html(model.project(snap))
    elapsed = (time.perf_counter() - start) / rounds
    assert html.count("data-pod=") >= 90
    start = time.perf_counter()
    for _ in range(rounds):
        json.dumps(raw, default=str)
    floor = (time.perf_counter() - start) / rounds
    return [report.figure("project+render 100 pods/10 nodes", elapsed * 1000, "ms",
                          floor * 1000)]


def latency_figures(writes: int = 15) -> list[report.Figure]:
    state = Path(tempfile.mkdtemp(prefix="kubelab-bench-")) / "sandbox"
    daemon.start(state, speed=20)
    try:
        api = config.new_client_from_config(config_file=str(state / "kubeconfig"))
        core = client.CoreV1Api(api)
        core.create_namespaced_pod("default", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe", "labels": {}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
        diagram = ClusterDiagram(api_client=api).start()
        deadline = time.monotonic() + 20
        while "default/probe" not in diagram.value and time.monotonic() < deadline:
            time.sleep(0.01)

        widget_latencies = []
        for i in range(writes):
            start = time.perf_counter()
            core.create_namespaced_pod("default", {
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"tick-{i}"},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
            marker = f'data-pod="default/tick-{i}"'
            while marker not in diagram.value and time.perf_counter() - start < 5:
                time.sleep(0.002)
            widget_latencies.append(time.perf_counter() - start)
        diagram.stop()

        seen: dict[str, float] = {}
        w = watch.Watch()

        def consume() -> None:
            try:
                for event in w.stream(core.list_namespaced_pod, "default",
                                      timeout_seconds=30):
                    labels: dict[str, Any] = event["object"].metadata.labels or {}
                    if "tock" in labels:
                        seen.setdefault(labels["tock"], time.perf_counter())
            except Exception:  # the stream ends when the sandbox stops
                return

        thread = threading.Thread(target=consume, daemon=True)
        thread.start()
        time.sleep(0.5)
        watch_latencies = []
        for i in range(writes):
            start = time.perf_counter()
            core.create_namespaced_pod("default", {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": f"tock-{i}", "labels": {"tock": str(i)}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
            while str(i) not in seen and time.perf_counter() - start < 5:
                time.sleep(0.002)
            watch_latencies.append(seen.get(str(i), time.perf_counter()) - start)
        w.stop()
        thread.join(timeout=35)
    finally:
        daemon.stop(state)
    return [report.figure("API write -> widget state (median)",
                          statistics.median(widget_latencies) * 1000, "ms",
                          statistics.median(watch_latencies) * 1000),
            report.figure("API write -> widget state (max)", max(widget_latencies) * 1000,
                          "ms", max(watch_latencies) * 1000)]


def main() -> None:
    report.write("bench_viz", render_figures() + latency_figures())


if __name__ == "__main__":
    sys.exit(main())
