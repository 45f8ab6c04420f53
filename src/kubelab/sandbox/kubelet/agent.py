"""The kubelet's I/O shell: app servers, probes on the clock, logs, fault injection.

The pure kubelet (:mod:`.kubelet`) decides; this agent does what needs sockets and time:

* when a container of an HTTP image starts, it starts the image's app on ``127.0.0.1`` and a
  random port and registers it in the :class:`~kubelab.sandbox.fabric.Fabric` under the pod
  IP and the image's port (so Services, the API server proxy and probes really reach it);
* it runs the containers' probes on the clock like the kubelet's prober workers
  (``pkg/kubelet/prober``): HTTP probes go through the fabric (an image's app answers
  in-process, other listeners get a real GET with ``timeoutSeconds``), TCP probes connect,
  exec probes run in the container's shell; a probe outcome that flips a result or must be
  reported as an event requeues the pod;
* it answers the API server's log requests (the kubelet's ``/containerLogs``; errors are
  :class:`~kubelab.sandbox.fabric.LogError` with the kubelet's wording);
* it starts ``kubectl exec`` processes in running containers (:mod:`.exec`) and connects
  ``kubectl port-forward`` streams to the pod's listening ports (:mod:`.portforward`);
* it offers the course's fault injection: stop/start the kubelet, kill a container, force a
  probe to fail;
* it keeps the node's heartbeat on its own task, as the kubelet renews its Lease from its
  own goroutine (``pkg/kubelet/nodelease``) however busy its pod workers are: that loop
  wakes when the Lease is due (the nodelease controller wakes every renew interval), every
  :data:`HEARTBEAT_TICK` simulated seconds while a renewal is overdue, unknown or the
  kubelet is stopped; each wake notes that the kubelet *could* run and, when the Lease is
  due, syncs the node at once instead of queueing behind the pods.
  :meth:`KubeletAgent.could_run_until` is the node-lifecycle controller's lag-aware
  reading of that: the present while the heartbeat task keeps its schedule, frozen at its
  last tick (plus slack) while the process or its event loop is starved. A stopped kubelet
  keeps ticking but renews nothing, so its node still goes NotReady after the grace
  period; an overloaded machine never looks like a dead kubelet.

Start it with ``await agent.start()`` inside the sandbox's event loop and stop it with
``await agent.stop()``; set ``agent.requeue`` to the runner's "reconcile this key now".
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from kubelab.apimachinery.resources import parse_quantity
from kubelab.sandbox import images
from kubelab.sandbox.clock import Clock, hold, sleep_background
from kubelab.sandbox.fabric import ExecError, ExecProcess, Fabric, LogError, PortForwarder
from kubelab.sandbox.images.ingress_nginx import IngressControllerApp
from kubelab.sandbox.images.ingress_server import IngressNginxServer
from kubelab.sandbox.images.netutils import PodNetwork
from kubelab.sandbox.images.server import AppServer
from kubelab.sandbox.images.shell import ProgramRun, Shell
from kubelab.sandbox.kubelet.attach import open_attach
from kubelab.sandbox.kubelet.exec import open_session
from kubelab.sandbox.kubelet.node import LEASE_RENEW_SECONDS
from kubelab.sandbox.kubelet.portforward import PodPortForwarder
from kubelab.sandbox.kubelet.probes import ProbeWorker
from kubelab.sandbox.kubelet.runtime import (
    ContainerRecord,
    LogLine,
    NodeRuntime,
    PodRecord,
    ProbeTask,
    active_probes,
)
from kubelab.sandbox.metrics.model import ContainerFacts
from kubelab.sandbox.reconcile.types import Key

#: Longest the probe loop sleeps before looking for newly due probes (simulated seconds).
PROBE_POLL = 1.0
#: Smallest real-time probe timeout (seconds).
MIN_PROBE_TIMEOUT = 2.0
#: How often a follower looks for new log lines (simulated seconds).
FOLLOW_POLL = 0.5
#: The heartbeat task's period (simulated seconds) while no renewal is scheduled (none yet,
#: one overdue, a stopped kubelet), and its floor in real seconds. Otherwise it sleeps until
#: the Lease is due: one-second ticks between renewals were four wake-ups of the sandbox per
#: simulated second for nothing, a fifth of what skipping ten idle minutes cost.
HEARTBEAT_TICK = 1.0
HEARTBEAT_MIN_REAL = 0.05
#: Real seconds a heartbeat tick may be late before the time counts as a stall.
HEARTBEAT_SLACK = 0.25


def _rfc3339_nano(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


#: A probe path an in-process app is asked with as it is written: no escapes or other
#: characters an HTTP client would encode or normalise first (those take the socket path).
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9._~/-]*(\?[A-Za-z0-9._~=&-]*)?")


def _http_result(status: int) -> tuple[bool, str]:
    if 200 <= status < 400:
        return True, ""
    return False, f"HTTP probe failed with statuscode: {status}"


def http_target(handler: dict[str, object]) -> tuple[int, str]:
    """An ``httpGet`` probe's port and path (a named port is looked up as 80)."""
    port = str(handler.get("port", 80))
    return (int(port) if port.isdigit() else 80), str(handler.get("path") or "/")


async def http_probe(fabric: Fabric, pod_ip: str, handler: dict[str, object],
                     timeout: float) -> tuple[bool, str]:
    """``pkg/probe/http``: 200-399 is success; the failure texts are the kubelet's.

    An image's app (:class:`~kubelab.sandbox.images.server.AppServer`) answers in-process,
    as a container's own ``wget`` reaches it (the same request count, log line and
    answer); any other listener, and a path a client would rewrite, gets a real GET.
    """
    port, path = http_target(handler)
    scheme = str(handler.get("scheme") or "HTTP").lower()
    url = f"{scheme}://{pod_ip}:{port}{path}"
    target = fabric.resolve(pod_ip, port)
    if target is None:
        return False, (f'Get "{url}": dial tcp {pod_ip}:{port}: connect: connection refused')
    inline = fabric.inline(pod_ip, port) if _PLAIN_PATH.fullmatch(path) else None
    if inline is not None:
        # The app is one of the sandbox's own (an AppServer): the same answer, without a
        # client session, a TCP connection and the server's request parsing, which cost
        # about a millisecond of the event loop per probe (every period of every probed
        # container, and all the more while a virtual clock skips simulated minutes).
        status, _ = inline("GET", path, 1.0)
        return _http_result(status)
    host, local = target
    try:
        client_timeout = aiohttp.ClientTimeout(total=timeout)
        async with aiohttp.ClientSession(timeout=client_timeout) as session, session.get(
                f"http://{host}:{local}{path}", headers={"User-Agent": "kube-probe/1.37"},
                allow_redirects=False) as response:
            await response.read()
            return _http_result(response.status)
    except TimeoutError:
        return False, (f'Get "{url}": context deadline exceeded '
                       "(Client.Timeout exceeded while awaiting headers)")
    except aiohttp.ClientError:
        return False, f'Get "{url}": dial tcp {pod_ip}:{port}: connect: connection refused'


def tcp_probe(fabric: Fabric, pod_ip: str, handler: dict[str, object]) -> tuple[bool, str]:
    port_text = str(handler.get("port", 0))
    port = int(port_text) if port_text.isdigit() else 0
    if fabric.resolve(pod_ip, port) is None:
        return False, f"dial tcp {pod_ip}:{port}: connect: connection refused"
    return True, ""


def exec_probe(container: ContainerRecord, handler: dict[str, object]) -> tuple[bool, str]:
    """Run ``exec.command`` against the container's current files and environment."""
    command = list(handler.get("command") or [])  # type: ignore[call-overload]
    if container.image is None:
        return False, "container not running"
    shell = Shell(dict(container.env), dict(container.files))
    run = ProgramRun(images.program(container.image, [str(c) for c in command], [], shell))
    run.advance(3600.0)
    output = "\n".join(text for _, text in run.lines)
    if run.exit_code == 0:
        return True, ""
    if run.exit_code is None:
        return False, "command timed out"
    return False, output or f"command {command!r} exited with {run.exit_code}"


class KubeletAgent:
    """The I/O side of one node's kubelet; also the node's :class:`~.fabric.NodeAgent`."""

    def __init__(self, runtime: NodeRuntime, fabric: Fabric, clock: Clock) -> None:
        self.runtime = runtime
        self.fabric = fabric
        self.clock = clock
        self.requeue: Callable[[Key], None] | None = None
        #: Sync a key now, bypassing the queue (the runner's ``process``); the heartbeat.
        self.sync_now: Callable[[Key], None] | None = None
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._last_tick: datetime | None = None
        #: Simulated seconds from the last tick to the next one.
        self._period = HEARTBEAT_TICK
        self._servers: dict[tuple[str, str], AppServer | IngressNginxServer] = {}
        #: Per pod: the weighted requests its program sent (a load generator is busy sending,
        #: not spinning), and what the last resource scrape saw.
        self._program_requests: dict[str, dict[str, float]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._probe_task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._started = False
        runtime.on_container_started.append(self._container_started)
        runtime.on_container_stopped.append(self._container_stopped)
        runtime.on_pod_removed.append(self._pod_removed)
        runtime.program_network = self._program_network

    # ------------------------------------------------------------------ life cycle

    async def start(self, *, probe_loop: bool = True, heartbeat: bool = True) -> None:
        """Begin serving, probing and heartbeating (call from the sandbox's event loop).

        ``probe_loop=False`` leaves probing to explicit :meth:`probe_once` calls (tests);
        ``heartbeat=False`` leaves the node's heartbeat to the kubelet's own requeues.
        """
        if self._started:
            return
        self._started = True
        self._wake = asyncio.Event()
        if probe_loop:
            self._probe_task = asyncio.create_task(self._probe_loop())
        if heartbeat:
            self._last_tick = self.clock.now()
            self._heartbeat_task = asyncio.create_task(self._heartbeat_loop())
        for pod in list(self.runtime.pods.values()):
            for container in pod.containers.values():
                if container.running:
                    self._container_started(pod, container)
        self._requeue_key(Key("nodes", "", self.runtime.node))

    async def stop(self) -> None:
        """Stop probing and close every app server."""
        self._started = False
        for task in (self._probe_task, self._heartbeat_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._probe_task = self._heartbeat_task = None
        # Server starts and closes are short: let them finish so no socket is left open.
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)
        for (uid, _name), server in list(self._servers.items()):
            await server.close()
            pod = self.runtime.pods.get(uid)
            if pod is not None and pod.ip:
                self.fabric.unregister_pod(pod.ip)
        self._servers.clear()

    def _requeue_key(self, key: Key) -> None:
        if self.requeue is not None:
            self.requeue(key)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            coro.close()
            return
        task: asyncio.Task[None] = loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ containers

    def _container_started(self, pod: PodRecord, container: ContainerRecord) -> None:
        self._wake.set()
        image = container.image
        if not self._started or image is None or image.app is None or container.run is not None:
            return
        self._spawn(self._serve(pod, container))

    async def _serve(self, pod: PodRecord, container: ContainerRecord) -> None:
        assert container.image is not None and container.image.app is not None
        app = container.image.app
        key = (pod.uid, container.name)
        old = self._servers.pop(key, None)
        if old is not None:
            await old.close()

        started = container.started_at or self.clock.now()

        def uptime() -> float:
            return self.clock.sim_elapsed(started)

        def log_request(method: str, path: str, status: int) -> None:
            if app.server.startswith("nginx"):
                when = self.clock.now().strftime("%d/%b/%Y:%H:%M:%S +0000")
                container.logs.append(LogLine(self.clock.now(), (
                    f'10.244.0.1 - - [{when}] "{method} {path} HTTP/1.1" {status} 0 "-" "-" "-"')))
            elif app.request_log:
                now = self.clock.now()
                container.logs.append(LogLine(now, images.request_log_line(
                    app, pod.name, method, path, status, server.requests, uptime(), now)))

        server: AppServer | IngressNginxServer
        if isinstance(app, IngressControllerApp):
            # The controller's nginx routes by the API's Ingresses (it watches the API server
            # through the pod network, as the real controller's informers do).
            server = IngressNginxServer(
                app, pod.name, self.fabric.read_api, self.fabric.resolve, self.clock.now,
                log=lambda line: container.logs.append(LogLine(self.clock.now(), line)))
        else:
            server = AppServer(app, pod.name, log_request, uptime=uptime, now=self.clock.now,
                               files=lambda: container.files)
        port = await server.start()
        if not container.running or self.runtime.pods.get(pod.uid) is not pod:
            await server.close()
            return
        self._servers[key] = server
        self.fabric.register_endpoint(pod.ip, app.port, "127.0.0.1", port)
        if isinstance(server, AppServer):
            self.fabric.register_inline(pod.ip, app.port, server.serve_inline)

    def _container_stopped(self, pod: PodRecord, container: ContainerRecord) -> None:
        server = self._servers.pop((pod.uid, container.name), None)
        if container.image is not None and container.image.app is not None and pod.ip:
            self.fabric.unregister_endpoint(pod.ip, container.image.app.port)
        if server is not None:
            self._spawn(server.close())

    def _program_network(self, pod: PodRecord) -> PodNetwork | None:
        """The network a container's own program gets: cluster DNS and Services, answered
        in-process (the load generator of the HPA walkthrough is such a program). Each of
        its requests stands for the requests its loop lost to the step budget: one over the
        share of the last simulated second the program actually ran."""
        seen = {"offset": 0.0, "skipped": 0.0, "weight": 1.0, "sent": 0.0}
        self._program_requests[pod.uid] = seen

        def weight() -> float:
            run = next((c.run for c in pod.containers.values()
                        if c.run is not None and c.running), None)
            if run is None:
                return 1.0
            span = run.offset - seen["offset"]
            if span >= 1.0:
                lost = min(max(run.skipped - seen["skipped"], 0.0) / span, 0.95)
                seen.update(offset=run.offset, skipped=run.skipped, weight=1 / (1 - lost))
            seen["sent"] += seen["weight"]
            return seen["weight"]

        return self.fabric.program_network(pod.namespace, pod.ip, weight)

    def _pod_removed(self, pod: PodRecord) -> None:
        self._program_requests.pop(pod.uid, None)
        if pod.ip and pod.ip != self.runtime.node_ip:
            self.fabric.unregister_pod(pod.ip)

    # ------------------------------------------------------------------ resource metrics

    def resource_usage(self, active_only: bool = False) -> list[ContainerFacts] | None:
        """The kubelet's ``/metrics/resource`` as facts for the usage model: each running
        container's image, requests served and whether its program is busy; None while the
        kubelet is stopped (metrics-server's scrape of it fails).

        ``active_only``: only the containers whose counters can move (:meth:`_quiet`); the
        quiet rest, whose usage is their image's idle baseline, metrics-server reads when
        asked (:meth:`container_facts`), so a scrape costs what the active containers cost and
        not a walk of every container of the node."""
        if not self.runtime.running:
            return None
        pods = list(self.runtime.pods.values())
        if active_only:
            # Only the pods that can hold an active container: a program's (every program
            # container gets its network through :meth:`_program_network`) or a server's
            # that has served a request; not a walk of every pod of the node.
            uids = dict.fromkeys(self._program_requests)
            uids.update(dict.fromkeys(uid for (uid, _), server in self._servers.items()
                                      if getattr(server, "load", 0.0)))
            pods = [p for uid in uids if (p := self.runtime.pods.get(uid)) is not None]
        facts: list[ContainerFacts] = []
        for pod in pods:
            for c in pod.containers.values():
                if not c.running or c.started_at is None or c.image is None:
                    continue
                if active_only and self._quiet(pod, c):
                    continue
                facts.append(self._facts(pod, c, scrape=True))
        return facts

    def container_facts(self, namespace: str | None = None,
                        name: str | None = None) -> list[ContainerFacts]:
        """The facts of the running containers of one pod (``namespace``/``name``), of a
        namespace, or of the node: read, not scraped (no scrape-time state moves)."""
        if name is not None:
            record = self.runtime.find(namespace or "", name)
            pods = [record] if record is not None else []
        else:
            pods = [p for p in self.runtime.pods.values()
                    if namespace is None or p.namespace == namespace]
        return [self._facts(pod, c, scrape=False) for pod in pods
                for c in pod.containers.values()
                if c.running and c.started_at is not None and c.image is not None]

    def _quiet(self, pod: PodRecord, c: ContainerRecord) -> bool:
        """A container whose usage stays its image's idle baseline: no program of its own
        (a loop may spin or send requests) and a server, if any, that never served a
        request (its request counter only grows, so a container leaves this set for good,
        until a restart starts a new instance)."""
        if c.run is not None or pod.uid in self._program_requests:
            return False
        server = self._servers.get((pod.uid, c.name))
        return server is None or not getattr(server, "load", 0.0)

    def _facts(self, pod: PodRecord, c: ContainerRecord, *, scrape: bool) -> ContainerFacts:
        assert c.image is not None and c.started_at is not None
        server = self._servers.get((pod.uid, c.name))
        app = c.image.app
        program = self._program_requests.get(pod.uid, {})
        sent = program.get("sent", 0.0)
        sending = sent > program.get("scraped", 0.0)
        if program and scrape:
            program["scraped"] = sent
        limit = ((c.spec.get("resources") or {}).get("limits") or {}).get("cpu")
        try:
            cores = float(parse_quantity(limit)) if limit is not None else None
        except ValueError:
            cores = None
        return ContainerFacts(
            pod.namespace, pod.name, pod.uid, c.name, c.restart_count,
            c.image.behaviour.repository, c.started_at,
            requests_served=float(getattr(server, "load", 0.0)),
            cpu_seconds_per_request=app.cpu_seconds_per_request if app else 0.0,
            busy=(c.run is not None and c.run.busy and c.run.exit_code is None
                  and not sending),
            client_requests=sent,
            cpu_limit_cores=cores)

    # ------------------------------------------------------------------ probes

    async def run_probe(self, task: ProbeTask) -> tuple[bool, str]:
        handler = task.worker.spec.handler
        if "httpGet" in handler:
            # timeoutSeconds in real time, with a floor: the in-process apps answer in
            # milliseconds, but a busy event loop must not turn into a failed probe.
            timeout = max(task.worker.spec.timeout / self.clock.speed, MIN_PROBE_TIMEOUT)
            return await http_probe(self.fabric, task.pod.ip, handler["httpGet"], timeout)
        if "tcpSocket" in handler:
            return tcp_probe(self.fabric, task.pod.ip, handler["tcpSocket"])
        if "exec" in handler:
            return exec_probe(task.container, handler["exec"])
        return True, ""

    async def probe_once(self) -> list[Key]:
        """Run every due probe once; return the pods that need a reconcile."""
        tasks = self.runtime.due_probes(self.clock)
        if not tasks:
            return []
        with hold(self.clock):  # probes in flight: a virtual clock waits for their answers
            results = await asyncio.gather(*(self.run_probe(t) for t in tasks))
        keys: list[Key] = []
        for task, (ok, output) in zip(tasks, results, strict=True):
            if task.record(ok, output):
                key = Key("pods", task.pod.namespace, task.pod.name)
                if key not in keys:
                    keys.append(key)
        return keys

    def _probe_settled(self, pod: PodRecord, worker: ProbeWorker) -> bool:
        """Whether the probe's next run can change nothing: the worker is steady and the
        container will answer as it did while time alone passes (an image's own app whose
        route does not turn into its ``later`` form ahead, a port that was open, an exec
        command, which reads only what an exec, a program's step or a volume writes)."""
        if not worker.steady:
            return False
        handler = worker.spec.handler
        if "httpGet" in handler:
            # A probe that failed must have been answered (a listener may yet open a port).
            if worker.last_ok is False and not worker.last_output.startswith("HTTP probe"):
                return False
            port, path = http_target(handler["httpGet"])
            servers = (self._servers.get((pod.uid, name)) for name in pod.containers)
            server = next((s for s in servers if isinstance(s, AppServer)
                           and s.app.port == port), None)
            return server is not None and _PLAIN_PATH.fullmatch(path) is not None \
                and server.answer_fixed(path)
        if "tcpSocket" in handler:
            return bool(worker.last_ok)
        return "exec" in handler

    def probes_settled(self) -> bool:
        """Whether no probe of the node's running containers can change anything on its next
        run (:meth:`_probe_settled`): the probe loop's pause is then upkeep, which a virtual
        clock fires on time but does not skip idle time for (as the HPA's settled resync).
        With this and the kubelet's probe-only requeue as upkeep, lesson 05's grading skipped
        323-394 simulated seconds instead of 531-607 (three interleaved runs each): its probes
        had kept the clock racing while kubectl ran commands that wait for nothing."""
        for pod in self.runtime.pods.values():
            if pod.stopping:
                continue
            for container in pod.containers.values():
                if not container.probes or container.step != "running":
                    continue
                for worker in active_probes(container).values():
                    if not self._probe_settled(pod, worker):
                        return False
        return True

    async def _probe_loop(self) -> None:
        while self._started:
            if self.runtime.running:
                for key in await self.probe_once():
                    self._requeue_key(key)
            delay = self.runtime.next_probe_in(self.clock)
            self._wake.clear()
            if delay is None:
                # No container has a probe: nothing can become due before one starts, and a
                # start wakes this loop. Polling here cost every node a scan of all its pods
                # twenty times a real second at speed 20 (12 % of the loop at 5,000 pods).
                await self._wake.wait()
                continue
            delay = min(max(delay, 0.01), PROBE_POLL)
            pause = sleep_background(self.clock, delay) if self.probes_settled() \
                else self.clock.sleep(delay)
            sleeper = asyncio.ensure_future(pause)
            waker = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                waker.cancel()

    # ------------------------------------------------------------------ heartbeat

    def _tick_seconds(self) -> float:
        """The shortest heartbeat period in simulated seconds (never below the real-time
        floor)."""
        return max(HEARTBEAT_TICK, HEARTBEAT_MIN_REAL * self.clock.speed)

    def heartbeat_tick(self) -> float:
        """One tick: the kubelet could run now; renew the Lease if it is due. Returns the
        simulated seconds until the next tick: until the Lease is next due, or one short
        period while no renewal is scheduled."""
        self._last_tick = self.clock.now()
        self._period = self._tick_seconds()
        if not self.runtime.running or self.sync_now is None:
            return self._period
        renewed = self.runtime.last_lease_renew
        if renewed is None or \
                self.clock.sim_elapsed(renewed) >= LEASE_RENEW_SECONDS - self._period / 2:
            self.sync_now(Key("nodes", "", self.runtime.node))
            renewed = self.runtime.last_lease_renew
        if renewed is not None:
            self._period = max(self._period,
                               LEASE_RENEW_SECONDS - self.clock.sim_elapsed(renewed))
        return self._period

    async def _heartbeat_loop(self) -> None:
        while self._started:
            await sleep_background(self.clock, self.heartbeat_tick())

    def could_run_until(self) -> datetime:
        """The latest moment this node's kubelet could have heartbeated (wall clock).

        The present while the heartbeat task keeps its schedule; while it is overdue by more
        than :data:`HEARTBEAT_SLACK` (the process or the loop is starved), its last tick plus
        one period and the slack — time the kubelet never got cannot count against it.
        """
        now = self.clock.now()
        if self._last_tick is None:
            return now
        allowed = timedelta(seconds=self._period / self.clock.speed + HEARTBEAT_SLACK)
        return min(now, self._last_tick + allowed)

    # ------------------------------------------------------------------ fault injection

    def stop_kubelet(self) -> None:
        """The kubelet process dies: no more heartbeats, status or probes (containers live on)."""
        self.runtime.running = False

    def start_kubelet(self) -> None:
        self.runtime.running = True
        self._requeue_key(Key("nodes", "", self.runtime.node))
        for pod in self.runtime.pods.values():
            self._requeue_key(Key("pods", pod.namespace, pod.name))

    def kill_container(self, namespace: str, pod: str, container: str) -> None:
        """The container's process dies (exit 137), as after an OOM kill or ``kill -9``."""
        record = self._container(namespace, pod, container)
        record.kill_requested = True
        self._requeue_key(Key("pods", namespace, pod))

    def fail_probe(self, namespace: str, pod: str, container: str, kind: str,
                   failing: bool = True, output: str = "HTTP probe failed with statuscode: 500"
                   ) -> None:
        """Force the container's ``kind`` probe (liveness/readiness/startup) to fail."""
        record = self._container(namespace, pod, container)
        worker = record.probes.get(kind)
        if worker is None:
            raise KeyError(f'container "{container}" has no {kind} probe')
        worker.forced_failure = output if failing else None
        self._wake.set()  # the probe is no longer settled: its next run is awaited again

    def _container(self, namespace: str, pod: str, container: str) -> ContainerRecord:
        record = self.runtime.find(namespace, pod)
        if record is None or container not in record.containers:
            raise KeyError(f'container "{container}" in pod "{pod}" is not running on '
                           f"{self.runtime.node}")
        return record.containers[container]

    # ------------------------------------------------------------------ exec (NodeAgent)

    def exec(self, namespace: str, pod: str, container: str, command: list[str], *,
             stdin: bool, tty: bool, network: PodNetwork | None = None) -> ExecProcess:
        """The kubelet's ``/exec``: a stopped kubelet cannot be dialled, and only a running
        container can start a process (it then sees what its program has written so far)."""
        if not self.runtime.running:
            raise ExecError(f"error dialing backend: dial tcp {self.runtime.node_ip}:10250: "
                            "connect: connection refused", 500, "InternalError")
        record = self.runtime.find(namespace, pod)
        if record is None:  # the kubelet's getExec: GetPodByName, then findContainer
            raise ExecError("pod does not exist", 404, "NotFound", plain=True)
        c = record.containers.get(container)
        if c is None:
            raise ExecError(f'container not found ("{container}")', 500, plain=True)
        if c.step == "running" and c.run is not None and c.started_at is not None:
            c.run.advance(self.clock.sim_elapsed(c.started_at))
        return open_session(c, command, stdin=stdin, tty=tty, now=self.clock.now,
                            network=network)

    # ------------------------------------------------------------------ attach (NodeAgent)

    def attach(self, namespace: str, pod: str, container: str, *, stdin: bool, tty: bool,
               network: PodNetwork | None = None) -> ExecProcess:
        """The kubelet's ``/attach`` (``getAttach``): as ``/exec``, but the session is the
        container's own process (:mod:`.attach`)."""
        if not self.runtime.running:
            raise ExecError(f"error dialing backend: dial tcp {self.runtime.node_ip}:10250: "
                            "connect: connection refused", 500, "InternalError")
        record = self.runtime.find(namespace, pod)
        if record is None:
            raise ExecError("pod does not exist", 404, "NotFound", plain=True)
        c = record.containers.get(container)
        if c is None:
            raise ExecError(f'container not found ("{container}")', 500, plain=True)
        return open_attach(c, stdin=stdin, tty=tty, clock=self.clock, now=self.clock.now,
                           network=network)

    def attach_log(self, namespace: str, pod: str, container: str) -> Callable[[str], None]:
        """Where an attached session's output goes besides the client: an interactive shell's
        terminal output is its container's log (``kubectl logs`` shows the session, as
        kubectl's "will be recorded in container logs" warns); other containers log already."""
        record = self.runtime.find(namespace, pod)
        c = record.containers.get(container) if record is not None else None
        pending = [""]

        def write(text: str) -> None:
            if c is None or not c.interactive:
                return
            pending[0] += text.replace("\r\n", "\n").replace("\r", "")
            *lines, pending[0] = pending[0].split("\n")
            now = self.clock.now()
            c.logs.extend(LogLine(now, line) for line in lines)

        return write

    def attach_ended(self, namespace: str, pod: str, container: str,
                     exit_code: int | None) -> None:
        """An attached session is over: if it ended the container's interactive shell, the
        container terminates with the shell's status (a detach, None, leaves it running)."""
        record = self.runtime.find(namespace, pod)
        c = record.containers.get(container) if record is not None else None
        if c is not None and c.interactive and c.running and exit_code is not None:
            c.attach_exit = exit_code
            self._requeue_key(Key("pods", namespace, pod))

    # ------------------------------------------------------------------ port-forward (NodeAgent)

    def port_forward(self, namespace: str, pod: str) -> PortForwarder:
        """The kubelet's ``/portForward``: a stopped kubelet cannot be dialled; a pod this
        node does not run answers 404 ``pod does not exist`` (``getPortForward``)."""
        if not self.runtime.running:
            raise ExecError(f"error dialing backend: dial tcp {self.runtime.node_ip}:10250: "
                            "connect: connection refused", 500, "InternalError")
        record = self.runtime.find(namespace, pod)
        if record is None:
            raise ExecError("pod does not exist", 404, "NotFound", plain=True)
        return PodPortForwarder(self.fabric, self.runtime, record)

    # ------------------------------------------------------------------ logs (NodeAgent)

    def _log_source(self, namespace: str, pod: str, container: str,
                    previous: bool) -> list[LogLine]:
        """``validateContainerLogStatus`` (``pkg/kubelet/kubelet_pods.go``), then the lines."""
        record = self.runtime.find(namespace, pod)
        if record is None:
            raise LogError(f'pod "{pod}" not found')
        c = record.containers.get(container)
        if c is None:
            raise LogError(f'container "{container}" in pod "{pod}" is not available')
        if c.step == "running" and c.run is not None and c.started_at is not None:
            c.run.advance(self.clock.sim_elapsed(c.started_at))
        if previous:
            if c.step == "crash-backoff":
                return c.all_logs(self.clock)
            if c.last_terminated is None:
                raise LogError(f'previous terminated container "{container}" in pod "{pod}" '
                               "not found")
            return list(c.previous_logs)
        if c.ever_started:
            return c.all_logs(self.clock)
        reason = c.waiting_reason or "ContainerCreating"
        if reason == "ErrImagePull":
            raise LogError(f'container "{container}" in pod "{pod}" is waiting to start: '
                           "image can't be pulled")
        if reason == "ImagePullBackOff":
            raise LogError(f'container "{container}" in pod "{pod}" is waiting to start: '
                           "trying and failing to pull image")
        raise LogError(f'container "{container}" in pod "{pod}" is waiting to start: {reason}')

    def logs(self, namespace: str, pod: str, container: str, *, previous: bool = False,
             tail_lines: int | None = None, timestamps: bool = False,
             since_seconds: int | None = None) -> list[str]:
        lines = self._log_source(namespace, pod, container, previous)
        if since_seconds is not None:
            cutoff = self.clock.now() - timedelta(seconds=since_seconds / self.clock.speed)
            lines = [line for line in lines if line.at >= cutoff]
        if tail_lines is not None:
            lines = lines[-tail_lines:] if tail_lines > 0 else []
        if timestamps:
            return [f"{_rfc3339_nano(line.at)} {line.text}\n" for line in lines]
        return [f"{line.text}\n" for line in lines]

    async def follow_logs(self, namespace: str, pod: str,
                          container: str) -> AsyncIterator[str]:
        sent = 0
        record = self.runtime.find(namespace, pod)
        c = record.containers.get(container) if record else None
        instance = c.container_id if c else ""
        while True:
            try:
                lines = self._log_source(namespace, pod, container, False)
            except LogError:
                return
            c = record.containers.get(container) if record else None
            if c is None or c.container_id != instance:
                return
            for line in lines[sent:]:
                yield f"{line.text}\n"
            sent = len(lines)
            if not c.running or self.runtime.pods.get(record.uid if record else "") is None:
                return
            await self.clock.sleep(FOLLOW_POLL)
