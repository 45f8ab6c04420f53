"""ingress-nginx's status sync, simulated: each Ingress of its class gets the controller's address.

Mirrors ``internal/ingress/status/status.go`` of kubernetes/ingress-nginx (``runningAddresses``,
``updateStatus``) as the controller pod runs it: the address is ``--publish-status-address``
when given, else the LoadBalancer ingress (or ExternalName, or external IPs) of
``--publish-service``, else the IP of every node that runs a Running and Ready controller pod
(the node's ExternalIP, else its InternalIP: minikube's addon, whose ADDRESS is the node IP).
The addresses go, sorted, into ``status.loadBalancer.ingress`` of every Ingress the controller
serves (its IngressClass's ``spec.controller``, the legacy class annotation, or no class with
``--watch-ingress-without-class``), with the controller's ``Sync`` event ("Scheduled for
sync"). When no controller pod runs any more the addresses are removed, as the controller does
on shutdown (``--update-status-on-shutdown``, on by default). The controller is found the way
the pods themselves say it: a running container of ``registry.k8s.io/ingress-nginx/controller``
and its command line (:mod:`kubelab.sandbox.images.ingress_nginx`).

Written as a reconciler over a snapshot, like the controller manager's controllers, with the
controller's own field manager (``nginx-ingress-controller``); the routing itself happens in
the controller pod's nginx (:mod:`kubelab.sandbox.images.ingress_server`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from kubelab.sandbox import images
from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.clock import Clock
from kubelab.sandbox.controllers import common
from kubelab.sandbox.images import ingress_nginx
from kubelab.sandbox.images.ingress_nginx import ControllerFlags
from kubelab.sandbox.reconcile.types import Key, Obj, Result, Snapshot

INGRESSES = kinds.resource("ingresses.networking.k8s.io")
CLASSES = kinds.resource("ingressclasses.networking.k8s.io")
PODS = kinds.core("pods")
NODES = kinds.core("nodes")
SERVICES = kinds.core("services")
COMPONENT = "nginx-ingress-controller"


@dataclass(frozen=True)
class ControllerPod:
    """A pod running the controller, and the flags its command line gives."""

    pod: Obj
    flags: ControllerFlags


def controller_flags(container: Obj) -> ControllerFlags | None:
    """The flags of a container that runs the controller, or None for any other container."""
    reference = str(container.get("image") or "")
    if ingress_nginx.IMAGE not in reference:
        return None
    try:
        image = images.lookup(reference)
    except (images.ImageNotFound, images.InvalidImageName):
        return None
    argv = images.with_argv(image, container.get("command") or [],
                            container.get("args") or []).argv
    args = ingress_nginx.controller_argv(argv)
    return ingress_nginx.parse_flags(args) if args is not None else None


def controller_pods(snapshot: Snapshot) -> list[ControllerPod]:
    """Running controller pods (the controller's leader is one of them)."""
    found: list[ControllerPod] = []
    for pod in snapshot.list(PODS):
        if common.is_deleting(pod) or (pod.get("status") or {}).get("phase") != "Running":
            continue
        for container in (pod.get("spec") or {}).get("containers") or []:
            flags = controller_flags(container)
            if flags is not None:
                found.append(ControllerPod(pod, flags))
                break
    return found


def node_address(node: Obj) -> str:
    """``GetNodeIPOrName``: the ExternalIP, else the InternalIP, else the node's name."""
    addresses = (node.get("status") or {}).get("addresses") or []
    for wanted in ("ExternalIP", "InternalIP"):
        for address in addresses:
            if address.get("type") == wanted and address.get("address"):
                return str(address["address"])
    return common.name_of(node)


def running_addresses(snapshot: Snapshot, flags: ControllerFlags,
                      pods: Iterable[Obj]) -> list[str]:
    """``runningAddresses``: where the controller says it can be reached."""
    if flags.publish_status_address:
        return [a.strip() for a in flags.publish_status_address.split(",") if a.strip()]
    if flags.publish_service:
        namespace, _, name = flags.publish_service.partition("/")
        svc = snapshot.get(SERVICES, namespace, name)
        if svc is None:
            return []
        spec = svc.get("spec") or {}
        if spec.get("type") == "ExternalName":
            return [str(spec.get("externalName") or "")]
        found = [str(i.get("ip") or i.get("hostname"))
                 for i in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress")
                 or [] if i.get("ip") or i.get("hostname")]
        return found + [str(ip) for ip in spec.get("externalIPs") or [] if str(ip) not in found]
    found = []
    for pod in pods:
        if not common.is_pod_ready(pod):
            continue
        node = snapshot.get(NODES, "", str((pod.get("spec") or {}).get("nodeName") or ""))
        if node is not None and (address := node_address(node)) not in found:
            found.append(address)
    return found


def load_balancer_ingress(addresses: Iterable[str]) -> list[Obj]:
    """``standardizeLoadBalancerIngresses``: IPs as ``ip``, names as ``hostname``, sorted."""
    entries: list[Obj] = []
    for address in sorted(set(addresses)):
        try:
            ipaddress.ip_address(address)
            entries.append({"ip": address})
        except ValueError:
            entries.append({"hostname": address})
    return entries


class IngressNginxStatusController:
    """The controller pod's status sync: Ingress → ``status.loadBalancer.ingress``."""

    name = COMPONENT
    field_manager = COMPONENT
    watches: tuple[KindInfo, ...] = (INGRESSES, CLASSES, PODS, NODES, SERVICES)

    def keys_for(self, info: KindInfo, obj: Obj, snapshot: Snapshot) -> Iterable[Key]:
        if info is INGRESSES:
            yield Key.of(info, obj)
            return
        if info is PODS and not any(
                ingress_nginx.IMAGE in str(c.get("image") or "")
                for c in (obj.get("spec") or {}).get("containers") or []):
            return  # the cheap test first: most pod events are not the controller's
        ingresses = snapshot.list(INGRESSES)
        if not ingresses or (info in (NODES, SERVICES) and not controller_pods(snapshot)):
            return
        for ingress in ingresses:
            yield Key.of(INGRESSES, ingress)

    def reconcile(self, snapshot: Snapshot, key: Key, clock: Clock) -> Result:
        """Pure: the addresses the serving controller publishes, written when they differ."""
        ingress = snapshot.get(INGRESSES, key.namespace, key.name)
        if ingress is None or common.is_deleting(ingress):
            return Result()
        classes = snapshot.list(CLASSES)
        running = controller_pods(snapshot)
        serving = [c for c in running
                   if ingress_nginx.serves_ingress(ingress, classes, c.flags)]
        current = ((ingress.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        if serving:
            flags = serving[0].flags
            group = [c.pod for c in serving if c.flags == flags]
            wanted = load_balancer_ingress(running_addresses(snapshot, flags, group))
        else:
            wanted = []  # nobody serves it (any more): the shutdown clears the address
        if wanted == current:
            return Result()
        writes = common.Writes()
        updated = dict(ingress)
        updated["status"] = {**(ingress.get("status") or {}),
                             "loadBalancer": {"ingress": wanted} if wanted else {}}
        writes.update_status(INGRESSES, updated)
        if wanted:
            writes.event(ingress, "Normal", "Sync", "Scheduled for sync", COMPONENT)
        return Result(writes.actions())
