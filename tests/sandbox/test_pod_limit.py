"""The sandbox's ceiling on pods: one absurd but valid replica count cannot exhaust it.

A Deployment scaled to a million replicas is accepted (a valid int32, as kube-apiserver
accepts it); past the sandbox's pod limit each create is refused as a create over a
ResourceQuota is, the ReplicaSet controller records its usual ``FailedCreate``, the API stays
responsive, and scaling down frees room again.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conformance.support import wait_for
from sandbox_support import start_sandbox

from kubelab.sandbox import cli
from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.errors import ApiError
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.cluster import DEFAULT_MAX_PODS, SandboxOptions
from kubelab.sandbox.storage import Registry

PODS = kinds.core("pods")
CM = kinds.core("configmaps")
NS = kinds.core("namespaces")


def _pod(name: str, namespace: str = "default") -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


def test_the_registry_refuses_a_pod_past_the_limit_in_any_namespace_as_a_quota_would() -> None:
    reg = Registry(ManualClock(), seed=1, max_pods=3)
    for ns in ("default", "other"):
        reg.create(NS, {"metadata": {"name": ns}})
    reg.create(PODS, _pod("a"))
    reg.create(PODS, _pod("b"))
    reg.create(PODS, _pod("c", "other"))
    with pytest.raises(ApiError) as refused:
        reg.create(PODS, _pod("d", "other"))
    assert refused.value.code == 403
    assert refused.value.reason == "Forbidden"
    assert refused.value.message == (
        'pods "d" is forbidden: exceeded the sandbox\'s limit of 3 pods in the whole cluster '
        "(a limit of the kubelab sandbox, KUBELAB_MAX_PODS; delete or scale something down "
        "first)")
    assert reg.peek(PODS, "other", "d") is None
    reg.create(CM, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
    reg.delete(PODS, "default", "a")
    reg.create(PODS, _pod("d", "other"))
    assert reg.count(PODS) == 3


def test_without_a_limit_the_registry_takes_any_number() -> None:
    reg = Registry(ManualClock(), seed=1)
    reg.create(NS, {"metadata": {"name": "default"}})
    for i in range(20):
        reg.create(PODS, _pod(f"p{i}"))
    assert reg.count(PODS) == 20


def test_a_sandbox_holds_twice_the_pods_the_benchmarks_run_by_default(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """10,000 unless ``--max-pods`` or ``KUBELAB_MAX_PODS`` says otherwise; 0 is no limit; a
    value that is no number stops the sandbox's start with a message naming it."""
    assert SandboxOptions().max_pods == DEFAULT_MAX_PODS == 10_000
    parse = cli._parser().parse_args
    monkeypatch.delenv("KUBELAB_MAX_PODS", raising=False)
    assert cli._max_pods(parse(["serve"])) == 10_000
    assert cli._max_pods(parse(["serve", "--max-pods", "50"])) == 50
    assert cli._max_pods(parse(["serve", "--max-pods", "0"])) is None
    monkeypatch.setenv("KUBELAB_MAX_PODS", "200")
    assert cli._max_pods(parse(["serve"])) == 200
    assert cli._max_pods(parse(["serve", "--max-pods", "50"])) == 50
    monkeypatch.setenv("KUBELAB_MAX_PODS", "lots")
    with pytest.raises(SystemExit, match="KUBELAB_MAX_PODS=lots: expected a whole number"):
        cli._max_pods(parse(["serve"]))


def test_a_deployment_of_a_million_replicas_stops_at_the_limit_and_the_sandbox_recovers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBELAB_MAX_PODS", "40")   # the control plane's pods count too
    sandbox = start_sandbox(tmp_path / "state")
    try:
        sandbox.kubectl("create", "deployment", "huge", "--image=nginx",
                        "--replicas=1000000")

        def pods(*selector: str) -> list[dict]:
            out = sandbox.kubectl("get", "pods", "-A", *selector, "-o", "json").stdout
            return list(json.loads(out)["items"])

        wait_for(lambda: len(pods()) == 40, 60, "forty pods in all, the limit")
        huge = len(pods("-l", "app=huge"))
        assert 20 < huge < 40
        wait_for(lambda: "FailedCreate" in sandbox.kubectl(
            "get", "events", "--field-selector", "reason=FailedCreate").stdout,
            60, "the ReplicaSet's FailedCreate event")
        events = sandbox.kubectl("get", "events", "--field-selector", "reason=FailedCreate",
                                 "-o", "json").stdout
        message = json.loads(events)["items"][0]["message"]
        assert message.startswith('Error creating: pods "huge-')
        assert "is forbidden: exceeded the sandbox's limit of 40 pods" in message
        assert sandbox.request("GET", "/readyz") == (200, "ok")
        assert len(pods()) == 40

        sandbox.kubectl("scale", "deployment", "huge", "--replicas=2")
        wait_for(lambda: len([p for p in pods("-l", "app=huge")
                              if not p["metadata"].get("deletionTimestamp")]) == 2, 60,
                 "scaled down to two")
        sandbox.kubectl("create", "deployment", "after", "--image=nginx", "--replicas=3")
        sandbox.kubectl("rollout", "status", "deployment/after", "--timeout=60s")
    finally:
        sandbox.stop()
