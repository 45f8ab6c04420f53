"""The disruption controller: the status of every PodDisruptionBudget.

Mirrors kube-controller-manager's ``pkg/controller/disruption/disruption.go`` (``trySync``,
``getExpectedPodCount``, ``getExpectedScale``, ``countHealthyPods``,
``buildDisruptedPodMap``, ``updatePdbStatus``, ``failSafe``). For each budget it lists the
pods its selector matches and computes:

* ``expectedPods`` and ``desiredHealthy``: with an integer ``minAvailable``, the matching
  pods and that number; with a percentage, or with ``maxUnavailable``, the summed scale of
  the pods' controllers (a ReplicaSet's, or its Deployment's when it has one, a
  ReplicationController's, a StatefulSet's) with the percentage rounded up;
* ``currentHealthy``: ready pods that are neither terminating nor evicted within the last
  two minutes (``status.disruptedPods``, which the eviction subresource fills);
* ``disruptionsAllowed`` = currentHealthy - desiredHealthy (never below 0, and 0 while no
  pod is expected), the ``DisruptionAllowed`` condition and ``observedGeneration``.

A pod whose controller cannot be found (a bare pod, a Job's) makes the count fail when a
scale is needed: the budget then allows nothing (``SyncFailed``), as ``failSafe`` writes it.
The eviction subresource (:mod:`kubelab.sandbox.storage.pod`) reads this status; it is what
makes ``kubectl drain`` wait.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from kubelab.apimachinery.types import deep_copy_json
from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import poddisruptionbudget as pdb_helpers
from kubelab.sandbox.clock import Clock, parse_time
from kubelab.sandbox.controllers import common
from kubelab.sandbox.reconcile.types import Key, Obj, Result, Snapshot

PDBS = kinds.resource("poddisruptionbudgets.policy")
PODS = kinds.core("pods")
COMPONENT = "controllermanager"
#: ``DeletionTimeout``: how long an evicted pod may take to go before it counts again.
DELETION_TIMEOUT = 120.0


class ExpectedCountError(Exception):
    """``getExpectedScale`` found a pod whose controller has no known scale."""


def _scale_percent(value: Any, total: int) -> int:
    """``intstr.GetScaledValueFromIntOrPercent`` with ``roundUp`` true."""
    if isinstance(value, int):
        return value
    text = str(value)
    if not text.endswith("%") or not text[:-1].isdigit():
        raise ExpectedCountError(f"invalid value for IntOrString: invalid value {text!r}: "
                                 "not a percentage")
    return math.ceil(int(text[:-1]) * total / 100)


def _replicas(obj: Obj) -> int:
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def _controller_scale(snapshot: Snapshot, pod: Obj) -> tuple[str, int] | None:
    """The finders (``getPodReplicaSet``, ``getPodDeployment``,
    ``getPodReplicationController``, ``getPodStatefulSet``): (controller uid, its scale)."""
    ref = common.controller_ref(pod)
    if ref is None:
        return None
    namespace = common.namespace_of(pod)
    group = str(ref.get("apiVersion", "")).rpartition("/")[0]
    owner_kind = str(ref.get("kind", ""))
    info = next((k for k in kinds.KINDS if k.group == group and k.kind == owner_kind), None)
    if info is None or info.kind not in ("ReplicaSet", "ReplicationController", "StatefulSet"):
        return None
    owner = snapshot.get(info, namespace, str(ref.get("name", "")))
    if owner is None or common.uid_of(owner) != ref.get("uid"):
        return None
    if info.kind == "ReplicaSet":
        parent = common.controller_ref(owner)
        if parent is not None and parent.get("kind") == "Deployment":
            deployment = snapshot.get(kinds.apps("deployments"), namespace,
                                      str(parent.get("name", "")))
            if deployment is None or common.uid_of(deployment) != parent.get("uid"):
                return None
            return common.uid_of(deployment), _replicas(deployment)
    return common.uid_of(owner), _replicas(owner)


def expected_scale(snapshot: Snapshot, pods: list[Obj]) -> int:
    """``getExpectedScale``: the summed scale of the pods' controllers, each counted once."""
    scales: dict[str, int] = {}
    for pod in pods:
        if common.controller_ref(pod) is None:
            continue  # an unmanaged pod: upstream warns (UnmanagedPods) and goes on
        found = _controller_scale(snapshot, pod)
        if found is None:
            raise ExpectedCountError(f'found no controllers for pod "{common.name_of(pod)}"')
        scales[found[0]] = found[1]
    return sum(scales.values())


def expected_pod_count(snapshot: Snapshot, pdb: Obj, pods: list[Obj]) -> tuple[int, int]:
    """``getExpectedPodCount``: (expectedCount, desiredHealthy)."""
    spec = pdb.get("spec") or {}
    if spec.get("maxUnavailable") is not None:
        expected = expected_scale(snapshot, pods)
        desired = expected - _scale_percent(spec["maxUnavailable"], expected)
        return expected, max(desired, 0)
    min_available = spec.get("minAvailable")
    if isinstance(min_available, int):
        return len(pods), min_available
    if min_available is not None:
        expected = expected_scale(snapshot, pods)
        return expected, _scale_percent(min_available, expected)
    return 0, 0


def disrupted_pod_map(pdb: Obj, pods: list[Obj],
                      clock: Clock) -> tuple[dict[str, str], float | None, list[Obj]]:
    """``buildDisruptedPodMap``: entries still within the deletion timeout, when to look
    again, and the pods whose eviction did not delete them in time."""
    noted = (pdb.get("status") or {}).get("disruptedPods") or {}
    kept: dict[str, str] = {}
    recheck: float | None = None
    overdue: list[Obj] = []
    for pod in pods:
        name = common.name_of(pod)
        if common.is_deleting(pod) or name not in noted:
            continue
        when = parse_time(noted[name])
        left = DELETION_TIMEOUT - (clock.sim_elapsed(when) if when is not None else 0.0)
        if left < 0:
            overdue.append(pod)
            continue
        kept[name] = noted[name]
        recheck = left if recheck is None else min(recheck, left)
    return kept, recheck, overdue


def count_healthy(pods: list[Obj], disrupted: dict[str, str]) -> int:
    """``countHealthyPods``: ready, not terminating, not just evicted."""
    return sum(1 for pod in pods if not common.is_deleting(pod)
               and common.name_of(pod) not in disrupted and common.is_pod_ready(pod))


class DisruptionController:
    """``disruption-controller``: PodDisruptionBudgets ← Pods (and their controllers)."""

    name = "disruption-controller"
    watches: tuple[KindInfo, ...] = (PDBS, PODS)

    def keys_for(self, info: KindInfo, obj: Obj, snapshot: Snapshot) -> Iterable[Key]:
        if info == PDBS:
            yield Key.of(info, obj)
            return
        for pdb in snapshot.list(PDBS, common.namespace_of(obj)):
            if pdb_helpers.selects(pdb, obj):
                yield Key.of(PDBS, pdb)

    def reconcile(self, snapshot: Snapshot, key: Key, clock: Clock) -> Result:
        """Pure: one ``sync`` of a budget."""
        pdb = snapshot.get(PDBS, key.namespace, key.name)
        if pdb is None:
            return Result()
        writes = common.Writes()
        pods = [p for p in snapshot.list(PODS, key.namespace) if pdb_helpers.selects(pdb, p)]
        if not pods:
            writes.event(pdb, "Normal", "NoPods", "No matching pods found", COMPONENT)
        now = common.now_str(clock)
        try:
            expected, desired = expected_pod_count(snapshot, pdb, pods)
        except ExpectedCountError as err:
            writes.event(pdb, "Warning", "CalculateExpectedPodCountFailed",
                         f"Failed to calculate the number of expected pods: {err}", COMPONENT)
            return Result(writes.actions() + self._fail_safe(pdb, str(err), now))
        unmanaged = [common.name_of(p) for p in pods if common.controller_ref(p) is None]
        spec = pdb.get("spec") or {}
        if unmanaged and (spec.get("maxUnavailable") is not None
                          or isinstance(spec.get("minAvailable"), str)):
            writes.event(pdb, "Warning", "UnmanagedPods",
                         "Pods selected by this PodDisruptionBudget (selector: "
                         f"{_selector_repr(spec.get('selector'))}) were found to be unmanaged. "
                         "As a result, the status of the PDB cannot be calculated correctly, "
                         "which may result in undefined behavior. To account for these pods "
                         'please set ".spec.minAvailable" field of the PDB to an integer value.',
                         COMPONENT)
        disrupted, recheck, overdue = disrupted_pod_map(pdb, pods, clock)
        for pod in overdue:
            # Upstream names the namespace twice here.
            writes.event(pod, "Warning", "NotDeleted",
                         f"Pod was expected by PDB {key.namespace}/{key.namespace} to be "
                         "deleted but it wasn't", COMPONENT)
        healthy = count_healthy(pods, disrupted)
        status = self._status(pdb, healthy, desired, expected, disrupted, now)
        if status is not None:
            updated = deep_copy_json(pdb)
            updated["status"] = status
            writes.update_status(PDBS, updated)
        return Result(writes.actions(), recheck)

    @staticmethod
    def _status(pdb: Obj, healthy: int, desired: int, expected: int,
                disrupted: dict[str, str], now: str) -> dict[str, Any] | None:
        """``updatePdbStatus``: the new status, or None when it is already current."""
        allowed = healthy - desired
        if expected <= 0 or allowed <= 0:
            allowed = 0
        old = pdb.get("status") or {}
        generation = int((pdb.get("metadata") or {}).get("generation") or 0)
        if (old.get("currentHealthy") == healthy and old.get("desiredHealthy") == desired
                and old.get("expectedPods") == expected
                and old.get("disruptionsAllowed") == allowed
                and (old.get("disruptedPods") or {}) == disrupted
                and old.get("observedGeneration") == generation
                and pdb_helpers.conditions_up_to_date(pdb)):
            return None
        status: dict[str, Any] = {"observedGeneration": generation}
        if disrupted:
            status["disruptedPods"] = disrupted
        status |= {"disruptionsAllowed": allowed, "currentHealthy": healthy,
                   "desiredHealthy": desired, "expectedPods": expected}
        if old.get("conditions"):
            status["conditions"] = deep_copy_json(old["conditions"])
        pdb_helpers.update_disruption_allowed_condition(status, now)
        return status

    @staticmethod
    def _fail_safe(pdb: Obj, message: str, now: str) -> list[Any]:
        """``failSafe``: allow no disruption, say why in the condition."""
        status = deep_copy_json(pdb.get("status") or {})
        status["disruptionsAllowed"] = 0
        pdb_helpers.set_condition(status, "False", pdb_helpers.SYNC_FAILED, message, now)
        if status == pdb.get("status"):
            return []
        updated = deep_copy_json(pdb)
        updated["status"] = status
        writes = common.Writes()
        writes.update_status(PDBS, updated)
        return writes.actions()


def _selector_repr(selector: Any) -> str:
    """``%v`` of a ``*metav1.LabelSelector`` (its generated ``String()``)."""
    if selector is None:
        return "nil"
    labels = selector.get("matchLabels") or {}
    shown = "".join(f"{k}: {labels[k]}," for k in sorted(labels))
    exprs = "".join(
        f"LabelSelectorRequirement{{Key:{e.get('key', '')},Operator:{e.get('operator', '')},"
        f"Values:[{' '.join(e.get('values') or [])}],}},"
        for e in selector.get("matchExpressions") or [])
    return (f"&LabelSelector{{MatchLabels:map[string]string{{{shown}}},"
            f"MatchExpressions:[]LabelSelectorRequirement{{{exprs}}},}}")
