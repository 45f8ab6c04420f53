"""EndpointSlices and Endpoints from pod readiness."""

from __future__ import annotations

import pytest
from sandbox.controllers.controller_fakes import Cluster, make_ready

from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import ManualClock, rfc3339
from kubelab.sandbox.controllers.endpoints import EndpointsController
from kubelab.sandbox.reconcile.types import Key, Obj

SVC = kinds.core("services")
PODS = kinds.core("pods")
EP = kinds.core("endpoints")
SLICES = kinds.resource("endpointslices.discovery.k8s.io")
KEY = Key("services", "default", "web")


@pytest.fixture
def cluster(clock: ManualClock) -> Cluster:
    c = Cluster(clock)
    c.add(SVC, {"metadata": {"name": "web", "labels": {"team": "a"}},
                "spec": {"selector": {"app": "web"}, "clusterIP": "10.96.0.10",
                         "ports": [{"name": "http", "port": 80, "targetPort": "web",
                                    "protocol": "TCP"}]}})
    return c


def add_pod(cluster: Cluster, name: str, ip: str, ready: bool) -> Obj:
    pod = cluster.add(PODS, {
        "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "nginx", "ports": [
            {"name": "web", "containerPort": 8080, "protocol": "TCP"}]}]}})
    pod = make_ready(pod, cluster.clock, node="worker-1", ip=ip)  # type: ignore[arg-type]
    if not ready:
        pod["status"]["conditions"][0]["status"] = "False"
    cluster.objects[("pods", "default", name)] = pod
    return pod


def test_slices_and_endpoints_follow_readiness(cluster: Cluster) -> None:
    ready = add_pod(cluster, "web-a", "10.244.1.7", True)
    add_pod(cluster, "web-b", "10.244.1.5", False)
    cluster.add(PODS, {"metadata": {"name": "no-ip", "labels": {"app": "web"}},
                       "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    cluster.run(EndpointsController(), KEY)
    (slice_obj,) = cluster.list(SLICES)
    assert slice_obj["metadata"]["name"].startswith("web-")
    assert slice_obj["metadata"]["labels"] == {
        "team": "a", "kubernetes.io/service-name": "web",
        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}
    assert slice_obj["metadata"]["ownerReferences"][0]["kind"] == "Service"
    assert slice_obj["addressType"] == "IPv4"
    assert slice_obj["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    by_name = {e["targetRef"]["name"]: e for e in slice_obj["endpoints"]}
    assert set(by_name) == {"web-a", "web-b"}
    assert by_name["web-a"]["conditions"] == {"ready": True, "serving": True,
                                              "terminating": False}
    assert by_name["web-b"]["conditions"] == {"ready": False, "serving": False,
                                              "terminating": False}
    assert by_name["web-a"]["nodeName"] == "worker-1"
    assert by_name["web-a"]["targetRef"]["uid"] == ready["metadata"]["uid"]
    ep = cluster.get(EP, "default", "web")
    assert ep is not None
    (subset,) = ep["subsets"]
    assert [a["ip"] for a in subset["addresses"]] == ["10.244.1.7"]
    assert [a["ip"] for a in subset["notReadyAddresses"]] == ["10.244.1.5"]
    assert subset["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]


def test_terminating_pod_is_not_ready_and_leaves_endpoints(cluster: Cluster,
                                                           clock: ManualClock) -> None:
    pod = add_pod(cluster, "web-a", "10.244.1.7", True)
    pod["metadata"]["deletionTimestamp"] = rfc3339(clock.now())
    cluster.objects[("pods", "default", "web-a")] = pod
    cluster.run(EndpointsController(), KEY)
    (slice_obj,) = cluster.list(SLICES)
    assert slice_obj["endpoints"][0]["conditions"] == {"ready": False, "serving": True,
                                                       "terminating": True}
    assert "subsets" not in cluster.get(EP, "default", "web")  # type: ignore[operator]


def test_readiness_change_updates_in_place(cluster: Cluster) -> None:
    add_pod(cluster, "web-a", "10.244.1.7", False)
    controller = EndpointsController()
    cluster.run(controller, KEY)
    name = cluster.list(SLICES)[0]["metadata"]["name"]
    assert cluster.run(controller, KEY).actions == []  # steady state: no writes
    add_pod(cluster, "web-c", "10.244.2.2", True)
    cluster.run(controller, KEY)
    (slice_obj,) = cluster.list(SLICES)
    assert slice_obj["metadata"]["name"] == name
    assert len(slice_obj["endpoints"]) == 2
    ep = cluster.get(EP, "default", "web")
    assert [a["ip"] for a in ep["subsets"][0]["addresses"]] == ["10.244.2.2"]  # type: ignore[index]


def test_kubernetes_service_points_at_the_api_server(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.add(SVC, {"metadata": {"name": "kubernetes"},
                      "spec": {"ports": [{"name": "https", "port": 443,
                                          "targetPort": 6443}]}})
    cluster.add(PODS, {"metadata": {"name": "kube-apiserver-control-plane",
                                    "namespace": "kube-system"},
                       "spec": {"containers": [{"name": "c", "image": "nginx"}]}, "status": {"podIP": "172.18.0.2"}})
    cluster.run(EndpointsController(), Key("services", "default", "kubernetes"))
    ep = cluster.get(EP, "default", "kubernetes")
    assert ep["subsets"] == [{"addresses": [{"ip": "172.18.0.2"}],  # type: ignore[index]
                              "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}]
    (slice_obj,) = cluster.list(SLICES)
    assert slice_obj["metadata"]["name"] == "kubernetes"
    assert slice_obj["endpoints"][0]["addresses"] == ["172.18.0.2"]


def test_service_without_selector_is_left_alone(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.add(SVC, {"metadata": {"name": "ext"}, "spec": {"ports": [{"port": 80}]}})
    assert EndpointsController().reconcile(cluster, Key("services", "default", "ext"),
                                           clock).actions == []
