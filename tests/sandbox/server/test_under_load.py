"""Nodes stay Ready on a machine loaded by other processes.

Busy processes on every core (started and stopped here, each ending by itself after
``LOAD_SECONDS`` even if the test dies) while 300 pods start on 3 nodes at speed 20, where
the 50 s node-monitor grace period is 2.5 real seconds: no node may go NotReady, no pod may
be evicted, and every pod must reach Running.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox_support import SandboxHandle, start_sandbox

SPEED = 20.0
PODS = 300
LOAD_SECONDS = 80.0
BURNER = ("import time\n"
          f"end = time.monotonic() + {LOAD_SECONDS}\n"
          "while time.monotonic() < end:\n"
          "    pass\n")


@pytest.fixture
def cpu_load() -> Iterator[list[subprocess.Popen[bytes]]]:
    """One busy process per core for the test's duration (bounded by LOAD_SECONDS)."""
    burners = [subprocess.Popen([sys.executable, "-c", BURNER])
               for _ in range(os.cpu_count() or 2)]
    try:
        yield burners
    finally:
        for proc in burners:
            proc.kill()
            proc.wait(timeout=10)


def deployment() -> str:
    return json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "many"},
        "spec": {"replicas": PODS, "selector": {"matchLabels": {"app": "many"}},
                 "template": {"metadata": {"labels": {"app": "many"}}, "spec": {
                     "containers": [{"name": "c", "image": "busybox:1.36",
                                     "command": ["sleep", "86400"]}]}}}})


def events(handle: SandboxHandle, reason: str) -> list[str]:
    status, body = handle.request("GET", f"/api/v1/events?fieldSelector=reason%3D{reason}")
    assert status == 200, body
    return [f"{e['involvedObject'].get('name')}: {e['message']}" for e in body["items"]]


def running(handle: SandboxHandle) -> int:
    status, body = handle.request("GET", "/api/v1/namespaces/default/pods")
    assert status == 200
    return sum(1 for p in body["items"] if p.get("status", {}).get("phase") == "Running")


@pytest.mark.slow
def test_300_pods_under_cpu_load_no_node_goes_not_ready(
        tmp_path: Path, cpu_load: list[subprocess.Popen[bytes]]) -> None:
    handle = start_sandbox(tmp_path / "sandbox", speed=SPEED)
    try:
        handle.kubectl("apply", "-f", "-", input=deployment(), timeout=60)
        start = time.monotonic()
        deadline = start + 60
        while (count := running(handle)) < PODS:
            assert time.monotonic() < deadline, f"only {count}/{PODS} pods Running after 60 s"
            time.sleep(1)
        took = time.monotonic() - start
        # Stay loaded a while longer: 8 real seconds are 160 simulated, over 3 grace periods.
        time.sleep(8)
        assert all(p.poll() is None for p in cpu_load), "the load ended early"
        assert events(handle, "NodeNotReady") == []
        assert events(handle, "TaintManagerEviction") == []
        status, nodes = handle.request("GET", "/api/v1/nodes")
        assert status == 200
        ready = {n["metadata"]["name"]: next(c["status"] for c in n["status"]["conditions"]
                                             if c["type"] == "Ready") for n in nodes["items"]}
        assert set(ready.values()) == {"True"}, ready
        assert running(handle) == PODS
        print(f"{PODS} pods Running in {took:.1f} s under {len(cpu_load)} busy processes")
    finally:
        handle.stop()
