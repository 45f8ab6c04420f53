"""The pod network an ``exec`` session sees: cluster DNS, Service virtual IPs, endpoints.

What a real cluster does with packets, answered from the API objects: CoreDNS turns
``<service>[.<namespace>[.svc[.cluster.local]]]`` into the Service's ClusterIP, searching the
pod's namespace first (its ``/etc/resolv.conf``); kube-proxy sends a connection to
``ClusterIP:port`` to one *ready* endpoint of that port, or refuses it when there is none; a
pod IP reaches the pod directly. The last hop is real: an HTTP request to the simulated app
server that runs for that pod (:class:`~kubelab.sandbox.fabric.Fabric`).

The shell calls these methods from a worker thread (its program is stepped off the event
loop); each call hops onto the loop, where the registry and the app servers live.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable, Coroutine, Mapping
from typing import Any
from urllib.parse import urlsplit

from aiohttp import ClientError, ClientSession, ClientTimeout

from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.errors import ApiError
from kubelab.sandbox.images.netutils import HttpResult, Resolved

SERVICES = kinds.core("services")
PODS = kinds.core("pods")
ENDPOINTS = kinds.core("endpoints")
DOMAIN = "cluster.local"
CALL_TIMEOUT = 15.0


class ClusterNetwork:
    """:class:`~kubelab.sandbox.images.netutils.PodNetwork` for one pod's exec session."""

    def __init__(self, registry: Any, fabric: Any, namespace: str, pod_ip: str,
                 loop: asyncio.AbstractEventLoop,
                 endpoint: Callable[[str, str, str], tuple[str, int]],
                 http: Callable[[], ClientSession]) -> None:
        self.registry = registry
        self.fabric = fabric
        self.namespace = namespace
        self.pod_ip = pod_ip
        self.loop = loop
        self.endpoint = endpoint
        self.http = http

    # ------------------------------------------------------------------ blocking API

    def resolve(self, host: str) -> Resolved | None:
        return self._call(self._resolve(host))

    def get(self, url: str, headers: Mapping[str, str] | None = None) -> HttpResult:
        return self._call(self._get(url, headers))

    def _call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(CALL_TIMEOUT)

    # ------------------------------------------------------------------ on the loop

    def _service(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The stored Service, read in place (do not mutate): a lookup runs for every
        request of a container's ``wget`` loop, and a copy of the object was most of it."""
        return self.registry.peek(SERVICES, namespace, name)

    async def _resolve(self, host: str) -> Resolved | None:
        """Cluster DNS with the pod's search path (``<ns>.svc.cluster.local``, …): a name
        with fewer than five dots (``ndots:5``) is tried with each search domain first."""
        name = host.rstrip(".").lower()
        if name == "localhost":
            return Resolved("localhost", "127.0.0.1")
        if _is_ip(name):
            return Resolved(name, name)
        candidates = [name]
        if name.count(".") < 5 and not name.endswith("." + DOMAIN):
            candidates = [f"{name}.{self.namespace}.svc.{DOMAIN}", f"{name}.svc.{DOMAIN}",
                          f"{name}.{DOMAIN}", name]
        for fqdn in candidates:
            found = self._lookup(fqdn)
            if found is not None:
                return found
        return None

    def _lookup(self, fqdn: str) -> Resolved | None:
        """CoreDNS's kubernetes plugin: ``<svc>.<ns>.svc.<domain>`` is the ClusterIP (a
        headless Service: its ready endpoints' addresses, the first one here);
        ``<hostname>.<svc>.<ns>.svc.<domain>`` is the endpoint whose ``hostname`` it is (a
        pod with ``hostname`` and ``subdomain``, as a StatefulSet's pods have)."""
        if not fqdn.endswith("." + DOMAIN):
            return None
        parts = fqdn[:-len(DOMAIN) - 1].split(".")
        if len(parts) not in (3, 4) or parts[-1] != "svc":
            return None
        *host, service, namespace = parts[:-1]
        svc = self._service(namespace, service)
        if svc is None:
            return None
        ip = svc.get("spec", {}).get("clusterIP")
        if not host and ip and ip != "None":
            return Resolved(fqdn, str(ip))
        for address in self._ready_addresses(namespace, service):
            if not host or address.get("hostname") == host[0]:
                return Resolved(fqdn, str(address.get("ip", "")))
        return None

    def _ready_addresses(self, namespace: str, service: str) -> list[dict[str, Any]]:
        endpoints = self.registry.peek(ENDPOINTS, namespace, service)
        if endpoints is None:
            return []
        return [a for subset in endpoints.get("subsets") or []
                for a in subset.get("addresses") or []]

    def _service_by_ip(self, ip: str) -> dict[str, Any] | None:
        for svc in self.registry.snapshot_list(SERVICES, None, None):
            if svc.get("spec", {}).get("clusterIP") == ip:
                return dict(svc)
        return None

    def _proxy_target(self, address: str, port: int) -> tuple[str, int] | None:
        """Where kube-proxy sends a connection to ``address:port``.

        A Service's cluster IP and port are rewritten to one of its ready endpoints (none
        when the port is not the Service's or no endpoint is ready: the connection is
        refused); any other address is dialled as it is.
        """
        svc = self._service_by_ip(address)
        if svc is None:
            return (address, port)
        meta = svc["metadata"]
        service_port = next((p for p in svc["spec"].get("ports") or []
                             if int(p.get("port", 0)) == port), None)
        if service_port is None:
            return None
        try:
            return self.endpoint(meta["namespace"], meta["name"],
                                 service_port.get("name") or str(service_port["port"]))
        except ApiError:
            return None  # no ready endpoint: kube-proxy rejects the connection

    async def _get(self, url: str, headers: Mapping[str, str] | None = None) -> HttpResult:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = await self._resolve(host)
        if found is None:
            return HttpResult(host, port=port, error="resolve")
        address = self.pod_ip if found.address == "127.0.0.1" else found.address
        if parts.scheme == "https":
            return HttpResult(host, found.address, port, error="unsupported")
        target = self._proxy_target(address, port)
        local = self.fabric.resolve(*target) if (target and self.fabric) else None
        if local is None:
            return HttpResult(host, found.address, port, error="refused")
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        try:
            async with self.http().get(f"http://{local[0]}:{local[1]}{path}",
                                       headers={"Host": parts.netloc, **(headers or {})},
                                       timeout=ClientTimeout(total=10)) as response:
                body = await response.text()
                return HttpResult(host, found.address, port, response.status,
                                  response.reason or "", body)
        except (ClientError, TimeoutError):
            return HttpResult(host, found.address, port, error="refused")


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
