"""The sandbox's network: the wires a real cluster has, held in one process.

In a real cluster the API server reaches a pod through the node's network (the
``services/<svc>:<port>/proxy`` and ``pods/<pod>/proxy`` subresources dial the pod IP), and
it reaches a kubelet on port 10250 for ``pods/<pod>/log`` (kube-apiserver's
``pkg/registry/core/pod/rest/log.go`` → kubelet's ``/containerLogs`` handler). The sandbox
has no such network: each simulated container that serves HTTP listens on ``127.0.0.1`` on a
random port, and this module keeps the routing table from *pod IP:port* to that local
address, and from *node name* to the simulated kubelet that answers log and exec requests.

Nothing here knows about Kubernetes objects: the kubelet registers what it runs, the API
server looks it up. One :class:`Fabric` exists per sandbox.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import asyncio

    from kubelab.sandbox.images.netutils import PodNetwork
    from kubelab.sandbox.images.shell import Program


class LogError(Exception):
    """A log request the kubelet refuses; ``message`` is the upstream wording (a 400 Status)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ExecError(Exception):
    """An exec or port-forward the API server or kubelet refuses; ``code``/``reason``/
    ``message`` make the Status answered instead of the upgrade. ``plain`` marks the kubelet's
    own refusal (``container not found ("x")``, ``pod does not exist``): the kubelet writes it
    as plain text and the API server's upgrade proxy passes it through; client-go prefixes
    either kind with ``unable to upgrade connection: ``."""

    def __init__(self, message: str, code: int = 400, reason: str = "BadRequest", *,
                 plain: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.reason = reason
        self.plain = plain


class ExecProcess(Protocol):
    """A process started in a container by ``exec`` (see :mod:`kubelab.sandbox.kubelet.exec`)."""

    prompt: str

    @property
    def interactive(self) -> bool: ...

    @property
    def reads_stdin(self) -> bool: ...

    @property
    def finished(self) -> bool: ...

    @property
    def exit_code(self) -> int: ...

    def program(self, stdin_text: str = "") -> Program: ...

    def send_stdin(self, data: bytes) -> None: ...

    def close_stdin(self) -> None: ...

    def feed(self, keys: str) -> list[str | Program]: ...


class PortForwardError(Exception):
    """A forwarded port the container runtime cannot connect to; ``message`` is the text the
    kubelet writes on the pair's error stream (kubectl prints it)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PortForwarder(Protocol):
    """One pod's port-forward target (see :mod:`kubelab.sandbox.kubelet.portforward`)."""

    async def dial(self, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Connect to ``port`` inside the pod's network namespace; raise
        :class:`PortForwardError`."""
        ...


class NodeAgent(Protocol):
    """What the API server asks a kubelet (its port 10250)."""

    def logs(self, namespace: str, pod: str, container: str, *, previous: bool,
             tail_lines: int | None, timestamps: bool,
             since_seconds: int | None) -> list[str]:
        """The container's log lines, each ending in ``\\n``; raise :class:`LogError`."""
        ...

    def follow_logs(self, namespace: str, pod: str, container: str) -> AsyncIterator[str]:
        """Yield log lines (each ending in ``\\n``) as the container writes them, until it stops."""
        ...

    def exec(self, namespace: str, pod: str, container: str, command: list[str], *,
             stdin: bool, tty: bool, network: PodNetwork | None = None) -> ExecProcess:
        """Start ``command`` in the container (the kubelet's ``/exec``); raise :class:`ExecError`.
        ``network`` is how the process reaches Services (``wget``, ``curl``, ``nslookup``)."""
        ...

    def attach(self, namespace: str, pod: str, container: str, *, stdin: bool, tty: bool,
               network: PodNetwork | None = None) -> ExecProcess:
        """Attach to the container's process (the kubelet's ``/attach``); raise
        :class:`ExecError`."""
        ...

    def attach_log(self, namespace: str, pod: str, container: str) -> Callable[[str], None]:
        """Where the attached session's output is logged too (the container's log)."""
        ...

    def attach_ended(self, namespace: str, pod: str, container: str,
                     exit_code: int | None) -> None:
        """An attached session is over: the shell exited with ``exit_code``, or (None) the
        client detached."""
        ...

    def port_forward(self, namespace: str, pod: str) -> PortForwarder:
        """The kubelet's ``/portForward``: the pod's forwarder; raise :class:`ExecError`."""
        ...


#: An app answering in-process: (method, path with query, weight) → (status, body).
InlineApp = Callable[[str, str, float], tuple[int, str]]


class Fabric:
    """Routing from pod endpoints and node names to in-process addresses and agents."""

    def __init__(self) -> None:
        self._endpoints: dict[tuple[str, int], tuple[str, int]] = {}
        self._agents: dict[str, NodeAgent] = {}
        #: In-process answers of the apps, by (pod IP, port), for containers' own programs.
        self._inline: dict[tuple[str, int], InlineApp] = {}
        #: The ports registered per pod IP (either table), so a pod's removal touches only
        #: its own entries (a scan of every endpoint per removed pod made deleting 5,000
        #: pods quadratic).
        self._ports: dict[str, set[int]] = {}
        #: The pod network a container's own program gets (set by the API server).
        self.program_networks: Callable[[str, str, Callable[[], float]], PodNetwork] | None = \
            None
        self._api: Callable[[str], list[Mapping[str, Any]]] | None = None

    def register_endpoint(self, pod_ip: str, port: int, host: str, local_port: int) -> None:
        """A container in the pod with ``pod_ip`` now accepts connections on ``port``."""
        self._endpoints[(pod_ip, port)] = (host, local_port)
        self._ports.setdefault(pod_ip, set()).add(port)

    def unregister_endpoint(self, pod_ip: str, port: int) -> None:
        self._endpoints.pop((pod_ip, port), None)
        self._inline.pop((pod_ip, port), None)

    def register_inline(self, pod_ip: str, port: int, app: InlineApp) -> None:
        """How a container's own program reaches the app on ``pod_ip:port`` without a
        socket (its program is stepped inside the kubelet, on the event loop)."""
        self._inline[(pod_ip, port)] = app
        self._ports.setdefault(pod_ip, set()).add(port)

    def inline(self, pod_ip: str, port: int) -> InlineApp | None:
        return self._inline.get((pod_ip, port))

    def program_network(self, namespace: str, pod_ip: str,
                        weight: Callable[[], float]) -> PodNetwork | None:
        """The network of a container's own program in the pod with ``pod_ip`` (None until
        the API server lends one: then ``wget`` says the program has no network); ``weight``
        says how many requests one request of the program stands for (its throttling)."""
        if self.program_networks is None or not pod_ip:
            return None
        return self.program_networks(namespace, pod_ip, weight)

    def unregister_pod(self, pod_ip: str) -> None:
        """The pod's sandbox is gone: nothing answers on its IP any more."""
        for port in self._ports.pop(pod_ip, ()):
            self._endpoints.pop((pod_ip, port), None)
            self._inline.pop((pod_ip, port), None)

    def resolve(self, pod_ip: str, port: int) -> tuple[str, int] | None:
        """Where to connect for ``pod_ip:port``, or None (the real "connection refused")."""
        return self._endpoints.get((pod_ip, port))

    def endpoints(self) -> dict[tuple[str, int], tuple[str, int]]:
        """A copy of the routing table (for diagnostics and tests)."""
        return dict(self._endpoints)

    def register_node_agent(self, node: str, agent: NodeAgent) -> None:
        self._agents[node] = agent

    def node_agent(self, node: str) -> NodeAgent | None:
        return self._agents.get(node)

    def register_api(self, reader: Callable[[str], list[Mapping[str, Any]]]) -> None:
        """What a pod reaches at ``kubernetes.default.svc``: a reader of API objects by
        resource (``ingresses.networking.k8s.io``), for in-cluster programs that watch the
        API (the ingress controller) as their informers would."""
        self._api = reader

    def read_api(self, resource: str) -> list[Mapping[str, Any]]:
        """The objects of ``resource`` (none before the API server registers its reader)."""
        return self._api(resource) if self._api is not None else []
