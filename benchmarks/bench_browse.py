"""Browsing an app: one page of the kdemo app, fetched the ways a learner's browser can.

* **Through the sandbox's nodePort** (``127.0.0.1:<nodePort>``, the simulated kube-proxy
  relaying the TCP connection to a ready endpoint's app server), and
* **through jupyter-server-proxy** (``<Jupyter>/proxy/<nodePort>/``: what the link that
  ``cluster.open_app`` shows opens, one more HTTP hop through the Jupyter server),

each beside the floor of the same page fetched through the API server's service proxy
(``/api/v1/namespaces/default/services/kdemo-svc:80/proxy/``, HTTPS with the bearer token),
the only way there was before. Every request opens a new connection, as jupyter-server-proxy's
HTTP client does. Medians of 30.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import report
from kubelab.connect import kubectl_binary
from kubelab.sandbox import daemon
from kubelab.sandbox.cluster import free_port

REPEATS = 30
KDEMO = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "kdemo-dep"},
    "spec": {"replicas": 3, "selector": {"matchLabels": {"name": "kdemo"}},
             "template": {"metadata": {"labels": {"name": "kdemo"}},
                          "spec": {"containers": [{"name": "kdemo",
                                                   "image": "apprenda/kdemo:v1",
                                                   "ports": [{"containerPort": 8080}]}]}}}}


def _get(conn: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> bytes:
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        if response.status != 200 or b"Hello from kdemo-dep-" not in body:
            raise RuntimeError(f"GET {path}: {response.status} {body[:200]!r}")
        return body
    finally:
        conn.close()


def _median(run: Callable[[], object]) -> float:
    run()  # warm
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _jupyter(root: Path, port: int, token: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(root / "config"),
               JUPYTER_RUNTIME_DIR=str(root / "runtime"), JUPYTER_DATA_DIR=str(root / "data"))
    env.pop("JUPYTERHUB_SERVICE_PREFIX", None)
    cmd = [sys.executable, "-m", "jupyter", "server", "--no-browser", "--ip=127.0.0.1",
           f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={root}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def browse() -> list[report.Figure]:
    root = Path(tempfile.mkdtemp(prefix="kubelab-bench-"))
    state = root / "sandbox"
    info = daemon.start(state, nodes=3, speed=20.0)
    env = dict(os.environ, KUBECONFIG=str(state / "kubeconfig"))

    def kubectl(*args: str, stdin: str | None = None) -> str:
        return subprocess.run([kubectl_binary(), "--cache-dir", str(state / "cache"), *args],
                              input=stdin, capture_output=True, text=True, check=True,
                              env=env, timeout=180).stdout

    token, jupyter_port = "kubelab-bench", free_port()
    server = _jupyter(root, jupyter_port, token)
    try:
        kubectl("apply", "-f", "-", stdin=json.dumps(KDEMO))
        kubectl("expose", "deployment", "kdemo-dep", "--type=LoadBalancer", "--name=kdemo-svc",
                "--port=80", "--target-port=8080")
        kubectl("rollout", "status", "deployment/kdemo-dep", "--timeout=120s")
        node_port = int(kubectl("get", "svc", "kdemo-svc", "-o",
                                "jsonpath={.spec.ports[0].nodePort}"))
        tls = ssl.create_default_context(cadata=daemon.ca_of(state).decode())
        api_path = "/api/v1/namespaces/default/services/kdemo-svc:80/proxy/"
        auth = {"Authorization": f"Bearer {info.token}"}

        def via_api() -> bytes:
            return _get(http.client.HTTPSConnection("127.0.0.1", info.port, context=tls,
                                                    timeout=10), api_path, auth)

        def via_node_port() -> bytes:
            return _get(http.client.HTTPConnection("127.0.0.1", node_port, timeout=10), "/", {})

        def via_jupyter() -> bytes:
            return _get(http.client.HTTPConnection("127.0.0.1", jupyter_port, timeout=10),
                        f"/proxy/{node_port}/", {"Authorization": f"token {token}"})

        deadline = time.monotonic() + 60
        while True:  # the endpoints follow readiness; Jupyter takes a few seconds to start
            try:
                via_api(), via_node_port(), via_jupyter()
                break
            except (OSError, RuntimeError, http.client.HTTPException):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        api = _median(via_api)
        node = _median(via_node_port)
        jupyter = _median(via_jupyter)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
        daemon.stop(state)
    return [report.figure("page via nodePort (median)", node, "s", api),
            report.figure("page via jupyter-server-proxy (median)", jupyter, "s", api)]


def main() -> None:
    report.write("bench_browse", browse())


if __name__ == "__main__":
    sys.exit(main())
