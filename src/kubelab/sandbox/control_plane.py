"""The control plane as a kubeadm cluster shows it: static pods and leader-election leases.

On a kubeadm (or kind) cluster the control-plane components run as *static pods*: the
kubelet on the control-plane node starts them from manifests and publishes read-only *mirror
pods* (``kube-apiserver-<node>``, ``etcd-<node>``, ``kube-scheduler-<node>``,
``kube-controller-manager-<node>`` in ``kube-system``, annotated
``kubernetes.io/config.mirror``). The scheduler and the controller manager also hold leader
leases (``kube-system/kube-scheduler``, ``kube-system/kube-controller-manager``) that they
renew every couple of seconds; a stalled component stops renewing and its lease goes stale.

Here the components are coroutines in the sandbox process, so this reconciler publishes the
same objects from their *real* state: a paused or crashed component's mirror pod turns
not-ready and its lease stops being renewed, exactly what ``kubectl get pods -n kube-system``
and the live diagram show on a real cluster when a component dies.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

from kubelab.apimachinery.types import Obj, deep_copy_json
from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import Clock, parse_time, rfc3339, rfc3339_micro
from kubelab.sandbox.reconcile.types import (
    Action,
    Create,
    Key,
    Result,
    Snapshot,
    Update,
    UpdateStatus,
)

PODS = kinds.core("pods")
LEASES = kinds.resource("leases.coordination.k8s.io")

#: Leader election timings of kube-scheduler and kube-controller-manager (simulated s).
LEASE_DURATION = 15
RENEW_PERIOD = 2.0

# component name -> (image, command head, the runner names whose health it reflects)
STATIC_PODS: dict[str, tuple[str, list[str], tuple[str, ...]]] = {
    "etcd": ("registry.k8s.io/etcd:3.6.4-0",
             ["etcd", "--data-dir=/var/lib/etcd", "--listen-client-urls=https://127.0.0.1:2379"],
             ("etcd",)),
    "kube-apiserver": ("registry.k8s.io/kube-apiserver:{version}",
                       ["kube-apiserver", "--service-cluster-ip-range=10.96.0.0/12",
                        "--secure-port=6443"], ("apiserver",)),
    "kube-controller-manager": ("registry.k8s.io/kube-controller-manager:{version}",
                                ["kube-controller-manager", "--leader-elect=true"],
                                ("controller-manager",)),
    "kube-scheduler": ("registry.k8s.io/kube-scheduler:{version}",
                       ["kube-scheduler", "--leader-elect=true"], ("scheduler",)),
}
LEADER_LEASES = ("kube-scheduler", "kube-controller-manager")

KEY = Key("control-plane", "kube-system", "control-plane")


def _hex(text: str, n: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


class ControlPlane:
    """Publishes mirror pods and leader leases from the components' real health."""

    name = "control-plane"
    watches: tuple[kinds.KindInfo, ...] = (PODS, LEASES)

    def __init__(self, node: str, version: str,
                 health: Callable[[], dict[str, bool]]) -> None:
        self.node = node
        self.version = version if version.startswith("v") else f"v{version}"
        self.health = health

    def initial_keys(self) -> list[Key]:
        return [KEY]

    def keys_for(self, info: kinds.KindInfo, obj: Obj, snapshot: Snapshot) -> Iterable[Key]:
        meta = obj.get("metadata", {})
        if meta.get("namespace") == "kube-system" and (
                meta.get("name", "").endswith(f"-{self.node}")
                or meta.get("name") in LEADER_LEASES):
            yield KEY

    def reconcile(self, snapshot: Snapshot, key: Key, clock: Clock) -> Result:
        health = self.health()
        actions: list[Action] = []
        for component, (image, command, sources) in STATIC_PODS.items():
            healthy = all(health.get(s, True) for s in sources)
            actions += self._mirror_pod(snapshot, clock, component,
                                        image.format(version=self.version), command, healthy)
        for lease in LEADER_LEASES:
            source = "scheduler" if lease == "kube-scheduler" else "controller-manager"
            if health.get(source, True):
                actions += self._renew(snapshot, clock, lease)
        # Renewals are upkeep: under virtual time they never make the clock skip (nobody
        # waits for one), but every renewal on the way of a skip is made on schedule.
        return Result(actions, requeue_after=RENEW_PERIOD, background=True)

    def _mirror_pod(self, snapshot: Snapshot, clock: Clock, component: str, image: str,
                    command: list[str], healthy: bool) -> list[Action]:
        name = f"{component}-{self.node}"
        existing = snapshot.get(PODS, "kube-system", name)
        if existing is None:
            pod: Obj = {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {
                    "name": name, "namespace": "kube-system",
                    "labels": {"component": component, "tier": "control-plane"},
                    "annotations": {
                        "kubernetes.io/config.hash": _hex(name, 32),
                        "kubernetes.io/config.mirror": _hex(name, 32),
                        "kubernetes.io/config.seen": rfc3339_micro(clock.now()),
                        "kubernetes.io/config.source": "file",
                    },
                },
                "spec": {
                    "nodeName": self.node, "hostNetwork": True,
                    "priorityClassName": "system-node-critical", "priority": 2000001000,
                    "tolerations": [{"operator": "Exists", "effect": "NoExecute"}],
                    "containers": [{
                        "name": component, "image": image, "command": command,
                        "resources": {"requests": {"cpu": {"etcd": "100m",
                                                           "kube-apiserver": "250m",
                                                           "kube-controller-manager": "200m",
                                                           "kube-scheduler": "100m"}[component]}},
                    }],
                },
            }
            return [Create(PODS, pod)]
        ready = "True" if healthy else "False"
        status = existing.get("status", {})
        current = next((c for c in status.get("conditions") or []
                        if c.get("type") == "Ready"), None)
        if current is not None and current.get("status") == ready and \
                status.get("phase") == "Running":
            return []  # the common case, every renewal period: no clock reading needed
        now = rfc3339(clock.now())
        started = status.get("startTime") or now
        container_id = "containerd://" + _hex(name + started, 64)
        conditions = []
        for ctype in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                      "PodScheduled"):
            value = ready if ctype in ("Ready", "ContainersReady") else "True"
            prior = next((c for c in status.get("conditions") or []
                          if c.get("type") == ctype), None)
            transition = prior["lastTransitionTime"] if prior and \
                prior.get("status") == value else now
            condition: Obj = {"type": ctype, "status": value, "lastProbeTime": None,
                              "lastTransitionTime": transition}
            if value == "False":
                condition["reason"] = "ContainersNotReady"
                condition["message"] = f"containers with unready status: [{component}]"
            conditions.append(condition)
        new = deep_copy_json(existing)
        new["status"] = {
            "phase": "Running", "conditions": conditions,
            "hostIP": "172.18.0.2", "hostIPs": [{"ip": "172.18.0.2"}],
            "podIP": "172.18.0.2", "podIPs": [{"ip": "172.18.0.2"}],
            "startTime": started, "qosClass": "Burstable",
            "containerStatuses": [{
                "name": component, "image": new["spec"]["containers"][0]["image"],
                "imageID": "sha256:" + _hex(new["spec"]["containers"][0]["image"], 64),
                "containerID": container_id, "ready": healthy, "started": True,
                "restartCount": 0, "state": {"running": {"startedAt": started}},
            }],
        }
        return [UpdateStatus(PODS, new)]

    def _renew(self, snapshot: Snapshot, clock: Clock, lease: str) -> list[Action]:
        existing = snapshot.get(LEASES, "kube-system", lease)
        if existing is None:
            now = rfc3339_micro(clock.now())
            return [Create(LEASES, {
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": lease, "namespace": "kube-system"},
                "spec": {"holderIdentity": f"{self.node}_{_hex(lease + self.node, 8)}-"
                                           f"{_hex(lease, 4)}-{_hex(self.node, 4)}",
                         "leaseDurationSeconds": LEASE_DURATION, "acquireTime": now,
                         "renewTime": now, "leaseTransitions": 0},
            }, manager=lease)]
        renewed = parse_time(existing.get("spec", {}).get("renewTime"))
        if renewed is not None and clock.sim_elapsed(renewed) < RENEW_PERIOD * 0.9:
            return []
        now = rfc3339_micro(clock.now())
        # A shallow copy with a new spec: the registry copies what it stores, and a deep copy
        # here (managedFields and all) every two simulated seconds was half of a renewal.
        new = {**existing, "spec": {**existing["spec"], "renewTime": now}}
        return [Update(LEASES, new, manager=lease)]
