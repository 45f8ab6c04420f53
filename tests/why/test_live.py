"""``kubelab why`` against a live sandbox: the real command, the real API, five broken things.

Each situation is made with the real kubectl in a namespace of its own; the command is run
until it reports the expected cause (the kubelet and the scheduler need a moment to get
there) and its exit status says "a problem" (1).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sandbox_support import SandboxHandle, start_sandbox

pytestmark = pytest.mark.slow

KUBELAB = Path(sys.executable).parent / "kubelab"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    handle = start_sandbox(tmp_path_factory.mktemp("why-sandbox"))
    yield handle
    handle.stop()


def kubelab_why(handle: SandboxHandle, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBELAB_")}
    env["KUBELAB_KUBECONFIG"] = str(handle.kubeconfig)
    cmd = [str(KUBELAB)] if KUBELAB.exists() else [sys.executable, "-c",
                                                    "import sys; from kubelab.cli import main; "
                                                    "sys.exit(main())"]
    return subprocess.run([*cmd, "why", *args], capture_output=True, text=True, env=env,
                          timeout=60, check=False)


def until(handle: SandboxHandle, args: list[str], *words: str,
          timeout: float = 90.0) -> subprocess.CompletedProcess[str]:
    deadline = time.monotonic() + timeout
    while True:
        proc = kubelab_why(handle, *args)
        if proc.returncode == 1 and all(w in proc.stdout for w in words):
            return proc
        if time.monotonic() > deadline:
            raise AssertionError(f"kubelab why {' '.join(args)} → {proc.returncode}\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        time.sleep(1.0)


def apply(handle: SandboxHandle, ns: str, *manifests: dict[str, Any]) -> None:
    handle.kubectl("create", "namespace", ns)
    for manifest in manifests:
        handle.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(manifest))


def test_bad_tag(cluster: SandboxHandle) -> None:
    cluster.kubectl("create", "namespace", "tag")
    cluster.kubectl("create", "deployment", "web", "-n", "tag", "--image=nginx:1.99-typo")
    proc = until(cluster, ["deploy/web", "-n", "tag"], "nginx:1.99-typo does not exist",
                 "no tag '1.99-typo'")
    assert proc.stdout.startswith("✗ Deployment web is not ready")
    assert "kubectl describe pod web-" in proc.stdout
    assert "Fix: Use a tag that exists" in proc.stdout


def test_too_much_cpu(cluster: SandboxHandle) -> None:
    apply(cluster, "cpu", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "big"},
                           "spec": {"containers": [{"name": "app", "image": "nginx:1.27",
                                                    "resources": {"requests": {"cpu": "64"}}}]}})
    proc = until(cluster, ["pod/big", "-n", "cpu"], "cannot be scheduled",
                 "not have enough free CPU (it asks for 64 CPUs")
    assert "Insufficient cpu" in proc.stdout          # the scheduler's verdict, quoted
    assert "lower resources.requests.cpu" in proc.stdout


def test_missing_configmap_key(cluster: SandboxHandle) -> None:
    cluster.kubectl("create", "namespace", "team-b")
    cluster.kubectl("create", "configmap", "app-config", "-n", "team-b",
                    "--from-literal=greeting=hello")
    apply_pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "config-reader"},
                 "spec": {"containers": [{
                     "name": "app", "image": "busybox:1.36",
                     "command": ["sh", "-c", "echo greeting=$GREETING; sleep 3600"],
                     "env": [{"name": "GREETING", "valueFrom": {"configMapKeyRef": {
                         "name": "app-config", "key": "greting"}}}]}]}}
    cluster.kubectl("apply", "-n", "team-b", "-f", "-", input=json.dumps(apply_pod))
    proc = until(cluster, ["pod/config-reader", "-n", "team-b", "--json"],
                 '"reason": "MissingKey"')
    found = json.loads(proc.stdout)
    assert "reads the key greting from ConfigMap app-config" in found["problem"]
    assert any("couldn't find key greting in ConfigMap team-b/app-config" in e
               for e in found["evidence"])


def test_crashing_command(cluster: SandboxHandle) -> None:
    apply(cluster, "crash", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "quits"},
                             "spec": {"containers": [{
                                 "name": "app", "image": "busybox:1.36",
                                 "command": ["sh", "-c", "echo loading; exit 3"]}]}})
    proc = until(cluster, ["quits", "-n", "crash"], "keeps crashing", "exits with code 3",
                 "'loading'")
    assert "kubectl logs quits -n crash --previous" in proc.stdout


def test_a_pod_that_will_not_restart_is_read_without_previous(cluster: SandboxHandle) -> None:
    """A ``Never`` pod that failed has no previous container: the kubelet answers
    ``kubectl logs --previous`` with an error, so the diagnosis reads and suggests the
    current container's log."""
    apply(cluster, "once", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "once"},
                            "spec": {"restartPolicy": "Never", "containers": [{
                                "name": "app", "image": "busybox:1.36",
                                "command": ["sh", "-c", "echo migrating; exit 4"]}]}})
    proc = until(cluster, ["once", "-n", "once"], "exited with an error", "'migrating'")
    assert "  kubectl logs once -n once\n" in proc.stdout
    assert "State: Terminated (Error), Exit Code: 4" in proc.stdout
    assert "--previous" not in proc.stdout and "Last State" not in proc.stdout
    refused = cluster.kubectl("logs", "once", "-n", "once", "--previous", check=False)
    assert refused.returncode != 0


def test_service_that_selects_nothing(cluster: SandboxHandle) -> None:
    cluster.kubectl("create", "namespace", "svc")
    cluster.kubectl("create", "deployment", "web", "-n", "svc", "--image=nginx:1.27")
    cluster.kubectl("create", "service", "clusterip", "front", "-n", "svc", "--tcp=80:80")
    proc = until(cluster, ["svc/front", "-n", "svc"], "selector app=front matches no pod",
                 "app=web")
    assert "kubectl get pods -l app=front -n svc" in proc.stdout


def test_healthy_and_usage(cluster: SandboxHandle) -> None:
    cluster.kubectl("create", "namespace", "fine")
    cluster.kubectl("create", "deployment", "ok", "-n", "fine", "--image=nginx:1.27")
    deadline = time.monotonic() + 90
    while (proc := kubelab_why(cluster, "deploy/ok", "-n", "fine")).returncode != 0:
        assert time.monotonic() < deadline, proc.stdout
        time.sleep(1.0)
    assert proc.stdout.startswith("✓ Deployment ok is fine: 1 of 1 pods ready")
    bad = kubelab_why(cluster, "configmap/x")
    assert bad.returncode == 2 and "pod/NAME" in bad.stderr


def test_self_check_names_the_cause(cluster: SandboxHandle) -> None:
    """Lesson 10's log check on a typo'd ConfigMap key: the feedback says which key."""
    from autograders import checks
    from autograders.engine import Context, Exercise
    from autograders.kube import Reader, Snapshot

    cluster.kubectl("create", "namespace", "lesson10")
    cluster.kubectl("create", "configmap", "app-config", "-n", "lesson10",
                    "--from-literal=greeting=hello")
    reader = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "config-reader"},
              "spec": {"containers": [{
                  "name": "app", "image": "busybox:1.36",
                  "command": ["sh", "-c", "echo greeting=$GREETING; sleep 3600"],
                  "env": [{"name": "GREETING", "valueFrom": {"configMapKeyRef": {
                      "name": "app-config", "key": "greting"}}}]}]}}
    cluster.kubectl("apply", "-n", "lesson10", "-f", "-", input=json.dumps(reader))
    until(cluster, ["pod/config-reader", "-n", "lesson10"], "key greting")
    client = cluster.api_client()
    exercise = Exercise("why", "ConfigMap", [checks.log_contains(
        "config-reader", "greeting=hello", namespace="lesson10")],
        context_factory=lambda: Context(Snapshot(Reader(client)), {}))
    report = exercise.run(timeout=3)
    found = report.results[0].outcome.found
    assert not report.passed
    assert "empty log" not in found
    assert found.startswith("the pod has no log: Container app of pod config-reader cannot "
                            "start: it reads the key greting from ConfigMap app-config")
    assert "Fix: Correct the key name" in report.text()
