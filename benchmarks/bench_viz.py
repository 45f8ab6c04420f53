"""Diagram benchmarks: drawing, bytes per update, and write → diagram latency.

* **Drawing 5,000 pods on 50 nodes**: project a snapshot (built here, the shape the watcher
  produces) and lay out the scene (:mod:`kubelab.viz.scene`). Floor: ``json.dumps`` of the
  same snapshot, the least work any view must do to look at every object once.
* **The browser draws 5,000 pods**: the front-end (``static/diagram.js``) draws the whole
  scene from its JSON in headless Chromium, until painted. Floor: the same browser showing
  the same picture from a static SVG string (``innerHTML``), each in a fresh page. Twice:
  wall time, and the CPU time of the page's threads (script, style, layout, paint, raster)
  from Chromium's trace, which a loaded machine stretches far less than wall time.
* **Redraw after a change at 1,000 and 5,000 pods on 50 nodes**: a ``ClusterDiagram``
  draws the snapshot, then one pod changes at a time, delivered as the watcher delivers it;
  the time of a redraw (project, scene, delta, pulses) and the bytes of the frame sent to
  the browser. Floors: ``json.dumps`` of the snapshot (time) and the changed pod's own JSON
  (bytes: what one watch event carries). The static HTML (what the widget sent on every
  update before the front-end took deltas) is printed beside it for comparison.
* **API write → diagram updated**: a live sandbox, a ``ClusterDiagram`` with its watcher,
  then writes (each creates a pod) and the time until the frame drawing the new pod is
  sent. Floor: the same kind of write observed by a bare ``watch.Watch().stream`` on pods in
  the same run (what the diagram cannot beat: the API's own watch delivery).
"""

from __future__ import annotations

import copy
import json
import shutil
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
from kubelab.viz import scene as scenes
from kubelab.viz.activity import WatchEvent
from kubelab.viz.render import render as render_html
from kubelab.viz.widgets import ClusterDiagram

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


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
                         "uid": f"uid-{i}", "resourceVersion": str(1000 + i)},
            "spec": {"nodeName": f"worker{i % nodes}" if i < pods * 0.9 else None,
                     "containers": [{"name": "web", "image": "nginx",
                                     "resources": {"requests": {"cpu": "100m"}}}]},
            "status": {"phase": "Running" if i < pods * 0.9 else "Pending",
                       "conditions": [{"type": "Ready", "status": ready}]}})
    return model.ClusterSnapshot.from_dict({
        "now": now, "nodes": node_objs, "pods": pod_objs, "context": "bench"})


def _per_round(func: Any, rounds: int) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        func()
    return (time.perf_counter() - start) / rounds


def draw_figures(rounds: int = 5) -> list[report.Figure]:
    snap = _snapshot(nodes=50, pods=5000)
    raw = snap.to_dict()
    drawn: list[scenes.Scene] = []
    elapsed = _per_round(lambda: drawn.append(scenes.build(model.project(snap))), rounds)
    assert sum(1 for k in drawn[-1] if k.startswith("pod/")) >= 2000
    floor = _per_round(lambda: json.dumps(raw, default=str), rounds)
    return [report.figure("first drawing, 5,000 pods/50 nodes", elapsed * 1000, "ms",
                          floor * 1000)]


_PAGE_SCRIPT = """
window.klHandlers = [];
const model = { get: () => "", on: (e, h) => window.klHandlers.push(h), off() {}, send() {},
                set() {} };
render({ model, el: document.getElementById("live") });
"""

_MEASURE = """async ([kind, payload]) => {
  const painted = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  await painted();
  performance.mark("kl-start");
  const start = performance.now();
  if (kind === "live") {
    window.klHandlers.forEach(h => h(payload));
  } else {
    document.getElementById("static").innerHTML = payload;
  }
  document.body.getBoundingClientRect();
  await painted();
  performance.mark("kl-end");
  return performance.now() - start;
}"""


def _cpu_ms(trace: bytes) -> float:
    """CPU time of the page's threads between the marks ``kl-start`` and ``kl-end``: the
    thread time of every top-level task of the page's process that overlaps them."""
    events = json.loads(trace)["traceEvents"]
    marks = {e["name"]: e for e in events if e.get("name") in ("kl-start", "kl-end")}
    start, end = marks["kl-start"]["ts"], marks["kl-end"]["ts"]
    pid = marks["kl-start"]["pid"]
    return sum(e.get("tdur", 0) for e in events
               if e.get("ph") == "X" and e.get("pid") == pid
               and "toplevel" in e.get("cat", "").split(",")
               and e["ts"] < end and e["ts"] + e.get("dur", 0) > start) / 1000


def browser_figures(rounds: int = 3) -> list[report.Figure]:
    """The browser drawing the 5,000-pod scene from its JSON (what the front-end does when a
    view opens); floor: the same browser showing the same picture as a static SVG string.
    Wall time and CPU time (see :func:`_cpu_ms`)."""
    from playwright.sync_api import sync_playwright

    from kubelab.viz.widgets import STATIC

    state = model.project(_snapshot(nodes=50, pods=5000))
    scene = scenes.build(state)
    static = scenes.svg(scene)
    module = (STATIC / "diagram.js").read_text() + _PAGE_SCRIPT
    reset = {"type": "reset", "scene": scene, "frames": [], "legend": ""}
    wall: dict[str, list[float]] = {"live": [], "static": []}
    cpu: dict[str, list[float]] = {"live": [], "static": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        try:
            for _ in range(rounds):
                # Each drawing in a page of its own: measured second in the page of the first
                # drawing, the static SVG took 80 ms of CPU against about 125 ms in a page of
                # its own; the floor must not ride on the first drawing's warm-up.
                for kind, payload in (("live", reset), ("static", static)):
                    page = browser.new_page(viewport={"width": 1200, "height": 900})
                    page.set_content('<div id="live"></div><div id="static"></div>')
                    page.add_script_tag(content=module, type="module")
                    page.wait_for_function("() => window.klHandlers && window.klHandlers.length")
                    browser.start_tracing(page=page, categories=["toplevel", "blink.user_timing"])
                    wall[kind].append(page.evaluate(_MEASURE, [kind, payload]))
                    cpu[kind].append(_cpu_ms(browser.stop_tracing()))
                    assert page.evaluate(f"() => document.querySelectorAll('#{kind} [data-pod]')"
                                         ".length") >= 2000
                    page.close()
        finally:
            browser.close()
    return [report.figure("browser draws 5,000 pods/50 nodes", statistics.median(wall["live"]),
                          "ms", statistics.median(wall["static"])),
            report.figure("browser draws 5,000 pods (CPU)", statistics.median(cpu["live"]), "ms",
                          statistics.median(cpu["static"]))]


def update_figures(pods: int = 1000, changes: int = 20) -> list[report.Figure]:
    """One pod changes at a time, delivered as the watcher delivers it (the new object and
    its watch event); the diagram redraws from its caches and sends one frame."""
    snap = _snapshot(nodes=50, pods=pods)
    data = snap.to_dict()
    diagram = ClusterDiagram(api_client=object())  # type: ignore[arg-type]  # never contacted
    sent: list[dict[str, Any]] = []
    diagram.send = sent.append  # type: ignore[method-assign,assignment]
    diagram.update(snap)
    whole = len(render_html(diagram.state, diagram.scene).encode())  # type: ignore[arg-type]
    sizes, times, pod_sizes = [], [], []
    for i in range(changes):
        index = i * 37 % int(pods * 0.9)
        pod = data["pods"][index] = copy.deepcopy(data["pods"][index])  # a watch event's new object
        pod["metadata"]["resourceVersion"] = str(100_000 + i)
        ready = pod["status"]["conditions"][0]
        ready["status"] = "False" if ready["status"] == "True" else "True"
        pod_sizes.append(len(json.dumps(pod).encode()))
        changed = model.ClusterSnapshot.from_dict(data)
        start = time.perf_counter()
        diagram.update(changed, [WatchEvent("MODIFIED", "pods", pod)])
        times.append(time.perf_counter() - start)
        sizes.append(diagram.last_frame_bytes)
    assert sent[-1]["type"] == "frame" and len(sent) == changes + 1
    floor = _per_round(lambda: json.dumps(data, default=str), 5)
    label = f"{pods:,} pods"
    return [
        report.figure(f"redraw after a change, {label}", statistics.median(times) * 1000, "ms",
                      floor * 1000),
        report.figure(f"bytes per update, {label}", statistics.median(sizes), "bytes",
                      statistics.median(pod_sizes)),
        report.figure(f"static drawing, {label}", whole, "bytes", statistics.median(sizes)),
    ]


def latency_figures(writes: int = 15) -> list[report.Figure]:
    state = Path(tempfile.mkdtemp(prefix="kubelab-bench-")) / "sandbox"
    daemon.start(state, speed=20)
    try:
        api = config.new_client_from_config(config_file=str(state / "kubeconfig"))
        core = client.CoreV1Api(api)
        core.create_namespaced_pod("default", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe", "labels": {}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
        diagram = ClusterDiagram(api_client=api)
        drawn: set[str] = set()

        def sent(message: dict[str, Any]) -> None:
            if message.get("type") == "frame":
                drawn.update(message["frame"]["fwd"]["set"])

        diagram.send = sent  # type: ignore[method-assign,assignment]
        diagram.start()
        deadline = time.monotonic() + 20
        while "pod/default/probe" not in drawn and time.monotonic() < deadline:
            time.sleep(0.01)

        widget_latencies = []
        for i in range(writes):
            start = time.perf_counter()
            core.create_namespaced_pod("default", {
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"tick-{i}"},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
            marker = f"pod/default/tick-{i}"
            while marker not in drawn and time.perf_counter() - start < 5:
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
    return [report.figure("API write -> diagram frame (p50)",
                          statistics.median(widget_latencies) * 1000, "ms",
                          statistics.median(watch_latencies) * 1000),
            report.figure("API write -> diagram frame (max)", max(widget_latencies) * 1000,
                          "ms", max(watch_latencies) * 1000)]


def main() -> None:
    report.write("bench_viz", draw_figures() + browser_figures() + update_figures(1000)
                 + update_figures(5000)[:1] + latency_figures())


if __name__ == "__main__":
    sys.exit(main())
