"""An Ingress routing two hosts, with the real kubectl, following kubernetes.io's "Set up
Ingress on Minikube with the NGINX Ingress Controller" (``minikube addons enable ingress``
becomes ``kubelab sandbox addons enable ingress``).

Upstream: ingress-nginx (``registry.k8s.io/ingress-nginx/controller``) routes by Host and path
and publishes the node's address on each Ingress of its class (the tutorial's ADDRESS column);
kube-apiserver's service proxy passes the client's Host header to the controller; kubectl's
printers come from the API server (``printIngress``: NAME CLASS HOSTS ADDRESS PORTS AGE,
``printIngressClass``: NAME CONTROLLER PARAMETERS AGE, the default class marked
``(default)``).
"""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from conformance.support import manifest, wait_for
from sandbox_support import SandboxHandle

from kubelab.sandbox import daemon

pytestmark = pytest.mark.slow

V1 = "Hello, world!\nVersion: 1.0.0\nHostname: web-"
V2 = "Hello, world!\nVersion: 2.0.0\nHostname: web2-"
NOT_FOUND = ("<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
             "<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n"
             "</body>\r\n</html>\r\n")
PROXY = "/api/v1/namespaces/ingress-nginx/services/ingress-nginx-controller:80/proxy"


def _json(sb: SandboxHandle, *args: str) -> dict:  # type: ignore[type-arg]
    return json.loads(sb.kubectl(*args, "-o", "json").stdout)


def _get(url: str, host: str, *, token: str | None = None,
         context: ssl.SSLContext | None = None) -> tuple[int, str]:
    headers = {"Host": host}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


@pytest.fixture(scope="module")
def ingress_cluster(cluster_sandbox: SandboxHandle) -> SandboxHandle:
    """The tutorial's steps 1-4: the add-on, two hello-app Deployments and their Services."""
    sb = cluster_sandbox
    enabled = subprocess.run(
        [sys.executable, "-m", "kubelab.sandbox", "--state-dir", str(sb.state_dir),
         "addons", "enable", "ingress"], capture_output=True, text=True, timeout=60, check=True)
    assert "ingressclass.networking.k8s.io/nginx created" in enabled.stdout
    assert enabled.stdout.splitlines()[-1] == "The 'ingress' addon is enabled"
    sb.kubectl("wait", "-n", "ingress-nginx", "--for=condition=available",
               "deployment/ingress-nginx-controller", "--timeout=120s", timeout=150)
    sb.kubectl("create", "deployment", "web", "--image=gcr.io/google-samples/hello-app:1.0")
    sb.kubectl("expose", "deployment", "web", "--type=NodePort", "--port=8080")
    sb.kubectl("create", "deployment", "web2", "--image=gcr.io/google-samples/hello-app:2.0")
    sb.kubectl("expose", "deployment", "web2", "--port=8080")
    for name in ("web", "web2"):
        sb.kubectl("rollout", "status", f"deployment/{name}", "--timeout=120s", timeout=150)
    return sb


def test_the_addon_installs_the_controller_and_the_default_class(
        ingress_cluster: SandboxHandle) -> None:
    sb = ingress_cluster
    pods = sb.kubectl("get", "pods", "-n", "ingress-nginx").stdout.splitlines()
    assert pods[1].split()[:3] == [pods[1].split()[0], "1/1", "Running"]
    assert pods[1].startswith("ingress-nginx-controller-")
    classes = sb.kubectl("get", "ingressclass").stdout.splitlines()
    assert classes[0].split() == ["NAME", "CONTROLLER", "PARAMETERS", "AGE"]
    assert classes[1].split()[:4] == ["nginx", "(default)", "k8s.io/ingress-nginx", "<none>"]
    svc = sb.kubectl("get", "svc", "-n", "ingress-nginx", "ingress-nginx-controller").stdout
    assert "NodePort" in svc and "80:3" in svc
    logs = sb.kubectl("logs", "-n", "ingress-nginx", "deploy/ingress-nginx-controller").stdout
    assert "NGINX Ingress controller" in logs and "Release:       v1.13.3" in logs


def test_an_ingress_routes_two_hosts(ingress_cluster: SandboxHandle) -> None:
    sb = ingress_cluster
    out = sb.kubectl("apply", "-f", manifest("example-ingress.yaml")).stdout
    assert out.strip() == "ingress.networking.k8s.io/example-ingress created"

    def address() -> str:
        status = _json(sb, "get", "ingress", "example-ingress")["status"]
        entries = (status.get("loadBalancer") or {}).get("ingress") or []
        return str(entries[0].get("ip", "")) if entries else ""

    wait_for(lambda: bool(address()), timeout=60, what="the Ingress's ADDRESS")
    controller = _json(sb, "get", "pods", "-n", "ingress-nginx")["items"][0]
    node = _json(sb, "get", "node", controller["spec"]["nodeName"])
    node_ip = next(a["address"] for a in node["status"]["addresses"]
                   if a["type"] == "InternalIP")
    assert address() == node_ip  # minikube's addon: the node's IP

    lines = sb.kubectl("get", "ingress").stdout.splitlines()
    assert lines[0].split() == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    assert lines[1].split()[:5] == ["example-ingress", "nginx",
                                    "hello-world.example,hello-world-v2.example", node_ip, "80"]
    describe = sb.kubectl("describe", "ingress", "example-ingress").stdout
    assert "Ingress Class:    nginx" in describe
    assert "/v2   web2:8080 (10.244." in describe
    assert "Scheduled for sync" in describe and "nginx-ingress-controller" in describe

    # Through the API server's service proxy of the controller: the Host header goes on.
    context = ssl.create_default_context(cadata=daemon.ca_of(sb.state_dir).decode())
    token = sb.info.token

    def via_proxy(host: str, path: str = "/") -> tuple[int, str]:
        return _get(f"{sb.url}{PROXY}{path}", host, token=token, context=context)

    assert via_proxy("hello-world.example")[1].startswith(V1)
    assert via_proxy("hello-world.example", "/v2")[1].startswith(V2)
    assert via_proxy("hello-world-v2.example")[1].startswith(V2)
    assert via_proxy("unknown.example") == (404, NOT_FOUND)

    # Through the controller Service's nodePort on this machine, as `curl --resolve` to the
    # minikube IP does in the tutorial.
    svc = _json(sb, "get", "svc", "-n", "ingress-nginx", "ingress-nginx-controller")
    node_port = next(p["nodePort"] for p in svc["spec"]["ports"] if p["name"] == "http")
    status, body = _get(f"http://127.0.0.1:{node_port}/", "hello-world.example")
    assert (status, body[:len(V1)]) == (200, V1)
    assert _get(f"http://127.0.0.1:{node_port}/v2", "hello-world.example")[1].startswith(V2)
    assert _get(f"http://127.0.0.1:{node_port}/", "nowhere.example")[0] == 404

    # From a pod, by the controller Service's DNS name.
    sb.kubectl("run", "client", "--image=busybox:1.36", "--restart=Never", "--", "sleep", "3600")
    sb.kubectl("wait", "--for=condition=ready", "pod/client", "--timeout=60s", timeout=80)
    curl = sb.kubectl("exec", "client", "--", "curl", "-s", "-H", "Host: hello-world-v2.example",
                      "http://ingress-nginx-controller.ingress-nginx").stdout
    assert curl.startswith(V2)
    wget = sb.kubectl("exec", "client", "--", "wget", "-qO-", "--header",
                      "Host: hello-world.example", "http://ingress-nginx-controller.ingress-nginx/v2")
    assert wget.stdout.startswith(V2)
    missing = sb.kubectl("exec", "client", "--", "curl", "-s", "-i", "-H", "Host: nope",
                         "http://ingress-nginx-controller.ingress-nginx/").stdout
    assert missing.startswith("HTTP/1.1 404 Not Found")

    # The controller logged each request in its access-log format.
    logs = sb.kubectl("logs", "-n", "ingress-nginx", "deploy/ingress-nginx-controller").stdout
    assert '"GET /v2 HTTP/1.1" 200' in logs and "[default-web2-8080]" in logs


def test_create_ingress_gets_the_default_class_and_serves(
        ingress_cluster: SandboxHandle) -> None:
    sb = ingress_cluster
    out = sb.kubectl("create", "ingress", "simple", "--rule=foo.example/=web:8080").stdout
    assert out.strip() == "ingress.networking.k8s.io/simple created"
    spec = _json(sb, "get", "ingress", "simple")["spec"]
    assert spec["ingressClassName"] == "nginx"  # the DefaultIngressClass admission plugin
    assert spec["rules"][0]["http"]["paths"][0]["pathType"] == "Exact"
    context = ssl.create_default_context(cadata=daemon.ca_of(sb.state_dir).decode())
    assert _get(f"{sb.url}{PROXY}/", "foo.example", token=sb.info.token,
                context=context)[1].startswith(V1)
    assert _get(f"{sb.url}{PROXY}/x", "foo.example", token=sb.info.token,
                context=context)[0] == 404  # Exact "/" only

    # A Service without ready endpoints: 503 from the controller.
    sb.kubectl("scale", "deployment", "web", "--replicas=0")
    wait_for(lambda: _get(f"{sb.url}{PROXY}/", "foo.example", token=sb.info.token,
                          context=context)[0] == 503, timeout=60, what="503 without endpoints")


def test_an_invalid_ingress_is_refused_with_upstream_wording(
        ingress_cluster: SandboxHandle) -> None:
    sb = ingress_cluster
    body = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "bad"},
            "spec": {"rules": [{"host": "bad.example", "http": {"paths": [{
                "path": "/", "backend": {"service": {"name": "web",
                                                     "port": {"number": 8080}}}}]}}]}}
    proc = sb.kubectl("create", "--validate=false", "-f", "-", input=json.dumps(body),
                      check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        'The Ingress "bad" is invalid: spec.rules[0].http.paths[0].pathType: Required value: '
        "pathType must be specified")
