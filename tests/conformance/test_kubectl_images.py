"""Images as a real cluster pulls and runs them, driven by the real kubectl: an unknown tag
fails like a missing manifest (ErrImagePull → ImagePullBackOff with the kubelet's events) and
``rollout undo`` recovers; tutorial images answer through the API server's service proxy;
perl's pi and python's http.server behave as the docs show.
"""

from __future__ import annotations

import re

import pytest
from conformance.support import nodes_ready, wait_for
from sandbox_support import SandboxHandle

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def k8s(cluster_sandbox: SandboxHandle) -> SandboxHandle:
    return nodes_ready(cluster_sandbox)


def out(k8s: SandboxHandle, *args: str) -> str:
    return k8s.kubectl(*args).stdout


def waiting_reasons(k8s: SandboxHandle, selector: str) -> list[str]:
    return out(k8s, "get", "pods", "-l", selector, "-o",
               "jsonpath={range .items[*]}{.status.containerStatuses[0].state.waiting.reason}"
               "{' '}{end}").split()


def test_set_image_to_a_missing_tag_then_undo(k8s: SandboxHandle) -> None:
    out(k8s, "create", "deployment", "web", "--image=nginx:1.27", "--replicas=2")
    k8s.kubectl("rollout", "status", "deployment/web", "--timeout=90s", timeout=120)
    assert out(k8s, "set", "image", "deployment/web", "nginx=nginx:1.99-typo") == (
        "deployment.apps/web image updated\n")
    wait_for(lambda: "ImagePullBackOff" in waiting_reasons(k8s, "app=web"), 60,
             "ImagePullBackOff")
    [pod] = [line.split()[0] for line in out(k8s, "get", "pods", "-l", "app=web").splitlines()[1:]
             if "ImagePullBackOff" in line or "ErrImagePull" in line]
    full = "docker.io/library/nginx:1.99-typo"
    message = out(k8s, "get", "pod", pod, "-o",
                  "jsonpath={.status.containerStatuses[0].state.waiting.message}")
    assert message.startswith(
        f'Back-off pulling image "nginx:1.99-typo": ErrImagePull: rpc error: code = NotFound '
        f'desc = failed to pull and unpack image "{full}": failed to resolve reference '
        f'"{full}": {full}: not found (kubelab sandbox: nginx has no tag "1.99-typo" here; '
        "nearest: nginx:1.29")
    described = out(k8s, "describe", "pod", pod)
    # Between back-offs the kubelet pulls again, and the reason reads ErrImagePull until the
    # next back-off starts (as on a real node): either may be what describe catches.
    assert re.search(r"^\s+State:\s+Waiting\n\s+Reason:\s+(ImagePullBackOff|ErrImagePull)$",
                     described, re.M)
    assert re.search(r'Normal\s+Pulling\s+.*Pulling image "nginx:1.99-typo"', described)
    assert re.search(r'Warning\s+Failed\s+.*Failed to pull image "nginx:1.99-typo": rpc error: '
                     rf'code = NotFound desc = failed to pull and unpack image "{full}"', described)
    assert re.search(r"Warning\s+Failed\s+.*Error: ErrImagePull$", described, re.M)
    assert re.search(r'Normal\s+BackOff\s+.*Back-off pulling image "nginx:1.99-typo"', described)
    assert re.search(r"Warning\s+Failed\s+.*Error: ImagePullBackOff$", described, re.M)
    # The old ReplicaSet keeps serving: maxUnavailable 25% of 2 rounds down to 0.
    assert out(k8s, "get", "deploy", "web").splitlines()[1].split()[1] == "2/2"
    assert out(k8s, "rollout", "undo", "deployment/web") == "deployment.apps/web rolled back\n"
    k8s.kubectl("rollout", "status", "deployment/web", "--timeout=90s", timeout=120)
    wait_for(lambda: out(k8s, "get", "pods", "-l", "app=web", "-o",
                         "jsonpath={.items[*].spec.containers[0].image}").split()
             == ["nginx:1.27", "nginx:1.27"], 60, "only nginx:1.27 pods")
    k8s.kubectl("delete", "deployment", "web")


def test_bootcamp_through_the_service_proxy(k8s: SandboxHandle) -> None:
    out(k8s, "create", "deployment", "bootcamp",
        "--image=gcr.io/google-samples/kubernetes-bootcamp:v1")
    out(k8s, "expose", "deployment/bootcamp", "--port", "8080")
    k8s.kubectl("rollout", "status", "deployment/bootcamp", "--timeout=90s", timeout=120)

    def answer() -> str:
        proc = k8s.kubectl("get", "--raw",
                           "/api/v1/namespaces/default/services/bootcamp:8080/proxy/", check=False)
        return proc.stdout if proc.returncode == 0 else ""

    wait_for(lambda: answer() != "", 30, "the Service's endpoint")
    assert re.fullmatch(r"Hello Kubernetes bootcamp! \| Running on: bootcamp-[a-z0-9]+-[a-z0-9]{5}"
                        r" \| v=1\n", answer())
    k8s.kubectl("delete", "deployment,service", "bootcamp")


def test_hello_app_and_python_http_server(k8s: SandboxHandle) -> None:
    out(k8s, "run", "hello", "--image=us-docker.pkg.dev/google-samples/containers/gke/hello-app:2.0",
        "--port=8080")
    out(k8s, "run", "files", "--image=python:3.12-slim", "--port=8000", "--",
        "python", "-m", "http.server")
    k8s.kubectl("wait", "--for=condition=Ready", "pod/hello", "pod/files", "--timeout=60s",
                timeout=90)
    assert out(k8s, "get", "--raw", "/api/v1/namespaces/default/pods/hello:8080/proxy/") == (
        "Hello, world!\nVersion: 2.0.0\nHostname: hello\n")
    listing = out(k8s, "get", "--raw", "/api/v1/namespaces/default/pods/files:8000/proxy/")
    assert "<h1>Directory listing for /</h1>" in listing and '<a href="etc/">etc/</a>' in listing
    assert re.fullmatch(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d Server listening on port 8080\n"
                        r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d Serving request: /\n",
                        out(k8s, "logs", "hello"))
    k8s.kubectl("delete", "pod", "hello", "files", "--grace-period=0", "--force", check=False)


def test_perl_pi_pod_completes(k8s: SandboxHandle) -> None:
    # The Job tutorial's container, as a bare Pod (restartPolicy Never).
    out(k8s, "run", "pi", "--image=perl:5.34.0", "--restart=Never", "--command", "--",
        "perl", "-Mbignum=bpi", "-wle", "print bpi(2000)")
    wait_for(lambda: out(k8s, "get", "pod", "pi", "-o", "jsonpath={.status.phase}") == "Succeeded",
             60, "pi to finish")
    digits = out(k8s, "logs", "pi").strip()
    assert digits.startswith("3.14159265358979323846264338327950288419716939937510")
    assert len(digits) == 2001
    assert out(k8s, "get", "pod", "pi").splitlines()[1].split()[2] == "Completed"
    k8s.kubectl("delete", "pod", "pi")


def test_agnhost_serve_hostname_and_unknown_subcommand(k8s: SandboxHandle) -> None:
    agnhost = "registry.k8s.io/e2e-test-images/agnhost:2.40"
    out(k8s, "run", "hostnames", f"--image={agnhost}", "--port=9376", "--", "serve-hostname")
    out(k8s, "run", "oops", f"--image={agnhost}", "--restart=Never", "--", "nope")
    k8s.kubectl("wait", "--for=condition=Ready", "pod/hostnames", "--timeout=60s", timeout=90)
    assert out(k8s, "get", "--raw",
               "/api/v1/namespaces/default/pods/hostnames:9376/proxy/") == "hostnames"
    wait_for(lambda: out(k8s, "get", "pod", "oops", "-o", "jsonpath={.status.phase}") == "Failed",
             60, "the unknown subcommand to fail")
    assert out(k8s, "logs", "oops") == (
        'Error: unknown command "nope" for "agnhost"\nRun \'agnhost --help\' for usage.\n')
    k8s.kubectl("delete", "pod", "hostnames", "oops", "--grace-period=0", "--force", check=False)
