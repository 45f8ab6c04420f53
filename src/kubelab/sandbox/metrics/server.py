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

Containers whose counters cannot move (:meth:`KubeletAgent._quiet`: no program of their
own, a server that never served a request) use their image's idle baseline whatever the
interval; a scrape samples only the other, active ones, and a quiet container's point is
worked out when it is read, from the times of the node's last scrapes: the same usage,
``timestamp`` and ``window`` its sampled history would have given. A scrape then costs what
the active containers cost (at 5,000 idle pods the full walk was a third of the event loop,
and it ran every 0.75 s at speed 20 for as long as the pods lived).

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

from kubelab.sandbox.clock import Clock, sleep_background
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

    def resource_usage(self, active_only: bool = False) -> list[ContainerFacts] | None: ...

    def container_facts(self, namespace: str | None = None,
                        name: str | None = None) -> list[ContainerFacts]: ...


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


def _quiet_history(started_at: datetime, scrapes: tuple[_NodeScrape, ...]) -> list[_Counter]:
    """The samples a container that has been quiet since ``started_at`` holds after the
    last of ``scrapes``: its start, then each scrape it was running at, all zero, the
    oldest dropped by that scrape's pruning (as :meth:`MetricsServer._scrape_node` does)."""
    history = [_Counter(started_at, 0.0)]
    history += [_Counter(s.now, 0.0) for s in scrapes if s.scraped_at >= started_at]
    if len(history) > 1:
        last = scrapes[-1]
        while len(history) > 1 and (
                last.scraped_at - history[0].at).total_seconds() * last.speed >= RATE_SPAN:
            del history[0]
    return history


def _kept(scrapes: tuple[_NodeScrape, ...]) -> tuple[_NodeScrape, ...]:
    """The scrapes younger than :data:`RATE_SPAN` at the last of them."""
    if not scrapes:
        return ()
    last = scrapes[-1]
    return tuple(s for s in scrapes
                 if (last.scraped_at - s.now).total_seconds() * last.speed < RATE_SPAN)


def _pod_usage(namespace: str, name: str,
               containers: dict[str, ContainerPoint]) -> PodUsage | None:
    if not containers:
        return None
    first = next(iter(containers.values()))
    return PodUsage(namespace, name, first.timestamp,
                    max(p.window for p in containers.values()),
                    tuple((c, p.usage) for c, p in containers.items()))


def _rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class _NodeScrape:
    """One scrape of a node: the sample time (the tick's), when the kubelet answered and
    the clock's speed then."""

    now: datetime
    scraped_at: datetime
    speed: float


@dataclass
class _Tick:
    """One scrape in progress: what it measured so far, published when every node is done."""

    now: datetime
    points: dict[tuple[str, str], dict[str, ContainerPoint]] = field(default_factory=dict)
    pod_nodes: dict[tuple[str, str], str] = field(default_factory=dict)
    seen: set[tuple[str, str, int]] = field(default_factory=set)
    node_points: dict[str, tuple[datetime, float]] = field(default_factory=dict)
    scrapes: dict[str, tuple[_NodeScrape, ...]] = field(default_factory=dict)


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
        #: Per node, its scrapes of the last :data:`RATE_SPAN` (and the one before): the
        #: sample times a quiet container's history would hold.
        self._scrapes: dict[str, tuple[_NodeScrape, ...]] = {}
        #: The container instances the last scrape sampled (the others were quiet).
        self._active: set[tuple[str, str, int]] = set()
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
        facts = agent.resource_usage(active_only=True) if agent is not None else None
        if facts is None:
            return
        windows: list[float] = []
        # One reading of the clock for the node (the kubelet answers its scrape at once):
        # two readings per container were a third of a scrape of 5,000 containers.
        scraped_at, speed = self.clock.now(), self.clock.speed
        previous_scrapes = self._scrapes.get(name, ())
        for fact in facts:
            tick.seen.add(fact.instance)
            history = self._counters.get(fact.instance)
            if history is None:
                # Quiet until now (or new): the samples its history would hold, all zero.
                history = self._counters[fact.instance] = _quiet_history(
                    fact.started_at, previous_scrapes)
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
        if previous is None and agent is not None:
            # The node's first scrape: its window is its longest container's, quiet or not.
            windows += [seconds for fact in agent.container_facts()
                        if fact.instance not in tick.seen and (seconds := (
                            scraped_at - fact.started_at).total_seconds() * speed) > 0]
        window = self.clock.sim_elapsed(previous[0]) if previous else (
            max(windows) if windows else self.resolution)
        tick.node_points[name] = (now, window)
        # The scrapes a quiet container's history can hold when the next scrape (or a read
        # of this one's points) looks at it: those the previous scrape's pruning kept, and
        # this one.
        tick.scrapes[name] = (*_kept(previous_scrapes), _NodeScrape(now, scraped_at, speed))

    def _publish(self, tick: _Tick) -> None:
        for instance in [k for k in self._counters if k not in tick.seen]:
            del self._counters[instance]
        self._points, self._pod_nodes, self._node_points = (tick.points, tick.pod_nodes,
                                                            tick.node_points)
        self._scrapes, self._active = tick.scrapes, tick.seen

    async def run(self) -> None:
        """Scrape every :attr:`resolution` simulated seconds until :meth:`stop`."""
        self._running = True
        while self._running:
            with contextlib.suppress(Exception):
                await self.scrape_yielding()
            await sleep_background(self.clock, self.resolution)

    def stop(self) -> None:
        self._running = False

    # ------------------------------------------------------------------ reading

    def _quiet_point(self, fact: ContainerFacts, node: str) -> ContainerPoint | None:
        """A quiet container's point from the node's last scrape: its idle usage over the
        interval its history of zero samples would give (None: not running at the scrape,
        or measured over no time)."""
        scrapes = self._scrapes.get(node, ())
        if fact.instance in self._active or not scrapes:
            return None
        last = scrapes[-1]
        if fact.started_at > last.scraped_at:
            return None  # started after the scrape: measured at the next one
        first = _quiet_history(fact.started_at, scrapes[:-1])[0]
        seconds = max((last.scraped_at - first.at).total_seconds() * last.speed, 0.0)
        if seconds <= 0:
            return None
        return ContainerPoint(interval_usage(fact, seconds, 0.0), last.now, seconds)

    def _containers(self, node: str, facts: Iterable[ContainerFacts],
                    ) -> dict[tuple[str, str], dict[str, ContainerPoint]]:
        """Per pod, the points of its containers: sampled (active) ones and quiet ones."""
        pods: dict[tuple[str, str], dict[str, ContainerPoint]] = {}
        for fact in facts:
            key = (fact.namespace, fact.pod)
            sampled = self._points.get(key, {})
            point = sampled.get(fact.container) or self._quiet_point(fact, node)
            if point is not None:
                pods.setdefault(key, {})[fact.container] = point
        return pods

    def _with_sampled(self, key: tuple[str, str],
                      containers: dict[str, ContainerPoint]) -> dict[str, ContainerPoint]:
        """``containers`` (a pod's points worked out now) plus the pod's sampled points
        they lack: a sampled container that stopped since the scrape still shows until the
        next one, as metrics-server serves its last scrape."""
        for container, point in self._points.get(key, {}).items():
            containers.setdefault(container, point)
        return containers

    def _agent(self, node: str) -> UsageSource | None:
        return self.agents(node) if node in self._node_points else None

    def pod_usage(self, namespace: str, name: str, node: str | None = None) -> PodUsage | None:
        """The pod's metrics from the last scrape; ``node``: where it runs (found among
        the scraped nodes when not given)."""
        key = (namespace, name)
        node = self._pod_nodes.get(key) or node
        nodes = [node] if node else list(self._node_points)
        containers: dict[str, ContainerPoint] = {}
        for candidate in nodes:
            agent = self._agent(candidate)
            if agent is None:
                continue
            facts = agent.container_facts(namespace, name)
            if facts:
                containers = self._containers(candidate, facts).get(key, {})
                break
        return _pod_usage(namespace, name, self._with_sampled(key, containers))

    def pod_usages(self, namespace: str | None = None) -> list[PodUsage]:
        found: dict[tuple[str, str], dict[str, ContainerPoint]] = {}
        for node in self._node_points:
            agent = self.agents(node)
            if agent is not None:
                found.update(self._containers(node, agent.container_facts(namespace)))
        for key in self._points:
            if namespace is None or key[0] == namespace:
                self._with_sampled(key, found.setdefault(key, {}))
        return [usage for key in sorted(found)
                if (usage := _pod_usage(*key, found[key])) is not None]

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
            agent = self.agents(name)
            pods = self._containers(name, agent.container_facts() if agent else [])
            for key, node_name in self._pod_nodes.items():
                if node_name == name:
                    self._with_sampled(key, pods.setdefault(key, {}))
            for containers in pods.values():
                for container in containers.values():
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
            usage = self.pod_usage(meta.get("namespace", ""), meta.get("name", ""),
                                   (pod.get("spec") or {}).get("nodeName") or None)
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

