"""kube-proxy's NodePorts, simulated on the one node address this machine's browser reaches.

On a real cluster, kube-proxy on every node makes ``<nodeIP>:<nodePort>`` lead to its
Service: from the Service and EndpointSlice change trackers (``pkg/proxy``) it writes
iptables/nftables/IPVS rules that send each new TCP connection to one *ready* endpoint, and
reject it when there is none. A cloud load balancer (GKE, ELB) forwards its external IP to
those nodePorts; that is how a LoadBalancer Service's EXTERNAL-IP reaches the pods.

The sandbox's nodes have no network of their own, so this module plays that part on the one
node address a browser on this machine can reach: ``127.0.0.1``. For every ``NodePort`` and
``LoadBalancer`` Service it listens on ``127.0.0.1:<nodePort>`` and relays each TCP
connection, byte for byte, to one ready endpoint's simulated app server: the same endpoint
choice (round robin over the ready EndpointSlice endpoints) and pod-network routing
(:class:`~kubelab.sandbox.fabric.Fabric`) the API server's service proxy uses. The listener
follows the Service, like kube-proxy's rules do: opened when the Service gets a nodePort,
closed when it is deleted or changes type. A port already taken on this machine is logged and
skipped; the API server's service proxy still reaches the app. The simulated cloud load
balancer's documentation address (``controllers/service_lb.py``) stands for this listener.

Loopback only, like every socket of the sandbox: nothing outside this machine can connect.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from kubelab.apimachinery.types import Obj
from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.errors import ApiError
from kubelab.sandbox.store.registry import WatchEvent

log = logging.getLogger("kubelab.sandbox.kube-proxy")

SERVICES = kinds.core("services")
NODE_ADDRESS = "127.0.0.1"
CHUNK = 64 * 1024

#: ``(namespace, service, port name or number) -> (pod IP, target port)``; raises ApiError
#: when the Service has no ready endpoint (the API server's endpoint picker).
EndpointPicker = Callable[[str, str, str], tuple[str, int]]


@dataclass(frozen=True)
class NodePortRule:
    """Where one nodePort leads: a Service's port (its name, else its number)."""

    namespace: str
    service: str
    port: str


def node_port_rules(services: Iterable[Obj]) -> dict[int, NodePortRule]:
    """Pure: the nodePort table kube-proxy would program for these Services.

    Only ``NodePort`` and ``LoadBalancer`` Services have nodePorts (a LoadBalancer with
    ``allocateLoadBalancerNodePorts: false`` has none); only TCP ports are relayed.
    """
    table: dict[int, NodePortRule] = {}
    for svc in services:
        spec = svc.get("spec") or {}
        if spec.get("type") not in ("NodePort", "LoadBalancer"):
            continue
        meta = svc.get("metadata") or {}
        for port in spec.get("ports") or []:
            node_port = port.get("nodePort")
            if not node_port or (port.get("protocol") or "TCP") != "TCP":
                continue
            table[int(node_port)] = NodePortRule(
                str(meta.get("namespace", "")), str(meta.get("name", "")),
                str(port.get("name") or port.get("port")))
    return table


class NodePortProxy:
    """The listeners on ``127.0.0.1:<nodePort>``, kept in step with the Services."""

    def __init__(self, registry: Any, fabric: Any, endpoint: EndpointPicker,
                 host: str = NODE_ADDRESS) -> None:
        self.registry = registry
        self.fabric = fabric
        self.endpoint = endpoint
        self.host = host
        self._rules: dict[int, NodePortRule] = {}
        self._servers: dict[int, asyncio.Server] = {}
        self._unavailable: set[int] = set()
        self._connections: set[asyncio.StreamWriter] = set()
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._unsubscribe = self.registry.subscribe(self._on_event)
        await self.sync()
        self._task = asyncio.create_task(self._follow(), name="kube-proxy node ports")

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for port in list(self._servers):
            self._close(port)
        for writer in list(self._connections):
            writer.transport.abort()

    def listening(self) -> dict[int, NodePortRule]:
        """The nodePorts served right now (for diagnostics and tests)."""
        return {port: self._rules[port] for port in self._servers if port in self._rules}

    def unavailable(self) -> set[int]:
        """nodePorts wanted but taken by another program on this machine."""
        return set(self._unavailable)

    # ------------------------------------------------------------------ following Services

    def _on_event(self, event: WatchEvent) -> None:
        if event.info is SERVICES:
            self._changed.set()

    async def _follow(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            await self.sync()

    async def sync(self) -> None:
        """Open the listeners the Services need and close the ones they no longer do."""
        self._rules = node_port_rules(self.registry.snapshot_list(SERVICES, None, None))
        for port in [p for p in self._servers if p not in self._rules]:
            self._close(port)
        for port, rule in self._rules.items():
            if port in self._servers:
                continue
            try:
                self._servers[port] = await asyncio.start_server(
                    functools.partial(self._relay, port), self.host, port)
            except OSError as err:
                if port not in self._unavailable:
                    log.warning(
                        "nodePort %d of service %s/%s is not served: %s:%d is in use on this "
                        "machine (%s); the API server's service proxy still reaches the app",
                        port, rule.namespace, rule.service, self.host, port, err.strerror)
                self._unavailable.add(port)
                continue
            self._unavailable.discard(port)
            log.info("nodePort %d -> service %s/%s port %s on %s:%d", port, rule.namespace,
                     rule.service, rule.port, self.host, port)
        self._unavailable &= set(self._rules)

    def _close(self, port: int) -> None:
        server = self._servers.pop(port)
        server.close()
        log.info("nodePort %d closed", port)

    # ------------------------------------------------------------------ one connection

    def _pick(self, port: int) -> tuple[str, int] | None:
        """The simulated app server this connection goes to, or None (rejected)."""
        rule = self._rules.get(port)
        if rule is None:
            return None
        try:
            pod_ip, target_port = self.endpoint(rule.namespace, rule.service, rule.port)
        except ApiError:
            return None  # no ready endpoint: kube-proxy's REJECT rule
        local: tuple[str, int] | None = self.fabric.resolve(pod_ip, target_port)
        return local

    async def _relay(self, port: int, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
        target = self._pick(port)
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        if target is not None:
            with contextlib.suppress(OSError):
                upstream = await asyncio.open_connection(*target)
        if upstream is None:
            writer.transport.abort()  # a reset, as a rejected connection gets
            return
        up_reader, up_writer = upstream
        self._connections.update((writer, up_writer))
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            for w in (writer, up_writer):
                self._connections.discard(w)
                w.close()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Copy one direction until EOF, then half-close, as a TCP relay does."""
    try:
        while chunk := await source.read(CHUNK):
            sink.write(chunk)
            await sink.drain()
        if sink.can_write_eof():
            sink.write_eof()
    except (ConnectionError, OSError):
        sink.transport.abort()
