"""ingress-nginx's status sync on the real registry with a manual clock.

Upstream: ``internal/ingress/status/status.go`` of kubernetes/ingress-nginx: the addresses of
the nodes running Ready controller pods (or ``--publish-status-address``, or the
``--publish-service``'s load balancer) in ``status.loadBalancer.ingress`` of each Ingress of
the controller's class, a ``Sync`` event, and the address removed when no controller runs.
"""

from __future__ import annotations

import copy
from typing import Any

from sandbox.controllers.controller_fakes import Cluster

from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.controllers.ingress_nginx import IngressNginxStatusController
from kubelab.sandbox.reconcile.types import Key, Obj

INGRESSES = kinds.resource("ingresses.networking.k8s.io")
CLASSES = kinds.resource("ingressclasses.networking.k8s.io")
PODS = kinds.core("pods")
NODES = kinds.core("nodes")
SERVICES = kinds.core("services")
IMAGE = "registry.k8s.io/ingress-nginx/controller:v1.13.3"


def node(name: str, ip: str) -> Obj:
    return {"metadata": {"name": name}, "status": {"addresses": [
        {"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}]}}


def controller_pod(name: str, node_name: str, *flags: str, ready: bool = True) -> Obj:
    return {"metadata": {"name": name, "namespace": "ingress-nginx"},
            "spec": {"nodeName": node_name, "containers": [{
                "name": "controller", "image": IMAGE,
                "args": ["/nginx-ingress-controller", *flags]}]},
            "status": {"phase": "Running", "conditions": [
                {"type": "Ready", "status": "True" if ready else "False"}]}}


def ingress(name: str = "example", class_name: str | None = "nginx") -> Obj:
    spec: dict[str, Any] = {"rules": [{"host": "hello-world.example", "http": {"paths": [{
        "path": "/", "pathType": "Prefix",
        "backend": {"service": {"name": "web", "port": {"number": 8080}}}}]}}]}
    if class_name:
        spec["ingressClassName"] = class_name
    return {"metadata": {"name": name, "namespace": "default"}, "spec": spec}


def addresses(cluster: Cluster, name: str = "example") -> list[Obj]:
    found = cluster.get(INGRESSES, "default", name)
    assert found is not None
    return list(found["status"].get("loadBalancer", {}).get("ingress") or [])


def setup(cluster: Cluster, *flags: str) -> None:
    cluster.add(NODES, node("kubelab-worker", "172.18.0.3"))
    cluster.add(NODES, node("kubelab-worker2", "172.18.0.4"))
    cluster.add(CLASSES, {"metadata": {"name": "nginx"},
                          "spec": {"controller": "k8s.io/ingress-nginx"}})
    cluster.add(PODS, controller_pod("ctrl-a", "kubelab-worker2", *flags))


def sync(cluster: Cluster, name: str = "example") -> None:
    cluster.run(IngressNginxStatusController(), Key("ingresses.networking.k8s.io", "default", name))


def test_an_ingress_of_the_class_gets_the_controller_nodes_address(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    setup(cluster)
    cluster.add(INGRESSES, ingress())
    sync(cluster)
    assert addresses(cluster) == [{"ip": "172.18.0.4"}]
    assert cluster.events("Sync") == ["Scheduled for sync"]
    result = IngressNginxStatusController().reconcile(
        cluster.snapshot, Key("ingresses.networking.k8s.io", "default", "example"), clock)
    assert result.actions == []  # nothing changes: nothing written


def test_each_node_with_a_ready_controller_pod_is_listed_once(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    setup(cluster)
    cluster.add(PODS, controller_pod("ctrl-b", "kubelab-worker"))
    cluster.add(PODS, controller_pod("ctrl-c", "kubelab-worker"))
    cluster.add(PODS, controller_pod("ctrl-d", "kubelab-control-plane", ready=False))
    cluster.add(INGRESSES, ingress())
    sync(cluster)
    assert addresses(cluster) == [{"ip": "172.18.0.3"}, {"ip": "172.18.0.4"}]


def test_ingresses_of_other_classes_are_left_alone(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    setup(cluster)
    cluster.add(CLASSES, {"metadata": {"name": "traefik"},
                          "spec": {"controller": "traefik.io/ingress-controller"}})
    cluster.add(INGRESSES, ingress("other", "traefik"))
    cluster.add(INGRESSES, ingress("classless", None))
    sync(cluster, "other")
    sync(cluster, "classless")
    assert addresses(cluster, "other") == [] and addresses(cluster, "classless") == []


def test_watch_without_class_and_publish_status_address(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    setup(cluster, "--watch-ingress-without-class=true", "--publish-status-address=localhost")
    cluster.add(INGRESSES, ingress("classless", None))
    sync(cluster, "classless")
    assert addresses(cluster, "classless") == [{"hostname": "localhost"}]


def test_publish_service_takes_the_load_balancer_address(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    setup(cluster, "--publish-service=ingress-nginx/ingress-nginx-controller")
    cluster.add(SERVICES, {"metadata": {"name": "ingress-nginx-controller",
                                        "namespace": "ingress-nginx"},
                           "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
                           "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.10"}]}}})
    cluster.add(INGRESSES, ingress())
    sync(cluster)
    assert addresses(cluster) == [{"ip": "203.0.113.10"}]


def test_the_address_goes_when_the_controller_stops(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    setup(cluster)
    cluster.add(INGRESSES, ingress())
    sync(cluster)
    assert addresses(cluster)
    cluster.delete(PODS, "ingress-nginx", "ctrl-a", grace_period_seconds=0)
    sync(cluster)
    stored = cluster.get(INGRESSES, "default", "example")
    assert stored is not None and stored["status"] == {"loadBalancer": {}}


def test_pod_and_node_events_map_to_every_ingress(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    setup(cluster)
    cluster.add(INGRESSES, ingress("a"))
    cluster.add(INGRESSES, ingress("b"))
    controller = IngressNginxStatusController()
    pod = cluster.get(PODS, "ingress-nginx", "ctrl-a")
    assert pod is not None
    keys = {k.name for k in controller.keys_for(PODS, pod, cluster.snapshot)}
    assert keys == {"a", "b"}
    other = copy.deepcopy(pod)
    other["spec"]["containers"][0]["image"] = "nginx:1.29"
    assert list(controller.keys_for(PODS, other, cluster.snapshot)) == []


def test_node_events_cost_nothing_without_ingresses(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    setup(cluster)
    controller = IngressNginxStatusController()
    node_obj = cluster.get(NODES, "", "kubelab-worker")
    assert node_obj is not None
    assert list(controller.keys_for(NODES, node_obj, cluster.snapshot)) == []
    cluster.add(INGRESSES, ingress())
    assert [k.name for k in controller.keys_for(NODES, node_obj, cluster.snapshot)] == \
        ["example"]
