"""``open_ingress``: a browser link to what an Ingress routes a host to. The browser, behind
Jupyter's proxy, cannot set the Host header an Ingress rule matches on, so the link goes to
a local relay that sets it and passes the request to the ingress controller, as an
``/etc/hosts`` line or ``curl --resolve`` does on a laptop."""

from __future__ import annotations

import http.client
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox_support import SandboxHandle, start_sandbox

from kubelab import browse
from kubelab.connect import Cluster

pytestmark = pytest.mark.slow

INGRESS = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: example-ingress
spec:
  rules:
  - host: hello-world.example
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service: {name: web, port: {number: 8080}}
  - host: hello-v2.example
    http:
      paths:
      - path: /v2
        pathType: Prefix
        backend:
          service: {name: web2, port: {number: 8080}}
"""


def _get(url: str) -> tuple[int, str]:
    host_port, _, path = url.split("//", 1)[1].partition("/")
    host, port = host_port.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("GET", "/" + path)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def routed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    sb = start_sandbox(tmp_path_factory.mktemp("ingress-links"))
    try:
        subprocess.run([sys.executable, "-m", "kubelab.sandbox", "--state-dir", str(sb.state_dir),
                        "addons", "enable", "ingress"], capture_output=True, text=True,
                       timeout=60, check=True)
        for name, tag in (("web", "1.0"), ("web2", "2.0")):
            sb.kubectl("create", "deployment", name,
                       f"--image=gcr.io/google-samples/hello-app:{tag}")
            sb.kubectl("expose", "deployment", name, "--port=8080")
        path = Path(sb.state_dir) / "ingress.yaml"
        path.write_text(INGRESS)
        sb.kubectl("apply", "-f", str(path))
        for name in ("web", "web2"):
            sb.kubectl("rollout", "status", f"deployment/{name}", "--timeout=120s", timeout=150)
        sb.kubectl("wait", "-n", "ingress-nginx", "--for=condition=available",
                   "deployment/ingress-nginx-controller", "--timeout=120s", timeout=150)
        yield sb
    finally:
        browse.stop_ingress_relays()
        sb.stop()


def test_each_host_opens_its_own_app_through_a_host_relay(
        routed: SandboxHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")
    cluster = Cluster(routed.kubeconfig, None, routed.state_dir)
    first = browse.open_ingress("example-ingress", cluster=cluster)
    assert first.problem is None, first.problem
    assert first.label == "http://hello-world.example/"
    assert first.href == f"/user/ada/proxy/{first.local_port}/"
    assert "Host hello-world.example" in first.how and "nodePort" in first.how
    status, page = _get(first.local_url or "")
    assert status == 200 and "Version: 1.0.0" in page, page
    second = browse.open_ingress("example-ingress", cluster=cluster, host="hello-v2.example")
    assert second.label == "http://hello-v2.example/v2"
    assert second.local_port != first.local_port
    status, page = _get(f"http://127.0.0.1:{second.local_port}/v2")
    assert status == 200 and "Version: 2.0.0" in page, page
    # the controller's own answer for a path no rule of that host names
    status, page = _get(f"http://127.0.0.1:{second.local_port}/elsewhere")
    assert status == 404 and "nginx" in page
    # the same relay again for the same host
    assert browse.open_ingress("example-ingress", cluster=cluster).local_port == first.local_port


def test_a_missing_ingress_host_or_controller_says_what_to_do(
        routed: SandboxHandle, fresh_sandbox: SandboxHandle) -> None:
    cluster = Cluster(routed.kubeconfig, None, routed.state_dir)
    missing = browse.open_ingress("nope", cluster=cluster)
    assert missing.problem is not None and 'ingress "nope" not found' in missing.problem
    wrong = browse.open_ingress("example-ingress", cluster=cluster, host="typo.example")
    assert wrong.problem == ('ingress "example-ingress" has no rule for host "typo.example" '
                             "(its hosts: hello-world.example, hello-v2.example)")
    bare = Cluster(fresh_sandbox.kubeconfig, None, fresh_sandbox.state_dir)
    path = Path(fresh_sandbox.state_dir) / "ingress.yaml"
    path.write_text(INGRESS)
    fresh_sandbox.kubectl("apply", "-f", str(path), "--validate=false")
    none = browse.open_ingress("example-ingress", cluster=bare)
    assert none.problem is not None and "addons enable ingress" in none.problem
    assert "No link to" in none._repr_html_()
