"""Every workshop demo, played with the workshop's kubectl commands against a fast sandbox.

Each test checks what the learner had to observe on GKE (WORKSHOP.md): the names, the
numbers, the pages, the events and messages.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sandbox_support import SandboxHandle
from workshop import manifests

Check = Callable[[], Any]


def eventually(check: Check, timeout: float = 30.0, interval: float = 0.1) -> Any:
    """Poll ``check`` until it returns a truthy value (or raise its last failure)."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except (AssertionError, KeyError, ValueError, IndexError) as exc:
            last = exc
        time.sleep(interval)
    raise AssertionError(f"not reached within {timeout}s: {last}")


def get_json(sb: SandboxHandle, *args: str) -> Any:
    return json.loads(sb.kubectl("get", *args, "-o", "json").stdout)


def browse(sb: SandboxHandle, ns: str, service: str, path: str = "") -> str:
    status, body = sb.request(
        "GET", f"/api/v1/namespaces/{ns}/services/{service}:80/proxy/{path}",
        accept="*/*")
    assert status == 200, body
    return body if isinstance(body, str) else json.dumps(body)


def namespace(sb: SandboxHandle, name: str) -> str:
    sb.kubectl("create", "namespace", name)
    return name


def test_part0_hello_world_runs_five_ready_replicas(sandbox: SandboxHandle) -> None:
    ns = namespace(sandbox, "part0")
    out = sandbox.kubectl("apply", "-n", ns, "-f", "-", input=manifests.HELLO_WORLD).stdout
    assert out.strip() == "deployment.apps/hello-world created"
    sandbox.kubectl("rollout", "status", "-n", ns, "deployment/hello-world", "--timeout=60s")
    deploy = get_json(sandbox, "-n", ns, "deployment", "hello-world")
    assert deploy["status"]["readyReplicas"] == 5
    assert deploy["status"]["availableReplicas"] == 5
    rs = get_json(sandbox, "-n", ns, "replicasets")["items"]
    assert len(rs) == 1 and rs[0]["metadata"]["name"].startswith("hello-world-")
    pods = get_json(sandbox, "-n", ns, "pods", "-l", "run=load-balancer-example")["items"]
    assert len(pods) == 5
    assert {p["status"]["phase"] for p in pods} == {"Running"}
    assert len({p["spec"]["nodeName"] for p in pods}) >= 2, "the scheduler spreads pods"
    table = sandbox.kubectl("get", "-n", ns, "deployments").stdout
    assert re.search(r"hello-world\s+5/5\s+5\s+5\s+", table), table


def test_demo1_rolling_update_and_rollback(sandbox: SandboxHandle) -> None:
    ns = namespace(sandbox, "demo1")
    sandbox.kubectl("apply", "-n", ns, "-f", "-", input=manifests.kdemo("v1"))
    created = json.loads(sandbox.kubectl(
        "expose", "-n", ns, "deployment", "kdemo-dep", "--type=LoadBalancer",
        "--name=kdemo-svc", "--port=80", "--target-port=8080", "-o", "json").stdout)
    # EXTERNAL-IP starts <pending>: no ingress until the (simulated) cloud LB is provisioned.
    assert created["status"]["loadBalancer"] == {}
    assert created["spec"]["selector"] == {"name": "kdemo"}
    eventually(lambda: get_json(sandbox, "-n", ns, "svc", "kdemo-svc")["status"]
               ["loadBalancer"].get("ingress"))
    sandbox.kubectl("rollout", "status", "-n", ns, "deployment/kdemo-dep", "--timeout=60s")

    page = browse(sandbox, ns, "kdemo-svc")
    assert "blue" in page.lower()
    pod_names = {p["metadata"]["name"] for p in get_json(sandbox, "-n", ns, "pods")["items"]}
    assert any(name in page for name in pod_names), "the page names the serving pod"

    # Watch the rollout: at every observed instant the surge/unavailable bounds hold.
    violations: list[str] = []
    stop = threading.Event()

    def observe() -> None:
        while not stop.is_set():
            d = get_json(sandbox, "-n", ns, "deployment", "kdemo-dep")
            pods = [p for p in get_json(sandbox, "-n", ns, "pods")["items"]
                    if not p["metadata"].get("deletionTimestamp")]
            status = d.get("status", {})
            if len(pods) > 3 + 1:
                violations.append(f"{len(pods)} pods > replicas + maxSurge")
            if status.get("availableReplicas", 0) < 3 - 1:
                violations.append(f"available {status.get('availableReplicas')} < 2")

    watcher = threading.Thread(target=observe)
    watcher.start()
    try:
        sandbox.kubectl("apply", "-n", ns, "-f", "-", input=manifests.kdemo("v2"))
        wide = sandbox.kubectl("get", "-n", ns, "pods", "-o", "wide").stdout
        assert "kdemo-dep-" in wide
        sandbox.kubectl("rollout", "status", "-n", ns, "deployment/kdemo-dep",
                        "--timeout=90s")
    finally:
        stop.set()
        watcher.join()
    assert not violations, violations[:5]
    assert "green" in browse(sandbox, ns, "kdemo-svc").lower()

    out = sandbox.kubectl("rollout", "undo", "-n", ns, "deployment", "kdemo-dep").stdout
    assert out.strip() == "deployment.apps/kdemo-dep rolled back"
    sandbox.kubectl("rollout", "status", "-n", ns, "deployment", "kdemo-dep",
                    "--timeout=90s")
    eventually(lambda: "blue" in browse(sandbox, ns, "kdemo-svc").lower())
    history = sandbox.kubectl("rollout", "history", "-n", ns, "deployment/kdemo-dep").stdout
    assert re.search(r"^2\s+<none>$", history, re.M) and re.search(r"^3\s+<none>$", history,
                                                                   re.M), history

    sandbox.kubectl("delete", "-n", ns, "service", "kdemo-svc")
    sandbox.kubectl("delete", "-n", ns, "deployment", "kdemo-dep")
    eventually(lambda: not get_json(sandbox, "-n", ns, "pods")["items"])


def test_demo2_broken_probes_stall_the_rollout_and_traffic_stays_on_v1(
        sandbox: SandboxHandle) -> None:
    ns = namespace(sandbox, "demo2")
    sandbox.kubectl("apply", "-n", ns, "-f", "-", input=manifests.PROBES_SERVICE)
    sandbox.kubectl("apply", "-n", ns, "-f", "-", input=manifests.probes("1.0", "/"))
    first = sandbox.kubectl("get", "-n", ns, "pods").stdout
    assert "0/1" in first, "pods run before their readiness probe passes"
    sandbox.kubectl("rollout", "status", "-n", ns, "deployment/probes-demo", "--timeout=60s")
    assert "version 1.0" in browse(sandbox, ns, "probes-demo")

    sandbox.kubectl("apply", "-n", ns, "-f", "-", input=manifests.probes("1.1", "/healthz"))

    def liveness_failed() -> bool:
        events = sandbox.kubectl("get", "-n", ns, "events").stdout
        return "Liveness probe failed: HTTP probe failed with statuscode: 404" in events

    eventually(liveness_failed, timeout=60)

    def restarted() -> bool:
        pods = get_json(sandbox, "-n", ns, "pods", "-l", "version=1.1")["items"]
        return any(cs.get("restartCount", 0) > 0
                   for p in pods for cs in p["status"].get("containerStatuses", []))

    eventually(restarted, timeout=60)
    deploy = get_json(sandbox, "-n", ns, "deployment", "probes-demo")
    assert deploy["status"].get("updatedReplicas", 0) < 3 or \
        deploy["status"].get("availableReplicas", 0) < 3, "the rollout must not complete"
    new_pods = get_json(sandbox, "-n", ns, "pods", "-l", "version=1.1")["items"]
    assert new_pods and not any(
        c["type"] == "Ready" and c["status"] == "True"
        for p in new_pods for c in p["status"].get("conditions", []))
    for _ in range(6):
        assert "version 1.0" in browse(sandbox, ns, "probes-demo")
    sandbox.kubectl("delete", "-n", ns, "deployment,service", "probes-demo")


def test_demo3_secret_reaches_the_container(sandbox: SandboxHandle) -> None:
    ns = namespace(sandbox, "demo3")
    sandbox.kubectl("apply", "-n", ns, "-f", "-", input=manifests.SECRET)

    def logged() -> str:
        out = sandbox.kubectl("logs", "-n", ns, "secret-test-pod", check=False).stdout
        return out if "hello steven your password is randompassword" in out else ""

    logs = eventually(logged, timeout=30)
    assert logs.splitlines()[0] == "hello steven your password is randompassword"
    sandbox.kubectl("delete", "-n", ns, "pod", "secret-test-pod", "--wait=false")
    sandbox.kubectl("delete", "-n", ns, "secret", "app-secret")


def test_demo4_scale_beyond_capacity_leaves_pods_pending(sandbox: SandboxHandle) -> None:
    ns = namespace(sandbox, "demo4")
    sandbox.kubectl("apply", "-n", ns, "-f", "-", input=manifests.RESOURCE_DEMO)
    sandbox.kubectl("rollout", "status", "-n", ns, "deployment/resource-quota-demo",
                    "--timeout=60s")
    sandbox.kubectl("scale", "-n", ns, "deployment", "resource-quota-demo", "--replicas=100")

    def pending_with_message() -> str:
        pods = get_json(sandbox, "-n", ns, "pods")["items"]
        pending = [p for p in pods if p["status"].get("phase") == "Pending"
                   and not p["spec"].get("nodeName")]
        running = [p for p in pods if p["status"].get("phase") == "Running"]
        if len(pods) < 100 or not pending or not running:
            return ""
        for p in pending:
            for c in p["status"].get("conditions", []):
                if c["type"] == "PodScheduled" and c.get("reason") == "Unschedulable":
                    return str(c["message"])
        return ""

    message = eventually(pending_with_message, timeout=90)
    workers = len(get_json(sandbox, "nodes")["items"]) - 1
    total = workers + 1
    assert message == (
        f"0/{total} nodes are available: 1 node(s) had untolerated taint "
        f"{{node-role.kubernetes.io/control-plane: }}, {workers} Insufficient cpu. "
        f"preemption: 0/{total} nodes are available: 1 Preemption is not helpful for "
        f"scheduling, {workers} No preemption victims found for incoming pod.")
    events = sandbox.kubectl("get", "-n", ns, "events").stdout
    assert "FailedScheduling" in events
    describe = eventually(lambda: (lambda d: d if re.search(
        r"Available\s+False\s+MinimumReplicasUnavailable", d) else "")(
        sandbox.kubectl("describe", "-n", ns, "deployment", "resource-quota-demo").stdout),
        timeout=60)
    assert "resource-quota-demo" in describe

    sandbox.kubectl("scale", "-n", ns, "deployment", "resource-quota-demo", "--replicas=3")
    sandbox.kubectl("rollout", "status", "-n", ns, "deployment/resource-quota-demo",
                    "--timeout=90s")
    eventually(lambda: len([p for p in get_json(sandbox, "-n", ns, "pods")["items"]
                            if not p["metadata"].get("deletionTimestamp")]) == 3, timeout=60)
    sandbox.kubectl("delete", "-n", ns, "-f", "-", input=manifests.RESOURCE_DEMO)


def test_demo5_web_api_answers(sandbox: SandboxHandle) -> None:
    ns = namespace(sandbox, "demo5")
    sandbox.kubectl("apply", "-n", ns, "-f", "-", input=manifests.DOTNET)
    sandbox.kubectl("rollout", "status", "-n", ns, "deployment/dotnetcorek8s-v1",
                    "--timeout=60s")
    eventually(lambda: get_json(sandbox, "-n", ns, "svc", "dotnetcorek8s-lb")["status"]
               ["loadBalancer"].get("ingress"))
    assert browse(sandbox, ns, "dotnetcorek8s-lb", "api/hello").strip() == "Hello!"
    assert browse(sandbox, ns, "dotnetcorek8s-lb", "api/hello?myname=Ada").strip() == \
        "Ahoy there, Ada!"


def test_self_healing_replaces_a_deleted_pod(sandbox: SandboxHandle) -> None:
    ns = namespace(sandbox, "heal")
    sandbox.kubectl("apply", "-n", ns, "-f", "-", input=manifests.HELLO_WORLD)
    sandbox.kubectl("rollout", "status", "-n", ns, "deployment/hello-world", "--timeout=60s")
    victim = get_json(sandbox, "-n", ns, "pods")["items"][0]["metadata"]["name"]
    sandbox.kubectl("delete", "-n", ns, "pod", victim)

    def replaced() -> bool:
        pods = [p for p in get_json(sandbox, "-n", ns, "pods")["items"]
                if not p["metadata"].get("deletionTimestamp")]
        names = {p["metadata"]["name"] for p in pods}
        ready = [p for p in pods if any(c["type"] == "Ready" and c["status"] == "True"
                                        for c in p["status"].get("conditions", []))]
        return victim not in names and len(ready) == 5

    eventually(replaced, timeout=60)


@pytest.mark.slow
def test_self_healing_reschedules_pods_of_a_stopped_worker(
        fresh_sandbox: SandboxHandle) -> None:
    sb = fresh_sandbox
    sb.kubectl("apply", "-f", "-", input=manifests.HELLO_WORLD)
    sb.kubectl("rollout", "status", "deployment/hello-world", "--timeout=60s")
    pods = get_json(sb, "pods", "-l", "run=load-balancer-example")["items"]
    node = pods[0]["spec"]["nodeName"]
    status, body = sb.request("POST", "/kubelab/v1/faults",
                              {"action": "stop-kubelet", "node": node})
    assert status == 200, body

    def not_ready() -> bool:
        n = get_json(sb, "node", node)
        ready = next(c for c in n["status"]["conditions"] if c["type"] == "Ready")
        taints = {t["key"] for t in n["spec"].get("taints", [])}
        return ready["status"] == "Unknown" and "node.kubernetes.io/unreachable" in taints

    eventually(not_ready, timeout=60)
    assert re.search(rf"{node}\s+NotReady", sb.kubectl("get", "nodes").stdout)

    def rescheduled() -> bool:
        live = [p for p in get_json(sb, "pods", "-l", "run=load-balancer-example")["items"]
                if not p["metadata"].get("deletionTimestamp")]
        ready = [p for p in live if p["spec"].get("nodeName") != node and any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in p["status"].get("conditions", []))]
        return len(ready) == 5

    # The 300 s unreachable toleration, at the test speed.
    eventually(rescheduled, timeout=120)
