"""The default scheduler as a reconciler: one unscheduled pod → a Binding or a FitError.

Mirrors kube-scheduler's ``pkg/scheduler/schedule_one.go``: take a pod whose
``spec.schedulerName`` is ``default-scheduler`` and which has no ``spec.nodeName``, run the
filters and scores of :mod:`.plugins` over the nodes, then either bind it (``Bind`` action, the
``pods/binding`` subresource, and a ``Scheduled`` event ``Successfully assigned ns/pod to
node``) or record the failure (condition ``PodScheduled=False/Unschedulable`` with the FitError
message and a ``FailedScheduling`` Warning event).

Two pieces of in-memory state make it behave like the real one:

* the **assume cache** (``internal/cache``'s AssumePod): a pod counts against its node from
  the moment the scheduler binds it, before the bound pod comes back from the store, so
  back-to-back decisions do not overcommit a node;
* the **back-off** of the scheduling queue (``internal/queue``: 1s initial, 10s max, doubling
  per failed attempt): a failed pod is retried when its back-off expires, and any node change
  or pod removal requeues all unschedulable pods (the queue's "move on cluster event").
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

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
    UpdateStatus,
)
from kubelab.sandbox.scheduler.plugins import (
    NodeInfo,
    NodeVerdict,
    evaluate,
    fit_error,
    node_infos,
    select_host,
)

SCHEDULER_NAME = "default-scheduler"
INITIAL_BACKOFF = 1.0
MAX_BACKOFF = 10.0
#: How long an assumed (bound but not yet observed) pod counts against its node.
ASSUME_TTL = 30.0

PODS = kinds.core("pods")
NODES = kinds.core("nodes")


def wants_scheduling(pod: Obj) -> bool:
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    return (not spec.get("nodeName") and not meta.get("deletionTimestamp")
            and (spec.get("schedulerName") or SCHEDULER_NAME) == SCHEDULER_NAME
            and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
            and not spec.get("schedulingGates"))


def explain(snapshot: Snapshot, pod: Obj) -> list[NodeVerdict]:
    """Which node failed which filter (and the scores of those that fit), by node name."""
    return evaluate(pod, node_infos(snapshot.list(NODES), snapshot.list(PODS)))


def backoff_seconds(attempts: int) -> float:
    """Back-off after ``attempts`` failed attempts: 1s, 2s, 4s, 8s, then 10s."""
    if attempts <= 0:
        return 0.0
    return min(MAX_BACKOFF, INITIAL_BACKOFF * 2 ** (attempts - 1))


@dataclass
class _Attempts:
    count: int
    last: datetime


@dataclass
class _Assumed:
    node: str
    pod: Obj
    at: datetime


class Scheduler:
    """The ``default-scheduler`` component (see the module docstring)."""

    name = "default-scheduler"
    watches: tuple[KindInfo, ...] = (PODS, NODES)

    def __init__(self) -> None:
        self._attempts: dict[str, _Attempts] = {}
        self._assumed: dict[str, _Assumed] = {}

    # --- event handlers

    def keys_for(self, info: KindInfo, obj: Obj, snapshot: Snapshot) -> Iterable[Key]:
        if info.plural == "pods":
            meta = obj.get("metadata") or {}
            current = snapshot.get(PODS, meta.get("namespace", ""), meta.get("name", ""))
            if current is not None and wants_scheduling(current):
                return [Key.of(PODS, current)]
            gone = current is None or current.get("metadata", {}).get("deletionTimestamp")
            terminal = current is not None and (current.get("status") or {}).get("phase") in (
                "Succeeded", "Failed")
            if gone or terminal:
                return self._pending_keys(snapshot)
            return []
        if info.plural == "nodes":
            return self._pending_keys(snapshot)
        return []

    def _pending_keys(self, snapshot: Snapshot) -> list[Key]:
        return [Key.of(PODS, p) for p in snapshot.list(PODS) if wants_scheduling(p)]

    # --- reconcile

    def reconcile(self, snapshot: Snapshot, key: Key, clock: Clock) -> Result:
        pod = snapshot.get(PODS, key.namespace, key.name)
        self._expire_assumed(snapshot, clock)
        if pod is None or not wants_scheduling(pod):
            if pod is None:
                self._attempts = {u: a for u, a in self._attempts.items()
                                  if u in {p["metadata"].get("uid") for p in snapshot.list(PODS)}}
            return Result()
        uid = pod["metadata"].get("uid", "")
        if uid in self._assumed:
            return Result()
        attempt = self._attempts.get(uid)
        if attempt is not None:
            wait = backoff_seconds(attempt.count) - clock.sim_elapsed(attempt.last)
            if wait > 1e-6:
                return Result(requeue_after=wait)
        infos = self._node_infos(snapshot)
        verdicts = evaluate(pod, infos)
        host = select_host(verdicts)
        if host is not None:
            self._attempts.pop(uid, None)
            self._assumed[uid] = _Assumed(host, pod, clock.now())
            ns = pod["metadata"].get("namespace", "")
            actions: list[Action] = [
                Bind(ns, key.name, host, uid),
                RecordEvent(pod, "Normal", "Scheduled",
                            f"Successfully assigned {ns}/{key.name} to {host}", SCHEDULER_NAME),
            ]
            return Result(actions)
        count = attempt.count + 1 if attempt else 1
        self._attempts[uid] = _Attempts(count, clock.now())
        message = fit_error(pod, verdicts)
        actions = []
        status = _unschedulable_status(pod, message, clock)
        if status is not None:
            actions.append(UpdateStatus(PODS, status))
        actions.append(RecordEvent(pod, "Warning", "FailedScheduling", message, SCHEDULER_NAME))
        return Result(actions, requeue_after=backoff_seconds(count))

    def _node_infos(self, snapshot: Snapshot) -> list[NodeInfo]:
        pods = snapshot.list(PODS)
        seen = {p["metadata"].get("uid") for p in pods if (p.get("spec") or {}).get("nodeName")}
        assumed = []
        for uid, entry in self._assumed.items():
            if uid not in seen:
                bound = copy.deepcopy(entry.pod)
                bound.setdefault("spec", {})["nodeName"] = entry.node
                assumed.append(bound)
        return node_infos(snapshot.list(NODES), [*pods, *assumed])

    def _expire_assumed(self, snapshot: Snapshot, clock: Clock) -> None:
        for uid, entry in list(self._assumed.items()):
            meta = entry.pod.get("metadata") or {}
            current = snapshot.get(PODS, meta.get("namespace", ""), meta.get("name", ""))
            observed = (current is None or current["metadata"].get("uid") != uid
                        or (current.get("spec") or {}).get("nodeName"))
            if observed or clock.sim_elapsed(entry.at) > ASSUME_TTL:
                del self._assumed[uid]


def _unschedulable_status(pod: Obj, message: str, clock: Clock) -> Obj | None:
    """The pod with ``PodScheduled=False/Unschedulable``, or None when already so."""
    conditions = list((pod.get("status") or {}).get("conditions") or [])
    for cond in conditions:
        if cond.get("type") == "PodScheduled":
            if (cond.get("status") == "False" and cond.get("reason") == "Unschedulable"
                    and cond.get("message") == message):
                return None
            break
    updated = copy.deepcopy(pod)
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
