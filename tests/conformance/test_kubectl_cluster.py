"""The real kubectl against a fresh sandbox with every component running.

What needs controllers, the scheduler and kubelets to read like a real cluster: nodes,
system pods, ``get all``, a Deployment's rollout (status, history, undo), ``describe`` of a
deployment, a pod and a node, ``logs`` and a server-side ``diff`` of a live Deployment.
Pods whose node would depend on scheduling scores are pinned with a nodeSelector so the
transcripts are the same on every run. The module skips while component modules are missing.
"""

from __future__ import annotations

import pytest
from conformance.support import Golden, manifest, nodes_ready, wait_for
from sandbox_support import SandboxHandle

pytestmark = pytest.mark.slow


def _jsonpath(sandbox: SandboxHandle, *args: str) -> str:
    return sandbox.kubectl("get", *args).stdout


def _settled(sandbox: SandboxHandle, name: str, replicas: int, image: str) -> bool:
    """The Deployment is complete: every replica updated and available, old pods gone."""
    out = _jsonpath(sandbox, "deploy", name, "-o",
                    "jsonpath={.status.updatedReplicas} {.status.availableReplicas} "
                    "{.status.replicas} {.status.observedGeneration} {.metadata.generation}")
    parts = out.split()
    if len(parts) != 5 or parts[3] != parts[4] or parts[:3] != [str(replicas)] * 3:
        return False
    pods = _jsonpath(sandbox, "pods", "-l", f"app={name}", "-o",
                     "jsonpath={range .items[*]}{.spec.containers[0].image} "
                     "{.status.phase}{'\\n'}{end}").split("\n")
    pods = [p for p in pods if p]
    return len(pods) == replicas and all(p == f"{image} Running" for p in pods)


@pytest.fixture(scope="module")
def ready(cluster_sandbox: SandboxHandle) -> SandboxHandle:
    return nodes_ready(cluster_sandbox)


def test_nodes(ready: SandboxHandle, golden: Golden) -> None:
    golden.kubectl(ready, "cluster-get-nodes-wide", "get", "nodes", "-o", "wide")
    golden.kubectl(ready, "cluster-describe-node", "describe", "node", "kubelab-worker3")


def test_system_pods(ready: SandboxHandle, golden: Golden) -> None:
    wait_for(lambda: all(
        line.split()[3] == "Running" for line in ready.kubectl(
            "get", "pods", "-n", "kube-system", "--no-headers").stdout.splitlines()),
        30, "kube-system pods Running", required=False)
    golden.kubectl(ready, "cluster-get-pods-all-namespaces", "get", "pods", "-A")


def test_deployment_rollout(ready: SandboxHandle, golden: Golden) -> None:
    golden.kubectl(ready, "cluster-apply-deployment", "apply", "-f", manifest("deploy.yaml"))
    status = ready.kubectl("rollout", "status", "deployment/web", "--timeout=90s", timeout=120)
    assert status.stdout.strip().endswith('deployment "web" successfully rolled out')
    wait_for(lambda: _settled(ready, "web", 3, "nginx:1.25"), 60, "web settled")
    golden.kubectl(ready, "cluster-rollout-status-done", "rollout", "status", "deployment/web")
    golden.kubectl(ready, "cluster-get-deploy-wide", "get", "deploy", "-o", "wide")
    golden.kubectl(ready, "cluster-get-deploy-rs-po-labels", "get", "deploy,rs,po", "-l",
                   "app=web", "--show-labels")
    golden.kubectl(ready, "cluster-get-all", "get", "all")
    golden.kubectl(ready, "cluster-get-deploy-yaml", "get", "deploy", "web", "-o", "yaml")
    golden.kubectl(ready, "cluster-describe-deployment", "describe", "deployment", "web")
    proc = golden.kubectl(ready, "cluster-diff-deployment", "diff", "-f",
                          manifest("deploy2.yaml"))
    assert proc.returncode == 1

    golden.kubectl(ready, "cluster-set-image", "set", "image", "deployment/web",
                   "nginx=nginx:1.27")
    ready.kubectl("rollout", "status", "deployment/web", "--timeout=90s", timeout=120)
    wait_for(lambda: _settled(ready, "web", 3, "nginx:1.27"), 60, "web on nginx:1.27")
    golden.kubectl(ready, "cluster-rollout-history", "rollout", "history", "deployment/web")
    golden.kubectl(ready, "cluster-rollout-undo", "rollout", "undo", "deployment/web")
    ready.kubectl("rollout", "status", "deployment/web", "--timeout=90s", timeout=120)
    wait_for(lambda: _settled(ready, "web", 3, "nginx:1.25"), 60, "web back on nginx:1.25")
    golden.kubectl(ready, "cluster-rollout-history-after-undo", "rollout", "history",
                   "deployment/web")
    golden.kubectl(ready, "cluster-scale", "scale", "deployment", "web", "--replicas=1")
    wait_for(lambda: _settled(ready, "web", 1, "nginx:1.25"), 60, "web scaled to 1")
    golden.kubectl(ready, "cluster-get-rs-after-scale", "get", "rs", "-l", "app=web")
    golden.kubectl(ready, "cluster-delete-deployment", "delete", "-f", manifest("deploy.yaml"))
    wait_for(lambda: _jsonpath(ready, "pods", "-l", "app=web", "-o", "name") == "", 60,
             "web's pods gone")


def test_describe_pod_and_logs(ready: SandboxHandle, golden: Golden) -> None:
    ready.kubectl("apply", "-f", manifest("hello-pod.yaml"))
    ready.kubectl("wait", "--for=condition=Ready", "pod/hello", "--timeout=60s", timeout=90)
    golden.kubectl(ready, "cluster-describe-pod", "describe", "pod", "hello")
    ready.kubectl("apply", "-f", manifest("greeter-pod.yaml"))
    wait_for(lambda: _jsonpath(ready, "pod", "greeter", "-o",
                               "jsonpath={.status.phase}") == "Succeeded", 60,
             "greeter Succeeded")
    golden.kubectl(ready, "cluster-logs", "logs", "greeter")
    golden.kubectl(ready, "cluster-logs-tail", "logs", "greeter", "--tail=1")
    golden.kubectl(ready, "cluster-get-pods-wide-pinned", "get", "pods", "hello", "greeter",
                   "-o", "wide")


def test_exec(ready: SandboxHandle, golden: Golden) -> None:
    """``kubectl exec`` over the WebSocket v5 channel protocol: output, stderr, exit codes,
    stdin, the pod network (cluster DNS, a Service's endpoint, none) and the errors the API
    server and kubectl print."""
    ready.kubectl("apply", "-f", manifest("toolbox-pod.yaml"))
    ready.kubectl("wait", "--for=condition=Ready", "pod/toolbox", "--timeout=60s", timeout=90)
    golden.kubectl(ready, "cluster-exec-printenv", "exec", "toolbox", "--", "printenv",
                   "GREETING", "DB_USER")
    golden.kubectl(ready, "cluster-exec-ls-secret", "exec", "toolbox", "--", "ls",
                   "/etc/creds")
    golden.kubectl(ready, "cluster-exec-cat", "exec", "toolbox", "--", "cat",
                   "/etc/creds/username", "/tmp/state")
    golden.kubectl(ready, "cluster-exec-resolv-conf", "exec", "toolbox", "--", "cat",
                   "/etc/resolv.conf")
    golden.kubectl(ready, "cluster-exec-exit-code", "exec", "toolbox", "--", "sh", "-c",
                   "echo before; cat /missing; exit 3")
    golden.kubectl(ready, "cluster-exec-stdin", "exec", "-i", "toolbox", "--", "sh",
                   input="echo from stdin\nhostname\n")
    golden.kubectl(ready, "cluster-exec-no-tty", "exec", "-it", "toolbox", "--", "sh",
                   input="echo piped\n")
    ready.kubectl("wait", "--for=condition=Ready", "pod/greeting-app", "--timeout=60s",
                  timeout=90)
    wait_for(lambda: ready.kubectl("get", "endpointslices", "-l",
                                   "kubernetes.io/service-name=greeting", "-o",
                                   "jsonpath={.items[*].endpoints[*].conditions.ready}"
                                   ).stdout == "true", 30, "greeting's endpoint ready")
    golden.kubectl(ready, "cluster-exec-wget-service", "exec", "toolbox", "--", "wget", "-O-",
                   "http://greeting")
    golden.kubectl(ready, "cluster-exec-nslookup", "exec", "toolbox", "--", "nslookup",
                   "greeting")
    golden.kubectl(ready, "cluster-exec-nslookup-unknown", "exec", "toolbox", "--", "nslookup",
                   "nosuchservice")
    golden.kubectl(ready, "cluster-exec-wget-no-endpoints", "exec", "toolbox", "--", "wget",
                   "-qO-", "http://nobody-home.default.svc.cluster.local")
    golden.kubectl(ready, "cluster-exec-curl-unknown", "exec", "toolbox", "--", "curl", "-sS",
                   "http://nosuchservice")
    golden.kubectl(ready, "cluster-exec-bad-container", "exec", "toolbox", "-c", "nope", "--",
                   "ls")
    golden.kubectl(ready, "cluster-exec-no-pod", "exec", "ghost", "--", "ls")
    golden.kubectl(ready, "cluster-exec-unscheduled", "exec", "stranded", "--", "ls")
    ready.kubectl("apply", "-f", manifest("greeter-pod.yaml"))
    wait_for(lambda: _jsonpath(ready, "pod", "greeter", "-o",
                               "jsonpath={.status.phase}") == "Succeeded", 60,
             "greeter Succeeded")
    golden.kubectl(ready, "cluster-exec-completed", "exec", "greeter", "--", "ls")
    ready.kubectl("delete", "-f", manifest("toolbox-pod.yaml"), "--wait=false")
