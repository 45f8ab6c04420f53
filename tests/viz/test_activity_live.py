"""On a live sandbox driven by the real kubectl: a ``kubectl scale`` is drawn as requests
travelling kubectl → API server → controller manager → API server → scheduler → API server
→ kubelet, from the watch events the diagram's watcher receives."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from kubernetes import config
from sandbox_support import SandboxHandle

from kubelab.viz._clock import SystemClock
from kubelab.viz.widgets import ClusterDiagram

pytestmark = pytest.mark.notebooks

REAL = SystemClock()


def _wait_for(pred: Any, timeout: float) -> bool:
    deadline = REAL.monotonic() + timeout
    while REAL.monotonic() < deadline:
        if pred():
            return True
        threading.Event().wait(0.05)
    return bool(pred())


def _subsequence(wanted: list[tuple[str, str]], hops: list[tuple[str, str]]) -> bool:
    it = iter(hops)
    return all(any(h == w for h in it) for w in wanted)


def test_kubectl_scale_travels_through_the_api_server(sandbox: SandboxHandle) -> None:
    api = config.new_client_from_config(config_file=str(sandbox.kubeconfig))
    diagram = ClusterDiagram(api_client=api, namespace="default")
    frames: list[dict[str, Any]] = []
    diagram.send = lambda m: frames.append(m) if m.get("type") == "frame" else None  # type: ignore[method-assign,assignment,func-returns-value]
    diagram.start()
    try:
        assert _wait_for(lambda: diagram.updates > 0, 20)
        sandbox.kubectl("create", "deployment", "travel", "--image=nginx", "--replicas=1")
        assert _wait_for(lambda: diagram.state is not None and any(
            p.name.startswith("travel-") and p.status == "ready" for p in diagram.state.pods), 60)
        start = len(frames)
        sandbox.kubectl("scale", "deployment", "travel", "--replicas=3")
        assert _wait_for(lambda: diagram.state is not None and sum(
            p.name.startswith("travel-") and p.status == "ready" for p in diagram.state.pods) == 3,
            60)
        threading.Event().wait(1.0)
    finally:
        diagram.stop()
        sandbox.kubectl("delete", "deployment", "travel", "--wait=false", check=False)
    pulses = [p for f in frames[start:] for p in f["frame"]["pulses"]
              if "travel" in p["o"] or p["c"] == "etcd"]
    hops = [(p["l"].split("/")[0], p["d"]) for p in pulses]
    assert _subsequence([("kubectl", "up"), ("controller-manager", "down"),
                         ("controller-manager", "up"), ("scheduler", "down"),
                         ("scheduler", "up"), ("kubelet", "down"), ("kubelet", "up")], hops), hops
    first = next(p for p in pulses if p["c"] == "kubectl")
    assert "deployment default/travel" in first["o"]
    # the sandbox records field managers: the writers come from managedFields
    assert {p.get("m") for p in pulses} >= {"kube-controller-manager", "kubelet"}
    assert first.get("m", "").startswith("kubectl")
    for bind in (i for i, p in enumerate(pulses) if p["v"].startswith("bind to ")):
        assert (pulses[bind + 1]["c"], pulses[bind + 1]["d"]) == ("kubelet", "down")
    binds = [p for p in pulses if p["c"] == "scheduler" and p["d"] == "up"]
    assert len(binds) == 2 and all(p["v"].startswith("bind to ") for p in binds)
    assert len({p["n"] for p in pulses if p["c"] == "kubelet"}) >= 1


def test_flow_tells_a_create_deployment_as_numbered_hops(sandbox: SandboxHandle) -> None:
    """What lesson 1 prints under the diagram: after ``mark()``, a ``kubectl create
    deployment`` read back as hops, kubectl first, then the controller manager, the
    scheduler and a kubelet, in the order they acted."""
    api = config.new_client_from_config(config_file=str(sandbox.kubeconfig))
    diagram = ClusterDiagram(api_client=api, namespace="default")
    diagram.send = lambda m: None  # type: ignore[method-assign,assignment]
    diagram.start()
    try:
        assert _wait_for(lambda: diagram.updates > 0, 20)
        mark = diagram.mark()
        before = diagram.flow(mark, about="storyline", settle=0.5)
        sandbox.kubectl("create", "deployment", "storyline", "--image=nginx", "--replicas=2")
        sandbox.kubectl("rollout", "status", "deployment/storyline", "--timeout=60s")
        flow = diagram.flow(mark, about="storyline")
        everything = diagram.flow(mark, settle=0.1)
    finally:
        diagram.stop()
        sandbox.kubectl("delete", "deployment", "storyline", "--wait=false", check=False)
    assert before.hops == ()
    assert flow.hops[0].startswith("kubectl → API server: create deployment default/storyline")
    assert flow.components()[:4] == ["kubectl", "controller-manager", "scheduler", "kubelet"], flow
    assert sum("bind to " in hop for hop in flow.hops) == 2, flow
    text = str(flow)
    assert text.splitlines()[0].startswith("  1. kubectl → API server"), text
    assert "<ol" in flow._repr_html_()
    assert len(everything.hops) >= len(flow.hops)
