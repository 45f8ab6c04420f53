"""The real registry on a manual clock and a discrete-event driver for the simulated kubelet."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from kubelab.sandbox import images
from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.clock import ManualClock, rfc3339
from kubelab.sandbox.kubelet.kubelet import PODS, Kubelet
from kubelab.sandbox.kubelet.node import NodeConfig
from kubelab.sandbox.kubelet.runtime import ProbeTask
from kubelab.sandbox.reconcile.events import EventRecorder
from kubelab.sandbox.reconcile.types import (
    Action,
    Bind,
    Create,
    Delete,
    Key,
    RecordEvent,
    Update,
    UpdateStatus,
)
from kubelab.sandbox.storage import Registry, RegistrySnapshot

Obj = dict[str, Any]
NAMESPACES = kinds.core("namespaces")
#: A stand-in cluster CA bundle for ``kube-root-ca.crt``.
TEST_CA_PEM = "-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n"


class Cluster:
    """The real registry on the simulation's manual clock, seen as the kubelet sees it.

    Reads go through :class:`RegistrySnapshot` (the lister a runner hands a component) and
    the kubelet's actions are applied through the registry as the runner applies them, so
    the API server's defaulting, validation, resourceVersion checks and graceful deletion
    are the real ones. The RecordEvents are also kept in order, with their simulated time,
    for the tests' timing assertions.
    """

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.registry = Registry(clock)
        for namespace in ("default", "kube-system", "kube-node-lease"):
            self.ensure_namespace(namespace)
        self.snapshot = RegistrySnapshot(self.registry)
        self.recorder = EventRecorder(self.registry, clock)
        self.events: list[RecordEvent] = []
        #: (simulated second, event) for timing assertions.
        self.timeline: list[tuple[float, RecordEvent]] = []
        self.deleted: list[Delete] = []

    def ensure_namespace(self, name: str) -> None:
        if self.registry.peek(NAMESPACES, "", name) is None:
            self.registry.create(NAMESPACES, {"metadata": {"name": name}})
            # What root-ca-cert-publisher keeps in every namespace: the pods' kube-api-access
            # volume projects its ca.crt.
            self.registry.create(kinds.core("configmaps"), {
                "metadata": {"name": "kube-root-ca.crt"}, "data": {"ca.crt": TEST_CA_PEM}},
                namespace=name)

    def get(self, info: KindInfo, namespace: str, name: str) -> Obj | None:
        return self.snapshot.get(info, namespace, name)

    def list(self, info: KindInfo, namespace: str | None = None,
             labels: dict[str, str] | None = None) -> list[Obj]:
        return self.snapshot.list(info, namespace, labels)

    def add(self, info: KindInfo, obj: Obj) -> Obj:
        """Create ``obj`` as a client would, then write its status as its owner would."""
        body = copy.deepcopy(obj)
        status = body.pop("status", None)
        namespace = body.setdefault("metadata", {}).setdefault("namespace", "default") \
            if info.namespaced else ""
        if namespace:
            self.ensure_namespace(namespace)
        stored = self.registry.create(info, body, namespace=namespace)
        if status is not None:
            stored = copy.deepcopy(stored)
            stored["status"] = status
            stored = self.registry.update(info, stored, namespace=namespace,
                                          subresource="status")
        return stored

    def apply(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, RecordEvent):
                self.events.append(action)
                self.timeline.append((self.clock.monotonic(), action))
                self.recorder.record(action)
                continue
            if isinstance(action, Delete):
                self.deleted.append(action)
            namespace = action.obj.get("metadata", {}).get("namespace", "") \
                if isinstance(action, Create | Update | UpdateStatus) else ""
            if isinstance(action, Create):
                self.registry.create(action.info, action.obj, namespace=namespace)
            elif isinstance(action, UpdateStatus):
                self.registry.update(action.info, action.obj, namespace=namespace,
                                     subresource="status")
            elif isinstance(action, Update):
                self.registry.update(action.info, action.obj, namespace=namespace)
            elif isinstance(action, Delete):
                self.registry.delete(action.info, action.namespace, action.name,
                                     propagation=action.propagation,
                                     grace_period_seconds=action.grace_period_seconds,
                                     uid=action.uid)
            elif isinstance(action, Bind):
                self.registry.bind(action.namespace, action.name, action.node, action.uid)

    def delete_pod(self, name: str, grace: int | None = None, namespace: str = "default") -> None:
        """``kubectl delete pod [--grace-period]``: the API server's graceful deletion."""
        self.registry.delete(PODS, namespace, name, grace_period_seconds=grace)

    def times(self, reason: str) -> list[float]:
        return [t for t, e in self.timeline if e.reason == reason]

    def messages(self, reason: str | None = None) -> list[str]:
        return [e.message for e in self.events if reason is None or e.reason == reason]


def simulated_probe(task: ProbeTask) -> tuple[bool, str]:
    """Answer an HTTP probe from the image's routes (what the real app server would say)."""
    handler = task.worker.spec.handler
    if "httpGet" in handler:
        image = task.container.image
        assert image is not None
        app = image.app
        port = int(handler["httpGet"].get("port", 80))
        if app is None or app.port != port:
            return False, (f'Get "http://{task.pod.ip}:{port}{handler["httpGet"].get("path", "/")}": '
                           f"dial tcp {task.pod.ip}:{port}: connect: connection refused")
        answer = images.respond(app, task.pod.name, handler["httpGet"].get("path", "/"))
        if 200 <= answer.status < 400:
            return True, ""
        return False, f"HTTP probe failed with statuscode: {answer.status}"
    return True, ""


class Sim:
    """Drive one kubelet over the real registry, timer by timer, on a ManualClock."""

    def __init__(self, node: str = "node-1", index: int = 1) -> None:
        self.clock = ManualClock()
        self.cluster = Cluster(self.clock)
        self.kubelet = Kubelet(NodeConfig(node, index))
        self.node = node
        self.wakes: dict[Key, float] = {}
        #: Runs due probes during :meth:`run_for`; None leaves probing to someone else.
        self.probe: Callable[[ProbeTask], tuple[bool, str]] | None = simulated_probe

    def pod(self, name: str, containers: list[Obj], **spec: Any) -> Obj:
        body = {"metadata": {"name": name, "namespace": "default"},
                "spec": {"containers": containers, "nodeName": self.node,
                         "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
                         **spec},
                "status": {"phase": "Pending", "conditions": [
                    {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                     "lastTransitionTime": rfc3339(self.clock.now())}]}}
        obj = self.cluster.add(PODS, body)
        self.wakes[Key("pods", "default", name)] = 0.0
        return obj

    def delete(self, name: str, grace: int | None = None) -> None:
        """``kubectl delete pod``: set deletionTimestamp; the watch event requeues the pod."""
        self.cluster.delete_pod(name, grace)
        self.wakes[Key("pods", "default", name)] = self.clock.monotonic()

    def get(self, name: str) -> Obj | None:
        return self.cluster.get(PODS, "default", name)

    def sync(self, name: str) -> None:
        key = Key("pods", "default", name)
        result = self.kubelet.reconcile(self.cluster, key, self.clock)
        self.cluster.apply(result.actions)
        now = self.clock.monotonic()
        if result.requeue_after is not None:
            self.wakes[key] = now + result.requeue_after
        else:
            self.wakes.pop(key, None)

    def run_for(self, seconds: float) -> None:
        end = self.clock.monotonic() + seconds
        while True:
            now = self.clock.monotonic()
            for key, due in list(self.wakes.items()):
                if due <= now + 1e-9:
                    self.sync(key.name)
            for task in self.kubelet.runtime.due_probes(self.clock) if self.probe else []:
                if task.record(*self.probe(task)):
                    self.sync(task.pod.name)
            candidates = [d for d in self.wakes.values() if d > now + 1e-9]
            probe = self.kubelet.runtime.next_probe_in(self.clock) if self.probe else None
            if probe is not None:
                candidates.append(now + max(probe, 0.001))
            nxt = min([*candidates, end])
            if nxt >= end - 1e-9 and now >= end - 1e-9:
                break
            self.clock.advance(max(0.0, min(nxt, end) - now))
            if self.clock.monotonic() >= end - 1e-9 and not any(
                    d <= end + 1e-9 for d in self.wakes.values()):
                break

    def container(self, name: str, index: int = 0) -> Obj:
        pod = self.get(name)
        assert pod is not None
        return pod["status"]["containerStatuses"][index]

    def condition(self, name: str, ctype: str) -> str:
        pod = self.get(name)
        assert pod is not None
        for cond in pod["status"]["conditions"]:
            if cond["type"] == ctype:
                return str(cond["status"])
        return ""

