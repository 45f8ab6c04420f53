"""Node lifecycle: a silent kubelet makes its node NotReady, tainted, and then empty.

Mirrors kube-controller-manager's ``pkg/controller/nodelifecycle/node_lifecycle_controller.go``
(``monitorNodeHealth``, ``tryUpdateNodeHealth``, ``doNoScheduleTaintingPass``,
``doNoExecuteTaintingPass``), ``pkg/controller/util/node`` (``MarkPodsNotReady``) and
``pkg/controller/tainteviction/taint_eviction.go`` (``processPodOnNode``,
``getMinTolerationTime``). This is the self-healing lesson, step by step:

1. The kubelet renews its Lease in ``kube-node-lease`` every 10 s. When neither the lease
   nor the node's Ready heartbeat has moved for ``node-monitor-grace-period`` (50 s
   upstream since 1.32, 40 s before; simulated seconds here), the node's conditions turn
   ``Unknown`` with reason ``NodeStatusUnknown`` and message ``Kubelet stopped posting node
   status.``, and its pods' ``Ready`` condition becomes False (so Services stop sending
   them traffic).
2. The node gets ``node.kubernetes.io/unreachable`` taints, ``NoSchedule`` (no new pods)
   and ``NoExecute`` (running pods must leave), or the ``not-ready`` ones for a kubelet
   that reports ``Ready=False``.
3. Each pod leaves after its toleration of that taint: 300 s unless it says otherwise
   (the API server's ``DefaultTolerationSeconds`` admission adds that toleration to every
   pod; a pod without one is treated as if admission had added it). Its ReplicaSet then
   creates a replacement on a healthy node.

The reconcile is pure; ``requeue_after`` is the next moment something can change without
an event (the grace period running out, or a pod's toleration expiring).

Staleness is measured up to the last moment the node's kubelet *could* have heartbeated
(``liveness``, the kubelet agent's lag-aware reading), not up to now: upstream, kubelet
and controller manager are separate processes on separate machines, so a busy controller
host never delays a kubelet's Lease. In the sandbox they share one process; when that
process or its event loop is starved, the time the kubelet never got does not count
against it. Without a liveness reading (a kubelet the sandbox does not run) it is now.

The grace-period requeue is a watchdog: while the node's kubelet runs (``heartbeating``),
each Lease renewal pushes it back, so nobody waits for it and a virtual clock must not skip
idle time for it (``Result.background``); once the kubelet is stopped it is a real wait
(the node going NotReady), and skipping to it is what virtual time is for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from kubelab.apimachinery.types import deep_copy_json
from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.clock import Clock, parse_time
from kubelab.sandbox.controllers import common
from kubelab.sandbox.reconcile.types import Key, Obj, Result, Snapshot

NODES = kinds.core("nodes")
PODS = kinds.core("pods")
LEASES = kinds.resource("leases.coordination.k8s.io")
LEASE_NAMESPACE = "kube-node-lease"
COMPONENT = "node-controller"
EVICTION_COMPONENT = "taint-eviction-controller"

NODE_MONITOR_GRACE_PERIOD = 50.0
NODE_STARTUP_GRACE_PERIOD = 60.0
DEFAULT_TOLERATION_SECONDS = 300

UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
CONTROLLER_TAINTS = frozenset({UNREACHABLE, NOT_READY, UNSCHEDULABLE})
MONITORED_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")


def _condition(obj: Obj, ctype: str) -> dict[str, Any] | None:
    for cond in obj.get("status", {}).get("conditions") or []:
        if cond.get("type") == ctype:
            return dict(cond)
    return None


def last_probe(node: Obj, lease: Obj | None) -> datetime | None:
    """The freshest sign of life: lease renewal or the Ready heartbeat."""
    stamps = []
    if lease is not None:
        stamps.append(parse_time(lease.get("spec", {}).get("renewTime")))
    ready = _condition(node, "Ready")
    if ready is not None:
        stamps.append(parse_time(ready.get("lastHeartbeatTime")))
    found = [s for s in stamps if s is not None]
    return max(found) if found else None


def desired_taints(node: Obj, ready_status: str | None, now: str) -> list[dict[str, Any]]:
    """User taints kept; controller taints derived from Ready and ``spec.unschedulable``."""
    current = list(node.get("spec", {}).get("taints") or [])
    out = [t for t in current if t.get("key") not in CONTROLLER_TAINTS]
    wanted: list[tuple[str, str]] = []
    if ready_status == "Unknown":
        wanted = [(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")]
    elif ready_status == "False":
        wanted = [(NOT_READY, "NoSchedule"), (NOT_READY, "NoExecute")]
    if node.get("spec", {}).get("unschedulable"):
        wanted.append((UNSCHEDULABLE, "NoSchedule"))
    for key, effect in wanted:
        kept = next((t for t in current if t.get("key") == key and t.get("effect") == effect),
                    None)
        if kept is not None:
            out.append(kept)
        elif effect == "NoExecute":
            out.append({"key": key, "effect": effect, "timeAdded": now})
        else:
            out.append({"key": key, "effect": effect})
    return out


def tolerates(toleration: dict[str, Any], taint: dict[str, Any]) -> bool:
    """``Toleration.ToleratesTaint``."""
    if toleration.get("effect") and toleration.get("effect") != taint.get("effect"):
        return False
    op = toleration.get("operator") or "Equal"
    key = toleration.get("key", "")
    if op == "Exists":
        return not key or key == taint.get("key")
    return key == taint.get("key") and toleration.get("value", "") == taint.get("value", "")


def effective_tolerations(pod: Obj) -> list[dict[str, Any]]:
    """The pod's tolerations plus ``DefaultTolerationSeconds``' two, when it lacks them."""
    tolerations = list(pod.get("spec", {}).get("tolerations") or [])
    for key in (NOT_READY, UNREACHABLE):
        probe = {"key": key, "effect": "NoExecute"}
        if not any(tolerates(t, probe) for t in tolerations):
            tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute",
                                "tolerationSeconds": DEFAULT_TOLERATION_SECONDS})
    return tolerations


def eviction_delay(pod: Obj, taints: list[dict[str, Any]]) -> float | None:
    """Seconds a pod may stay despite NoExecute ``taints``: 0 now, None forever.

    ``getMinTolerationTime`` over the tolerations that match; an untolerated taint
    evicts at once.
    """
    tolerations = effective_tolerations(pod)
    used: list[dict[str, Any]] = []
    for taint in taints:
        matching = [t for t in tolerations if tolerates(t, taint)]
        if not matching:
            return 0.0
        used.extend(matching)
    if not used:
        return None
    seconds = [int(t["tolerationSeconds"]) for t in used if t.get("tolerationSeconds")
               is not None]
    if not seconds:
        return None
    least = min(seconds)
    return 0.0 if least <= 0 else float(least)


class NodeLifecycleController:
    """``node-lifecycle-controller`` plus the taint-eviction controller."""

    name = "node-lifecycle-controller"
    watches: tuple[KindInfo, ...] = (NODES, LEASES, PODS)

    def __init__(self, grace_period: float = NODE_MONITOR_GRACE_PERIOD,
                 startup_grace_period: float = NODE_STARTUP_GRACE_PERIOD) -> None:
        self.grace_period = grace_period
        self.startup_grace_period = startup_grace_period
        #: node name → the last moment its kubelet could have heartbeated (None: now).
        self.liveness: Callable[[str], datetime | None] | None = None
        #: node name → whether its kubelet runs (only schedules the watchdog, see above).
        self.heartbeating: Callable[[str], bool] | None = None

    def keys_for(self, info: KindInfo, obj: Obj, snapshot: Snapshot) -> Iterable[Key]:
        if info == NODES:
            yield Key.of(info, obj)
        elif info == LEASES:
            if common.namespace_of(obj) == LEASE_NAMESPACE:
                yield Key(NODES.group_resource, "", common.name_of(obj))
        elif info == PODS:
            node_name = obj.get("spec", {}).get("nodeName")
            if node_name:
                node = snapshot.get(NODES, "", node_name)
                if node is not None and (node.get("spec", {}).get("taints")
                                         or _not_ready(node)):
                    yield Key(NODES.group_resource, "", node_name)

    def reconcile(self, snapshot: Snapshot, key: Key, clock: Clock) -> Result:
        """Pure: node health, taints, pods not ready, evictions; no side effects."""
        node = snapshot.get(NODES, "", key.name)
        if node is None:
            return Result()
        writes = common.Writes()
        now = common.now_str(clock)
        requeue: list[float] = []
        watchdog: float | None = None
        lease = snapshot.get(LEASES, LEASE_NAMESPACE, key.name)
        probe = last_probe(node, lease)
        ready = _condition(node, "Ready")
        grace = self.grace_period if ready is not None else self.startup_grace_period
        since = probe or common.created_at(node)
        elapsed = clock.sim_elapsed(since)
        could_run = self.liveness(key.name) if self.liveness is not None else None
        if could_run is not None:
            elapsed -= max(0.0, clock.sim_elapsed(could_run))
        # Copied only to be changed: every Lease renewal reconciles its node, and a copy of
        # a Node (its images list and all) was most of a healthy node's reconcile.
        status_node = node
        if elapsed > grace:
            marked = deep_copy_json(node)
            if self.mark_unknown(marked, now):
                status_node = marked
                writes.event(node, "Normal", "NodeNotReady",
                             f"Node {key.name} status is now: NodeNotReady", COMPONENT)
        else:
            requeue.append(grace - elapsed + 0.001)
            watchdog = requeue[-1]
        ready_now = _condition(status_node, "Ready")
        ready_status = ready_now.get("status") if ready_now else None
        taints = desired_taints(node, ready_status, now)
        if taints != list(node.get("spec", {}).get("taints") or []):
            tainted = deep_copy_json(node)
            if taints:
                tainted.setdefault("spec", {})["taints"] = taints
            else:
                tainted.get("spec", {}).pop("taints", None)
            writes.update(NODES, tainted)
        if status_node.get("status") != node.get("status"):
            writes.update_status(NODES, status_node)
        # A node's pods matter only when it is not Ready or has NoExecute taints: a healthy
        # node's heartbeat (every Lease renewal reconciles it) reads no pod at all.
        not_ready = ready_status is not None and ready_status != "True"
        no_execute = [t for t in taints if t.get("effect") == "NoExecute"]
        pods = [p for p in snapshot.list(PODS)
                if p.get("spec", {}).get("nodeName") == key.name
                and not common.is_deleting(p)] if not_ready or no_execute else []
        if not_ready:
            self.mark_pods_not_ready(pods, now, writes)
        if no_execute:
            wait = self.evict(pods, no_execute, clock, writes)
            if wait is not None:
                requeue.append(wait)
        soonest = min(requeue) if requeue else None
        background = (soonest is not None and soonest == watchdog
                      and self.heartbeating is not None and self.heartbeating(key.name))
        return Result(writes.actions(), soonest, background=background)

    @staticmethod
    def mark_unknown(node: Obj, now: str) -> bool:
        """``tryUpdateNodeHealth``: every monitored condition becomes Unknown (once)."""
        conditions = node.setdefault("status", {}).setdefault("conditions", [])
        changed = False
        for ctype in MONITORED_CONDITIONS:
            cond = next((c for c in conditions if c.get("type") == ctype), None)
            if cond is None:
                conditions.append({
                    "type": ctype, "status": "Unknown",
                    "lastHeartbeatTime": node.get("metadata", {}).get("creationTimestamp"),
                    "lastTransitionTime": now, "reason": "NodeStatusNeverUpdated",
                    "message": "Kubelet never posted node status."})
                changed = True
            elif cond.get("status") != "Unknown":
                cond.update({"status": "Unknown", "reason": "NodeStatusUnknown",
                             "message": "Kubelet stopped posting node status.",
                             "lastTransitionTime": now})
                changed = True
        return changed

    def mark_pods_not_ready(self, pods: list[Obj], now: str, writes: common.Writes) -> None:
        """``MarkPodsNotReady``: Ready → False on every pod of the node."""
        for pod in pods:
            cond = common.pod_condition(pod, "Ready")
            if cond is None or cond.get("status") == "False":
                continue
            updated = self._working(writes, pod)
            for c in updated["status"]["conditions"]:
                if c.get("type") == "Ready":
                    c["status"] = "False"
                    c["lastTransitionTime"] = now
            writes.update_status(PODS, updated)
            writes.event(pod, "Warning", "NodeNotReady", "Node is not ready", COMPONENT)

    def evict(self, pods: list[Obj], taints: list[dict[str, Any]], clock: Clock,
              writes: common.Writes) -> float | None:
        """Delete pods whose tolerations ran out; return when the next one will."""
        added = [parse_time(t.get("timeAdded")) for t in taints]
        start = min((a for a in added if a is not None), default=clock.now())
        since = clock.sim_elapsed(start)
        soonest: float | None = None
        for pod in pods:
            delay = eviction_delay(pod, taints)
            if delay is None:
                continue
            if since < delay:
                wait = delay - since
                soonest = wait if soonest is None else min(soonest, wait)
                continue
            updated = self._working(writes, pod)
            conditions = updated["status"].setdefault("conditions", [])
            common.set_condition(conditions, {
                "type": "DisruptionTarget", "status": "True",
                "lastTransitionTime": common.now_str(clock),
                "reason": "DeletionByTaintManager",
                "message": "Taint manager: deleting due to NoExecute taint"})
            writes.update_status(PODS, updated)
            writes.event(pod, "Normal", "TaintManagerEviction",
                         f"Marking for deletion Pod {common.namespace_of(pod)}/"
                         f"{common.name_of(pod)}", EVICTION_COMPONENT)
            writes.delete(PODS, pod)
        return soonest

    @staticmethod
    def _working(writes: common.Writes, pod: Obj) -> Obj:
        """The pod as this reconcile has already changed it (one status write per pod)."""
        pending = writes.pending_status(PODS, pod)
        out = deep_copy_json(pending if pending is not None else pod)
        out.setdefault("status", {}).setdefault("conditions", [])
        return out


def _not_ready(node: Obj) -> bool:
    ready = _condition(node, "Ready")
    return ready is None or ready.get("status") != "True"
