"""The scheduler cache: nodes with the pods counted against them, kept up to date by events.

Mirrors kube-scheduler's ``pkg/scheduler/backend/cache`` (``cacheImpl``): a ``NodeInfo`` per
node holds its pods' summed requests (and the non-zero requests scoring uses), updated when a
pod is added, updated or deleted, so a scheduling decision reads totals instead of
re-parsing every pod's requests. The cache is fed by the scheduler's event handlers
(``addPodToCache``/``updatePodInCache``/``deletePodFromCache``, ``addNodeToCache``...) and by
``AssumePod`` once the pod's binding was written; a bound pod's own event then *confirms*
the assumed pod, so the pod is counted once whatever order the two arrive in.

A pod counts against its node while it is bound and not terminal (``Succeeded``/``Failed``),
including while it terminates; a pod bound to a node the cache does not know yet waits in a
node-less ``NodeInfo`` until the node appears (as upstream's cache keeps it).
"""

from __future__ import annotations

from collections.abc import Iterable

from kubelab.apimachinery.types import Obj
from kubelab.sandbox.scheduler.plugins import NodeInfo, is_terminal


def _uid(pod: Obj) -> str:
    meta = pod.get("metadata") or {}
    return str(meta.get("uid") or f"{meta.get('namespace', '')}/{meta.get('name', '')}")


class SchedulerCache:
    """Node name → :class:`NodeInfo`, and where each counted pod is."""

    def __init__(self) -> None:
        self._nodes: dict[str, NodeInfo] = {}
        self._pod_node: dict[str, str] = {}
        self._assumed: set[str] = set()
        self._sorted: list[NodeInfo] | None = None

    # --- nodes

    def update_node(self, node: Obj) -> None:
        name = str((node.get("metadata") or {}).get("name", ""))
        info = self._nodes.get(name)
        if info is None:
            self._nodes[name] = NodeInfo(node)
            self._sorted = None
        else:
            if info.node is None:
                self._sorted = None
            info.node = node

    def remove_node(self, name: str) -> None:
        info = self._nodes.get(name)
        if info is None:
            return
        self._sorted = None
        if info.pods:
            info.node = None  # its pods stay counted until their own deletions arrive
        else:
            del self._nodes[name]

    # --- pods

    def update_pod(self, pod: Obj) -> None:
        """A pod as the store now holds it: count it on its node, or forget it."""
        uid = _uid(pod)
        node = (pod.get("spec") or {}).get("nodeName") or ""
        if not node or is_terminal(pod):
            if uid not in self._assumed:
                self.remove_pod(uid)
            return
        self._assumed.discard(uid)  # confirmed by the store
        self._place(uid, pod, node)

    def remove_pod(self, uid: str) -> None:
        self._assumed.discard(uid)
        node = self._pod_node.pop(uid, None)
        if node is None:
            return
        info = self._nodes.get(node)
        if info is None:
            return
        info.remove_pod(uid)
        if info.node is None and not info.pods:
            del self._nodes[node]

    def assume(self, pod: Obj, node: str) -> None:
        """``AssumePod``: the binding to ``node`` was written; count the pod there now.

        A no-op when the bound pod's own event already reached the cache.
        """
        uid = _uid(pod)
        if self._pod_node.get(uid) == node:
            return
        bound = {**pod, "spec": {**(pod.get("spec") or {}), "nodeName": node}}
        self._place(uid, bound, node)
        self._assumed.add(uid)

    def is_assumed(self, uid: str) -> bool:
        return uid in self._assumed

    def _place(self, uid: str, pod: Obj, node: str) -> None:
        if self._pod_node.get(uid, node) != node:
            self.remove_pod(uid)
        info = self._nodes.get(node)
        if info is None:
            info = self._nodes[node] = NodeInfo(None)
        info.add_pod(uid, pod)
        self._pod_node[uid] = node

    # --- reading

    def node_infos(self) -> list[NodeInfo]:
        """The known nodes, by name (the scheduler's per-cycle snapshot; do not mutate)."""
        if self._sorted is None:
            self._sorted = [self._nodes[name] for name in sorted(self._nodes)
                            if self._nodes[name].node is not None]
        return self._sorted

    def node(self, name: str) -> Obj | None:
        """The cached Node object (None when unknown)."""
        info = self._nodes.get(name)
        return info.node if info is not None else None

    def node_of(self, uid: str) -> str | None:
        return self._pod_node.get(uid)

    def pod_count(self) -> int:
        return len(self._pod_node)


def build(nodes: Iterable[Obj], pods: Iterable[Obj]) -> SchedulerCache:
    """A cache filled from lists (the informers' initial list)."""
    cache = SchedulerCache()
    for node in nodes:
        cache.update_node(node)
    for pod in pods:
        cache.update_pod(pod)
    return cache
