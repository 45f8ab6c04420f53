"""What ``env`` shows in a container: the kubelet's Service variables (``enableServiceLinks``)
and how they rank against the pod's own ``env``, and the kubelet-managed files."""

from __future__ import annotations

from typing import Any

from sandbox.kubelet.kubelet_sim import Cluster

from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.kubelet.volumes import container_env, kubelet_managed_files

SERVICES = kinds.core("services")


def _service(cluster: Cluster, name: str, namespace: str, ip: str,
             ports: list[dict[str, Any]]) -> None:
    cluster.add(SERVICES, {"metadata": {"name": name, "namespace": namespace},
                           "spec": {"clusterIP": ip, "ports": ports}})


def _cluster() -> Cluster:
    cluster = Cluster(ManualClock())
    _service(cluster, "kubernetes", "default", "10.96.0.1",
             [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}])
    _service(cluster, "hello-world", "default", "10.96.12.7",
             [{"port": 80, "protocol": "TCP", "targetPort": 8080}])
    _service(cluster, "db", "team-b", "10.96.40.2",
             [{"name": "sql", "port": 5432}, {"name": "metrics", "port": 9187,
                                              "protocol": "UDP"}])
    _service(cluster, "headless", "team-b", "None", [{"port": 80}])
    return cluster


def _env(cluster: Cluster, namespace: str, **spec: Any) -> dict[str, str]:
    container = {"name": "c", "image": "busybox", **spec.pop("container", {})}
    pod = {"metadata": {"name": "p", "namespace": namespace},
           "spec": {"containers": [container], **spec}}
    return container_env(cluster, pod, container, node_ip="172.18.0.2", pod_ip="10.244.1.5")


def test_every_pod_gets_the_master_service_and_its_namespaces_services() -> None:
    env = _env(_cluster(), "team-b")
    assert {k: v for k, v in env.items() if k.startswith("KUBERNETES_")} == {
        "KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443",
        "KUBERNETES_SERVICE_PORT_HTTPS": "443", "KUBERNETES_PORT": "tcp://10.96.0.1:443",
        "KUBERNETES_PORT_443_TCP": "tcp://10.96.0.1:443", "KUBERNETES_PORT_443_TCP_PROTO": "tcp",
        "KUBERNETES_PORT_443_TCP_PORT": "443", "KUBERNETES_PORT_443_TCP_ADDR": "10.96.0.1"}
    assert env["DB_SERVICE_HOST"] == "10.96.40.2" and env["DB_SERVICE_PORT"] == "5432"
    assert env["DB_SERVICE_PORT_SQL"] == "5432" and env["DB_SERVICE_PORT_METRICS"] == "9187"
    assert env["DB_PORT"] == "tcp://10.96.40.2:5432"
    assert env["DB_PORT_9187_UDP"] == "udp://10.96.40.2:9187"
    assert env["DB_PORT_9187_UDP_PROTO"] == "udp"
    assert not any(k.startswith(("HELLO_WORLD_", "HEADLESS_")) for k in env)  # other ns; no IP


def test_dashes_become_underscores_and_links_can_be_turned_off() -> None:
    cluster = _cluster()
    env = _env(cluster, "default")
    assert env["HELLO_WORLD_SERVICE_HOST"] == "10.96.12.7"
    assert env["HELLO_WORLD_PORT_80_TCP_ADDR"] == "10.96.12.7"
    off = _env(cluster, "default", enableServiceLinks=False)
    assert "HELLO_WORLD_SERVICE_HOST" not in off
    assert off["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"  # the master service stays


def test_the_pods_own_env_wins_and_may_refer_to_service_variables() -> None:
    env = _env(_cluster(), "team-b", container={"env": [
        {"name": "DB_SERVICE_PORT", "value": "6543"},
        {"name": "DSN", "value": "postgres://$(DB_SERVICE_HOST):$(DB_SERVICE_PORT)/app"}]})
    assert env["DB_SERVICE_PORT"] == "6543"
    assert env["DSN"] == "postgres://10.96.40.2:6543/app"


def test_kubelet_managed_files_follow_the_dns_policy() -> None:
    pod = {"metadata": {"name": "web-1", "namespace": "team-b"}, "spec": {}}
    files = kubelet_managed_files(pod, "10.244.1.5")
    assert files["/etc/resolv.conf"].splitlines()[0] == (
        "search team-b.svc.cluster.local svc.cluster.local cluster.local")
    assert files["/etc/hosts"].endswith("10.244.1.5\tweb-1\n")
    assert files["/etc/hostname"] == "web-1\n"
    assert "/etc/resolv.conf" not in kubelet_managed_files(
        {"metadata": {"name": "x"}, "spec": {"dnsPolicy": "Default"}}, "10.244.1.6")
