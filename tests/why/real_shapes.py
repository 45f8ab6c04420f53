"""Objects shaped as a kind (containerd) or GKE cluster reports them, for the situations the
sandbox does not make: no nodes, an unbound claim, OOMKilled, a command missing from the image
(containerd's StartError 128 and Docker's exit 127), a registry's ``pull access denied``.

The messages are upstream's wording (kube-scheduler's FitError and ``no nodes available to
schedule pods``, the kubelet's image and back-off events, containerd/runc's ``exec: "x":
executable file not found in $PATH``, the ReplicaSet controller's ``FailedCreate``); the
objects are written by hand, trimmed to the fields a diagnosis reads.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]


def node(name: str, *, cpu: str = "2", memory: str = "4026Mi", ready: str = "True",
         taints: list[Obj] | None = None) -> Obj:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "spec": {"taints": taints} if taints else {},
            "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": "110"},
                       "conditions": [{"type": "Ready", "status": ready,
                                       "reason": "KubeletReady" if ready == "True"
                                       else "KubeletNotReady",
                                       "message": "kubelet is posting ready status"
                                       if ready == "True" else
                                       "container runtime network not ready: "
                                       "NetworkReady=false reason:NetworkPluginNotReady "
                                       "message:Network plugin returns error: cni plugin "
                                       "not initialized"}]}}


KIND_NODES = [
    node("kind-control-plane", taints=[{"key": "node-role.kubernetes.io/control-plane",
                                        "effect": "NoSchedule"}]),
    node("kind-worker"), node("kind-worker2"),
]


def event(kind: str, name: str, reason: str, message: str, *, type_: str = "Warning",
          count: int = 1, ns: str = "default", at: str = "2026-03-02T10:00:00Z") -> Obj:
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{name}.{reason.lower()}", "namespace": ns},
            "involvedObject": {"kind": kind, "name": name, "namespace": ns},
            "reason": reason, "message": message, "type": type_, "count": count,
            "lastTimestamp": at}


def pod(name: str, *, node_name: str | None = "kind-worker", phase: str = "Running",
        container: Obj | None = None, status: Obj | None = None,
        spec: Obj | None = None, conditions: list[Obj] | None = None) -> Obj:
    body_spec: Obj = {"containers": [container or {"name": "app", "image": "nginx:1.27"}],
                      "restartPolicy": "Always", **(spec or {})}
    if node_name:
        body_spec["nodeName"] = node_name
    body_status: Obj = {"phase": phase, "conditions": conditions or []}
    if status is not None:
        body_status["containerStatuses"] = [status]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
            "spec": body_spec, "status": body_status}


def unscheduled(name: str, message: str, **kw: Any) -> Obj:
    return pod(name, node_name=None, phase="Pending", conditions=[
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
         "message": message}], **kw)


NO_NODES = {
    "pods": [unscheduled("web", "no nodes available to schedule pods")],
    "events": [event("Pod", "web", "FailedScheduling", "no nodes available to schedule pods")],
    "nodes": [],
}

UNBOUND_CLAIM = {
    "pods": [unscheduled(
        "db", "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. "
        "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
        spec={"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]})],
    "persistentvolumeclaims": [{
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": "default"},
        "spec": {"storageClassName": "fast-ssd", "accessModes": ["ReadWriteOnce"],
                 "resources": {"requests": {"storage": "1Gi"}}},
        "status": {"phase": "Pending"}}],
    "events": [event("PersistentVolumeClaim", "data", "ProvisioningFailed",
                     'storageclass.storage.k8s.io "fast-ssd" not found')],
    "nodes": KIND_NODES,
}

KIND_INSUFFICIENT_CPU = {
    "pods": [unscheduled(
        "big", "0/3 nodes are available: 1 node(s) had untolerated taint "
        "{node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. preemption: 0/3 nodes "
        "are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims "
        "found for incoming pod.",
        container={"name": "app", "image": "nginx:1.27",
                   "resources": {"requests": {"cpu": "64"}}})],
    "nodes": KIND_NODES,
}


def _crashing(name: str, last: Obj, *, restarts: int = 5,
              container: Obj | None = None) -> Obj:
    return pod(name, container=container, status={
        "name": "app", "image": (container or {}).get("image", "busybox:1.36"), "ready": False,
        "restartCount": restarts,
        "state": {"waiting": {"reason": "CrashLoopBackOff",
                              "message": "back-off 2m40s restarting failed container=app "
                                         f"pod={name}_default(1234)"}},
        "lastState": {"terminated": last}})


OOM_KILLED = {
    "pods": [_crashing("hog", {"exitCode": 137, "reason": "OOMKilled"}, container={
        "name": "app", "image": "python:3.12",
        "resources": {"limits": {"memory": "64Mi"}}})],
    "events": [event("Pod", "hog", "BackOff",
                     "Back-off restarting failed container app in pod hog_default(1234)",
                     count=7)],
    "nodes": KIND_NODES,
}

EXEC_NOT_FOUND = {
    "pods": [_crashing("runner", {
        "exitCode": 128, "reason": "StartError",
        "message": "failed to create containerd task: failed to create shim task: OCI "
                   "runtime create failed: runc create failed: unable to start container "
                   "process: exec: \"pyhton\": executable file not found in $PATH: unknown"},
        container={"name": "app", "image": "python:3.12", "command": ["pyhton", "app.py"]})],
    "nodes": KIND_NODES,
}

DOCKER_127 = {
    "pods": [_crashing("old-runtime", {"exitCode": 127, "reason": "ContainerCannotRun",
                                       "message": "exec: \"slep\": executable file not "
                                                  "found in $PATH"},
                       container={"name": "app", "image": "busybox:1.36",
                                  "command": ["slep", "3600"]})],
    "nodes": KIND_NODES,
}

PULL_ACCESS_DENIED = {
    "pods": [pod("site", container={"name": "app", "image": "ngnix:1.27"}, status={
        "name": "app", "image": "ngnix:1.27", "ready": False, "restartCount": 0,
        "state": {"waiting": {"reason": "ImagePullBackOff",
                              "message": 'Back-off pulling image "ngnix:1.27"'}}})],
    "events": [
        event("Pod", "site", "Failed",
              'Failed to pull image "ngnix:1.27": failed to pull and unpack image '
              '"docker.io/library/ngnix:1.27": failed to resolve reference '
              '"docker.io/library/ngnix:1.27": pull access denied, repository does not exist '
              "or may require authorization: server message: insufficient_scope: "
              "authorization failed", at="2026-03-02T09:59:00Z"),
        event("Pod", "site", "BackOff", 'Back-off pulling image "ngnix:1.27"', type_="Normal",
              count=4, at="2026-03-02T09:59:30Z"),
    ],
    "nodes": KIND_NODES,
}

REAL_TAG_NOT_FOUND = {
    "pods": [pod("typo", container={"name": "app", "image": "nginx:1.99-typo"}, status={
        "name": "app", "image": "nginx:1.99-typo", "ready": False, "restartCount": 0,
        "state": {"waiting": {"reason": "ErrImagePull", "message": "rpc error: …"}}})],
    "events": [event("Pod", "typo", "Failed",
                     'Failed to pull image "nginx:1.99-typo": rpc error: code = NotFound desc '
                     '= failed to pull and unpack image "docker.io/library/nginx:1.99-typo": '
                     'failed to resolve reference "docker.io/library/nginx:1.99-typo": '
                     "docker.io/library/nginx:1.99-typo: not found")],
    "nodes": KIND_NODES,
}

NODE_NETWORK_NOT_READY = {"nodes": [node("kind-worker", ready="False")]}

QUOTA_EVENT_ONLY = {
    "deployments": [{
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}},
        "status": {"replicas": 1, "readyReplicas": 1, "updatedReplicas": 1,
                   "availableReplicas": 1}}],
    "replicasets": [{
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web-7d4b9", "namespace": "default",
                     "ownerReferences": [{"kind": "Deployment", "name": "web"}]}}],
    "events": [event("ReplicaSet", "web-7d4b9", "FailedCreate",
                     'Error creating: pods "web-7d4b9-x2x8q" is forbidden: exceeded quota: '
                     "compute-quota, requested: requests.cpu=500m, used: requests.cpu=1500m, "
                     "limited: requests.cpu=2", count=12)],
    "nodes": KIND_NODES,
}
