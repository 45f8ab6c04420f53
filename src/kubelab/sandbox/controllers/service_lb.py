"""The cloud controller's service load balancer, simulated.

Mirrors ``k8s.io/cloud-provider/controllers/service/controller.go`` (``syncLoadBalancerIfNeeded``,
``addFinalizer``/``removeFinalizer``, ``patchStatus``) with a fake cloud: a ``LoadBalancer``
Service first shows ``EXTERNAL-IP <pending>``, as on GKE or EKS while the cloud builds the
balancer, and a few simulated seconds later gets ``status.loadBalancer.ingress`` with an
address from ``203.0.113.0/24`` (TEST-NET-3, reserved for documentation, so nothing ever
routes there). Traffic is served by the sandbox's own service proxy, not by that address.

The controller keeps no memory between reconciles: the time provisioning started is the
``EnsuringLoadBalancer`` Event it recorded, read back from the cluster like any object.
The ``service.kubernetes.io/load-balancer-cleanup`` finalizer holds a deleted Service until
its balancer is released, as upstream does.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from datetime import datetime

from kubelab.apimachinery.types import deep_copy_json
from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.clock import Clock, parse_time
from kubelab.sandbox.controllers import common
from kubelab.sandbox.reconcile.types import Key, Obj, Result, Snapshot

SERVICES = kinds.core("services")
EVENTS = kinds.core("events")
COMPONENT = "service-controller"
FINALIZER = "service.kubernetes.io/load-balancer-cleanup"
EXTERNAL_RANGE = ipaddress.ip_network("203.0.113.0/24")
#: Simulated seconds a fake cloud takes to build a balancer.
PROVISION_SECONDS = 5.0


def ingress_ips(svc: Obj) -> list[str]:
    ingress = svc.get("status", {}).get("loadBalancer", {}).get("ingress") or []
    return [str(i.get("ip")) for i in ingress if i.get("ip")]


def pick_address(snapshot: Snapshot) -> str:
    """The lowest free address of the range (from .10), skipping ones other services hold."""
    taken = {ip for svc in snapshot.list(SERVICES) for ip in ingress_ips(svc)}
    for offset in range(10, EXTERNAL_RANGE.num_addresses - 1):
        candidate = str(EXTERNAL_RANGE.network_address + offset)
        if candidate not in taken:
            return candidate
    return str(EXTERNAL_RANGE.network_address + 10)


def ensuring_since(snapshot: Snapshot, svc: Obj) -> datetime | None:
    """When this Service's ``EnsuringLoadBalancer`` event was first recorded, if ever."""
    uid = common.uid_of(svc)
    found: datetime | None = None
    for event in snapshot.list(EVENTS, common.namespace_of(svc)):
        if event.get("reason") != "EnsuringLoadBalancer":
            continue
        if event.get("involvedObject", {}).get("uid") != uid:
            continue
        stamp = (event.get("firstTimestamp") or event.get("eventTime")
                 or event.get("lastTimestamp") or event.get("metadata", {}).get(
                     "creationTimestamp"))
        when = parse_time(stamp)
        if when is not None and (found is None or when < found):
            found = when
    return found


class ServiceLBController:
    """``service-controller`` with a fake cloud provider."""

    name = COMPONENT
    watches: tuple[KindInfo, ...] = (SERVICES,)

    def __init__(self, provision_seconds: float = PROVISION_SECONDS) -> None:
        self.provision_seconds = provision_seconds

    def keys_for(self, info: KindInfo, obj: Obj, snapshot: Snapshot) -> Iterable[Key]:
        yield Key.of(info, obj)

    def reconcile(self, snapshot: Snapshot, key: Key, clock: Clock) -> Result:
        """Pure: add the finalizer, wait out provisioning, publish the address."""
        svc = snapshot.get(SERVICES, key.namespace, key.name)
        if svc is None:
            return Result()
        writes = common.Writes()
        finalizers = list(svc.get("metadata", {}).get("finalizers") or [])
        wants_lb = (svc.get("spec", {}).get("type") == "LoadBalancer"
                    and not common.is_deleting(svc))
        if not wants_lb:
            if FINALIZER in finalizers or ingress_ips(svc):
                self.release(svc, finalizers, writes)
            return Result(writes.actions())
        if ingress_ips(svc):
            return Result()
        if FINALIZER not in finalizers:
            updated = deep_copy_json(svc)
            updated["metadata"]["finalizers"] = [*finalizers, FINALIZER]
            writes.update(SERVICES, updated)
            writes.event(svc, "Normal", "EnsuringLoadBalancer", "Ensuring load balancer",
                         COMPONENT)
            return Result(writes.actions(), self.provision_seconds)
        since = ensuring_since(snapshot, svc)
        if since is None:
            writes.event(svc, "Normal", "EnsuringLoadBalancer", "Ensuring load balancer",
                         COMPONENT)
            return Result(writes.actions(), self.provision_seconds)
        remaining = self.provision_seconds - clock.sim_elapsed(since)
        if remaining > 0:
            return Result([], remaining)
        updated = deep_copy_json(svc)
        updated.setdefault("status", {})["loadBalancer"] = {
            "ingress": [{"ip": pick_address(snapshot), "ipMode": "VIP"}]}
        writes.update_status(SERVICES, updated)
        writes.event(svc, "Normal", "EnsuredLoadBalancer", "Ensured load balancer", COMPONENT)
        return Result(writes.actions())

    @staticmethod
    def release(svc: Obj, finalizers: list[str], writes: common.Writes) -> None:
        writes.event(svc, "Normal", "DeletingLoadBalancer", "Deleting load balancer",
                     COMPONENT)
        if FINALIZER in finalizers:
            updated = deep_copy_json(svc)
            updated["metadata"]["finalizers"] = [f for f in finalizers if f != FINALIZER]
            writes.update(SERVICES, updated)
        if ingress_ips(svc) and not common.is_deleting(svc):
            cleared = deep_copy_json(svc)
            cleared.setdefault("status", {})["loadBalancer"] = {}
            writes.update_status(SERVICES, cleared)
        writes.event(svc, "Normal", "DeletedLoadBalancer", "Deleted load balancer", COMPONENT)
