"""What a fresh kubeadm cluster holds before anyone applies anything.

kubeadm init/join leave: the four system namespaces; the ``default/kubernetes`` Service
(first ClusterIP of the service range) and its endpoints; the ``kube-dns`` Service (tenth
ClusterIP) labelled for ``kubectl cluster-info``; one Node per machine, the control-plane
node labelled and tainted ``node-role.kubernetes.io/control-plane``; the static control-plane
pods, the kube-proxy DaemonSet and the CoreDNS Deployment; and, as kind adds, the default
StorageClass ``standard``. Names follow kind's
(``kubelab-control-plane``, ``kubelab-worker``, ``kubelab-worker2``…), which is what learners
see on a kind cluster too.

Seeding is idempotent: a restarted sandbox keeps its objects and only fills in what is
missing.
"""

from __future__ import annotations

from typing import Any

from kubelab.apimachinery.types import deep_copy_json
from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.errors import ApiError
from kubelab.sandbox.auth import policy as rbac_policy
from kubelab.sandbox.store.registry import Registry

CLUSTER_NAME = "kubelab"
CONTROL_PLANE = f"{CLUSTER_NAME}-control-plane"
SYSTEM_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")
KUBE_VERSION_IMAGES = "registry.k8s.io"


def node_names(workers: int) -> list[str]:
    names = [CONTROL_PLANE]
    for i in range(workers):
        names.append(f"{CLUSTER_NAME}-worker" + (str(i + 1) if i else ""))
    return names


def _ensure(registry: Registry, info: kinds.KindInfo, obj: dict[str, Any],
            namespace: str = "") -> None:
    meta = obj["metadata"]
    if registry.peek(info, namespace or meta.get("namespace", ""), meta["name"]) is None:
        try:
            registry.create(info, deep_copy_json(obj), namespace=namespace)
        except ApiError:
            raise


def _service(name: str, namespace: str, cluster_ip: str, ports: list[dict[str, Any]],
             labels: dict[str, str], selector: dict[str, str] | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"clusterIP": cluster_ip, "ports": ports, "type": "ClusterIP"}
    if selector:
        spec["selector"] = selector
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": spec}


def seed(registry: Registry, workers: int) -> None:
    ns_info = kinds.core("namespaces")
    for ns in SYSTEM_NAMESPACES:
        _ensure(registry, ns_info, {"apiVersion": "v1", "kind": "Namespace",
                                    "metadata": {"name": ns}})
    rbac_policy.seed(registry)  # kube-apiserver's rbac/bootstrap-roles post-start hook
    sa = kinds.core("serviceaccounts")
    for ns in SYSTEM_NAMESPACES:
        _ensure(registry, sa, {"apiVersion": "v1", "kind": "ServiceAccount",
                               "metadata": {"name": "default", "namespace": ns}}, ns)
    svc = kinds.core("services")
    _ensure(registry, svc, _service(
        "kubernetes", "default", "10.96.0.1",
        [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
        {"component": "apiserver", "provider": "kubernetes"}, None), "default")
    _ensure(registry, svc, _service(
        "kube-dns", "kube-system", "10.96.0.10",
        [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
         {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
         {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}],
        {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true",
         "kubernetes.io/name": "CoreDNS"}, {"k8s-app": "kube-dns"}), "kube-system")
    _seed_workloads(registry)
    _ensure(registry, kinds.resource("storageclasses.storage.k8s.io"), DEFAULT_STORAGE_CLASS)


#: kind's default StorageClass: claims that name no class get it, and its provisioner
#: (rancher.io/local-path, simulated by the sandbox's controller manager) makes a volume on
#: the node the scheduler picked for the claim's first pod.
DEFAULT_STORAGE_CLASS: dict[str, Any] = {
    "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
    "metadata": {"name": "standard",
                 "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
    "provisioner": "rancher.io/local-path", "reclaimPolicy": "Delete",
    "volumeBindingMode": "WaitForFirstConsumer",
}


def _seed_workloads(registry: Registry) -> None:
    """kube-proxy (DaemonSet) and CoreDNS (Deployment), as kubeadm's addons phase creates."""
    ds = kinds.apps("daemonsets")
    _ensure(registry, ds, {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "kube-proxy", "namespace": "kube-system",
                     "labels": {"k8s-app": "kube-proxy"}},
        "spec": {
            "selector": {"matchLabels": {"k8s-app": "kube-proxy"}},
            "template": {
                "metadata": {"labels": {"k8s-app": "kube-proxy"}},
                "spec": {
                    "priorityClassName": "system-node-critical",
                    "hostNetwork": True,
                    "tolerations": [{"operator": "Exists"}],
                    "containers": [{
                        "name": "kube-proxy",
                        "image": f"{KUBE_VERSION_IMAGES}/kube-proxy:v1.37.1",
                        "command": ["/usr/local/bin/kube-proxy",
                                    "--config=/var/lib/kube-proxy/config.conf",
                                    "--hostname-override=$(NODE_NAME)"],
                    }],
                },
            },
        },
    }, "kube-system")
    deploy = kinds.apps("deployments")
    _ensure(registry, deploy, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "coredns", "namespace": "kube-system",
                     "labels": {"k8s-app": "kube-dns"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"k8s-app": "kube-dns"}},
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxUnavailable": 1, "maxSurge": "25%"}},
            "template": {
                "metadata": {"labels": {"k8s-app": "kube-dns"}},
                "spec": {
                    "priorityClassName": "system-cluster-critical",
                    "tolerations": [
                        {"key": "CriticalAddonsOnly", "operator": "Exists"},
                        {"key": "node-role.kubernetes.io/control-plane",
                         "effect": "NoSchedule"}],
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                    "containers": [{
                        "name": "coredns",
                        "image": f"{KUBE_VERSION_IMAGES}/coredns/coredns:v1.12.1",
                        "args": ["-conf", "/etc/coredns/Corefile"],
                        "ports": [{"containerPort": 53, "name": "dns", "protocol": "UDP"},
                                  {"containerPort": 53, "name": "dns-tcp", "protocol": "TCP"},
                                  {"containerPort": 9153, "name": "metrics",
                                   "protocol": "TCP"}],
                        "resources": {"limits": {"memory": "170Mi"},
                                      "requests": {"cpu": "100m", "memory": "70Mi"}},
                    }],
                },
            },
        },
    }, "kube-system")
