"""The fake cloud load balancer: <pending>, then an address from 203.0.113.0/24."""

from __future__ import annotations

import ipaddress

from sandbox.controllers.controller_fakes import Cluster, events_of

from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.controllers.service_lb import FINALIZER, ServiceLBController
from kubelab.sandbox.reconcile.types import Key

SVC = kinds.core("services")


def lb(cluster: Cluster, name: str) -> None:
    cluster.add(SVC, {"metadata": {"name": name},
                      "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}})


def test_pending_then_ingress_ip() -> None:
    clock = ManualClock()
    cluster = Cluster(clock)
    lb(cluster, "web")
    controller = ServiceLBController(provision_seconds=5)
    key = Key("services", "default", "web")
    result = cluster.run(controller, key)
    assert events_of(result) == [("EnsuringLoadBalancer", "Ensuring load balancer")]
    assert result.requeue_after == 5
    svc = cluster.get(SVC, "default", "web")
    assert svc["metadata"]["finalizers"] == [FINALIZER]  # type: ignore[index]
    assert not svc.get("status", {}).get("loadBalancer")  # type: ignore[union-attr]
    clock.advance(2)
    result = cluster.run(controller, key)
    assert result.actions == [] and result.requeue_after == 3
    clock.advance(3)
    result = cluster.run(controller, key)
    assert events_of(result) == [("EnsuredLoadBalancer", "Ensured load balancer")]
    ingress = cluster.get(SVC, "default", "web")["status"]["loadBalancer"]["ingress"]  # type: ignore[index]
    assert len(ingress) == 1 and ingress[0]["ipMode"] == "VIP"
    assert ipaddress.ip_address(ingress[0]["ip"]) in ipaddress.ip_network("203.0.113.0/24")
    assert cluster.run(controller, key).actions == []


def test_two_services_get_different_addresses_and_release_on_type_change() -> None:
    clock = ManualClock()
    cluster = Cluster(clock)
    controller = ServiceLBController(provision_seconds=1)
    for name in ("a", "b"):
        lb(cluster, name)
        cluster.run(controller, Key("services", "default", name))
    clock.advance(2)
    for name in ("a", "b"):
        cluster.run(controller, Key("services", "default", name))
    ips = {cluster.get(SVC, "default", n)["status"]["loadBalancer"]["ingress"][0]["ip"]  # type: ignore[index]
           for n in ("a", "b")}
    assert len(ips) == 2
    svc = cluster.get(SVC, "default", "a")
    svc["spec"]["type"] = "ClusterIP"  # type: ignore[index]
    cluster.update(SVC, svc)  # type: ignore[arg-type]
    result = cluster.run(controller, Key("services", "default", "a"))
    assert [r for r, _ in events_of(result)] == ["DeletingLoadBalancer", "DeletedLoadBalancer"]
    svc = cluster.get(SVC, "default", "a")
    assert not svc["metadata"].get("finalizers")  # type: ignore[index]
    assert svc["status"]["loadBalancer"] == {}  # type: ignore[index]
