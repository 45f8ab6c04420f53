"""Lesson 9 under virtual time: a stopped kubelet's pods are evicted after the 300 s
toleration in a few real seconds, with timestamps that still tell the simulated story."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sandbox_support import SandboxHandle

from kubelab.sandbox import daemon
from kubelab.sandbox.clock import parse_time

SPEED = 20.0  # the grading speed: 300 simulated seconds are 15 real ones without jumps


@pytest.fixture
def virtual_sandbox(tmp_path: Path) -> Iterator[SandboxHandle]:
    state = tmp_path / "sandbox"
    info = daemon.start(state, speed=SPEED, node_ports=False, virtual_time=True)
    handle = SandboxHandle(state, info)
    yield handle
    handle.stop()


def _json(sandbox: SandboxHandle, *args: str) -> Any:
    return json.loads(sandbox.kubectl("get", *args, "-o", "json").stdout)


def _ready(obj: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True"
               for c in obj.get("status", {}).get("conditions") or [])


def _until(what: str, predicate: Any, limit: float) -> float:
    """Poll as a grader's check does (every 0.1 s); the real seconds it took."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > limit:
            raise AssertionError(f"{what}: not within {limit} real seconds")
        time.sleep(0.1)
    return time.monotonic() - start


def _event_time(events: list[dict[str, Any]], reason: str) -> Any:
    found = [e for e in events if e.get("reason") == reason]
    assert found, f"no {reason} event"
    return parse_time(found[0].get("lastTimestamp") or found[0].get("eventTime"))


def test_stop_kubelet_not_ready_and_eviction_take_real_seconds(
        virtual_sandbox: SandboxHandle) -> None:
    sandbox = virtual_sandbox
    sandbox.kubectl("create", "deployment", "web", "--image=nginx", "--replicas=3")
    sandbox.kubectl("rollout", "status", "deployment/web", "--timeout=60s")
    pods = _json(sandbox, "pods")["items"]
    node = pods[0]["spec"]["nodeName"]
    victims = {p["metadata"]["name"] for p in pods if p["spec"]["nodeName"] == node}

    start = time.monotonic()
    status, _ = sandbox.request("POST", "/kubelab/v1/faults",
                                {"action": "stop-kubelet", "node": node})
    assert status == 200
    _until("NotReady", lambda: not _ready(_json(sandbox, "node", node)), 20)

    def replaced() -> bool:
        items = _json(sandbox, "pods")["items"]
        moved = [p for p in items if p["metadata"]["name"] not in victims
                 and p["spec"].get("nodeName") not in (None, node) and _ready(p)]
        return len(moved) == 3

    _until("eviction and replacement", replaced, 30)
    real = time.monotonic() - start

    # Upstream's timeline, in simulated seconds: NotReady after the 50 s grace period,
    # eviction 300 s (the default toleration) after the taint.
    events = _json(sandbox, "events")["items"]
    not_ready = _event_time([e for e in events if e["involvedObject"]["kind"] == "Node"],
                            "NodeNotReady")
    evicted = _event_time(events, "TaintManagerEviction")
    simulated = (evicted - not_ready).total_seconds() * SPEED
    assert 290 <= simulated <= 330, simulated
    # Without jumps the toleration alone is 15 real seconds at this speed.
    assert real < 0.6 * 300 / SPEED, f"{real:.1f} real seconds"
    # The nodes that kept their kubelets stayed Ready through every jump.
    nodes = _json(sandbox, "nodes")["items"]
    assert [n["metadata"]["name"] for n in nodes if not _ready(n)] == [node]
