"""The node a kubelet registers and keeps alive: the Node object, its status and its Lease.

Mirrors the kubelet's ``pkg/kubelet/kubelet_node_status.go`` (``initialNode``,
``setNodeStatus`` with ``pkg/kubelet/nodestatus/setters.go``: capacity/allocatable, the
MemoryPressure/DiskPressure/PIDPressure/Ready conditions with their reasons and messages,
addresses, daemon endpoints, nodeInfo, images) and ``pkg/kubelet/nodelease`` (a Lease in
``kube-node-lease`` named after the node, ``leaseDurationSeconds: 40``, renewed every
10 seconds). The node status is reported when it changes and at least every 5 minutes
(``nodeStatusReportFrequency``); the Lease is the heartbeat the node-lifecycle controller
watches.

A workshop node is a GCE ``n1-standard-1`` (1 vCPU, 3.75 GB), with what GKE reserves taken
out of allocatable (940m CPU, about 2.7Gi memory).
"""

from __future__ import annotations

from dataclasses import dataclass

from kubelab.apimachinery.types import Obj
from kubelab.sandbox.clock import Clock, rfc3339, rfc3339_micro
from kubelab.sandbox.kubelet.runtime import NodeRuntime, machine_id, system_uuid

LEASE_DURATION = 40
LEASE_RENEW_SECONDS = 10.0
STATUS_REPORT_SECONDS = 300.0
CONTROL_PLANE_ROLE = "node-role.kubernetes.io/control-plane"


@dataclass(frozen=True)
class MachineType:
    name: str
    capacity: dict[str, str]
    allocatable: dict[str, str]


N1_STANDARD_1 = MachineType(
    "n1-standard-1",
    capacity={"cpu": "1", "ephemeral-storage": "47227284Ki", "hugepages-1Gi": "0",
              "hugepages-2Mi": "0", "memory": "3785940Ki", "pods": "110"},
    allocatable={"cpu": "940m", "ephemeral-storage": "4278888833", "hugepages-1Gi": "0",
                 "hugepages-2Mi": "0", "memory": "2832084Ki", "pods": "110"},
)


@dataclass(frozen=True)
class NodeConfig:
    """What differs between nodes (and between sandboxes)."""

    name: str
    index: int
    control_plane: bool = False
    machine: MachineType = N1_STANDARD_1
    kubelet_version: str = "v1.37.0"
    os_image: str = "Ubuntu 24.04.2 LTS"
    kernel_version: str = "6.8.0-1027-gcp"
    container_runtime: str = "containerd://2.1.1"


_CONDITIONS = (
    ("MemoryPressure", "False", "KubeletHasSufficientMemory",
     "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)


def node_reference(name: str) -> Obj:
    """The object node events are about: the kubelet uses the node *name* as its UID."""
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "uid": name}}


def node_conditions(old: list[Obj], clock: Clock) -> list[Obj]:
    now = rfc3339(clock.now())
    out: list[Obj] = []
    for ctype, status, reason, message in _CONDITIONS:
        transition = now
        for cond in old:
            if cond.get("type") == ctype and cond.get("status") == status:
                transition = cond.get("lastTransitionTime") or now
        out.append({"type": ctype, "status": status, "lastHeartbeatTime": now,
                    "lastTransitionTime": transition, "reason": reason, "message": message})
    return out


def node_status(config: NodeConfig, runtime: NodeRuntime, old: Obj | None,
                clock: Clock) -> Obj:
    old_conditions = list((old or {}).get("conditions") or [])
    return {
        "capacity": dict(config.machine.capacity),
        "allocatable": dict(config.machine.allocatable),
        "conditions": node_conditions(old_conditions, clock),
        "addresses": [{"type": "InternalIP", "address": runtime.node_ip},
                      {"type": "Hostname", "address": config.name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {
            "machineID": machine_id(config.name),
            "systemUUID": system_uuid(config.name),
            "bootID": runtime.boot_id,
            "kernelVersion": config.kernel_version,
            "osImage": config.os_image,
            "containerRuntimeVersion": config.container_runtime,
            "kubeletVersion": config.kubelet_version,
            "kubeProxyVersion": "",
            "operatingSystem": "linux",
            "architecture": "amd64",
        },
        "images": [{"names": [image.ref.image_id(), image.ref.full],
                    "sizeBytes": image.behaviour.size}
                   for _, image in sorted(runtime.images.items())],
    }


def initial_node(config: NodeConfig, runtime: NodeRuntime, clock: Clock) -> Obj:
    """The Node the kubelet registers (``initialNode``), status included."""
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/instance-type": config.machine.name,
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": config.name,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": config.machine.name,
    }
    spec: Obj = {"podCIDR": runtime.pod_cidr, "podCIDRs": [runtime.pod_cidr]}
    if config.control_plane:
        labels[CONTROL_PLANE_ROLE] = ""
        labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
        spec["taints"] = [{"key": CONTROL_PLANE_ROLE, "effect": "NoSchedule"}]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": config.name,
            "labels": labels,
            "annotations": {
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        },
        "spec": spec,
        "status": node_status(config, runtime, None, clock),
    }


def status_needs_update(current: Obj, desired: Obj, runtime: NodeRuntime,
                        clock: Clock) -> bool:
    """Report when something changed, or when the last report is 5 minutes old."""
    if runtime.last_status_report is None:
        return True
    if clock.sim_elapsed(runtime.last_status_report) >= STATUS_REPORT_SECONDS:
        return True

    for key in ("capacity", "allocatable", "addresses", "nodeInfo", "images"):
        if current.get(key) != desired.get(key):
            return True
    return _without_times(current.get("conditions")) != _without_times(
        desired.get("conditions"))


_TIMES = ("lastHeartbeatTime", "lastTransitionTime")


def _without_times(conditions: list[Obj] | None) -> list[Obj]:
    """Conditions as compared for a change: heartbeat and transition times left out (a
    shallow view of each condition, no copy of the status)."""
    return [{k: v for k, v in cond.items() if k not in _TIMES} for cond in conditions or []]


def lease(config: NodeConfig, node_uid: str, clock: Clock, old: Obj | None = None) -> Obj:
    """The node's Lease in ``kube-node-lease``, renewed now."""
    # A renewal changes only the spec: copy the levels it writes, not the whole object.
    obj: Obj = {**old, "metadata": dict(old.get("metadata") or {}),
                "spec": dict(old.get("spec") or {})} if old else {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": config.name,
            "namespace": "kube-node-lease",
            "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": config.name,
                                 "uid": node_uid}],
        },
        "spec": {},
    }
    spec = obj.setdefault("spec", {})
    spec["holderIdentity"] = config.name
    spec["leaseDurationSeconds"] = LEASE_DURATION
    spec["renewTime"] = rfc3339_micro(clock.now())
    return obj
