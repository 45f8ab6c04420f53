"""NodePorts on 127.0.0.1 (kube-proxy, simulated): a browser on this machine reaches a
NodePort or LoadBalancer Service's app at ``127.0.0.1:<nodePort>``, one ready endpoint per
connection, following the rollout, and the listener goes when the Service does."""

from __future__ import annotations

import http.client
import json
import re
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sandbox_support import SandboxHandle
from workshop import manifests

from kubelab.sandbox.server.node_ports import NodePortRule, node_port_rules


def eventually(check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except (AssertionError, OSError) as exc:
            result, last = None, exc
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"not reached within {timeout}s: {last}")


def fetch(port: int, path: str = "/") -> tuple[int, str]:
    """An HTTP GET of 127.0.0.1:<port> (http.client: never an environment proxy)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def refused(port: int) -> bool:
    """Nothing serves the port: the connection is refused, reset or closed without a reply."""
    try:
        fetch(port)
    except (ConnectionError, http.client.HTTPException):
        return True
    return False


def listeners(port: int) -> set[str]:
    """Local addresses (hex, as /proc/net/tcp writes them) of sockets LISTENing on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if int(hex_port, 16) == port and fields[3] == "0A":
                found.add(address)
    return found


def node_port(sb: SandboxHandle, ns: str, service: str) -> int:
    svc = json.loads(sb.kubectl("get", "-n", ns, "svc", service, "-o", "json").stdout)
    return int(svc["spec"]["ports"][0]["nodePort"])


def kdemo_pods(sb: SandboxHandle, ns: str) -> set[str]:
    pods = json.loads(sb.kubectl("get", "-n", ns, "pods", "-o", "json").stdout)["items"]
    return {p["metadata"]["name"] for p in pods}


# ----------------------------------------------------------------------------- pure


def test_rules_cover_node_port_and_load_balancer_services_only() -> None:
    def svc(name: str, type_: str, *ports: dict[str, Any]) -> dict[str, Any]:
        return {"metadata": {"namespace": "shop", "name": name},
                "spec": {"type": type_, "ports": list(ports)}}

    table = node_port_rules([
        svc("web", "LoadBalancer", {"name": "http", "port": 80, "nodePort": 31000},
            {"port": 443, "nodePort": 31001, "protocol": "TCP"}),
        svc("dns", "NodePort", {"port": 53, "nodePort": 31002, "protocol": "UDP"}),
        svc("api", "NodePort", {"port": 8080, "nodePort": 31003}),
        svc("internal", "ClusterIP", {"port": 80}),
        # a former NodePort Service keeps no listener, even if a stale nodePort lingers
        svc("was-nodeport", "ClusterIP", {"port": 80, "nodePort": 31004}),
        svc("no-node-ports", "LoadBalancer", {"port": 80}),
    ])
    assert table == {31000: NodePortRule("shop", "web", "http"),
                     31001: NodePortRule("shop", "web", "443"),
                     31003: NodePortRule("shop", "api", "8080")}


# ----------------------------------------------------------------------------- a real sandbox


def test_the_external_ip_leads_to_the_page_and_follows_the_rollout(sandbox: SandboxHandle
                                                                    ) -> None:
    ns = "np-rollout"
    sandbox.kubectl("create", "namespace", ns)
    sandbox.kubectl("apply", "-n", ns, "-f", "-", input=manifests.kdemo("v1"))
    sandbox.kubectl("expose", "-n", ns, "deployment", "kdemo-dep", "--type=LoadBalancer",
                    "--name=kdemo-svc", "--port=80", "--target-port=8080")
    sandbox.kubectl("rollout", "status", "-n", ns, "deployment/kdemo-dep", "--timeout=90s",
                    timeout=120)
    port = node_port(sandbox, ns, "kdemo-svc")
    status, page = eventually(lambda: fetch(port))
    assert status == 200 and "background-color: blue" in page and "kdemo version 1.0" in page
    # One ready endpoint per connection, round robin: the pages name every serving pod.
    served = {re.search(r"Hello from (\S+)</h1>", fetch(port)[1]).group(1)  # type: ignore[union-attr]
              for _ in range(6)}
    assert served == kdemo_pods(sandbox, ns) and len(served) == 3

    sandbox.kubectl("set", "image", "-n", ns, "deployment/kdemo-dep", "kdemo=apprenda/kdemo:v2")
    sandbox.kubectl("rollout", "status", "-n", ns, "deployment/kdemo-dep", "--timeout=120s",
                    timeout=150)
    status, page = eventually(lambda: fetch(port)[1].count("green") and fetch(port))
    assert status == 200 and "kdemo version 1.1" in page
    sandbox.kubectl("delete", "namespace", ns, "--wait=false")


def test_the_listener_follows_the_service_type_and_closes_on_delete(sandbox: SandboxHandle
                                                                     ) -> None:
    ns = "np-follow"
    sandbox.kubectl("create", "namespace", ns)
    sandbox.kubectl("create", "deployment", "web", "-n", ns, "--image=nginx:1.27",
                    "--port=80")
    sandbox.kubectl("expose", "-n", ns, "deployment", "web", "--type=NodePort", "--port=80")
    sandbox.kubectl("rollout", "status", "-n", ns, "deployment/web", "--timeout=90s",
                    timeout=120)
    port = node_port(sandbox, ns, "web")
    status, page = eventually(lambda: fetch(port))
    assert status == 200 and "Welcome to nginx!" in page
    # Loopback only: the one listening socket on that port is bound to 127.0.0.1.
    assert listeners(port) == {"0100007F"}

    # No ready endpoint: the connection is rejected, as kube-proxy's REJECT rule does.
    sandbox.kubectl("scale", "-n", ns, "deployment/web", "--replicas=0")
    eventually(lambda: refused(port))
    sandbox.kubectl("scale", "-n", ns, "deployment/web", "--replicas=1")
    eventually(lambda: fetch(port)[0] == 200)

    sandbox.kubectl("patch", "-n", ns, "svc", "web", "-p", '{"spec":{"type":"ClusterIP"}}')
    eventually(lambda: not listeners(port))
    assert refused(port)
    sandbox.kubectl("patch", "-n", ns, "svc", "web", "-p", '{"spec":{"type":"NodePort"}}')
    port = node_port(sandbox, ns, "web")
    eventually(lambda: fetch(port)[0] == 200)

    sandbox.kubectl("delete", "-n", ns, "svc", "web")
    eventually(lambda: not listeners(port))
    assert refused(port)
    sandbox.kubectl("delete", "namespace", ns, "--wait=false")


def _free_node_port() -> socket.socket:
    """A socket listening on a free port of the nodePort range (30000-32767)."""
    for candidate in range(32767, 30000, -7):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", candidate))
        except OSError:
            sock.close()
            continue
        sock.listen()
        return sock
    pytest.skip("no free port in the nodePort range")


def test_a_port_taken_on_this_machine_is_logged_and_the_service_proxy_still_works(
        sandbox: SandboxHandle) -> None:
    ns = "np-taken"
    sandbox.kubectl("create", "namespace", ns)
    sandbox.kubectl("create", "deployment", "web", "-n", ns, "--image=nginx:1.27",
                    "--port=80")
    holder = _free_node_port()
    taken = holder.getsockname()[1]
    try:
        sandbox.kubectl("create", "service", "nodeport", "web", "-n", ns, "--tcp=80:80",
                        f"--node-port={taken}")
        sandbox.kubectl("rollout", "status", "-n", ns, "deployment/web", "--timeout=90s",
                        timeout=120)
        log = sandbox.state_dir / "sandbox.log"
        eventually(lambda: f"nodePort {taken} of service {ns}/web is not served: "
                           f"127.0.0.1:{taken} is in use on this machine" in log.read_text())
        # The port stays the other program's: our socket is the only listener.
        assert listeners(taken) == {"0100007F"}
        holder.settimeout(5)
        probe = socket.create_connection(("127.0.0.1", taken), timeout=5)
        accepted, _ = holder.accept()
        accepted.close()
        probe.close()
        # The sandbox keeps going: the API server's service proxy reaches the app.
        status, page = sandbox.request(
            "GET", f"/api/v1/namespaces/{ns}/services/web:80/proxy/", accept="*/*")
        assert status == 200 and "Welcome to nginx!" in page
    finally:
        holder.close()
    sandbox.kubectl("delete", "namespace", ns, "--wait=false")
