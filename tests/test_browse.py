"""``open_app``: the link that opens a Service's app in a browser tab, on the sandbox and (by
the same API calls) on a real cluster; the Jupyter base URL as a kernel finds it."""

from __future__ import annotations

import http.client
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sandbox_support import SandboxHandle
from workshop import manifests

from kubelab import browse
from kubelab.connect import Cluster


def get(url: str) -> str:
    """GET an http://127.0.0.1:<port>/ URL (http.client: never an environment proxy)."""
    host_port = url.split("//", 1)[1].split("/", 1)[0]
    host, port = host_port.split(":")
    assert host == "127.0.0.1"
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", "/" + url.split("//", 1)[1].split("/", 1)[1])
        response = conn.getresponse()
        assert response.status == 200
        return response.read().decode()
    finally:
        conn.close()


def wait_for(check: object, timeout: float = 60.0) -> None:
    assert callable(check)
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.1)


# ----------------------------------------------------------------------------- base URL


def test_base_url_on_jupyterhub_and_binder_is_the_service_prefix(tmp_path: Path) -> None:
    env = {"JUPYTERHUB_SERVICE_PREFIX": "/user/ada-lovelace-x1y2"}
    assert browse.jupyter_base_url(env, tmp_path, 1) == "/user/ada-lovelace-x1y2/"


def test_base_url_comes_from_the_runtime_file_of_the_parent_server(tmp_path: Path) -> None:
    (tmp_path / "jpserver-4242.json").write_text(json.dumps(
        {"base_url": "/course", "pid": 4242, "port": 8888}))
    (tmp_path / "jpserver-777.json").write_text(json.dumps({"base_url": "/other/", "pid": 777}))
    assert browse.jupyter_base_url({}, tmp_path, 4242) == "/course/"
    assert browse.jupyter_base_url({}, tmp_path, 777) == "/other/"
    # No server started this kernel (nbclient, nbgrader): the default base URL.
    assert browse.jupyter_base_url({}, tmp_path, 999) == "/"
    (tmp_path / "jpserver-5.json").write_text("{half written")
    assert browse.jupyter_base_url({}, tmp_path, 5) == "/"


# ----------------------------------------------------------------------------- on the sandbox


@pytest.fixture(scope="module")
def kdemo(sandbox: SandboxHandle) -> Iterator[SandboxHandle]:
    sandbox.kubectl("apply", "-f", "-", input=manifests.kdemo("v1"))
    sandbox.kubectl("expose", "deployment", "kdemo-dep", "--type=LoadBalancer",
                    "--name=kdemo-svc", "--port=80", "--target-port=8080")
    sandbox.kubectl("rollout", "status", "deployment/kdemo-dep", "--timeout=90s", timeout=120)

    def provisioned() -> bool:
        svc = json.loads(sandbox.kubectl("get", "svc", "kdemo-svc", "-o", "json").stdout)
        return bool(svc["status"]["loadBalancer"].get("ingress"))

    wait_for(provisioned)
    yield sandbox
    sandbox.kubectl("delete", "svc", "kdemo-svc", "--wait=false")
    sandbox.kubectl("delete", "deployment", "kdemo-dep", "--wait=false")


def sandbox_cluster(sb: SandboxHandle) -> Cluster:
    return Cluster(sb.kubeconfig, None, sb.state_dir)


def as_real_cluster(sb: SandboxHandle) -> Cluster:
    """The sandbox seen as a real cluster would be: through a context that is not the
    sandbox's (kind names its contexts ``kind-<name>``), so no sandbox-only shortcut applies."""
    config = yaml.safe_load(sb.kubeconfig.read_text())
    config["contexts"] = [{"name": "kind-kubelab", "context": {"cluster": "kubelab",
                                                               "user": "kubelab"}}]
    config["current-context"] = "kind-kubelab"
    path = sb.state_dir / "kind-style-kubeconfig"
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return Cluster(path)


def service(sb: SandboxHandle, name: str) -> dict[str, object]:
    svc: dict[str, object] = json.loads(sb.kubectl("get", "svc", name, "-o", "json").stdout)
    return svc


def test_sandbox_load_balancer_link_is_the_external_ip_through_jupyters_proxy(
        kdemo: SandboxHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")
    svc = service(kdemo, "kdemo-svc")
    ip = svc["status"]["loadBalancer"]["ingress"][0]["ip"]  # type: ignore[index]
    node_port = svc["spec"]["ports"][0]["nodePort"]  # type: ignore[index]
    link = browse.open_app("kdemo-svc", cluster=sandbox_cluster(kdemo))
    assert link.label == f"http://{ip}/"
    assert link.href == f"/user/ada/proxy/{node_port}/"
    assert f"nodePort {node_port}" in link.how
    page = get(link.local_url or "")
    assert "background-color: blue" in page and "Hello from kdemo-dep-" in page
    shown = link._repr_html_()
    assert f'href="/user/ada/proxy/{node_port}/"' in shown and 'target="_blank"' in shown
    assert f">http://{ip}/</a>" in shown and "<iframe" not in shown
    inline = browse.open_app("kdemo-svc", cluster=sandbox_cluster(kdemo), inline=True,
                             path="/index.html")
    assert inline.href.endswith("/index.html")
    assert f'<iframe src="/user/ada/proxy/{node_port}/index.html"' in inline._repr_html_()


def test_sandbox_node_port_link_names_a_node_address(sandbox: SandboxHandle,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/")
    sandbox.kubectl("create", "deployment", "np-web", "--image=nginx:1.27", "--port=80")
    sandbox.kubectl("expose", "deployment", "np-web", "--type=NodePort", "--port=8000",
                    "--target-port=80", "--name=np-web")
    sandbox.kubectl("rollout", "status", "deployment/np-web", "--timeout=90s", timeout=120)
    node_port = service(sandbox, "np-web")["spec"]["ports"][0]["nodePort"]  # type: ignore[index]
    nodes = json.loads(sandbox.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    internal = {a["address"] for n in nodes for a in n["status"]["addresses"]
                if a["type"] == "InternalIP"}
    link = sandbox_cluster(sandbox).open_app("np-web", "default")
    host = link.label.removeprefix("http://").split(":")[0]
    assert host in internal and link.label.endswith(f":{node_port}/")
    assert link.href == f"/proxy/{node_port}/"
    assert "Welcome to nginx!" in get(link.local_url or "")
    with pytest.raises(ValueError, match=r"has no port 443 \(it has: 8000\)"):
        browse.open_app("np-web", cluster=sandbox_cluster(sandbox), port=443)
    sandbox.kubectl("delete", "svc,deployment", "np-web", "--wait=false")


def test_a_real_external_ip_is_linked_directly(kdemo: SandboxHandle) -> None:
    # As on GKE: the load balancer's address is routable, so the browser goes straight there.
    # (The status is written through the API, as a cloud controller writes it.)
    sandbox = kdemo
    sandbox.kubectl("create", "service", "loadbalancer", "gke-like", "--tcp=8080:8080")
    sandbox.kubectl("patch", "svc", "gke-like", "--subresource=status", "--type=merge", "-p",
                    json.dumps({"status": {"loadBalancer": {"ingress": [{"ip": "34.117.5.9"}]}}}))
    real = as_real_cluster(sandbox)  # not known as the sandbox: a real cluster's rules
    link = browse.open_app("gke-like", cluster=real)
    assert (link.label, link.href, link.local_url) == (
        "http://34.117.5.9:8080/", "http://34.117.5.9:8080/", None)
    sandbox.kubectl("delete", "svc", "gke-like", "--wait=false")


def test_otherwise_kubectl_port_forward_serves_the_app(kdemo: SandboxHandle,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/")
    real = as_real_cluster(kdemo)  # kind/minikube rules: the external IP leads nowhere
    try:
        link = browse.open_app("kdemo-svc", cluster=real)
    except RuntimeError as err:
        if "portforward is not supported by the kubelab sandbox" in str(err):
            pytest.skip("this sandbox does not serve port-forward yet")
        raise
    try:
        assert link.local_port is not None
        assert link.label == f"http://127.0.0.1:{link.local_port}/"
        assert link.href == f"/proxy/{link.local_port}/"
        assert "kubectl port-forward svc/kdemo-svc" in link.how
        assert "Hello from kdemo-dep-" in get(link.local_url or "")
        # Reused while kubectl runs.
        assert browse.open_app("kdemo-svc", cluster=real).local_port == link.local_port
    finally:
        browse.stop_port_forwards()


def test_a_failed_port_forward_says_what_kubectl_said(kdemo: SandboxHandle) -> None:
    real = as_real_cluster(kdemo)
    with pytest.raises(RuntimeError, match=r"kubectl port-forward svc/missing failed: Error "
                                           r'from server \(NotFound\): services "missing" '
                                           "not found"):
        browse.port_forward(real, "default", "missing", 80)
    # A Service without pods: kubectl waits for one (--pod-running-timeout), then says so.
    kdemo.kubectl("create", "service", "clusterip", "nobody-home", "--tcp=80:80")
    with pytest.raises(RuntimeError, match=r"svc/nobody-home failed: error: timed out "
                                           "waiting for the condition"):
        browse.port_forward(real, "default", "nobody-home", 80, timeout=2)
    kdemo.kubectl("delete", "svc", "nobody-home", "--wait=false")
    assert not any(f.process.poll() is None for f in browse._forwards.values())


def test_open_app_uses_the_contexts_namespace(sandbox: SandboxHandle, tmp_path: Path) -> None:
    import yaml

    config = yaml.safe_load(sandbox.kubeconfig.read_text())
    config["contexts"][0]["context"]["namespace"] = "shop"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    os.chmod(kubeconfig, 0o600)
    assert browse._namespace(Cluster(kubeconfig)) == "shop"
    assert browse._namespace(Cluster(sandbox.kubeconfig)) == "default"


def test_no_service_yet_or_no_pod_gives_a_message_not_an_exception(
        sandbox: SandboxHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    link = browse.open_app("not-there", cluster=sandbox_cluster(sandbox))
    assert link.problem == ('service "not-there" not found in namespace "default": create it '
                            "first (kubectl get services lists what there is)")
    assert "kubelab-app-problem" in link._repr_html_() and "<a " not in link._repr_html_()
    assert repr(link).startswith("No link to not-there yet: service")
    # On a real cluster, a Service without pods: kubectl port-forward's own words.
    sandbox.kubectl("create", "service", "clusterip", "no-pods", "--tcp=80:80")
    real = as_real_cluster(sandbox)
    monkeypatch.setattr(browse, "FORWARD_TIMEOUT", 2.0)
    link = browse.open_app("no-pods", cluster=real)
    assert link.problem is not None and "timed out waiting for the condition" in link.problem
    sandbox.kubectl("delete", "svc", "no-pods", "--wait=false")
