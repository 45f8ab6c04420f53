"""``kubectl port-forward`` (the real kubectl 1.37) against a sandbox with every component.

kubectl opens a local port, and for each connection it accepts opens a pair of SPDY streams
through the API server to the kubelet, which connects to the port inside the pod. Here the
pod's listening ports are the simulated containers' real app servers, so an HTTP GET through
the forward returns the image's page. Covered: ``svc/`` and ``pod/`` targets, sequential
requests on one kept-alive connection, concurrent connections, the plain-SPDY fallback,
a port nobody listens on, a pod that is not running, a stopped kubelet, and Ctrl-C.

Wording that comes from upstream is asserted with its source named beside it.
"""

from __future__ import annotations

import http.client
import os
import re
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from conformance.support import wait_for
from sandbox_support import SandboxHandle

from kubelab.connect import kubectl_binary
from kubelab.sandbox.cluster import free_port

pytestmark = pytest.mark.slow

NGINX_TITLE = "<title>Welcome to nginx!</title>"


class Forward:
    """A running ``kubectl port-forward``; its output is collected as it comes."""

    def __init__(self, sandbox: SandboxHandle, target: str, remote: int,
                 env: dict[str, str] | None = None, *extra: str) -> None:
        self.local = free_port()
        environ = {k: v for k, v in os.environ.items() if not k.startswith("KUBECTL_")}
        environ.update({"KUBECONFIG": str(sandbox.kubeconfig), **(env or {})})
        self.proc = subprocess.Popen(
            [kubectl_binary(), "--cache-dir", str(sandbox.state_dir / "kubectl-cache"),
             "port-forward", target, f"{self.local}:{remote}", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environ)
        self.out = ""
        self.err = ""
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        selector = selectors.DefaultSelector()
        assert self.proc.stdout is not None and self.proc.stderr is not None
        selector.register(self.proc.stdout, selectors.EVENT_READ, "out")
        selector.register(self.proc.stderr, selectors.EVENT_READ, "err")
        while selector.get_map():
            for key, _ in selector.select():
                chunk = os.read(key.fd, 65536)  # type: ignore[arg-type]
                if not chunk:
                    selector.unregister(key.fileobj)
                    continue
                with self._lock:
                    if key.data == "out":
                        self.out += chunk.decode()
                    else:
                        self.err += chunk.decode()
        selector.close()
        self.proc.stdout.close()
        self.proc.stderr.close()

    def wait_ready(self) -> None:
        # client-go tools/portforward/portforward.go (listenOnPort): "Forwarding from %s -> %d"
        line = f"Forwarding from 127.0.0.1:{self.local} -> "
        wait_for(lambda: line in self.out or self.proc.poll() is not None, 30,
                 "kubectl port-forward listening")
        assert line in self.out, (self.out, self.err)

    def get(self, path: str = "/") -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.local, timeout=20)
        try:
            conn.request("GET", path, headers={"Connection": "close"})
            response = conn.getresponse()
            return response.status, response.read().decode()
        finally:
            conn.close()

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(20)
        self._reader.join(5)
        return code

    def finish(self) -> int:
        code = self.proc.wait(30)
        self._reader.join(5)
        return code


@contextmanager
def forwarding(sandbox: SandboxHandle, target: str, remote: int,
               env: dict[str, str] | None = None, *extra: str) -> Iterator[Forward]:
    forward = Forward(sandbox, target, remote, env, *extra)
    try:
        forward.wait_ready()
        yield forward
    finally:
        if forward.proc.poll() is None:
            forward.proc.kill()
            forward.proc.wait(10)
        forward._reader.join(10)


@pytest.fixture(scope="module")
def web(cluster_sandbox: SandboxHandle) -> SandboxHandle:
    sb = cluster_sandbox
    sb.kubectl("create", "deployment", "web", "--image=nginx", "--replicas=2")
    sb.kubectl("expose", "deployment", "web", "--port=80")
    sb.kubectl("rollout", "status", "deployment/web", "--timeout=90s", timeout=120)
    return sb


def a_web_pod(sandbox: SandboxHandle) -> str:
    return sandbox.kubectl("get", "pods", "-l", "app=web", "-o",
                           "jsonpath={.items[0].metadata.name}").stdout


def test_service_forward_serves_the_page_and_ctrl_c_ends_it(web: SandboxHandle) -> None:
    with forwarding(web, "svc/web", 80) as forward:
        status, body = forward.get()
        assert status == 200 and NGINX_TITLE in body
        assert forward.get("/missing")[0] == 404
        assert forward.interrupt() == 0
    # client-go handleConnection: "Handling connection for %d", once per accepted connection
    assert forward.out.count(f"Handling connection for {forward.local}\n") == 2
    assert "error" not in forward.err.lower()


def test_pod_forward_keeps_alive_and_serves_concurrent_connections(web: SandboxHandle) -> None:
    with forwarding(web, f"pod/{a_web_pod(web)}", 80) as forward:
        conn = http.client.HTTPConnection("127.0.0.1", forward.local, timeout=20)
        try:
            for _ in range(2):  # two requests on one kept-alive local connection
                conn.request("GET", "/")
                response = conn.getresponse()
                assert response.status == 200 and NGINX_TITLE in response.read().decode()
        finally:
            conn.close()
        results: list[tuple[int, str]] = []
        threads = [threading.Thread(target=lambda: results.append(forward.get()))
                   for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert [status for status, _ in results] == [200, 200]
        assert all(NGINX_TITLE in body for _, body in results)
        assert forward.proc.poll() is None
        assert forward.interrupt() == 0
    assert forward.out.count("Handling connection for") == 3


def test_plain_spdy_fallback(web: SandboxHandle) -> None:
    # kubectl's switch off the WebSocket tunnel (kubectl pkg/cmd/portforward/portforward.go)
    env = {"KUBECTL_PORT_FORWARD_WEBSOCKETS": "false"}
    with forwarding(web, f"pod/{a_web_pod(web)}", 80, env, "-v=6") as forward:
        assert forward.get()[0] == 200
        assert forward.interrupt() == 0
    assert re.search(r'verb="POST" url="[^"]+/portforward" status="101 Switching Protocols"',
                     forward.err)


def test_a_port_nobody_listens_on(web: SandboxHandle) -> None:
    pod = a_web_pod(web)
    with forwarding(web, f"pod/{pod}", 81) as forward:
        with pytest.raises((ConnectionError, http.client.HTTPException)):
            forward.get()
        code = forward.finish()
    # The error-stream text: the kubelet's streaming server wraps containerd's dial error
    # ("error forwarding port %d to pod %s, uid %v: %v" with the sandbox ID and no UID;
    # containerd sandbox_portforward_linux.go), as real clusters print it. client-go's
    # handleConnection logs it and closes the whole connection; ForwardPorts then returns
    # ErrLostConnectionToPod ("lost connection to pod") and kubectl exits 1.
    sandbox_id = r"[0-9a-f]{64}"
    assert re.search(
        r'"An error occurred forwarding" err="error forwarding port 81 to pod '
        + sandbox_id + r', uid : failed to execute portforward in network namespace '
        r'\\"/var/run/netns/cni-[0-9a-f-]{36}\\": failed to connect to localhost:81 inside '
        r'namespace \\"' + sandbox_id + r'\\", IPv4: dial tcp4 127.0.0.1:81: connect: '
        r'connection refused IPv6 dial tcp6 \[::1\]:81: connect: connection refused " '
        rf"localPort={forward.local} remotePort=81", forward.err), forward.err
    assert forward.err.rstrip().endswith("error: lost connection to pod")
    assert code == 1


def test_a_pod_that_is_not_running(web: SandboxHandle) -> None:
    web.kubectl("run", "stuck", "--image=registry.invalid/none:1", "--restart=Never")
    proc = web.kubectl("port-forward", "pod/stuck", f"{free_port()}:80", check=False)
    # kubectl pkg/cmd/portforward/portforward.go (RunPortForwardContext)
    assert proc.stderr == ("error: unable to forward port because pod is not running. "
                           "Current status=Pending\n")
    assert proc.returncode == 1
    web.kubectl("delete", "pod", "stuck", "--wait=false")


def test_a_stopped_kubelet_cannot_be_dialled(web: SandboxHandle) -> None:
    pod = a_web_pod(web)
    node = web.kubectl("get", "pod", pod, "-o", "jsonpath={.spec.nodeName}").stdout
    status, body = web.request("POST", "/kubelab/v1/faults",
                               {"action": "stop-kubelet", "node": node})
    assert status == 200, body
    try:
        started = time.monotonic()
        proc = web.kubectl("port-forward", f"pod/{pod}", f"{free_port()}:80", check=False)
        assert time.monotonic() - started < 30
    finally:
        web.request("POST", "/kubelab/v1/faults", {"action": "start-kubelet", "node": node})
    # kube-apiserver cannot reach the kubelet's port 10250 (the same text as for exec)
    assert re.search(r"error upgrading connection: .*error dialing backend: dial tcp "
                     r"[0-9.]+:10250: connect: connection refused", proc.stderr), proc.stderr
    assert proc.returncode == 1
