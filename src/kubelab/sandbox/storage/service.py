"""Service storage: ClusterIP and NodePort allocation around the generic writes.

Mirrors ``pkg/registry/core/service/storage`` (the Service REST's ``beginCreate`` and
``beginUpdate`` hooks, which run the IP and port allocators of
:mod:`kubelab.sandbox.storage.allocators` before the object is written: a create gets a
ClusterIP and, for NodePort/LoadBalancer, nodePorts; an update that changes the type to one
that needs nodePorts gets them then) and the ``proxy`` subresource, which the server serves
itself. Nodes share the proxy subresource (``nodes/<name>/proxy``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from kubelab.apimachinery.types import Obj
from kubelab.sandbox.api import errors, kinds
from kubelab.sandbox.api.errors import ApiError, Cause
from kubelab.sandbox.storage import allocators
from kubelab.sandbox.store.registry import Registry
from kubelab.sandbox.store.storage import ProxySubresource, Storage, Strategy

SERVICES = kinds.core("services")
NODES = kinds.core("nodes")
ENDPOINT_SLICES = kinds.resource("endpointslices.discovery.k8s.io")
#: The kubelet's serving port.
KUBELET_PORT = 10250


class NodeStorage(Storage):
    """The Node REST: ``nodes/<name>/proxy`` reaches the node's kubelet."""

    def __init__(self, strategy: Strategy) -> None:
        super().__init__(strategy)
        self.subresources["proxy"] = NodeProxy()


class ServiceStorage(Storage):
    """The Service REST: allocation before create and update; ``proxy`` to an endpoint."""

    def __init__(self, strategy: Strategy) -> None:
        super().__init__(strategy)
        self.subresources["proxy"] = ServiceProxy()

    def before_create(self, registry: Registry, obj: Obj) -> list[Cause]:
        return allocators.allocate(obj, list(registry.iter_objects(SERVICES)), registry.rng)

    def before_update(self, registry: Registry, obj: Obj, old: Obj) -> list[Cause]:
        # A type change to NodePort/LoadBalancer allocates nodePorts, as on create.
        uid = old["metadata"]["uid"]
        others = [s for s in registry.iter_objects(SERVICES) if s["metadata"]["uid"] != uid]
        return allocators.allocate(obj, others, registry.rng)



@dataclass(frozen=True)
class ServiceProxy(ProxySubresource):
    """``services/<name>[:port]/proxy``: one *ready* endpoint of the Service, round robin
    (so browsing spreads across pods), as kube-apiserver's service ``ResourceLocation``
    picks from its EndpointSlices."""

    #: Service key -> the counter that picks the next endpoint.
    round_robin: dict[str, itertools.count[int]] = field(default_factory=dict)

    def location(self, registry: Registry, namespace: str, name: str,
                 port: str) -> tuple[str, int]:
        svc = registry.peek(SERVICES, namespace, name)  # read in place: every proxied request
        if svc is None:
            raise errors.not_found(SERVICES, name)
        ports = svc["spec"].get("ports") or []
        if not ports:
            raise no_endpoints(name)
        wanted = next((p for p in ports if port in (p.get("name"), str(p.get("port")))),
                      ports[0])
        slices = registry.snapshot_list(ENDPOINT_SLICES, namespace,
                                        {"kubernetes.io/service-name": name})
        candidates: list[tuple[str, int]] = []
        for eps in slices:
            slice_port = next((p for p in eps.get("ports") or []
                               if p.get("name", "") == wanted.get("name", "")), None)
            if slice_port is None:
                continue
            for endpoint in eps.get("endpoints") or []:
                if endpoint.get("conditions", {}).get("ready"):
                    for address in endpoint.get("addresses") or []:
                        candidates.append((address, int(slice_port["port"])))
        if not candidates:
            raise no_endpoints(name)
        candidates.sort()
        counter = self.round_robin.setdefault(f"{namespace}/{name}", itertools.count())
        return candidates[next(counter) % len(candidates)]


def no_endpoints(name: str) -> ApiError:
    return ApiError(503, "ServiceUnavailable",
                    f'no endpoints available for service "{name}"', {})


class NodeProxy(ProxySubresource):
    """``nodes/<name>[:port]/proxy``: the node's kubelet (its InternalIP, port 10250 unless
    another is named)."""

    def location(self, registry: Registry, namespace: str, name: str,
                 port: str) -> tuple[str, int]:
        node = registry.get(NODES, "", name)
        addresses = (node.get("status") or {}).get("addresses") or []
        ip = next((a.get("address") for a in addresses if a.get("type") == "InternalIP"), "")
        if not ip:
            raise ApiError(503, "ServiceUnavailable",
                           f'no preferred addresses found for node "{name}"', {})
        return str(ip), int(port) if port.isdigit() else KUBELET_PORT
