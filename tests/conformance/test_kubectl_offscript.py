"""The real kubectl off the lessons' script: what learners who experiment run into.

``$(VAR)`` expansion by the kubelet, a compute ResourceQuota's "must specify", the exec error
of a container that never started (one ``unable to upgrade connection:`` prefix, as
client-go writes it), raw bodies ending as kube-apiserver's do, and ``kubectl debug`` with an
ephemeral container. The module skips while component modules are missing.
"""

from __future__ import annotations

import pytest
from conformance.support import Golden, manifest, nodes_ready, wait_for
from sandbox_support import SandboxHandle

pytestmark = pytest.mark.slow


def _phase(sandbox: SandboxHandle, pod: str, namespace: str = "default") -> str:
    return sandbox.kubectl("get", "pod", pod, "-n", namespace, "-o",
                           "jsonpath={.status.phase}", check=False).stdout


@pytest.fixture(scope="module")
def ready(cluster_sandbox: SandboxHandle) -> SandboxHandle:
    return nodes_ready(cluster_sandbox)


def test_var_expansion_in_command_and_env(ready: SandboxHandle, golden: Golden) -> None:
    """``$(GREETING)`` expands, ``$$`` escapes, ``$(UNSET)`` and a reference to a later
    variable stay as written; ``$HOME`` is left to the shell."""
    ready.kubectl("apply", "-f", manifest("expand-pod.yaml"))
    wait_for(lambda: _phase(ready, "expand") == "Succeeded", 60, "expand Succeeded")
    golden.kubectl(ready, "offscript-logs-expansion", "logs", "expand")


def test_compute_quota_must_specify(ready: SandboxHandle, golden: Golden) -> None:
    ready.kubectl("create", "namespace", "quota-test")
    ready.kubectl("apply", "-n", "quota-test", "-f", manifest("compute-quota.yaml"))
    golden.kubectl(ready, "offscript-quota-must-specify", "apply", "-n", "quota-test", "-f",
                   manifest("unlimited-pod.yaml"))
    assert ready.kubectl("get", "pods", "-n", "quota-test", "-o", "name").stdout == ""


def test_exec_into_a_container_that_never_started(ready: SandboxHandle,
                                                  golden: Golden) -> None:
    ready.kubectl("apply", "-f", manifest("unpulled-pod.yaml"))
    wait_for(lambda: "ErrImagePull" in ready.kubectl(
        "get", "pod", "unpulled", "-o",
        "jsonpath={.status.containerStatuses[0].state.waiting.reason}").stdout
        or "ImagePullBackOff" in ready.kubectl("get", "pod", "unpulled").stdout,
        60, "unpulled failing to pull")
    golden.kubectl(ready, "offscript-exec-not-started", "exec", "unpulled", "--", "ls")
    ready.kubectl("delete", "pod", "unpulled", "--wait=false")


def test_raw_bodies_end_with_a_newline(ready: SandboxHandle) -> None:
    """``kubectl get --raw`` writes the body as received: kube-apiserver's JSON encoder ends
    each object with a newline."""
    ready.kubectl("create", "configmap", "raw-body", "--from-literal=page=<b>&</b>")
    body = ready.kubectl("get", "--raw", "/api/v1/namespaces/default/configmaps/raw-body").stdout
    assert body.endswith("}\n") and body.count("\n") == 1
    assert '"page":"\\u003cb\\u003e\\u0026\\u003c/b\\u003e"' in body


def test_kubectl_debug_with_an_ephemeral_container(ready: SandboxHandle, golden: Golden) -> None:
    """``kubectl debug`` patches ``pods/<name>/ephemeralcontainers``, waits for the container
    and attaches to it (or reads its log once it has ended); describe lists it."""
    ready.kubectl("apply", "-f", manifest("debug-target-pod.yaml"))
    ready.kubectl("wait", "--for=condition=Ready", "pod/debug-target", "--timeout=60s",
                  timeout=90)
    golden.kubectl(ready, "offscript-debug-script", "debug", "pod/debug-target", "-i",
                   "--image=busybox:1.37", "--container=dbg", "--", "sh", "-c",
                   "echo hi from $HOSTNAME", timeout=90)
    wait_for(lambda: "terminated" in ready.kubectl(
        "get", "pod", "debug-target", "-o",
        "jsonpath={.status.ephemeralContainerStatuses[0].state}").stdout, 30, "dbg ended")
    golden.kubectl(ready, "offscript-debug-describe", "describe", "pod", "debug-target")
    golden.kubectl(ready, "offscript-debug-same-name", "debug", "pod/debug-target", "-i",
                   "--image=busybox:1.37", "--container=app", "--", "true")


@pytest.mark.parametrize("namespace", ["default", "kube-system", "kube-public"])
def test_the_cluster_s_own_namespaces_may_not_be_deleted(ready: SandboxHandle,
                                                          namespace: str) -> None:
    """kube-apiserver's NamespaceLifecycle admission refuses to delete its immortal
    namespaces; kubectl prints (as pasted from real clusters in many public threads)
    ``Error from server (Forbidden): namespaces "default" is forbidden: this namespace may
    not be deleted``. A namespace of one's own still goes."""
    for dry_run in ([], ["--dry-run=server"]):
        result = ready.kubectl("delete", "namespace", namespace, *dry_run, check=False)
        assert result.returncode == 1
        assert result.stderr.strip() == (
            f'Error from server (Forbidden): namespaces "{namespace}" is forbidden: '
            "this namespace may not be deleted")
    assert ready.kubectl("get", "namespace", namespace, "-o",
                         "jsonpath={.status.phase}").stdout == "Active"
    ready.kubectl("create", "namespace", f"mortal-{namespace}")
    assert "deleted" in ready.kubectl("delete", "namespace", f"mortal-{namespace}",
                                      "--wait=false").stdout
