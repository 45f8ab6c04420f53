"""``kubectl debug`` and ``kubectl attach`` with the real kubectl: an ephemeral busybox shell in
a terminal (``-it``, through a pseudo-terminal), a script's output, and following a running
container's output."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pexpect
import pytest
from sandbox_support import SandboxHandle

from kubelab.connect import kubectl_binary

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "target"},
       "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]}}
TICKER = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ticker"},
          "spec": {"restartPolicy": "Never", "containers": [{
              "name": "ticker", "image": "busybox:1.36",
              "command": ["sh", "-c", "echo one; sleep 300; echo two"]}]}}


@pytest.fixture(scope="module")
def target(sandbox: SandboxHandle) -> Iterator[SandboxHandle]:
    sandbox.kubectl("apply", "-f", "-", input=json.dumps(POD))
    sandbox.kubectl("wait", "--for=condition=Ready", "pod/target", "--timeout=60s", timeout=90)
    yield sandbox
    sandbox.kubectl("delete", "pod", "target", "--wait=false")


def _jsonpath(sandbox: SandboxHandle, pod: str, path: str) -> str:
    return sandbox.kubectl("get", "pod", pod, "-o", f"jsonpath={path}").stdout


def test_kubectl_debug_it_gives_an_ephemeral_busybox_shell(target: SandboxHandle) -> None:
    env = {"KUBECONFIG": str(target.kubeconfig), "PATH": "/usr/bin:/bin", "TERM": "dumb"}
    cache = str(target.state_dir / "kubectl-cache")
    child = pexpect.spawn(kubectl_binary(), ["--cache-dir", cache, "debug", "-it", "pod/target",
                                             "--image=busybox:1.36", "--container=shell",
                                             "--target=app"],
                          env=env, encoding="utf-8", timeout=30)
    try:
        child.expect_exact("If you don't see a command prompt, try pressing enter.")
        child.expect_exact("/ # ")
        child.sendline("echo $HOSTNAME; ls /bin/busybox")
        child.expect_exact("target")
        child.expect_exact("/bin/busybox")
        child.expect_exact("/ # ")
        child.sendline("exit 5")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    state = json.loads(_jsonpath(target, "target", "{.status.ephemeralContainerStatuses[0]}"))
    assert state["name"] == "shell"
    assert state["state"]["terminated"]["exitCode"] == 5
    assert _jsonpath(target, "target", "{.status.phase}") == "Running"
    described = target.kubectl("describe", "pod", "target").stdout
    assert "Ephemeral Containers:\n  shell:\n" in described
    # The session is the container's log, as kubectl's warning says.
    logged = target.kubectl("logs", "target", "-c", "shell").stdout.splitlines()
    assert "/ # echo $HOSTNAME; ls /bin/busybox" in logged and "target" in logged


def test_kubectl_debug_runs_a_script_and_prints_its_output(target: SandboxHandle) -> None:
    proc = target.kubectl("debug", "-i", "pod/target", "--image=busybox:1.36",
                          "--container=script", "--", "sh", "-c", "echo hi; echo there",
                          timeout=60)
    assert proc.stdout == "hi\nthere\n"
    again = target.kubectl("debug", "-i", "pod/target", "--image=busybox:1.36",
                           "--container=script", "--", "true", check=False)
    assert again.returncode == 1
    assert "script" in again.stderr


def test_kubectl_attach_follows_a_running_containers_output(sandbox: SandboxHandle) -> None:
    sandbox.kubectl("apply", "-f", "-", input=json.dumps(TICKER))
    sandbox.kubectl("wait", "--for=jsonpath={.status.phase}=Running", "pod/ticker",
                    "--timeout=60s", timeout=90)
    try:
        proc = sandbox.kubectl("attach", "ticker", timeout=60)
    except subprocess.TimeoutExpired:  # pragma: no cover - reported as a failure below
        pytest.fail("kubectl attach did not end when the container exited")
    assert proc.stdout.splitlines()[-2:] == ["one", "two"]


def test_kubectl_run_i_rm_ends_when_stdin_does(sandbox: SandboxHandle) -> None:
    """``kubectl run -i --rm`` attaches to busybox's ``sh`` (its CMD); the end of stdin ends
    the shell, so the container completes and kubectl deletes the pod."""
    proc = sandbox.kubectl("run", "-i", "--rm", "oneshot", "--image=busybox:1.36",
                           "--restart=Never", input="echo again from $(hostname)\n",
                           timeout=60)
    assert proc.stdout.splitlines()[0] == "again from oneshot"
    assert 'pod "oneshot" deleted' in proc.stdout
    assert sandbox.kubectl("get", "pod", "oneshot", check=False).returncode == 1
