"""The node's in-memory container runtime: what containerd would know about running pods.

A real kubelet asks the container runtime (CRI) which sandboxes and containers exist, their
states, exit codes and logs, and keeps probe results in its own memory
(``pkg/kubelet/prober/results``). The simulated kubelet keeps the same facts here, per node:
one :class:`PodRecord` per pod it runs (its IP, whether its sandbox exists, whether it is
being stopped) with one :class:`ContainerRecord` per container (its lifecycle *step*, restart
count, last termination, the running program and its log, probe workers), the node's image
cache, the pod IP allocator for the node's ``10.244.<n>.0/24`` CIDR, and listeners through
which the I/O shell (:mod:`.agent`) learns that a container started or stopped.

Only the kubelet reconciler changes these records (through :mod:`.lifecycle`); the agent
records probe outcomes and fault injections, then asks for a reconcile.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kubelab.apimachinery.types import Obj
from kubelab.sandbox.clock import Clock
from kubelab.sandbox.images import Image, ProgramRun
from kubelab.sandbox.images.netutils import PodNetwork
from kubelab.sandbox.images.shell import MAX_LOG_LINES
from kubelab.sandbox.kubelet.backoff import Backoff
from kubelab.sandbox.kubelet.disks import Disks
from kubelab.sandbox.kubelet.probes import ProbeWorker


@dataclass
class LogLine:
    at: datetime
    text: str


@dataclass
class ContainerRecord:
    """One container of a pod, as the runtime and the kubelet's caches see it.

    ``step`` names the container's place in the lifecycle stages (:mod:`.stages`);
    ``since`` is when it got there, which is what stage delays count from.
    """

    name: str
    spec: Obj
    init: bool
    index: int
    since: datetime
    step: str = "waiting"
    waiting_reason: str = "ContainerCreating"
    waiting_message: str = ""
    image: Image | None = None
    image_error: str = ""
    pull_took: float = 0.0
    restart_count: int = 0
    container_id: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    exit_code: int | None = None
    term_reason: str = ""
    last_terminated: Obj | None = None
    run: ProgramRun | None = None
    #: The environment the process started with (``env``/``envFrom``, ``HOSTNAME``…).
    env: dict[str, str] = field(default_factory=dict)
    #: The container's file system: its volume mounts, and what its programs wrote.
    files: dict[str, str] = field(default_factory=dict)
    logs: list[LogLine] = field(default_factory=list)
    previous_logs: list[LogLine] = field(default_factory=list)
    probes: dict[str, ProbeWorker] = field(default_factory=dict)
    kill_reason: str = ""
    stop_seconds: float = 0.0
    ever_started: bool = False
    #: Fault injection: the process is killed on the next reconcile.
    kill_requested: bool = False
    #: An ephemeral container (``kubectl debug``): started once the pod runs, never restarted.
    ephemeral: bool = False
    #: The process is a shell reading the container's stdin (``stdin: true``, no ``-c``):
    #: it runs until someone attaches and exits it (``kubectl debug -it``, ``run -it``).
    interactive: bool = False
    #: The exit status of an :attr:`interactive` shell, once an attached session ended it.
    attach_exit: int | None = None

    @property
    def running(self) -> bool:
        return self.step in ("running", "killing")

    @property
    def done(self) -> bool:
        """Terminated and not going to restart (init containers: completed)."""
        return self.step == "terminated-final"

    @property
    def field_path(self) -> str:
        kind = ("ephemeralContainers" if self.ephemeral
                else "initContainers" if self.init else "containers")
        return f"spec.{kind}{{{self.name}}}"

    def all_logs(self, clock: Clock) -> list[LogLine]:
        """Static lines plus the program's output so far (program output runs lazily)."""
        lines = list(self.logs)
        if self.run is not None and self.started_at is not None:
            for offset, text in self.run.lines:
                lines.append(LogLine(self.started_at + timedelta(seconds=offset / clock.speed),
                                     text))
            lines.sort(key=lambda line: line.at)
        return lines[-MAX_LOG_LINES:]


@dataclass
class PodRecord:
    uid: str
    namespace: str
    name: str
    accepted_at: datetime
    containers: dict[str, ContainerRecord] = field(default_factory=dict)
    #: The pod's place in :data:`~.stages.POD_STAGES` and when it got there.
    step: str = "accepted"
    since: datetime | None = None
    ip: str = ""
    sandbox_ready: bool = False
    stopping: bool = False
    stop_started: datetime | None = None
    terminal_phase: str = ""
    mount_error: str = ""
    events: list[tuple[str, str, str, str]] = field(default_factory=list)
    #: The pod's ``emptyDir`` directories (volume name → files): they outlive a container
    #: restart and go with the pod.
    volumes: dict[str, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.since is None:
            self.since = self.accepted_at

    @property
    def full_name(self) -> str:
        """``format.Pod``: ``name_namespace(uid)`` as kubelet messages print a pod."""
        return f"{self.name}_{self.namespace}({self.uid})"

    def ordered(self) -> list[ContainerRecord]:
        inits = sorted((c for c in self.containers.values() if c.init), key=lambda c: c.index)
        mains = sorted((c for c in self.containers.values() if not c.init and not c.ephemeral),
                       key=lambda c: c.index)
        ephemeral = sorted((c for c in self.containers.values() if c.ephemeral),
                           key=lambda c: c.index)
        return inits + mains + ephemeral


Listener = Callable[[PodRecord, ContainerRecord], None]


class NodeRuntime:
    """Everything the simulated kubelet of one node remembers between reconciles."""

    def __init__(self, node: str, index: int, disks: Disks | None = None) -> None:
        self.node = node
        #: The network a container's own program gets (the agent lends the fabric's).
        self.program_network: Callable[[PodRecord], PodNetwork | None] = lambda pod: None
        self.index = index
        self.network = ipaddress.ip_network(f"10.244.{index}.0/24")
        self.node_ip = f"172.18.0.{index + 2}"
        self.pods: dict[str, PodRecord] = {}
        #: (namespace, name) -> uid of the admitted pod of that name (see :meth:`find`).
        self._names: dict[tuple[str, str], str] = {}
        self.images: dict[str, Image] = {}
        self.running = True
        self.pull_backoff = Backoff()
        self.crash_backoff = Backoff()
        self._last_ip = 1
        self.on_container_started: list[Listener] = []
        self.on_container_stopped: list[Listener] = []
        self.on_pod_removed: list[Callable[[PodRecord], None]] = []
        self.last_lease_renew: datetime | None = None
        self.last_status_report: datetime | None = None
        self.boot_id = _hex_uuid(f"boot/{node}")
        #: Persistent volumes' files, shared by the sandbox's nodes (:mod:`.disks`).
        self.disks = disks if disks is not None else Disks()

    @property
    def pod_cidr(self) -> str:
        return str(self.network)

    def add(self, record: PodRecord) -> None:
        """Admit a pod: keep its record, and its name for :meth:`find`."""
        self.pods[record.uid] = record
        self._names[(record.namespace, record.name)] = record.uid

    def find(self, namespace: str, name: str) -> PodRecord | None:
        """The record of the pod ``namespace/name`` on this node: one lookup (every event
        of the node's pods and every pod sync asks; a scan of the node's pods was a
        hundred comparisons each at 5,000 pods on 50 nodes)."""
        uid = self._names.get((namespace, name))
        record = self.pods.get(uid) if uid is not None else None
        if record is not None and record.namespace == namespace and record.name == name:
            return record
        if len(self._names) == len(self.pods):
            return None
        for record in self.pods.values():  # a record put in ``pods`` without add()
            if record.namespace == namespace and record.name == name:
                return record
        return None

    def allocate_ip(self) -> str:
        """host-local IPAM: the next free address after the last one handed out."""
        used = {p.ip for p in self.pods.values() if p.ip and p.ip != self.node_ip}
        hosts = self.network.num_addresses - 2
        for step in range(1, hosts + 1):
            candidate = (self._last_ip - 2 + step) % (hosts - 1) + 2
            ip = str(self.network.network_address + candidate)
            if ip not in used:
                self._last_ip = candidate
                return ip
        raise RuntimeError(f"no IP addresses available in range set: {self.network}")

    def remove(self, uid: str) -> None:
        record = self.pods.pop(uid, None)
        if record is None:
            return
        if self._names.get((record.namespace, record.name)) == uid:
            del self._names[(record.namespace, record.name)]
        for container in record.containers.values():
            if container.running:
                self.notify_stopped(record, container)
            if container.run is not None:
                container.run.stop()
        for listener in self.on_pod_removed:
            listener(record)

    def notify_started(self, pod: PodRecord, container: ContainerRecord) -> None:
        for listener in self.on_container_started:
            listener(pod, container)

    def notify_stopped(self, pod: PodRecord, container: ContainerRecord) -> None:
        for listener in self.on_container_stopped:
            listener(pod, container)

    # --- probes (driven by the agent or by tests)

    def due_probes(self, clock: Clock) -> list[ProbeTask]:
        tasks: list[ProbeTask] = []
        for pod in self.pods.values():
            if pod.stopping:
                continue
            for container in pod.containers.values():
                # Most containers have no probe: no dict of active probes is built for them
                # (the probe loop looks at every pod of the node on each of its turns).
                if not container.probes or container.step != "running":
                    continue
                for kind, worker in active_probes(container).items():
                    if worker.due_in(clock) <= 1e-9:
                        tasks.append(ProbeTask(pod, container, kind, worker))
        return tasks

    def next_probe_in(self, clock: Clock) -> float | None:
        """Simulated seconds until the next probe is due; None when no container has a
        probe to run (nothing is due until a container starts)."""
        delays = [worker.due_in(clock) for pod in self.pods.values() if not pod.stopping
                  for c in pod.containers.values() if c.probes and c.step == "running"
                  for worker in active_probes(c).values()]
        return max(0.0, min(delays)) if delays else None


@dataclass
class ProbeTask:
    pod: PodRecord
    container: ContainerRecord
    kind: str
    worker: ProbeWorker

    def record(self, ok: bool, output: str) -> bool:
        """Count the outcome; True when the pod needs a reconcile (flip or event to write)."""
        if self.pod.stopping or self.container.step != "running":
            return False
        flipped = self.worker.observe(ok, output)
        return flipped or bool(self.worker.pending_failures)


def active_probes(container: ContainerRecord) -> dict[str, ProbeWorker]:
    """The probes that run now: only the startup probe until it succeeds, then the others."""
    startup = container.probes.get("startup")
    if startup is not None and not startup.result:
        return {"startup": startup}
    return {k: w for k, w in container.probes.items() if k != "startup"}


def container_id(uid: str, name: str, restart: int) -> str:
    return "containerd://" + hashlib.sha256(f"{uid}/{name}/{restart}".encode()).hexdigest()


def _hex_uuid(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def machine_id(node: str) -> str:
    return hashlib.sha256(f"machine/{node}".encode()).hexdigest()[:32]


def system_uuid(node: str) -> str:
    return _hex_uuid(f"system/{node}")
