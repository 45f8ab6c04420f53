"""The default scheduler as a reconciler: one unscheduled pod → a Binding or a FitError.

Mirrors kube-scheduler's ``pkg/scheduler/schedule_one.go``: take a pod whose
``spec.schedulerName`` is ``default-scheduler`` and which has no ``spec.nodeName``, run the
filters and scores of :mod:`.plugins` over the nodes, then either bind it (``Bind`` action, the
``pods/binding`` subresource, and a ``Scheduled`` event ``Successfully assigned ns/pod to
node``) or record the failure (condition ``PodScheduled=False/Unschedulable`` with the FitError
message and a ``FailedScheduling`` Warning event).

Two pieces of in-memory state make it behave like the real one:

* the **scheduler cache** (``backend/cache``, :mod:`.cache`): nodes with the summed requests
  of their pods, updated by the pod and node events this component's handlers see, so a
  decision costs O(nodes), not O(pods). A pod is *assumed* on its node only once its
  binding was written (the ``Bind`` action's own step), never before, so a failed bind
  leaves nothing behind; the bound pod's event then confirms it;
* the **queue** (``internal/queue``): a pod that failed waits among the unschedulable pods
  until a cluster event could help it (a node added, or changed in what scheduling reads —
  not a heartbeat; a pod removed or finished), and is then retried once its back-off (1s
  initial, 10s max, doubling per failed attempt) has passed; without such an event it is
  retried after 5 minutes (``podMaxInUnschedulablePodsDuration``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kubelab.apimachinery.types import deep_copy_json
from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.clock import Clock, rfc3339
from kubelab.sandbox.reconcile.types import (
    Action,
    Bind,
    Key,
    Obj,
    RecordEvent,
    Result,
    Snapshot,
    Update,
    UpdateStatus,
)
from kubelab.sandbox.scheduler import volumebinding
from kubelab.sandbox.scheduler.cache import SchedulerCache
from kubelab.sandbox.scheduler.plugins import (
    NodeVerdict,
    Spread,
    VerdictMemo,
    evaluate,
    fit_error,
    node_infos,
    select_host,
    spread_for,
)

SCHEDULER_NAME = "default-scheduler"
INITIAL_BACKOFF = 1.0
MAX_BACKOFF = 10.0
#: ``podMaxInUnschedulablePodsDuration``: an unschedulable pod no cluster event moved is
#: retried after 5 minutes.
UNSCHEDULABLE_FLUSH = 300.0

PODS = kinds.core("pods")
NODES = kinds.core("nodes")
SERVICES = kinds.core("services")
REPLICASETS = kinds.apps("replicasets")
PVCS = kinds.core("persistentvolumeclaims")
PVS = kinds.core("persistentvolumes")
STORAGECLASSES = kinds.resource("storageclasses.storage.k8s.io")


def wants_scheduling(pod: Obj) -> bool:
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    return (not spec.get("nodeName") and not meta.get("deletionTimestamp")
            and (spec.get("schedulerName") or SCHEDULER_NAME) == SCHEDULER_NAME
            and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
            and not spec.get("schedulingGates"))


def explain(snapshot: Snapshot, pod: Obj) -> list[NodeVerdict]:
    """Which node failed which filter (and the scores of those that fit), by node name."""
    return evaluate(pod, node_infos(snapshot.list(NODES), snapshot.list(PODS)),
                    spread_of(snapshot, pod))


def spread_of(snapshot: Snapshot, pod: Obj) -> Spread:
    """The pod's soft topology spread constraints, read from its Services and owner."""
    meta = pod.get("metadata") or {}
    namespace = str(meta.get("namespace", ""))
    owner = None
    for ref in meta.get("ownerReferences") or []:
        if ref.get("controller") and ref.get("kind") == "ReplicaSet" and ref.get(
                "apiVersion") == REPLICASETS.api_version:
            owner = snapshot.get(REPLICASETS, namespace, str(ref.get("name", "")))
    return spread_for(pod, snapshot.list(SERVICES, namespace), owner)


def backoff_seconds(attempts: int) -> float:
    """Back-off after ``attempts`` failed attempts: 1s, 2s, 4s, 8s, then 10s."""
    if attempts <= 0:
        return 0.0
    return min(MAX_BACKOFF, INITIAL_BACKOFF * 2 ** (attempts - 1))


@dataclass
class _Attempts:
    count: int
    last: datetime


@dataclass(frozen=True)
class AssumingBind(Bind):
    """The scheduler's ``Bind``: written, then the pod is assumed on its node (``AssumePod``
    after a successful binding cycle). A bind the store refuses assumes nothing."""

    cache: SchedulerCache = field(default_factory=SchedulerCache, compare=False, repr=False)
    pod: Obj = field(default_factory=dict, compare=False, repr=False)

    def finalize(self, registry: Any) -> None:
        registry.bind(self.namespace, self.name, self.node, self.uid, copy_result=False)
        self.cache.assume(self.pod, self.node)


class Scheduler:
    """The ``default-scheduler`` component (see the module docstring)."""

    name = "default-scheduler"
    watches: tuple[KindInfo, ...] = (PODS, NODES, PVCS)

    def __init__(self) -> None:
        self._attempts: dict[str, _Attempts] = {}
        self.cache = SchedulerCache()
        self._verdicts: VerdictMemo = {}
        # Pods waiting for a node, by uid (the scheduling queue's active and unschedulable
        # pods), so a cluster event requeues them without a scan of every pod.
        self._pending: dict[str, Key] = {}

    # --- event handlers: they keep the cache and the pending set in step with the store

    def keys_for(self, info: KindInfo, obj: Obj, snapshot: Snapshot) -> Iterable[Key]:
        if info.plural == "pods":
            meta = obj.get("metadata") or {}
            uid = str(meta.get("uid", ""))
            current = snapshot.get(PODS, meta.get("namespace", ""), meta.get("name", ""))
            if current is not None and current["metadata"].get("uid") != uid:
                self._forget(uid)  # replaced by a pod of the same name
                uid = str(current["metadata"].get("uid", ""))
            if current is None:
                self._forget(uid)
                return self._pending_keys()
            self.cache.update_pod(current)
            if wants_scheduling(current):
                key = self._pending[uid] = Key.of(PODS, current)
                return [key]
            self._pending.pop(uid, None)
            gone = current.get("metadata", {}).get("deletionTimestamp")
            terminal = (current.get("status") or {}).get("phase") in ("Succeeded", "Failed")
            if gone or terminal:
                return self._pending_keys()
            return []
        if info.plural == "nodes":
            name = str((obj.get("metadata") or {}).get("name", ""))
            node = snapshot.get(NODES, "", name)
            before = self.cache.node(name)
            if node is None:
                self.cache.remove_node(name)
                return []
            self.cache.update_node(node)
            # The queue's hint for a node update (nodeSchedulingPropertiesChange): only a
            # change that could make a pod fit moves the unschedulable pods, not a heartbeat.
            if before is None or _scheduling_view(before) != _scheduling_view(node):
                return self._pending_keys()
            return []
        if info.plural == "persistentvolumeclaims":
            # A claim bound or annotated: pods waiting on their volumes may go on.
            return self._pending_keys()
        return []

    def _forget(self, uid: str) -> None:
        self.cache.remove_pod(uid)
        self._pending.pop(uid, None)
        self._attempts.pop(uid, None)

    def _pending_keys(self) -> list[Key]:
        return list(self._pending.values())

    # --- reconcile

    def reconcile(self, snapshot: Snapshot, key: Key, clock: Clock) -> Result:
        pod = snapshot.get(PODS, key.namespace, key.name)
        if pod is None or not wants_scheduling(pod):
            return Result()
        uid = pod["metadata"].get("uid", "")
        if self.cache.node_of(uid) is not None:
            return Result()  # assumed: its binding is written, its event not yet seen
        attempt = self._attempts.get(uid)
        if attempt is not None:
            wait = backoff_seconds(attempt.count) - clock.sim_elapsed(attempt.last)
            if wait > 1e-6:
                return Result(requeue_after=wait)
        volumes = _pod_volumes(snapshot, pod)
        if volumes is not None and volumes.error:
            return self._unschedulable(pod, uid, attempt, volumebinding.prefilter_message(
                volumes.error, len(self.cache.node_infos())), clock)
        verdicts = evaluate(pod, self.cache.node_infos(), spread_of(snapshot, pod),
                            self._verdicts)
        if volumes is not None:
            nodes = {n: obj for n in {v.node for v in verdicts}
                     if (obj := snapshot.get(NODES, "", n)) is not None}
            verdicts = volumebinding.filter_verdicts(volumes, verdicts, nodes)
        host = select_host(verdicts)
        if host is not None and volumes is not None and volumes.delayed:
            # PreBind: name the node on the claims, bind once the volumes are bound.
            selects: list[Action] = [Update(PVCS, claim) for claim in
                                     volumebinding.claims_to_select(volumes, host)]
            return Result(selects, requeue_after=1.0)
        if host is not None:
            self._attempts.pop(uid, None)
            ns = pod["metadata"].get("namespace", "")
            actions: list[Action] = [
                AssumingBind(ns, key.name, host, uid, self.cache, pod),
                RecordEvent(pod, "Normal", "Scheduled",
                            f"Successfully assigned {ns}/{key.name} to {host}", SCHEDULER_NAME),
            ]
            return Result(actions)
        return self._unschedulable(pod, uid, attempt, fit_error(pod, verdicts), clock)

    def _unschedulable(self, pod: Obj, uid: str, attempt: _Attempts | None, message: str,
                       clock: Clock) -> Result:
        """Record a failed attempt: the condition, the event, the back-off."""
        count = attempt.count + 1 if attempt else 1
        self._attempts[uid] = _Attempts(count, clock.now())
        actions: list[Action] = []
        status = _unschedulable_status(pod, message, clock)
        if status is not None:
            actions.append(UpdateStatus(PODS, status))
        actions.append(RecordEvent(pod, "Warning", "FailedScheduling", message, SCHEDULER_NAME))
        # Unschedulable: retried when a cluster event could help (a node added or changed, a
        # pod gone), once its back-off has passed, or after UNSCHEDULABLE_FLUSH regardless.
        return Result(actions, requeue_after=UNSCHEDULABLE_FLUSH)


def _pod_volumes(snapshot: Snapshot, pod: Obj) -> volumebinding.PodVolumes | None:
    """The VolumeBinding plugin's PreFilter state: the pod's claims, their classes and
    volumes, read from the snapshot (None for a pod without claims)."""
    names = volumebinding.claim_names(pod)
    if not names:
        return None
    namespace = str((pod.get("metadata") or {}).get("namespace", ""))
    claims = {name: snapshot.get(PVCS, namespace, name) for name in names}
    classes = {str(sc["metadata"]["name"]): sc for sc in snapshot.list(STORAGECLASSES)}
    volumes = {str(pv["metadata"]["name"]): pv for pv in snapshot.list(PVS)}
    return volumebinding.pod_volumes(pod, claims, classes, volumes)


def _scheduling_view(node: Obj) -> tuple[object, ...]:
    """What scheduling depends on in a Node: labels, unschedulable, taints, allocatable and
    the conditions (their heartbeat times left out)."""
    spec, status = node.get("spec") or {}, node.get("status") or {}
    conditions = [{k: v for k, v in c.items() if k not in ("lastHeartbeatTime",
                                                           "lastTransitionTime")}
                  for c in status.get("conditions") or []]
    return ((node.get("metadata") or {}).get("labels"), spec.get("unschedulable"),
            spec.get("taints"), status.get("allocatable"), conditions)


def _unschedulable_status(pod: Obj, message: str, clock: Clock) -> Obj | None:
    """The pod with ``PodScheduled=False/Unschedulable``, or None when already so."""
    conditions = list((pod.get("status") or {}).get("conditions") or [])
    for cond in conditions:
        if cond.get("type") == "PodScheduled":
            if (cond.get("status") == "False" and cond.get("reason") == "Unschedulable"
                    and cond.get("message") == message):
                return None
            break
    updated = deep_copy_json(pod)
    status = updated.setdefault("status", {})
    status.setdefault("phase", "Pending")
    new = {"type": "PodScheduled", "status": "False", "lastProbeTime": None,
           "lastTransitionTime": rfc3339(clock.now()), "reason": "Unschedulable",
           "message": message}
    kept = []
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled":
            if cond.get("status") == "False":
                new["lastTransitionTime"] = cond.get("lastTransitionTime") or new[
                    "lastTransitionTime"]
            continue
        kept.append(cond)
    status["conditions"] = [*kept, new]
    return updated
