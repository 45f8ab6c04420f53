"""The runners' dispatcher: an event reaches only the runners that watch its kind, and a
kubelet only the events of its own node (upstream's ``fieldSelector=spec.nodeName``)."""

from __future__ import annotations

import copy
from collections.abc import Iterable

from kubelab.sandbox import bootstrap
from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import Clock, ManualClock
from kubelab.sandbox.kubelet.kubelet import Kubelet
from kubelab.sandbox.reconcile.events import EventRecorder
from kubelab.sandbox.reconcile.runner import ComponentRunner, dispatcher_for
from kubelab.sandbox.reconcile.types import Key, Obj, Result, Snapshot
from kubelab.sandbox.storage import Registry

PODS = kinds.core("pods")
LEASES = kinds.resource("leases.coordination.k8s.io")


class Watcher:
    """A component of one kind that records what its handler saw."""

    def __init__(self, name: str, watches: tuple[kinds.KindInfo, ...],
                 node: str | None = None) -> None:
        self.name = name
        self.watches = watches
        if node is not None:
            self.node = node
            self.node_routes = Kubelet.node_routes
        self.seen: list[str] = []

    def keys_for(self, info: kinds.KindInfo, obj: Obj, snapshot: Snapshot) -> Iterable[Key]:
        self.seen.append(f"{info.kind}/{obj['metadata']['name']}")
        return []

    def reconcile(self, snapshot: Snapshot, key: Key, clock: Clock) -> Result:
        return Result()


def pod(name: str, node: str = "") -> Obj:
    spec: Obj = {"containers": [{"name": "c", "image": "nginx"}]}
    if node:
        spec["nodeName"] = node
    return {"metadata": {"name": name, "namespace": "default"}, "spec": spec}


def lease(node: str) -> Obj:
    return {"metadata": {"name": node, "namespace": "kube-node-lease"},
            "spec": {"holderIdentity": node, "leaseDurationSeconds": 40}}


def test_events_reach_the_kinds_watchers_and_the_one_kubelet_of_their_node() -> None:
    clock = ManualClock()
    registry = Registry(clock)
    bootstrap.seed(registry, 1)
    recorder = EventRecorder(registry, clock)
    pods_watcher = Watcher("replicaset-controller", (PODS,))
    kubelets = {n: Watcher(f"kubelet-{n}", (PODS, LEASES), node=n)
                for n in ("worker-1", "worker-2", "worker-3")}
    runners = [ComponentRunner(c, registry, clock, recorder)
               for c in (pods_watcher, *kubelets.values())]
    dispatcher = dispatcher_for(registry)
    stops = [dispatcher.add(r) for r in runners]
    before = dispatcher.delivered

    registry.create(PODS, pod("unbound"), namespace="default")
    registry.create(PODS, pod("bound", "worker-2"), namespace="default")
    registry.create(LEASES, lease("worker-3"), namespace="kube-node-lease")
    for r in runners:
        r.handle_events()

    assert pods_watcher.seen == ["Pod/unbound", "Pod/bound"]
    assert kubelets["worker-1"].seen == []
    assert kubelets["worker-2"].seen == ["Pod/bound"]
    assert kubelets["worker-3"].seen == ["Lease/worker-3"]
    # 2 pod events to the controller, 1 to one kubelet, 1 lease event to one kubelet.
    assert dispatcher.delivered - before == 4

    # Deleting the bound pod reaches its node's kubelet (the DELETED object keeps nodeName).
    current = copy.deepcopy(registry.get(PODS, "default", "bound"))
    registry.delete(PODS, "default", current["metadata"]["name"], grace_period_seconds=0)
    for r in runners:
        r.handle_events()
    assert kubelets["worker-2"].seen == ["Pod/bound", "Pod/bound"]
    assert kubelets["worker-1"].seen == [] and kubelets["worker-3"].seen == ["Lease/worker-3"]

    for stop in stops:
        stop()
    registry.create(PODS, pod("after", "worker-2"), namespace="default")
    assert all(not r._pending for r in runners)
