"""Learn Kubernetes Basics, modules 2-6 (kubernetes.io/docs/tutorials/kubernetes-basics), step by
step with the tutorial's image and commands, against the sandbox and the real kubectl.

Each test is one module and builds on the previous one (module-scoped sandbox, file order).
Outputs are checked for the shape the tutorial shows: headers, names, the app's answer.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request

import pytest
from conformance.support import nodes_ready, wait_for
from sandbox_support import SandboxHandle

pytestmark = pytest.mark.slow

APP = "kubernetes-bootcamp"
V1 = "gcr.io/google-samples/kubernetes-bootcamp:v1"
V2 = "docker.io/jocatalin/kubernetes-bootcamp:v2"
POD_RE = rf"{APP}-[a-z0-9]{{6,10}}-[a-z0-9]{{5}}"


def hello(version: int) -> str:
    return rf"Hello Kubernetes bootcamp! \| Running on: ({POD_RE}) \| v={version}\n"


@pytest.fixture(scope="module")
def k8s(cluster_sandbox: SandboxHandle) -> SandboxHandle:
    return nodes_ready(cluster_sandbox)


def out(k8s: SandboxHandle, *args: str) -> str:
    return k8s.kubectl(*args).stdout


def pod_names(k8s: SandboxHandle, *selector: str) -> list[str]:
    text = out(k8s, "get", "pods", *selector, "-o",
               "go-template={{range .items}}{{.metadata.name}}{{\"\\n\"}}{{end}}")
    return [line for line in text.splitlines() if line]


def running(k8s: SandboxHandle, count: int, image: str) -> bool:
    text = out(k8s, "get", "pods", "-l", f"app={APP}", "-o",
               "jsonpath={range .items[*]}{.spec.containers[0].image} {.status.phase} "
               "{.metadata.deletionTimestamp}{'\\n'}{end}")
    rows = [r.split() for r in text.splitlines() if r.strip()]
    return len(rows) == count and all(r == [image, "Running"] for r in rows)


def rolled_out(k8s: SandboxHandle) -> None:
    status = k8s.kubectl("rollout", "status", f"deployments/{APP}", "--timeout=90s", timeout=120)
    assert status.stdout.strip().endswith(f'deployment "{APP}" successfully rolled out')


def node_port_get(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
        return response.read().decode()


def test_module2_deploy_an_app(k8s: SandboxHandle) -> None:
    assert out(k8s, "create", "deployment", APP, f"--image={V1}") == (
        f"deployment.apps/{APP} created\n")
    rolled_out(k8s)
    lines = out(k8s, "get", "deployments").splitlines()
    assert lines[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert lines[1].split()[:4] == [APP, "1/1", "1", "1"]
    # The tutorial reaches the pod through `kubectl proxy`; this is the same API path.
    [pod] = pod_names(k8s)
    answer = out(k8s, "get", "--raw", f"/api/v1/namespaces/default/pods/{pod}:8080/proxy/")
    assert re.fullmatch(hello(1), answer + "\n" if not answer.endswith("\n") else answer)
    assert pod in answer


def test_module3_explore_the_app(k8s: SandboxHandle) -> None:
    [pod] = pod_names(k8s)
    lines = out(k8s, "get", "pods").splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert lines[1].split()[:4] == [pod, "1/1", "Running", "0"]
    described = out(k8s, "describe", "pods")
    assert re.search(rf"^\s+Image:\s+{re.escape(V1)}$", described, re.M)
    assert re.search(r"^\s+Port:\s+<none>$", described, re.M)  # create deployment sets no port
    logs = out(k8s, "logs", pod).splitlines()
    assert re.fullmatch(r"Kubernetes Bootcamp App Started At: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
                        rf" \| Running On:  {pod} ", logs[0])
    # module 2's request through the proxy was logged by server.js
    assert re.fullmatch(rf"Running On: {pod} \| Total Requests: 1 \| App Uptime: [\d.]+ seconds"
                        r" \| Log Time: \S+Z", logs[-1])
    env = out(k8s, "exec", pod, "--", "env").splitlines()
    assert f"HOSTNAME={pod}" in env
    assert any(line.startswith("KUBERNETES_SERVICE_HOST=") for line in env)


def test_module3_curl_inside_the_container(k8s: SandboxHandle) -> None:
    [pod] = pod_names(k8s)
    proc = k8s.kubectl("exec", pod, "--", "curl", "-s", "http://localhost:8080", check=False)
    if proc.returncode != 0:
        pytest.xfail(f"exec curl to the container's own app: {proc.stderr.strip()[:200]}")
    assert re.fullmatch(hello(1), proc.stdout)


def test_module3_cat_server_js(k8s: SandboxHandle) -> None:
    [pod] = pod_names(k8s)
    source = out(k8s, "exec", pod, "--", "cat", "server.js")
    assert "http.createServer" in source and "www.listen(8080" in source
    assert 'response.end(" | v=1\\n");' in source


def test_module4_expose_label_and_delete_service(k8s: SandboxHandle) -> None:
    lines = out(k8s, "get", "services").splitlines()
    assert lines[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert lines[1].split()[:5] == ["kubernetes", "ClusterIP", "10.96.0.1", "<none>", "443/TCP"]
    assert out(k8s, "expose", f"deployment/{APP}", "--type=NodePort", "--port", "8080") == (
        f"service/{APP} exposed\n")
    described = out(k8s, "describe", f"services/{APP}")
    assert re.search(r"^Type:\s+NodePort$", described, re.M)
    node_port = int(re.search(r"^NodePort:\s+<unset>\s+(\d+)/TCP$", described, re.M)[1])  # type: ignore[index]
    assert 30000 <= node_port <= 32767
    wait_for(lambda: re.search(r"^Endpoints:\s+10\.\d+\.\d+\.\d+:8080$",
                               out(k8s, "describe", f"services/{APP}"), re.M) is not None,
             30, "the Service's endpoint")
    # `curl http://"$(minikube ip):$NODE_PORT"`: kube-proxy's NodePort on this machine
    assert re.fullmatch(hello(1), node_port_get(node_port))
    assert "Labels:                 app=kubernetes-bootcamp" in out(k8s, "describe", "deployment")
    [pod] = pod_names(k8s, "-l", f"app={APP}")
    assert out(k8s, "get", "services", "-l", f"app={APP}").splitlines()[1].split()[:2] == [
        APP, "NodePort"]
    assert out(k8s, "label", "pods", pod, "version=v1") == f"pod/{pod} labeled\n"
    assert re.search(r"^Labels:\s+app=kubernetes-bootcamp\n\s+pod-template-hash=\w+\n"
                     r"\s+version=v1$", out(k8s, "describe", "pods", pod), re.M)
    assert pod_names(k8s, "-l", "version=v1") == [pod]
    # kubectl 1.34 and later name the namespace
    assert re.fullmatch(rf'service "{APP}" deleted( from default namespace)?\n',
                        out(k8s, "delete", "service", "-l", f"app={APP}"))
    assert out(k8s, "get", "services", "-l", f"app={APP}") == ""

    def refused() -> bool:
        try:
            node_port_get(node_port)
        except (urllib.error.URLError, ConnectionError, OSError):
            return True
        return False

    wait_for(refused, 30, "the NodePort to close")


def test_module5_scale(k8s: SandboxHandle) -> None:
    lines = out(k8s, "get", "rs").splitlines()
    assert lines[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    assert re.fullmatch(rf"{APP}-[a-z0-9]+", lines[1].split()[0])
    assert lines[1].split()[1:4] == ["1", "1", "1"]
    assert out(k8s, "scale", f"deployments/{APP}", "--replicas=4") == (
        f"deployment.apps/{APP} scaled\n")
    wait_for(lambda: running(k8s, 4, V1), 60, "four running pods")
    rolled_out(k8s)
    assert out(k8s, "get", "deployments").splitlines()[1].split()[:4] == [APP, "4/4", "4", "4"]
    wide = out(k8s, "get", "pods", "-o", "wide").splitlines()
    assert wide[0].split()[:7] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    assert len({row.split()[5] for row in wide[1:]}) == 4  # four pod IPs
    assert re.search(r"^Replicas:\s+4 desired \| 4 updated \| 4 total \| 4 available \| "
                     r"0 unavailable$", out(k8s, "describe", f"deployments/{APP}"), re.M)
    out(k8s, "expose", f"deployment/{APP}", "--type=NodePort", "--port", "8080")
    node_port = int(out(k8s, "get", f"services/{APP}", "-o",
                        "go-template={{(index .spec.ports 0).nodePort}}"))
    wait_for(lambda: len(out(k8s, "get", "endpointslices", "-l",
                             f"kubernetes.io/service-name={APP}", "-o",
                             "jsonpath={.items[*].endpoints[*].addresses[0]}").split()) == 4,
             30, "four endpoints")
    seen = set()
    for _ in range(12):
        match = re.fullmatch(hello(1), node_port_get(node_port))
        assert match
        seen.add(match[1])
    assert len(seen) >= 2  # "we hit a different Pod with every request"
    assert out(k8s, "scale", f"deployments/{APP}", "--replicas=2") == (
        f"deployment.apps/{APP} scaled\n")
    wait_for(lambda: running(k8s, 2, V1), 60, "two running pods")


def test_module6_rolling_update_and_rollback(k8s: SandboxHandle) -> None:
    assert out(k8s, "set", "image", f"deployments/{APP}", f"{APP}={V2}") == (
        f"deployment.apps/{APP} image updated\n")
    rolled_out(k8s)
    wait_for(lambda: running(k8s, 2, V2), 60, "two v2 pods")
    node_port = int(out(k8s, "get", f"services/{APP}", "-o",
                        "go-template={{(index .spec.ports 0).nodePort}}"))
    wait_for(lambda: re.fullmatch(hello(2), node_port_get(node_port)) is not None, 30,
             "v=2 answers")
    assert re.search(rf"^\s+Image:\s+{re.escape(V2)}$", out(k8s, "describe", "pods"), re.M)
    # The tutorial's broken update: a tag that does not exist.
    bad = "gcr.io/google-samples/kubernetes-bootcamp:v10"
    out(k8s, "set", "image", f"deployments/{APP}", f"{APP}={bad}")

    def affected() -> list[str]:
        return pod_names(k8s, "--field-selector", "status.phase=Pending")

    wait_for(lambda: "ImagePullBackOff" in out(k8s, "get", "pods"), 60, "ImagePullBackOff")
    assert out(k8s, "get", "deployments").splitlines()[1].split()[:2] == [APP, "2/2"]
    [pod] = affected()
    events = out(k8s, "describe", "pod", pod)
    full = "gcr.io/google-samples/kubernetes-bootcamp:v10"
    assert re.search(
        rf'Warning\s+Failed\s+.*Failed to pull image "{re.escape(bad)}": rpc error: code = '
        rf'NotFound desc = failed to pull and unpack image "{re.escape(full)}": failed to '
        rf'resolve reference "{re.escape(full)}": {re.escape(full)}: not found', events)
    assert re.search(r"Warning\s+Failed\s+.*Error: ErrImagePull$", events, re.M)
    assert re.search(r"Warning\s+Failed\s+.*Error: ImagePullBackOff$", events, re.M)
    assert re.search(rf'Normal\s+BackOff\s+.*Back-off pulling image "{re.escape(bad)}"', events)
    assert out(k8s, "rollout", "undo", f"deployments/{APP}") == f"deployment.apps/{APP} rolled back\n"
    rolled_out(k8s)
    wait_for(lambda: running(k8s, 2, V2), 60, "v2 again")
    assert re.fullmatch(rf'deployment.apps "{APP}" deleted( from default namespace)?\n'
                        rf'service "{APP}" deleted( from default namespace)?\n',
                        out(k8s, "delete", f"deployments/{APP}", f"services/{APP}"))
