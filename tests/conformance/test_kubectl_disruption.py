"""PodDisruptionBudgets holding a drain, LimitRange defaults and limits, ReplicationControllers,
with the real kubectl.

Upstream: the eviction subresource (``pkg/registry/core/pod/storage/eviction.go``) answers
429 while the budget allows no disruption, and ``kubectl drain`` (``kubectl/pkg/drain``)
prints ``error when evicting pods/"X" -n "NS" (will retry after 5s): Cannot evict pod as it
would violate the pod's disruption budget.`` and retries until ``--timeout``; the disruption
controller keeps the budget's status; the LimitRanger admission plugin defaults and refuses
pods; the replication controller keeps an RC's pods. Server-side Tables as kubectl prints
them: ``NAME MIN AVAILABLE MAX UNAVAILABLE ALLOWED DISRUPTIONS AGE``, ``NAME CREATED AT``,
``NAME DESIRED CURRENT READY AGE``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from conformance.support import wait_for
from sandbox_support import SandboxHandle

pytestmark = pytest.mark.slow


def _json(sb: SandboxHandle, *args: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(sb.kubectl(*args, "-o", "json").stdout)
    return result


def _ready_pods(sb: SandboxHandle, selector: str) -> list[dict[str, Any]]:
    return [p for p in _json(sb, "get", "pods", "-l", selector)["items"]
            if not p["metadata"].get("deletionTimestamp")
            and any(c["type"] == "Ready" and c["status"] == "True"
                    for c in p.get("status", {}).get("conditions", []))]


def test_a_pdb_holds_a_drain_until_replicas_are_raised(cluster_sandbox: SandboxHandle) -> None:
    sb = cluster_sandbox
    sb.kubectl("create", "deployment", "web", "--image=nginx", "--replicas=2")
    wait_for(lambda: len(_ready_pods(sb, "app=web")) == 2, 90, "2 ready web pods")
    out = sb.kubectl("create", "pdb", "web", "--selector=app=web", "--min-available=2").stdout
    assert out.strip() == "poddisruptionbudget.policy/web created"

    def budget() -> dict[str, Any]:
        return _json(sb, "get", "pdb", "web")["status"]

    wait_for(lambda: budget().get("currentHealthy") == 2, 30, "the budget's status")
    status = budget()
    assert (status["desiredHealthy"], status["expectedPods"], status["disruptionsAllowed"]) == \
        (2, 2, 0)
    assert status["conditions"][0]["reason"] == "InsufficientPods"
    lines = sb.kubectl("get", "pdb").stdout.splitlines()
    assert lines[0].split() == ["NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED",
                                "DISRUPTIONS", "AGE"]
    assert lines[1].split()[:4] == ["web", "2", "N/A", "0"]

    victim = _ready_pods(sb, "app=web")[0]
    node, pod = victim["spec"]["nodeName"], victim["metadata"]["name"]
    held = sb.kubectl("drain", node, "--ignore-daemonsets", "--delete-emptydir-data",
                      "--timeout=12s", check=False, timeout=60)
    assert held.returncode != 0
    assert f"node/{node} cordoned" in held.stdout
    assert (f'error when evicting pods/"{pod}" -n "default" (will retry after 5s): Cannot '
            "evict pod as it would violate the pod's disruption budget.") in held.stderr
    assert "global timeout reached: 12s" in held.stderr
    assert sb.kubectl("get", "pod", pod, "-o", "jsonpath={.metadata.name}").stdout == pod
    assert _json(sb, "get", "node", node)["spec"]["unschedulable"] is True

    # Raising the replicas (the new pod lands on another, schedulable node) frees a
    # disruption, and the drain goes through.
    sb.kubectl("scale", "deployment", "web", "--replicas=3")
    wait_for(lambda: budget().get("disruptionsAllowed", 0) >= 1, 90, "a disruption allowed")
    drained = sb.kubectl("drain", node, "--ignore-daemonsets", "--delete-emptydir-data",
                         "--timeout=120s", timeout=150)
    assert f"pod/{pod} evicted" in drained.stdout
    assert f"node/{node} drained" in drained.stdout
    assert all(p["spec"]["nodeName"] != node for p in _ready_pods(sb, "app=web"))
    assert sb.kubectl("uncordon", node).stdout.strip() == f"node/{node} uncordoned"
    assert "unschedulable" not in _json(sb, "get", "node", node)["spec"]
    sb.kubectl("delete", "pdb", "web")
    sb.kubectl("delete", "deployment", "web")


def test_the_eviction_api_answers_429_with_the_budget(cluster_sandbox: SandboxHandle) -> None:
    sb = cluster_sandbox
    sb.kubectl("create", "deployment", "api", "--image=nginx", "--replicas=1")
    wait_for(lambda: len(_ready_pods(sb, "app=api")) == 1, 90, "a ready api pod")
    manifest = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                "metadata": {"name": "api"},
                "spec": {"maxUnavailable": 0, "selector": {"matchLabels": {"app": "api"}}}}
    sb.kubectl("apply", "-f", "-", input=json.dumps(manifest))
    wait_for(lambda: _json(sb, "get", "pdb", "api")["status"].get("expectedPods") == 1, 30,
             "the api budget's status")
    pod = _ready_pods(sb, "app=api")[0]["metadata"]["name"]
    code, body = sb.request("POST", f"/api/v1/namespaces/default/pods/{pod}/eviction",
                            {"apiVersion": "policy/v1", "kind": "Eviction",
                             "metadata": {"name": pod, "namespace": "default"}})
    assert code == 429
    assert body["reason"] == "TooManyRequests"
    assert body["details"]["causes"] == [{
        "reason": "DisruptionBudget",
        "message": "The disruption budget api needs 1 healthy pods and has 1 currently"}]
    sb.kubectl("delete", "pdb", "api")
    sb.kubectl("delete", "deployment", "api")


def test_limitrange_defaults_and_limits(cluster_sandbox: SandboxHandle) -> None:
    sb = cluster_sandbox
    sb.kubectl("create", "namespace", "limited")
    manifest = {"apiVersion": "v1", "kind": "LimitRange",
                "metadata": {"name": "cpu-mem", "namespace": "limited"},
                "spec": {"limits": [{"type": "Container",
                                     "default": {"cpu": "500m", "memory": "256Mi"},
                                     "defaultRequest": {"cpu": "250m", "memory": "128Mi"},
                                     "max": {"cpu": "500m"}}]}}
    out = sb.kubectl("apply", "-f", "-", input=json.dumps(manifest)).stdout
    assert out.strip() == "limitrange/cpu-mem created"
    lines = sb.kubectl("get", "limits", "-n", "limited").stdout.splitlines()
    assert lines[0].split() == ["NAME", "CREATED", "AT"]
    assert lines[1].split()[0] == "cpu-mem" and lines[1].split()[1].endswith("Z")
    describe = sb.kubectl("describe", "limitrange", "cpu-mem", "-n", "limited").stdout
    assert "Container   cpu       -    500m  250m             500m" in describe

    sb.kubectl("run", "plain", "--image=nginx", "-n", "limited")
    got = sb.kubectl("get", "pod", "plain", "-n", "limited", "-o",
                     "jsonpath={.spec.containers[0].resources}").stdout
    assert json.loads(got) == {"limits": {"cpu": "500m", "memory": "256Mi"},
                               "requests": {"cpu": "250m", "memory": "128Mi"}}
    annotation = sb.kubectl("get", "pod", "plain", "-n", "limited", "-o",
                            "jsonpath={.metadata.annotations.kubernetes\\.io/limit-ranger}")
    assert annotation.stdout == ("LimitRanger plugin set: cpu, memory request for container "
                                 "plain; cpu, memory limit for container plain")

    big = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "big", "namespace": "limited"},
           "spec": {"containers": [{"name": "app", "image": "nginx",
                                    "resources": {"limits": {"cpu": "1"}}}]}}
    refused = sb.kubectl("apply", "-f", "-", input=json.dumps(big), check=False)
    assert refused.returncode != 0
    assert ('pods "big" is forbidden: maximum cpu usage per Container is 500m, but limit is 1'
            in refused.stderr)
    sb.kubectl("delete", "namespace", "limited", "--wait=false")


def test_replication_controller_create_scale_delete(cluster_sandbox: SandboxHandle) -> None:
    sb = cluster_sandbox
    manifest = {"apiVersion": "v1", "kind": "ReplicationController",
                "metadata": {"name": "nginx"},
                "spec": {"replicas": 2, "selector": {"app": "nginx-rc"},
                         "template": {"metadata": {"labels": {"app": "nginx-rc"}},
                                      "spec": {"containers": [{"name": "nginx",
                                                               "image": "nginx"}]}}}}
    out = sb.kubectl("apply", "-f", "-", input=json.dumps(manifest)).stdout
    assert out.strip() == "replicationcontroller/nginx created"
    wait_for(lambda: len(_ready_pods(sb, "app=nginx-rc")) == 2, 90, "2 ready rc pods")
    wait_for(lambda: sb.kubectl("get", "rc", "nginx", "--no-headers").stdout.split()[1:4]
             == ["2", "2", "2"], 30, "the rc's status")
    lines = sb.kubectl("get", "rc", "-o", "wide").stdout.splitlines()
    assert lines[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "AGE", "CONTAINERS",
                                "IMAGES", "SELECTOR"]
    assert lines[1].split()[-3:] == ["nginx", "nginx", "app=nginx-rc"]
    owners = {r["kind"] for p in _ready_pods(sb, "app=nginx-rc")
              for r in p["metadata"]["ownerReferences"]}
    assert owners == {"ReplicationController"}

    scaled = sb.kubectl("scale", "rc", "nginx", "--replicas=3").stdout
    assert scaled.strip() == "replicationcontroller/nginx scaled"
    wait_for(lambda: len(_ready_pods(sb, "app=nginx-rc")) == 3, 90, "3 ready rc pods")
    describe = sb.kubectl("describe", "rc", "nginx").stdout
    assert "Replicas:     3 current / 3 desired" in describe
    assert "SuccessfulCreate" in describe

    deleted = sb.kubectl("delete", "rc", "nginx").stdout
    assert deleted.strip() == 'replicationcontroller "nginx" deleted from default namespace'
    wait_for(lambda: not _json(sb, "get", "pods", "-l", "app=nginx-rc")["items"], 90,
             "the rc's pods to go")
