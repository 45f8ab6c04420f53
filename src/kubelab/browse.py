"""Open a Service's app in a browser tab from a notebook, as the workshop did with EXTERNAL-IP.

The browser that shows JupyterLab reaches the Jupyter server, not the ports of the machine
(or Binder pod) the kernel runs on. ``jupyter-server-proxy``, the Jupyter server extension
Binder deployments use for this, forwards ``<base URL>proxy/<port>/…`` to
``localhost:<port>``. So this module finds a port on the kernel's machine that leads to the
Service, and shows a link through that proxy, labelled with what a learner would type on a
laptop next to the cluster:

- **A LoadBalancer with a real external IP or hostname** (GKE, EKS): the browser goes there
  directly, as in the workshop.
- **The kubelab sandbox**, NodePort or LoadBalancer Service: the sandbox's simulated
  kube-proxy serves every nodePort on ``127.0.0.1``, and its simulated cloud load balancer's
  EXTERNAL-IP stands for that port (a documentation address, RFC 5737, which never routes).
- **Anything else** (kind, minikube, a ClusterIP Service, a pending LoadBalancer):
  ``kubectl port-forward svc/<name> :<port>`` in the background, then its local port.
  A port-forward sticks to the one pod kubectl picked; when that pod goes away (a rolling
  update), kubectl stops, and the next :func:`open_app` starts a new one.

Only the Kubernetes API and the real ``kubectl`` are used (this module sits above the HTTP
line): the same call works on the sandbox and on a real cluster. The Jupyter server's base
URL comes from ``JUPYTERHUB_SERVICE_PREFIX`` (JupyterHub and Binder set it for the server
and its kernels), else from the runtime file (``jpserver-<pid>.json``) of the server that
started this kernel, else ``/``.
"""

from __future__ import annotations

import atexit
import contextlib
import html
import ipaddress
import json
import os
import re
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kubelab.connect import Cluster

#: RFC 5737 documentation ranges: an external IP there is a stand-in that never routes.
DOCUMENTATION_NETS = tuple(ipaddress.ip_network(n) for n in
                           ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"))
FORWARD_TIMEOUT = 20.0
_FORWARDING = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+) ->")


# ----------------------------------------------------------------------------- base URL


def jupyter_base_url(environ: dict[str, str] | None = None,
                     runtime_dir: Path | None = None, server_pid: int | None = None) -> str:
    """The base URL of the Jupyter server this kernel belongs to (``/``, ``/user/ada/``).

    JupyterHub (and so Binder) exports ``JUPYTERHUB_SERVICE_PREFIX`` to the single-user
    server, whose kernels inherit it. A plain ``jupyter lab`` writes
    ``jpserver-<pid>.json`` (with ``base_url``) in the Jupyter runtime directory; the server
    that started this kernel is its parent process. Without either (a notebook run by
    nbclient or nbgrader), ``/``.
    """
    env = os.environ if environ is None else environ
    prefix = env.get("JUPYTERHUB_SERVICE_PREFIX")
    if prefix:
        return prefix if prefix.endswith("/") else prefix + "/"
    if runtime_dir is None:
        from jupyter_core.paths import jupyter_runtime_dir

        runtime_dir = Path(jupyter_runtime_dir())
    pid = os.getppid() if server_pid is None else server_pid
    try:
        info = json.loads((runtime_dir / f"jpserver-{pid}.json").read_text())
    except (OSError, ValueError):
        return "/"
    base = str(info.get("base_url") or "/")
    return base if base.endswith("/") else base + "/"


# ----------------------------------------------------------------------------- the link


@dataclass
class AppLink:
    """A clickable link to a Service's app (its HTML is what a notebook shows)."""

    service: str
    namespace: str
    label: str  # what a learner would type: http://203.0.113.10/
    href: str  # where the link really goes: /proxy/31234/ (or the label itself)
    how: str  # one sentence: which route leads there
    local_port: int | None = None  # the port on the kernel's machine, when proxied
    inline: bool = False
    height: int = 260
    #: Why there is no link yet (no such Service, no pod to forward to): shown instead.
    problem: str | None = None

    @property
    def local_url(self) -> str | None:
        """The same page from the kernel's side (``http://127.0.0.1:<port>/``), if proxied."""
        return None if self.local_port is None else f"http://127.0.0.1:{self.local_port}/"

    def _repr_html_(self) -> str:
        if self.problem is not None:
            return (f'<div class="kubelab-app kubelab-app-problem">No link to '
                    f"<code>{html.escape(self.service)}</code> yet: "
                    f"{html.escape(self.problem)}</div>")
        link = (f'<a href="{html.escape(self.href)}" target="_blank" rel="noopener" '
                f'class="kubelab-app-link" data-service="{html.escape(self.service)}">'
                f"{html.escape(self.label)}</a>")
        out = (f"<div class=\"kubelab-app\">Open <code>{html.escape(self.service)}</code>: "
               f"{link}<br><small>{html.escape(self.how)}</small></div>")
        if self.inline:
            out += (f'<iframe src="{html.escape(self.href)}" class="kubelab-app-frame" '
                    f'style="width: 100%; height: {self.height}px; border: 1px solid #ccc">'
                    "</iframe>")
        return out

    def __repr__(self) -> str:
        if self.problem is not None:
            return f"No link to {self.service} yet: {self.problem}"
        return f"{self.label}  ({self.how}; link: {self.href})"


def _url(host: str, port: int) -> str:
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}/" if port == 80 else f"http://{host}:{port}/"


def _documentation_address(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in DOCUMENTATION_NETS)


def _service_port(svc: Any, port: int | str | None) -> Any:
    ports = list(svc.spec.ports or [])
    if not ports:
        raise ValueError(f'service "{svc.metadata.name}" has no ports')
    if port is None:
        return ports[0]
    for p in ports:
        if str(port) in (p.name, str(p.port)):
            return p
    known = ", ".join(p.name or str(p.port) for p in ports)
    raise ValueError(f'service "{svc.metadata.name}" has no port {port} (it has: {known})')


def _namespace(cluster: Cluster) -> str:
    from kubernetes import config

    try:
        _, active = config.list_kube_config_contexts(config_file=str(cluster.kubeconfig))
        if cluster.context:
            contexts, _ = config.list_kube_config_contexts(config_file=str(cluster.kubeconfig))
            active = next(c for c in contexts if c["name"] == cluster.context)
        return str(active["context"].get("namespace") or "default")
    except (config.ConfigException, StopIteration, KeyError, TypeError):
        return "default"


def open_app(service: str, namespace: str | None = None, *, port: int | str | None = None,
             path: str = "/", inline: bool = False, cluster: Cluster | None = None) -> AppLink:
    """A link that opens ``service``'s app in a new browser tab (see the module docstring).

    ``port``: the Service port (number or name; default its first). ``path``: the page.
    ``inline``: also show the page in the notebook (an iframe). A Service that does not exist
    yet, or a port-forward kubectl refuses, gives an AppLink that says so (``problem``)
    rather than an exception, so a lesson run from the top keeps going.
    """

    from kubelab.connect import current

    cluster = cluster or current()
    namespace = namespace or _namespace(cluster)
    svc = _read_service(cluster, service, namespace)
    if svc is None:
        return AppLink(service, namespace, "", "", "", problem=(
            f'service "{service}" not found in namespace "{namespace}": create it first '
            f"(kubectl get services lists what there is)"))
    service_port = _service_port(svc, port)
    suffix = path.lstrip("/")
    ingress = [i.ip or i.hostname for i in (svc.status.load_balancer.ingress or [])
               if i.ip or i.hostname] if svc.status and svc.status.load_balancer else []
    base = jupyter_base_url()
    kind = svc.spec.type or "ClusterIP"

    if ingress and not _documentation_address(ingress[0]):
        label = _url(ingress[0], service_port.port) + suffix
        return AppLink(service, namespace, label, label,
                       "the cloud load balancer's external address", inline=inline)
    if cluster.is_sandbox and kind in ("NodePort", "LoadBalancer") and service_port.node_port:
        node_port = int(service_port.node_port)
        if ingress:
            label = _url(ingress[0], service_port.port) + suffix
            how = (f"the load balancer forwards to nodePort {node_port}, which the sandbox "
                   f"serves on this machine; opened through Jupyter's proxy")
        else:
            label = _url(_node_address(cluster), node_port) + suffix
            how = (f"nodePort {node_port}, served by the sandbox on this machine; opened "
                   "through Jupyter's proxy")
            if kind == "LoadBalancer":
                how = "EXTERNAL-IP is still <pending>; " + how
        return AppLink(service, namespace, label, f"{base}proxy/{node_port}/{suffix}", how,
                       local_port=node_port, inline=inline)
    try:
        local_port = port_forward(cluster, namespace, service, service_port.port)
    except RuntimeError as err:
        return AppLink(service, namespace, "", "", "", problem=str(err))
    label = f"http://127.0.0.1:{local_port}/{suffix}"
    return AppLink(service, namespace, label, f"{base}proxy/{local_port}/{suffix}",
                   f"kubectl port-forward svc/{service} {local_port}:{service_port.port}, "
                   "running in the background; opened through Jupyter's proxy",
                   local_port=local_port, inline=inline)


def _read_service(cluster: Cluster, name: str, namespace: str) -> Any:
    """The Service, or None when it does not exist (other API errors propagate)."""
    from kubernetes.client.exceptions import ApiException

    try:
        return cluster.core().read_namespaced_service(name, namespace)
    except ApiException as err:
        if err.status != 404:
            raise
        return None


def _node_address(cluster: Cluster) -> str:
    """A node's InternalIP: what ``http://<node>:<nodePort>/`` means on a real cluster."""
    for node in cluster.core().list_node().items:
        for address in (node.status.addresses or []) if node.status else []:
            if address.type == "InternalIP":
                return str(address.address)
    return "127.0.0.1"


# ----------------------------------------------------------------------------- port-forward


@dataclass
class _Forward:
    process: subprocess.Popen[str]
    local_port: int


_forwards: dict[tuple[str, str, str, str, int], _Forward] = {}
_lock = threading.Lock()


def port_forward(cluster: Cluster, namespace: str, service: str, port: int,
                 timeout: float | None = None) -> int:
    """``kubectl port-forward svc/<service> :<port>`` in the background; its local port.

    Reused while it runs; started again once kubectl has stopped (its pod went away).
    Stopped when the kernel exits.
    """
    timeout = FORWARD_TIMEOUT if timeout is None else timeout
    key = (str(cluster.kubeconfig), cluster.context or "", namespace, service, port)
    with _lock:
        running = _forwards.get(key)
        if running is not None and running.process.poll() is None:
            return running.local_port
        from kubelab.connect import kubectl_binary

        cmd = [kubectl_binary()]
        if cluster.context:
            cmd += ["--context", cluster.context]
        cmd += ["port-forward", "-n", namespace, f"svc/{service}", f":{port}",
                "--address", "127.0.0.1", f"--pod-running-timeout={int(timeout)}s"]
        process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, env=cluster.env(),
                                   start_new_session=True)
        found: list[int] = []
        output: list[str] = []
        ready = threading.Event()

        def read() -> None:
            assert process.stdout is not None
            with process.stdout:  # kept draining: kubectl logs every connection
                for line in process.stdout:
                    if not found:
                        output.append(line)
                    match = _FORWARDING.search(line)
                    if match and not found:
                        found.append(int(match.group(1)))
                        ready.set()
            ready.set()  # kubectl exited

        reader = threading.Thread(target=read, daemon=True, name=f"port-forward {service}")
        reader.start()
        ready.wait(timeout + 5)  # kubectl gives up on a pod that is not running first
        if not found:
            _stop(process)
            reader.join(5)
            said = "".join(output).strip() or f"no answer within {timeout:.0f}s"
            raise RuntimeError(f"kubectl port-forward svc/{service} failed: {said}")
        _forwards[key] = _Forward(process, found[0])
        return found[0]


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)
    if process.poll() is None:
        process.kill()
        process.wait()


def stop_port_forwards() -> None:
    """Stop every port-forward this kernel started."""
    with _lock:
        for forward in _forwards.values():
            _stop(forward.process)
        _forwards.clear()


atexit.register(stop_port_forwards)


# ----------------------------------------------------------------------------- Ingress

#: Where ingress-nginx's controller Service lives when installed by its manifests, by
#: ``minikube addons enable ingress`` or by ``kubelab sandbox addons enable ingress``.
INGRESS_CONTROLLER = ("ingress-nginx", "ingress-nginx-controller")
#: Headers that belong to one connection and are not passed on (RFC 9110 §7.6.1).
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate",
                         "proxy-authorization", "te", "trailer", "transfer-encoding",
                         "upgrade", "host", "content-length"})


class _HostRelay:
    """A loopback HTTP relay that sends every request on to ``target`` with ``Host: host``:
    what ``curl --resolve host:80:<address>`` or an ``/etc/hosts`` line does for a learner on
    a laptop. The browser, behind Jupyter's proxy, cannot choose the Host header an Ingress
    rule matches on; this relay sets it."""

    def __init__(self, host: str, target_port: int) -> None:
        import http.client
        import http.server

        relay = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in _HOP_BY_HOP}
                headers["Host"] = relay.host
                upstream = http.client.HTTPConnection("127.0.0.1", relay.target_port,
                                                      timeout=30)
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                    data = response.read()
                except OSError as err:
                    self.send_error(502, f"ingress controller unreachable: {err}")
                    return
                finally:
                    upstream.close()
                self.send_response(response.status, response.reason)
                for key, value in response.getheaders():
                    if key.lower() not in _HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _relay

            def log_message(self, format: str, *args: Any) -> None:
                return  # a notebook's output is no place for an access log

        self.host, self.target_port = host, target_port
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True,
                         name=f"ingress relay {host}").start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


_relays: dict[tuple[str, int], _HostRelay] = {}


def _relay_for(host: str, target_port: int) -> _HostRelay:
    with _lock:
        relay = _relays.get((host, target_port))
        if relay is None:
            relay = _relays[(host, target_port)] = _HostRelay(host, target_port)
        return relay


def stop_ingress_relays() -> None:
    """Stop every Host relay this kernel started."""
    with _lock:
        for relay in _relays.values():
            relay.close()
        _relays.clear()


atexit.register(stop_ingress_relays)


def open_ingress(ingress: str, namespace: str | None = None, *, host: str | None = None,
                 path: str | None = None, inline: bool = False,
                 controller: tuple[str, str] = INGRESS_CONTROLLER,
                 cluster: Cluster | None = None) -> AppLink:
    """A link that opens what Ingress ``ingress`` routes ``host`` and ``path`` to (default:
    its first rule and that rule's first path), through the ingress controller.

    The label is what a learner would type once ``<ADDRESS> <host>`` is in ``/etc/hosts``;
    the link goes through Jupyter's proxy to a local relay that sets the Host header and
    passes the request to the controller's Service (``controller``: namespace and name):
    the sandbox's nodePort, or a background ``kubectl port-forward`` on a real cluster. So
    the page is the controller's answer, its 404 for a host no rule names included.
    """
    from kubernetes import client as k8s
    from kubernetes.client.exceptions import ApiException

    from kubelab.connect import current

    cluster = cluster or current()
    namespace = namespace or _namespace(cluster)
    try:
        obj = k8s.NetworkingV1Api(cluster.api_client).read_namespaced_ingress(ingress, namespace)
    except ApiException as err:
        if err.status != 404:
            raise
        return AppLink(ingress, namespace, "", "", "", problem=(
            f'ingress "{ingress}" not found in namespace "{namespace}": create it first '
            "(kubectl get ingress lists what there is)"))
    rules = list((obj.spec.rules if obj.spec else None) or [])
    rule = next((r for r in rules if r.host == host), None) if host else (rules[0] if rules
                                                                           else None)
    if host and rule is None:
        hosts = ", ".join(r.host or "*" for r in rules) or "none"
        return AppLink(ingress, namespace, "", "", "", problem=(
            f'ingress "{ingress}" has no rule for host "{host}" (its hosts: {hosts})'))
    host = host or (rule.host if rule is not None else None)
    if path is None:
        paths = list(rule.http.paths or []) if rule is not None and rule.http else []
        path = (paths[0].path or "/") if paths else "/"
    suffix = path.lstrip("/")
    ctl_namespace, ctl_service = controller
    svc = _read_service(cluster, ctl_service, ctl_namespace)
    if svc is None:
        return AppLink(ingress, namespace, "", "", "", problem=(
            f"no ingress controller: service {ctl_namespace}/{ctl_service} not found (on the "
            "sandbox: kubelab sandbox addons enable ingress; on minikube: minikube addons "
            "enable ingress)"))
    http_port = _service_port(svc, "http") if any(
        p.name == "http" for p in svc.spec.ports or []) else _service_port(svc, None)
    if cluster.is_sandbox and http_port.node_port:
        target, route = int(http_port.node_port), f"nodePort {http_port.node_port}"
    else:
        try:
            target = port_forward(cluster, ctl_namespace, ctl_service, http_port.port)
        except RuntimeError as err:
            return AppLink(ingress, namespace, "", "", "", problem=str(err))
        route = f"kubectl port-forward svc/{ctl_service} -n {ctl_namespace}"
    addresses = [str(i.ip or i.hostname) for i in (obj.status.load_balancer.ingress or [])
                 if i.ip or i.hostname] if obj.status and obj.status.load_balancer else []
    if host:
        relay = _relay_for(host, target)
        local, label = relay.port, f"http://{host}/{suffix}"
        how = (f"Host {host} (as with '{addresses[0] if addresses else '<ADDRESS>'} {host}' in "
               f"/etc/hosts) to the ingress controller via {route}; opened through "
               "Jupyter's proxy")
    else:
        local = target
        label = _url(addresses[0], 80) + suffix if addresses else f"http://127.0.0.1/{suffix}"
        how = f"the ingress controller via {route}; opened through Jupyter's proxy"
    return AppLink(ingress, namespace, label, f"{jupyter_base_url()}proxy/{local}/{suffix}",
                   how, local_port=local, inline=inline)
