"""metrics-server: scrape the kubelets on the sandbox clock, serve ``metrics.k8s.io``.

Mirrors kubernetes-sigs/metrics-server: every ``--metric-resolution`` (15 s) it scrapes each
node's kubelet (here the simulated kubelet's :meth:`resource_usage`, through the fabric),
keeps per container the rate between two cumulative samples (``window``, the time between
them) and the time of the scrape (``timestamp``), and answers ``NodeMetrics`` and ``PodMetrics`` lists as the
aggregated API ``metrics.k8s.io/v1beta1``. A container that started after the previous
scrape is measured from its start (metrics-server uses the container's start time as the
earlier point), so a new pod has metrics after one scrape. A pod appears only when every
container it runs has metrics; a node whose kubelet does not answer (stopped) is left out,
and so are its pods. Node usage is the pods' usage plus the node's own system overhead
(kubelet, container runtime, OS), as a node's root cgroup would show it.

Simulated: the rate is taken over the scrapes of the last minute (:data:`RATE_SPAN`) rather
than the last one, so the window reads up to a minute; upstream's is the last resolution.

The HorizontalPodAutoscaler controller reads the same numbers (:meth:`pod_usage`), as its
resource metrics client reads ``PodMetrics`` through the API server.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from kubelab.sandbox.clock import Clock
from kubelab.sandbox.metrics.model import MIB, ContainerFacts, Usage, interval_usage

#: metrics-server's default ``--metric-resolution``.
METRIC_RESOLUTION = 15.0
API_VERSION = "metrics.k8s.io/v1beta1"
#: Rates are taken over the scrapes of this many simulated seconds (the window reported):
#: the kubelet steps programs in bursts (every half real second, 25 simulated seconds at
#: speed 50), so a load generator's requests arrive in bursts a 15 s window would split.
RATE_SPAN = 60.0
#: The node's own use (kubelet, containerd, the OS): (millicores, MiB).
SYSTEM_OVERHEAD = {"control-plane": (95.0, 520.0), "worker": (22.0, 210.0)}


class UsageSource(Protocol):
    """A kubelet's ``/metrics/resource``: the facts of its running containers, or None
    when the kubelet does not answer."""

    def resource_usage(self) -> list[ContainerFacts] | None: ...


@dataclass(frozen=True)
class ContainerPoint:
    """One container's last measured usage."""

    usage: Usage
    timestamp: datetime
    window: float  # simulated seconds


@dataclass(frozen=True)
class PodUsage:
    """One pod's metrics: its containers' usage, the scrape time and the window."""

    namespace: str
    name: str
    timestamp: datetime
    window: float
    containers: tuple[tuple[str, Usage], ...]

    @property
    def cpu_cores(self) -> float:
        return sum(u.cpu_cores for _, u in self.containers)

    @property
    def memory_bytes(self) -> int:
        return sum(u.memory_bytes for _, u in self.containers)


@dataclass
class _Counter:
    """What metrics-server remembers of a container instance between scrapes."""

    at: datetime
    requests: float
    sent: float = 0.0


def cpu_quantity(cores: float) -> str:
    """CPU as metrics-server writes it: nanocores (``12345678n``)."""
    return f"{max(round(cores * 1e9), 0)}n"


def memory_quantity(value: int) -> str:
    """Memory as metrics-server writes it: binary SI, kibibytes (``3686Ki``)."""
    if value % 1024 == 0 and value:
        return f"{value // 1024}Ki"
    return str(value)


def go_duration(seconds: float) -> str:
    """Go's ``time.Duration.String`` for a window (``15s``, ``14.998s``)."""
    text = f"{seconds:.3f}".rstrip("0").rstrip(".")
    return f"{text}s"


def _rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _Tick:
    """One scrape in progress: what it measured so far, published when every node is done."""

    now: datetime
    points: dict[tuple[str, str], dict[str, ContainerPoint]] = field(default_factory=dict)
    pod_nodes: dict[tuple[str, str], str] = field(default_factory=dict)
    seen: set[tuple[str, str, int]] = field(default_factory=set)
    node_points: dict[str, tuple[datetime, float]] = field(default_factory=dict)


class MetricsServer:
    """The scrape loop and the store of the last points (one per sandbox)."""

    def __init__(self, clock: Clock, agents: Callable[[str], UsageSource | None],
                 nodes: Callable[[], list[dict[str, Any]]],
                 resolution: float = METRIC_RESOLUTION) -> None:
        self.clock = clock
        self.agents = agents
        self.nodes = nodes
        self.resolution = resolution
        self._counters: dict[tuple[str, str, int], list[_Counter]] = {}
        self._points: dict[tuple[str, str], dict[str, ContainerPoint]] = {}
        self._pod_nodes: dict[tuple[str, str], str] = {}
        self._node_points: dict[str, tuple[datetime, float]] = {}
        self._running = False

    # ------------------------------------------------------------------ scraping

    def scrape(self) -> None:
        """One scrape of every kubelet (metrics-server's ``tick``)."""
        tick = _Tick(self.clock.now())
        for node in self.nodes():
            self._scrape_node(tick, node)
        self._publish(tick)

    async def scrape_yielding(self) -> None:
        """:meth:`scrape`, one node per turn of the event loop: metrics-server scrapes the
        kubelets concurrently, and the API server shares this loop (a scrape of 5,000
        containers in one go held it for hundreds of milliseconds)."""
        tick = _Tick(self.clock.now())
        for node in self.nodes():
            self._scrape_node(tick, node)
            await asyncio.sleep(0)
        self._publish(tick)

    def _scrape_node(self, tick: _Tick, node: dict[str, Any]) -> None:
        now = tick.now
        name = (node.get("metadata") or {}).get("name", "")
        agent = self.agents(name)
        facts = agent.resource_usage() if agent is not None else None
        if facts is None:
            return
        windows: list[float] = []
        # One reading of the clock for the node (the kubelet answers its scrape at once):
        # two readings per container were a third of a scrape of 5,000 containers.
        scraped_at, speed = self.clock.now(), self.clock.speed
        for fact in facts:
            tick.seen.add(fact.instance)
            history = self._counters.get(fact.instance)
            if history is None:
                history = self._counters[fact.instance] = [_Counter(fact.started_at, 0.0)]
            first = history[0]
            seconds = max((scraped_at - first.at).total_seconds() * speed, 0.0)
            usage = interval_usage(fact, seconds, fact.requests_served - first.requests,
                                   fact.client_requests - first.sent)
            history.append(_Counter(now, fact.requests_served, fact.client_requests))
            # Samples older than the rate span leave from the front (they are in time
            # order; the one just taken always stays).
            while len(history) > 1 and (
                    scraped_at - history[0].at).total_seconds() * speed >= RATE_SPAN:
                del history[0]
            if seconds <= 0:
                continue
            key = (fact.namespace, fact.pod)
            tick.points.setdefault(key, {})[fact.container] = ContainerPoint(usage, now,
                                                                             seconds)
            tick.pod_nodes[key] = name
            windows.append(seconds)
        previous = self._node_points.get(name)
        window = self.clock.sim_elapsed(previous[0]) if previous else (
            max(windows) if windows else self.resolution)
        tick.node_points[name] = (now, window)

    def _publish(self, tick: _Tick) -> None:
        for instance in [k for k in self._counters if k not in tick.seen]:
            del self._counters[instance]
        self._points, self._pod_nodes, self._node_points = (tick.points, tick.pod_nodes,
                                                            tick.node_points)

    async def run(self) -> None:
        """Scrape every :attr:`resolution` simulated seconds until :meth:`stop`."""
        self._running = True
        while self._running:
            with contextlib.suppress(Exception):
                await self.scrape_yielding()
            await self.clock.sleep(self.resolution)

    def stop(self) -> None:
        self._running = False

    # ------------------------------------------------------------------ reading

    def pod_usage(self, namespace: str, name: str) -> PodUsage | None:
        containers = self._points.get((namespace, name))
        if not containers:
            return None
        first = next(iter(containers.values()))
        return PodUsage(namespace, name, first.timestamp,
                        max(p.window for p in containers.values()),
                        tuple((c, p.usage) for c, p in containers.items()))

    def pod_usages(self, namespace: str | None = None) -> list[PodUsage]:
        found = []
        for ns, name in sorted(self._points):
            if namespace is None or ns == namespace:
                usage = self.pod_usage(ns, name)
                if usage is not None:
                    found.append(usage)
        return found

    # ------------------------------------------------------------------ API objects

    def node_metrics(self, nodes: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """``NodeMetrics`` of the given Node objects that were scraped."""
        items = []
        for node in nodes:
            meta = node.get("metadata") or {}
            name = meta.get("name", "")
            point = self._node_points.get(name)
            if point is None:
                continue
            labels = meta.get("labels") or {}
            role = ("control-plane" if "node-role.kubernetes.io/control-plane" in labels
                    else "worker")
            millicores, mib = SYSTEM_OVERHEAD[role]
            cpu, memory = millicores / 1000, int(mib * MIB)
            for key, node_name in self._pod_nodes.items():
                if node_name == name:
                    for container in self._points.get(key, {}).values():
                        cpu += container.usage.cpu_cores
                        memory += container.usage.memory_bytes
            items.append({
                "metadata": {"name": name, "creationTimestamp": _rfc3339(self.clock.now()),
                             **({"labels": dict(labels)} if labels else {})},
                "timestamp": _rfc3339(point[0]), "window": go_duration(point[1]),
                "usage": {"cpu": cpu_quantity(cpu), "memory": memory_quantity(memory)},
            })
        return items

    def pod_metrics(self, pods: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """``PodMetrics`` of the given Pod objects that have metrics."""
        items = []
        for pod in pods:
            meta = pod.get("metadata") or {}
            usage = self.pod_usage(meta.get("namespace", ""), meta.get("name", ""))
            if usage is None:
                continue
            labels = meta.get("labels") or {}
            items.append({
                "metadata": {"name": usage.name, "namespace": usage.namespace,
                             "creationTimestamp": _rfc3339(self.clock.now()),
                             **({"labels": dict(labels)} if labels else {})},
                "timestamp": _rfc3339(usage.timestamp), "window": go_duration(usage.window),
                "containers": [{"name": c, "usage": {"cpu": cpu_quantity(u.cpu_cores),
                                                     "memory": memory_quantity(u.memory_bytes)}}
                               for c, u in usage.containers],
            })
        return items

