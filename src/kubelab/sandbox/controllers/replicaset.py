"""The ReplicaSet controller: keep ``spec.replicas`` pods running, report what exists.

Mirrors kube-controller-manager's ``pkg/controller/replicaset/replica_set.go``
(``syncReplicaSet``, ``manageReplicas``, ``getPodsToDelete``) and ``replica_set_utils.go``
(``calculateStatus``), with pod ranking from ``pkg/controller/controller_utils.go``
(``ActivePodsWithRanks``) and pod construction from ``GetPodFromTemplate``.

The controller counts *active* pods it owns (not finished, not terminating: a pod being
deleted is already gone as far as the count goes, which is why a replacement starts while
the old pod still shows ``Terminating``). Too few: create from the template. Too many:
delete the pods that matter least, ranked as upstream does (unscheduled before scheduled,
pending before running, not-ready before ready, crowded nodes first, newest first).

Creation: upstream creates in slow-start batches (1, 2, 4, …) *inside one sync*, stopping
at the first failed create. A reconcile here returns every create at once (the batches
only matter when a create fails, and the runner reports failures by requeueing), capped
at the same burst of 500. Pods carry ``generateName: <rs>-`` like upstream's; the
controller also chooses the 5-character suffix itself (seeded, same alphabet as the API
server's name generator) because the ``Created pod: <name>`` event must name the pod.

A refused create (a ResourceQuota's ``exceeded quota``) ends the batch, as the first
failure ends upstream's slow start; the sync still writes the status, as ``syncReplicaSet``
does after a failed ``manageReplicas``: ``replicas`` counts the pods it has, and the
``ReplicaFailure`` condition (reason ``FailedCreate``, message the API server's error) says
why there are not more. The next sync without an error removes the condition. (Each create
carries that status write as its ``on_failure``; the runner applies it when the create is
refused.)

:meth:`ReplicaSetController.reconcile` is pure; ``requeue_after`` is set when a ready pod
will become available after ``minReadySeconds``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import cmp_to_key

from kubelab.apimachinery.selectors import LabelSelector
from kubelab.apimachinery.types import deep_copy_json
from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.clock import Clock
from kubelab.sandbox.controllers import common
from kubelab.sandbox.reconcile.types import (
    Action,
    Key,
    Obj,
    RecordEvent,
    Result,
    Snapshot,
    UpdateStatus,
)

REPLICASETS = kinds.apps("replicasets")
PODS = kinds.core("pods")
COMPONENT = "replicaset-controller"
BURST_REPLICAS = 500
DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost"
REPLICA_FAILURE = "ReplicaFailure"

_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}


def pod_from_template(rs: Obj, info: KindInfo, name: str) -> Obj:
    """``GetPodFromTemplate``: labels, annotations, finalizers and spec from the template."""
    template = rs.get("spec", {}).get("template") or {}
    tmeta = template.get("metadata") or {}
    metadata: Obj = {"generateName": f"{common.name_of(rs)}-", "name": name,
                     "namespace": common.namespace_of(rs)}
    for field in ("labels", "annotations", "finalizers"):
        if tmeta.get(field):
            metadata[field] = deep_copy_json(tmeta[field])
    metadata["ownerReferences"] = [common.new_controller_ref(rs, info)]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata,
            "spec": deep_copy_json(template.get("spec") or {})}


def _deletion_cost(pod: Obj) -> int:
    try:
        return int(common.annotations_of(pod).get(DELETION_COST_ANNOTATION, "0"))
    except ValueError:
        return 0


def _log_rank(t1: float, t2: float) -> int:
    """``logarithmicRankDiff`` over ages in nanoseconds (LogarithmicScaleDown, GA)."""
    r1 = int(math.log2(t1)) if t1 > 0 else -1
    r2 = int(math.log2(t2)) if t2 > 0 else -1
    return r1 - r2


def rank_pods_for_deletion(pods: list[Obj], related: list[Obj], clock: Clock) -> list[Obj]:
    """``ActivePodsWithRanks`` order: the first pods are the ones to delete first."""
    on_node: dict[str, int] = {}
    for pod in related:
        if common.is_pod_active(pod):
            node = pod.get("spec", {}).get("nodeName", "")
            on_node[node] = on_node.get(node, 0) + 1
    now = clock.now()

    def age_ns(t: object) -> float:
        return (now - t).total_seconds() * 1e9  # type: ignore[operator]

    def less(a: Obj, b: Obj) -> int:
        na, nb = a.get("spec", {}).get("nodeName", ""), b.get("spec", {}).get("nodeName", "")
        if na != nb and (not na or not nb):
            return -1 if not na else 1
        pa = _PHASE_ORDINAL.get(a.get("status", {}).get("phase", ""), 0)
        pb = _PHASE_ORDINAL.get(b.get("status", {}).get("phase", ""), 0)
        if pa != pb:
            return -1 if pa < pb else 1
        ra, rb = common.is_pod_ready(a), common.is_pod_ready(b)
        if ra != rb:
            return -1 if not ra else 1
        ca, cb = _deletion_cost(a), _deletion_cost(b)
        if ca != cb:
            return -1 if ca < cb else 1
        ka, kb = on_node.get(na, 0), on_node.get(nb, 0)
        if ka != kb:
            return -1 if ka > kb else 1
        if ra and rb:
            ta, tb = common.pod_ready_since(a), common.pod_ready_since(b)
            if ta != tb and ta is not None and tb is not None:
                diff = _log_rank(age_ns(ta), age_ns(tb))
                if diff == 0:
                    return -1 if common.uid_of(a) < common.uid_of(b) else 1
                return -1 if diff < 0 else 1
        xa, xb = common.max_restarts(a), common.max_restarts(b)
        if xa != xb:
            return -1 if xa > xb else 1
        ta2, tb2 = common.created_at(a), common.created_at(b)
        if ta2 != tb2:
            diff = _log_rank(age_ns(ta2), age_ns(tb2))
            if diff == 0:
                return -1 if common.uid_of(a) < common.uid_of(b) else 1
            return -1 if diff < 0 else 1
        return 0

    return sorted(pods, key=cmp_to_key(less))


class ReplicaSetController:
    """``replicaset-controller``: ReplicaSets → Pods.

    Upstream runs the ReplicationController's controller on this same code
    (``NewReplicationManager`` wraps the ReplicaSet controller with conversions); a subclass
    sets :attr:`resource` and :attr:`name` and reads its selector its own way
    (:meth:`selector`, :meth:`selector_empty`).
    """

    name = COMPONENT
    resource: KindInfo = REPLICASETS
    watches: tuple[KindInfo, ...] = (REPLICASETS, PODS)

    def selector(self, rs: Obj) -> LabelSelector:
        return common.selector_of(rs)

    def selector_empty(self, rs: Obj) -> bool:
        return common.selector_is_empty(rs)

    def keys_for(self, info: KindInfo, obj: Obj, snapshot: Snapshot) -> Iterable[Key]:
        if info == self.resource:
            yield Key.of(info, obj)
            return
        ns = common.namespace_of(obj)
        ref = common.controller_ref(obj)
        if ref is not None:
            if ref.get("kind") == self.resource.kind:
                yield Key(self.resource.group_resource, ns, ref.get("name", ""))
            return
        labels = common.labels_of(obj)
        for rs in snapshot.list(self.resource, ns):
            if not self.selector_empty(rs) and self.selector(rs).matches(labels):
                yield Key.of(self.resource, rs)

    def reconcile(self, snapshot: Snapshot, key: Key, clock: Clock) -> Result:
        """Pure: one ``syncReplicaSet`` pass; no side effects."""
        rs = snapshot.get(self.resource, key.namespace, key.name)
        if rs is None:
            return Result()
        writes = common.Writes()
        pods = self.claim_pods(snapshot, rs, writes)
        active = [p for p in pods if common.is_pod_active(p)]

        def failed(message: str) -> Action:
            """The status a sync whose create was refused writes (``calculateStatus`` with
            ``manageReplicasErr``)."""
            updated = deep_copy_json(rs)
            updated["status"] = calculate_status(rs, active, clock, failure=message)[0]
            return UpdateStatus(self.resource, updated)

        if not common.is_deleting(rs):
            self.manage_replicas(snapshot, rs, active, writes, clock, on_failure=failed)
        status, requeue = calculate_status(rs, active, clock)
        if status != rs.get("status", {}):
            updated = deep_copy_json(rs)
            updated["status"] = status
            writes.update_status(self.resource, updated)
        return Result(writes.actions(), requeue)

    def claim_pods(self, snapshot: Snapshot, rs: Obj, writes: common.Writes) -> list[Obj]:
        """``ClaimPods``: owned pods that still match; adopt orphans, release strays."""
        uid = common.uid_of(rs)
        selector = self.selector(rs)
        owned: list[Obj] = []
        for pod in common.controlled_and_orphans(snapshot, PODS, rs):
            # Read in place (no copies): this loop runs over every pod the RS owns.
            metadata = pod.get("metadata") or {}
            ref = next((r for r in metadata.get("ownerReferences") or ()
                        if r.get("controller")), None)
            matches = selector.matches(metadata.get("labels"))
            if ref is not None:
                if ref.get("uid") != uid:
                    continue
                if matches:
                    owned.append(pod)
                elif not common.is_deleting(rs):
                    released = deep_copy_json(pod)
                    released["metadata"]["ownerReferences"] = [
                        r for r in pod["metadata"].get("ownerReferences", [])
                        if r.get("uid") != uid]
                    writes.update(PODS, released)
                continue
            if (not matches or common.is_deleting(rs) or common.is_deleting(pod)
                    or self.selector_empty(rs) or not common.is_pod_active(pod)):
                continue
            adopted = deep_copy_json(pod)
            adopted["metadata"].setdefault("ownerReferences", []).append(
                common.new_controller_ref(rs, self.resource))
            writes.update(PODS, adopted)
            owned.append(adopted)
        return owned

    def manage_replicas(self, snapshot: Snapshot, rs: Obj, active: list[Obj],
                        writes: common.Writes, clock: Clock,
                        on_failure: common.FailureWrite | None = None) -> None:
        want = int(rs.get("spec", {}).get("replicas", 1) or 0)
        diff = len(active) - want
        if diff < 0:
            count = min(-diff, BURST_REPLICAS)
            taken = _TakenNames(snapshot, common.namespace_of(rs))
            base = f"{common.name_of(rs)}-"
            for i in range(count):
                seed = f"{common.uid_of(rs)}/{common.now_str(clock)}/{len(active)}/{i}"
                name = common.generated_name(base, seed, taken)
                taken.chosen.add(name)
                # A refused create (e.g. exceeded quota) becomes the upstream FailedCreate
                # event; the rest of the batch waits for the next sync (slowStartBatch).
                writes.create(PODS, pod_from_template(rs, self.resource, name),
                              on_error=RecordEvent(rs, "Warning", "FailedCreate",
                                                   "Error creating: ", self.name),
                              on_failure=on_failure)
                writes.event(rs, "Normal", "SuccessfulCreate", f"Created pod: {name}",
                             self.name)
        elif diff > 0:
            count = min(diff, BURST_REPLICAS)
            related = related_pods(snapshot, rs)
            victims = active if count >= len(active) else \
                rank_pods_for_deletion(active, related, clock)
            for pod in victims[:count]:
                writes.delete(PODS, pod)
                writes.event(rs, "Normal", "SuccessfulDelete",
                             f"Deleted pod: {common.name_of(pod)}", self.name)


class _TakenNames:
    """The pod names a new pod must not take: this sync's own choices, and every pod of the
    namespace (looked up one name at a time, not listed: a sync stays O(its pods))."""

    def __init__(self, snapshot: Snapshot, namespace: str) -> None:
        self.snapshot = snapshot
        self.namespace = namespace
        self.chosen: set[str] = set()

    def __contains__(self, name: object) -> bool:
        return name in self.chosen or (
            isinstance(name, str) and self.snapshot.get(PODS, self.namespace, name) is not None)


def related_pods(snapshot: Snapshot, rs: Obj) -> list[Obj]:
    """``getIndirectlyRelatedPods``: pods of every RS sharing this RS's controller."""
    ns = common.namespace_of(rs)
    owner = common.controller_ref(rs)
    siblings = {common.uid_of(rs)}
    if owner is not None:
        siblings |= {common.uid_of(other) for other in common.controlled_by(
            snapshot, REPLICASETS, [str(owner.get("uid", ""))], ns)}
    return common.controlled_by(snapshot, PODS, siblings, ns)


def calculate_status(rs: Obj, active: list[Obj], clock: Clock,
                     failure: str | None = None) -> tuple[Obj, float | None]:
    """``calculateStatus``: counts over active pods, and when to look again.

    ``replicas`` is always written (it is not ``omitempty`` in ``apps/v1``); the other
    counts are omitted at 0, as the API server serializes them. ``failure``: the error of
    this sync's ``manageReplicas``, which sets the ``ReplicaFailure`` condition (kept as it
    is when already there); without one the condition is removed.
    """
    template_labels = (rs.get("spec", {}).get("template", {}).get("metadata", {})
                       .get("labels") or {})
    mrs = int(rs.get("spec", {}).get("minReadySeconds") or 0)
    fully_labeled = ready = available = 0
    soonest: float | None = None
    for pod in active:
        labels = common.labels_of(pod)
        if all(labels.get(k) == v for k, v in template_labels.items()):
            fully_labeled += 1
        wait = common.available_in(pod, mrs, clock)
        if wait is None:
            continue
        ready += 1
        if wait == 0:
            available += 1
        else:
            soonest = wait if soonest is None else min(soonest, wait)
    old = rs.get("status", {})
    status: Obj = {"replicas": len(active)}
    for field, value in (("fullyLabeledReplicas", fully_labeled), ("readyReplicas", ready),
                         ("availableReplicas", available),
                         ("observedGeneration",
                          int(rs.get("metadata", {}).get("generation") or 0))):
        if value:
            status[field] = value
    conditions = [deep_copy_json(c) for c in old.get("conditions") or []
                  if failure is not None or c.get("type") != REPLICA_FAILURE]
    if failure is not None and not any(c.get("type") == REPLICA_FAILURE for c in conditions):
        want = int(rs.get("spec", {}).get("replicas", 1) or 0)
        reason = ("FailedCreate" if len(active) < want
                  else "FailedDelete" if len(active) > want else "")
        conditions.append({"type": REPLICA_FAILURE, "status": "True",
                           "lastTransitionTime": common.now_str(clock), "reason": reason,
                           "message": failure})
    if conditions:
        status["conditions"] = conditions
    return status, soonest
