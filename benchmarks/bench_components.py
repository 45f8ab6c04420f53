"""Component benchmarks: scheduling throughput and a 100-replica rolling update.

* **Scheduling 1,000 and 5,000 pods on 50 nodes**: the scheduler component on an in-memory
  registry (its runner subscribed, so its cache follows every write as in the sandbox): each
  pending pod's decision (filter + score over every node, topology spreading) and its Bind,
  until every pod is bound. Floor: the same binds written without any scheduling decision
  (pod *i* to node *i mod 50*), i.e. the cost of the writes alone. Target: >= 500 pods/s at
  5,000 pods.
* **Rolling update of 100 replicas** at a given speed on a real sandbox process: wall time
  from ``kubectl set image`` to ``kubectl rollout status`` returning. Floor: the same 100
  pod starts done at once, measured in the same run as the time the 100-replica Deployment
  takes to come up from zero. A rolling update (25 % surge, 25 % unavailable) starts the same
  100 pods but at most 50 at a time, so the ratio shows what the rollout's waves cost.
* **kubectl exec** round trip (median of 15): ``kubectl exec POD -- true`` (discovery, GET
  pod, WebSocket upgrade, a process, the exit Status). Floor: ``kubectl get pod POD -o name``,
  the same kubectl start-up and pod GET without the stream. And ``kubectl exec POD -- wget
  -qO- http://web`` (cluster DNS, Service to endpoint, the app's HTTP answer) against the
  floor of the same page fetched through the API server's service proxy
  (``kubectl get --raw …/services/web:80/proxy/``).
* **kubectl port-forward** round trip (median of 15): with ``kubectl port-forward svc/web``
  running, one HTTP GET of the page on a new local connection (a new SPDY stream pair through
  the WebSocket tunnel, the kubelet's dial, the app's answer). Floor: the same GET sent
  straight to the API server's service proxy over HTTPS (no kubectl in the path either).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from benchmarks import report
from kubelab.connect import kubectl_binary
from kubelab.sandbox import daemon
from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import RealClock
from kubelab.sandbox.kubelet.node import NodeConfig, initial_node
from kubelab.sandbox.kubelet.runtime import NodeRuntime
from kubelab.sandbox.reconcile.events import EventRecorder
from kubelab.sandbox.reconcile.runner import ComponentRunner
from kubelab.sandbox.scheduler import scheduler
from kubelab.sandbox.storage import Registry

PODS = kinds.core("pods")
NODES = kinds.core("nodes")
NS = kinds.core("namespaces")


def _cluster(nodes: int, pods: int) -> Registry:
    clock = RealClock()
    registry = Registry(clock, None, seed=1)
    registry.create(NS, {"metadata": {"name": "default"}})
    for i in range(nodes):
        config = NodeConfig(f"node-{i:02d}", i + 1)
        registry.create(NODES, initial_node(config, NodeRuntime(config.name, i + 1), clock))
    for i in range(pods):
        registry.create(PODS, {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p-{i:04d}"},
            "spec": {"containers": [{"name": "c", "image": "nginx", "resources": {
                "requests": {"cpu": "5m", "memory": "16Mi"}}}]}}, namespace="default")
    return registry


async def _schedule_all(registry: Registry) -> float:
    """Run the scheduler's queue until it is empty; return the seconds it took."""
    runner = ComponentRunner(scheduler(), registry, registry.clock,
                             EventRecorder(registry, registry.clock))
    runner.start()  # subscribe and list; its own task never runs (nothing is awaited)
    start = time.perf_counter()
    while len(runner.queue):
        key = await runner.queue.get()  # returns at once: the queue is not empty
        try:
            runner.process(key)
        finally:
            runner.queue.done(key)
    elapsed = time.perf_counter() - start
    await runner.stop()
    return elapsed


def scheduling(nodes: int = 50, pods: int = 1000) -> list[report.Figure]:
    registry = _cluster(nodes, pods)
    elapsed = asyncio.run(_schedule_all(registry))
    bound = sum(1 for p in registry.iter_objects(PODS) if p["spec"].get("nodeName"))
    assert bound == pods, f"only {bound} of {pods} pods bound"
    used = {p["spec"]["nodeName"] for p in registry.iter_objects(PODS)}

    floor_registry = _cluster(nodes, pods)
    start = time.perf_counter()
    for i in range(pods):
        floor_registry.bind("default", f"p-{i:04d}", f"node-{i % nodes:02d}",
                            copy_result=False)
    floor = time.perf_counter() - start
    print(f"# {pods} pods spread over {len(used)} of {nodes} nodes", flush=True)
    return [report.figure(f"schedule {pods} pods / {nodes} nodes", pods / elapsed, "pods/s",
                          pods / floor)]


def _kubectl(kubeconfig: Path, cache: Path, *args: str, timeout: float = 600) -> str:
    env = dict(os.environ, KUBECONFIG=str(kubeconfig))
    return subprocess.run([kubectl_binary(), "--cache-dir", str(cache), *args], env=env,
                          capture_output=True, text=True, check=True, timeout=timeout).stdout


DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "big"},
    "spec": {"replicas": 100, "selector": {"matchLabels": {"app": "big"}},
             "template": {"metadata": {"labels": {"app": "big"}},
                          "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}},
}


def rolling_update(speed: float = 20.0, workers: int = 10) -> list[report.Figure]:
    state = Path(tempfile.mkdtemp(prefix="kubelab-bench-")) / "sandbox"
    daemon.start(state, nodes=workers, speed=speed)
    kubeconfig, cache = state / "kubeconfig", state / "cache"
    try:
        start = time.perf_counter()
        subprocess.run([kubectl_binary(), "--cache-dir", str(cache), "apply", "-f", "-"],
                       input=json.dumps(DEPLOYMENT), text=True, check=True,
                       capture_output=True, env=dict(os.environ, KUBECONFIG=str(kubeconfig)))
        _kubectl(kubeconfig, cache, "rollout", "status", "deployment/big", "--timeout=600s")
        one_wave = time.perf_counter() - start
        start = time.perf_counter()
        _kubectl(kubeconfig, cache, "set", "image", "deployment/big", "web=nginx:1.28")
        _kubectl(kubeconfig, cache, "rollout", "status", "deployment/big", "--timeout=600s")
        rollout = time.perf_counter() - start
    finally:
        daemon.stop(state)
    return [report.figure(f"rolling update 100 replicas @{speed:g}x", rollout, "s", one_wave)]


EXEC_OBJECTS = [
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "shell"},
     "spec": {"containers": [{"name": "shell", "image": "busybox:1.36",
                              "command": ["sleep", "86400"]}]}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": {"app": "web"}},
     "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
     "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}},
]


def _median_seconds(repeats: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def exec_round_trip(repeats: int = 15) -> list[report.Figure]:
    state = Path(tempfile.mkdtemp(prefix="kubelab-bench-")) / "sandbox"
    daemon.start(state, nodes=1, speed=20.0)
    kubeconfig, cache = state / "kubeconfig", state / "cache"

    def kubectl(*args: str) -> str:
        return _kubectl(kubeconfig, cache, *args, timeout=120)

    try:
        subprocess.run([kubectl_binary(), "--cache-dir", str(cache), "apply", "-f", "-"],
                       input="\n---\n".join(json.dumps(o) for o in EXEC_OBJECTS), text=True,
                       check=True, capture_output=True,
                       env=dict(os.environ, KUBECONFIG=str(kubeconfig)))
        kubectl("wait", "--for=condition=Ready", "pod/shell", "pod/web", "--timeout=120s")
        proxy = "/api/v1/namespaces/default/services/web:80/proxy/"
        for _ in range(100):  # the endpoint slice follows the pod's readiness
            if "nginx" in subprocess.run(
                    [kubectl_binary(), "--cache-dir", str(cache), "get", "--raw", proxy],
                    capture_output=True, text=True, check=False,
                    env=dict(os.environ, KUBECONFIG=str(kubeconfig))).stdout:
                break
            time.sleep(0.1)
        exec_true = _median_seconds(repeats, lambda: kubectl("exec", "shell", "--", "true"))
        get_pod = _median_seconds(repeats, lambda: kubectl("get", "pod", "shell", "-o", "name"))
        wget = _median_seconds(repeats, lambda: kubectl("exec", "shell", "--", "wget", "-qO-",
                                                        "http://web"))
        via_proxy = _median_seconds(repeats, lambda: kubectl("get", "--raw", proxy))
        forward, direct = _port_forward_get(state, cache, proxy, repeats)
    finally:
        daemon.stop(state)
    return [report.figure("kubectl exec -- true (median)", exec_true, "s", get_pod),
            report.figure("kubectl exec -- wget http://web (median)", wget, "s", via_proxy),
            report.figure("GET through kubectl port-forward svc/web (median)", forward, "s",
                          direct)]


def _port_forward_get(state: Path, cache: Path, proxy: str,
                      repeats: int) -> tuple[float, float]:
    """Median GET through a running ``kubectl port-forward``, and through the service proxy."""
    info = daemon.read_server_info(state)
    assert info is not None
    context = ssl.create_default_context(cadata=daemon.ca_of(state).decode())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    forward = subprocess.Popen(
        [kubectl_binary(), "--cache-dir", str(cache), "port-forward", "svc/web", f"{port}:80"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env=dict(os.environ, KUBECONFIG=str(state / "kubeconfig")))
    try:
        assert forward.stdout is not None
        assert forward.stdout.readline().startswith(f"Forwarding from 127.0.0.1:{port}")

        def via_forward() -> None:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as r:
                assert b"nginx" in r.read()

        def via_proxy() -> None:
            request = urllib.request.Request(info.url + proxy, headers={
                "Authorization": f"Bearer {info.token}"})
            with urllib.request.urlopen(request, timeout=30, context=context) as r:
                assert b"nginx" in r.read()

        via_forward()  # the first connection also pays kubectl's dial of the tunnel
        return _median_seconds(repeats, via_forward), _median_seconds(repeats, via_proxy)
    finally:
        forward.terminate()
        forward.wait(10)
        forward.stdout.close()  # type: ignore[union-attr]


def main() -> None:
    figures = scheduling(pods=1000) + scheduling(pods=5000)
    figures += rolling_update()
    figures += exec_round_trip()
    report.write("bench_components", figures)


if __name__ == "__main__":
    sys.exit(main())
