"""The pod network a container's *own* program sees: the HPA walkthrough's load generator.

``kubectl run load-generator --image=busybox -- /bin/sh -c "while sleep 0.01; do wget -q -O-
http://php-apache; done"`` runs the loop as the container's process. A real cluster resolves
``php-apache`` with CoreDNS and kube-proxy sends each connection to a ready endpoint, whose
Apache answers ``OK!`` after burning 20 ms of CPU. Here the program is stepped on the sandbox
clock inside the kubelet, on the event loop, so it cannot wait for a socket: the same
resolution as an exec session's (:class:`~.pod_network.ClusterNetwork`: cluster DNS with the
pod's search path, the Service's ready endpoint) ends in an in-process call of the serving
app (:meth:`kubelab.sandbox.images.server.AppServer.serve_inline`), which counts the request
like any other, so the usage model charges its CPU. Apps that answer only over a socket (the
ingress controller) refuse such a connection.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

from kubelab.sandbox.images.netutils import HttpResult, Resolved
from kubelab.sandbox.server.pod_network import ClusterNetwork

T = TypeVar("T")

_REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 403: "Forbidden",
            404: "Not Found", 500: "Internal Server Error", 503: "Service Unavailable"}


def _now(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (the network's lookups read the registry only)."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("a lookup of the program network waited on I/O")


class ProgramNetwork(ClusterNetwork):
    """:class:`~kubelab.sandbox.images.netutils.PodNetwork` for a container's program:
    blocking calls answered at once, on the event loop. :attr:`weight` (set by the API
    server from the kubelet's view of the program) is how many requests one stands for."""

    weight: Callable[[], float] = staticmethod(lambda: 1.0)  # type: ignore[assignment]

    def resolve(self, host: str) -> Resolved | None:
        return _now(self._resolve(host))

    def get(self, url: str, headers: Mapping[str, str] | None = None) -> HttpResult:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = self.resolve(host)
        if found is None:
            return HttpResult(host, port=port, error="resolve")
        if parts.scheme == "https":
            return HttpResult(host, found.address, port, error="unsupported")
        address = self.pod_ip if found.address == "127.0.0.1" else found.address
        target = self._proxy_target(address, port)
        app = self.fabric.inline(*target) if (target and self.fabric) else None
        if app is None:
            return HttpResult(host, found.address, port, error="refused")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        status, body = app("GET", path, self.weight())
        return HttpResult(host, found.address, port, status, _REASONS.get(status, ""), body)
