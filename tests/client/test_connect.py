"""``kubelab.connect``: choosing a cluster by kubeconfig, and fault injection through it.

A learner may reach the sandbox through ``KUBELAB_KUBECONFIG`` (a merged kubeconfig, another
context): fault injection must still work, since it goes through the client's configuration.
A real cluster has no fault endpoint: the error must say what to do there instead.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from conformance.support import wait_for
from sandbox_support import SandboxHandle

from kubelab import connect as connect_module
from kubelab.connect import Cluster, connect

WORKER = "kubelab-worker"


@pytest.fixture(scope="module")
def sandbox(sandbox: SandboxHandle) -> SandboxHandle:
    """The shared sandbox once its kubelets have registered their nodes and are Ready."""
    wait_for(lambda: sandbox.kubectl("wait", "--for=condition=Ready", f"node/{WORKER}",
                                     "--timeout=10s", check=False).returncode == 0,
             60, f"node {WORKER} Ready")
    return sandbox


@pytest.fixture(autouse=True)
def _forget_current(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(connect_module, "_current", None)
    monkeypatch.delenv("KUBELAB_KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBELAB_CONTEXT", raising=False)
    monkeypatch.setenv("KUBECONFIG", "/nonexistent")
    yield


def _node_ready(cluster: Cluster, name: str) -> bool:
    node = cluster.core().read_node(name)
    ready = next(c for c in node.status.conditions if c.type == "Ready")
    return bool(ready.status == "True")


def test_connect_by_environment_kubeconfig_reaches_the_sandbox(
        sandbox: SandboxHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBELAB_KUBECONFIG", str(sandbox.kubeconfig))
    cluster = connect()
    assert cluster.is_sandbox and cluster.sandbox_dir is None   # reached, not launched
    assert cluster.kubeconfig == sandbox.kubeconfig
    names = [n.metadata.name for n in cluster.core().list_node().items]
    assert WORKER in names
    proc = cluster.kubectl("get", "nodes", "-o", "name")
    assert proc.returncode == 0 and f"node/{WORKER}" in proc.stdout


def test_fault_injection_works_through_a_kubeconfig_context(
        sandbox: SandboxHandle, tmp_path: Path) -> None:
    # A merged kubeconfig whose current context is somewhere else: the named context wins.
    config = yaml.safe_load(sandbox.kubeconfig.read_text())
    config["contexts"].append({"name": "elsewhere",
                               "context": {"cluster": "nowhere", "user": "nobody"}})
    config["current-context"] = "elsewhere"
    merged = tmp_path / "merged"
    merged.write_text(yaml.safe_dump(config))
    cluster = connect(kubeconfig=merged, context="kubelab")
    result = cluster.fault("stop-kubelet", node=WORKER)
    assert result["status"] == "Success"
    try:
        assert cluster.fault("start-kubelet", node=WORKER)["message"] == "start-kubelet done"
    finally:
        cluster.fault("start-kubelet", node=WORKER)
    assert _node_ready(cluster, WORKER)


def test_unknown_fault_says_what_was_wrong(sandbox: SandboxHandle) -> None:
    cluster = connect(kubeconfig=sandbox.kubeconfig)
    with pytest.raises(RuntimeError, match=r"fault stop-kubelet refused: .*node 'no-such-node'"):
        cluster.fault("stop-kubelet", node="no-such-node")
    with pytest.raises(RuntimeError, match=r"unknown fault target: .*action 'melt'"):
        cluster.fault("melt")


class _RealClusterHandler(BaseHTTPRequestHandler):
    """Answers like an API server that has never heard of kubelab: 404 for the fault path."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = (b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
                b'"message":"the server could not find the requested resource",'
                b'"reason":"NotFound","details":{},"code":404}')
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_fault_on_a_cluster_without_the_endpoint_says_what_to_do_instead(
        tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RealClusterHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "real",
            "clusters": [{"name": "real", "cluster": {
                "server": f"http://127.0.0.1:{server.server_address[1]}"}}],
            "users": [{"name": "real", "user": {"token": "t"}}],
            "contexts": [{"name": "real", "context": {"cluster": "real", "user": "real"}}]}))
        cluster = connect(kubeconfig=kubeconfig)
        with pytest.raises(RuntimeError, match=r"exists only in the kubelab sandbox.*docker stop"):
            cluster.fault("stop-kubelet", node="kind-worker")
    finally:
        server.shutdown()
        server.server_close()


def test_under_nbgrader_the_private_sandbox_runs_on_virtual_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Grading sandboxes skip idle time (``--virtual-time``); a learner's sandbox does not."""
    from kubelab.sandbox import daemon

    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.delenv("KUBELAB_VIRTUAL_TIME", raising=False)
    cluster = connect()
    try:
        assert cluster.private and cluster.sandbox_dir is not None
        info = daemon.running(cluster.sandbox_dir)
        assert info is not None
        argv = Path(f"/proc/{info.pid}/cmdline").read_bytes().split(b"\0")
        assert b"--virtual-time" in argv
    finally:
        cluster.close()


def test_a_sandbox_reached_by_kubeconfig_is_still_the_sandbox(
        sandbox: SandboxHandle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A grader hands a submission's kernel only its sandbox's kubeconfig: lessons that
    inject faults (lesson 9) must still know they run on the sandbox, not tell the learner
    to `docker stop` a kind node. A kind-style context on the same file is not the sandbox."""
    monkeypatch.setattr(connect_module, "_current", None)
    monkeypatch.setenv("KUBELAB_KUBECONFIG", str(sandbox.kubeconfig))
    assert connect().is_sandbox
    config = yaml.safe_load(sandbox.kubeconfig.read_text())
    config["contexts"].append({"name": "kind-kubelab",
                               "context": {"cluster": "kubelab", "user": "kubelab"}})
    config["current-context"] = "kind-kubelab"
    other = tmp_path / "kubeconfig"
    other.write_text(yaml.safe_dump(config))
    assert not Cluster(other).is_sandbox
    assert Cluster(other, "kubelab").is_sandbox



PRELOAD_PROBE = """
import sys, threading
from kubelab.connect import connect
cluster = connect(kubeconfig=sys.argv[1], preload_client=sys.argv[2] == "1")
threads = [t for t in threading.enumerate() if t.name == "kubelab-preload-client"]
if sys.argv[3] == "race":
    # The notebook's next cells import the same modules at once: they must just work.
    from kubernetes.client import AppsV1Api, CoreV1Api, V1Pod
    assert V1Pod(metadata={"name": "p"}).metadata.name == "p"
for t in threads:
    t.join(120)
print(bool(threads), "kubernetes.client.api.apps_v1_api" in sys.modules)
"""


@pytest.mark.parametrize(("preload", "mode", "expected"), [
    ("1", "wait", "True True"), ("0", "wait", "False False"), ("1", "race", "True True")])
def test_connect_preloads_the_client_api_classes_in_the_background(
        tmp_path: Path, preload: str, mode: str, expected: str) -> None:
    import subprocess
    import sys

    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    proc = subprocess.run([sys.executable, "-c", PRELOAD_PROBE, str(kubeconfig), preload, mode],
                          capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[-2:] == expected.split()


def test_kubectl_runs_with_a_lazier_go_collector_unless_told_otherwise(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A notebook's kubectl processes get GOGC/GOMEMLIMIT (a fifth less CPU per run); a
    learner's own setting of either wins."""
    fake = tmp_path / "kubectl"
    fake.write_text('#!/bin/sh\necho "GOGC=$GOGC GOMEMLIMIT=$GOMEMLIMIT KUBECONFIG=$KUBECONFIG"\n')
    fake.chmod(0o755)
    monkeypatch.setattr(connect_module, "kubectl_binary", lambda: str(fake))
    monkeypatch.delenv("GOGC", raising=False)
    monkeypatch.delenv("GOMEMLIMIT", raising=False)
    cluster = Cluster(tmp_path / "kubeconfig")
    expected = connect_module.KUBECTL_GO_ENV
    assert cluster.kubectl("version").stdout.split() == [
        f"GOGC={expected['GOGC']}", f"GOMEMLIMIT={expected['GOMEMLIMIT']}",
        f"KUBECONFIG={tmp_path / 'kubeconfig'}"]
    monkeypatch.setenv("GOGC", "100")
    assert cluster.kubectl("version").stdout.split()[:2] == [
        "GOGC=100", f"GOMEMLIMIT={expected['GOMEMLIMIT']}"]


def test_the_background_import_pauses_the_cyclic_collector_only_while_it_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's import runs without Python's cycle collector (an eighth of its CPU was
    spent collecting nothing); the collector is on again once it ends, with what was alive
    then in its permanent generation (later full collections skip the client's classes)."""
    import gc
    import sys

    (tmp_path / "kubelab_probe_gc.py").write_text("import gc\nCOLLECTING = gc.isenabled()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "kubelab_probe_gc", raising=False)
    monkeypatch.setattr(connect_module, "_preloading", None)
    assert gc.isenabled()
    gc.unfreeze()
    thread = connect_module._preload(("kubelab_probe_gc",))
    assert thread is not None
    thread.join(60)
    assert sys.modules["kubelab_probe_gc"].COLLECTING is False
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0
    gc.unfreeze()
    monkeypatch.delitem(sys.modules, "kubelab_probe_gc")


def test_kubelab_kubectl_chooses_the_kubectl_that_notebooks_and_graded_kernels_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``KUBELAB_KUBECTL`` (a path or a name on PATH) picks the kubectl, a graded kernel keeps
    it, and a name that is no executable says so instead of falling back silently."""
    from autograders.outside import kernel_env

    own = tmp_path / "bin" / "kubectl-1.33"
    own.parent.mkdir()
    own.write_text('#!/bin/sh\necho "own kubectl $*"\n')
    own.chmod(0o755)
    monkeypatch.delenv("KUBELAB_KUBECTL", raising=False)
    default = connect_module.kubectl_binary()
    assert Path(default).name == "kubectl"

    monkeypatch.setenv("KUBELAB_KUBECTL", str(own))
    assert connect_module.kubectl_binary() == str(own)
    assert Cluster(tmp_path / "kubeconfig").kubectl("get", "pods").stdout == \
        "own kubectl get pods\n"
    assert kernel_env(tmp_path, tmp_path / "kubeconfig", None)["KUBELAB_KUBECTL"] == str(own)

    monkeypatch.setenv("PATH", f"{own.parent}:{os.environ['PATH']}")
    monkeypatch.setenv("KUBELAB_KUBECTL", own.name)
    assert connect_module.kubectl_binary() == str(own)

    monkeypatch.setenv("KUBELAB_KUBECTL", str(tmp_path / "no-such-kubectl"))
    with pytest.raises(FileNotFoundError, match=r"KUBELAB_KUBECTL=.*no-such-kubectl"):
        connect_module.kubectl_binary()
