"""The StatefulSet controller: pods with stable names, a claim each, in order.

Mirrors kube-controller-manager's ``pkg/controller/statefulset``
(``stateful_set_control.go``: ``getStatefulSetRevisions``, ``updateStatefulSet``,
``completeRollingUpdate``, ``truncateHistory``; ``stateful_set_utils.go``:
``newVersionedStatefulSetPod``, ``getPersistentVolumeClaims``, ``newRevision``;
``stateful_pod_control.go``: the events) and ``pkg/controller/history`` (revision names and
``FindEqualRevisions``), as the 1.37 controller behaves:

* Pod ``<set>-<ordinal>`` (ordinals from ``spec.ordinals.start``, default 0) gets the
  template's labels plus ``statefulset.kubernetes.io/pod-name``, ``apps.kubernetes.io/
  pod-index`` and ``controller-revision-hash`` (its revision's name), ``hostname`` = its name
  and ``subdomain`` = ``serviceName`` (so ``web-0.nginx`` resolves through the headless
  Service), and one ``persistentVolumeClaim`` volume per claim template, claim
  ``<template>-<set>-<ordinal>``, created before the pod and never deleted by this controller
  (``persistentVolumeClaimRetentionPolicy`` Retain; ``whenDeleted: Delete`` gives the claims
  the set as owner, so the garbage collector takes them with it).
* ``OrderedReady``: one pod at a time, each created only when the ones before it are
  Running and Ready (and available for ``minReadySeconds``); scale-down removes the highest
  ordinal first, one at a time. ``Parallel``: all at once, both ways.
* Each template is a ControllerRevision ``<set>-<hash>`` (labels: the template's plus
  ``controller.kubernetes.io/hash``; ``data``: the template as a strategic merge patch with
  ``$patch: replace``, which ``kubectl rollout undo`` applies); a template equal to an older
  revision reuses it with the next revision number. ``RollingUpdate`` deletes, from the
  highest ordinal down to ``partition``, one pod not at the update revision at a time once
  all are healthy; pods below the partition are recreated at the current revision.
  ``OnDelete`` replaces nothing: a pod deleted by hand comes back at the update revision.
* Status: ``replicas``, ``readyReplicas``, ``availableReplicas``, ``currentReplicas``,
  ``updatedReplicas``, ``currentRevision``, ``updateRevision``, ``collisionCount``,
  ``observedGeneration``; a finished rolling update makes the update revision current.
  Revisions beyond ``revisionHistoryLimit`` that no pod uses are deleted.

Pod adoption of orphans and the ``maxUnavailable`` alpha feature are not simulated. The
reconcile is pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kubelab.apimachinery.types import deep_copy_json
from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.clock import Clock
from kubelab.sandbox.controllers import common
from kubelab.sandbox.controllers import deployment_util as du
from kubelab.sandbox.controllers.replicaset import BURST_REPLICAS
from kubelab.sandbox.reconcile.types import Key, Obj, RecordEvent, Result, Snapshot

STATEFULSETS = kinds.apps("statefulsets")
REVISIONS = kinds.apps("controllerrevisions")
PODS = kinds.core("pods")
PVCS = kinds.core("persistentvolumeclaims")
COMPONENT = "statefulset-controller"
#: Pods a Parallel set creates in one sync at most: the ReplicaSet controller's burst, so
#: ``replicas: 2147483647`` starts 500 pods per pass, not two billion writes at once.
BURST_PODS = BURST_REPLICAS

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
REVISION_LABEL = "controller-revision-hash"
HASH_LABEL = "controller.kubernetes.io/hash"


# ----------------------------------------------------------------------------- revisions


def revision_data(sts: Obj) -> Obj:
    """``getPatch``: the template as a strategic merge patch that replaces it whole."""
    template = deep_copy_json((sts.get("spec") or {}).get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def template_of(revision: Obj) -> Obj:
    """The pod template a revision holds (``ApplyRevision`` on the set)."""
    template = deep_copy_json(((revision.get("data") or {}).get("spec") or {}).get("template")
                             or {})
    template.pop("$patch", None)
    return template


def new_revision(sts: Obj, number: int, collision_count: int) -> Obj:
    """``newRevision``: named ``<set>-<hash>``, labelled like the template, owned by the set,
    carrying the set's annotations (``kubectl rollout history`` reads change-cause there)."""
    data = revision_data(sts)
    hashed = du.compute_hash(data, collision_count or None)
    template = (sts.get("spec") or {}).get("template") or {}
    labels = dict((template.get("metadata") or {}).get("labels") or {})
    labels[HASH_LABEL] = hashed
    meta: Obj = {"name": f"{common.name_of(sts)}-{hashed}",
                 "namespace": common.namespace_of(sts), "labels": labels,
                 "ownerReferences": [common.new_controller_ref(sts, STATEFULSETS)]}
    annotations = common.annotations_of(sts)
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": meta,
            "data": data, "revision": number}


def _revision_number(revision: Obj) -> int:
    return int(revision.get("revision") or 0)


def _revision_data_equal(a: Obj, b: Obj) -> bool:
    return bool(du.equal_ignore_hash(template_of(a), template_of(b)))


# ----------------------------------------------------------------------------- pods and claims


def ordinal_start(sts: Obj) -> int:
    ordinals = (sts.get("spec") or {}).get("ordinals") or {}
    return int(ordinals.get("start") or 0)


def pod_ordinal(sts: Obj, pod: Obj) -> int | None:
    """``getParentNameAndOrdinal``: the ordinal of ``<set>-<n>``, else None."""
    prefix = common.name_of(sts) + "-"
    name = common.name_of(pod)
    if not name.startswith(prefix) or not name[len(prefix):].isdigit():
        return None
    return int(name[len(prefix):])


def claim_name(template_name: str, sts: Obj, ordinal: int) -> str:
    """``getPersistentVolumeClaimName``: ``<template>-<set>-<ordinal>``."""
    return f"{template_name}-{common.name_of(sts)}-{ordinal}"


def claims_for(sts: Obj, ordinal: int) -> list[Obj]:
    """``getPersistentVolumeClaims``: each template's claim for the pod of ``ordinal``."""
    spec = sts.get("spec") or {}
    selector_labels = (spec.get("selector") or {}).get("matchLabels") or {}
    retention = spec.get("persistentVolumeClaimRetentionPolicy") or {}
    claims = []
    for template in spec.get("volumeClaimTemplates") or []:
        tmeta = template.get("metadata") or {}
        labels = dict(tmeta.get("labels") or {})
        labels.update(selector_labels)
        meta: Obj = {"name": claim_name(str(tmeta.get("name", "")), sts, ordinal),
                     "namespace": common.namespace_of(sts), "labels": labels}
        if tmeta.get("annotations"):
            meta["annotations"] = dict(tmeta["annotations"])
        if retention.get("whenDeleted") == "Delete":
            ref = common.new_controller_ref(sts, STATEFULSETS)
            ref["controller"] = False
            meta["ownerReferences"] = [ref]
        claims.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta,
                       "spec": deep_copy_json(template.get("spec") or {})})
    return claims


def new_pod(sts: Obj, template: Obj, revision: str, ordinal: int) -> Obj:
    """``newStatefulSetPod`` + ``setPodRevision``: the pod of ``ordinal`` at ``revision``."""
    name = f"{common.name_of(sts)}-{ordinal}"
    tmeta = template.get("metadata") or {}
    labels = dict(tmeta.get("labels") or {})
    labels.update({POD_NAME_LABEL: name, POD_INDEX_LABEL: str(ordinal),
                   REVISION_LABEL: revision})
    meta: Obj = {"name": name, "namespace": common.namespace_of(sts), "labels": labels,
                 "ownerReferences": [common.new_controller_ref(sts, STATEFULSETS)]}
    if tmeta.get("annotations"):
        meta["annotations"] = dict(tmeta["annotations"])
    spec = deep_copy_json(template.get("spec") or {})
    spec["hostname"] = name
    service = (sts.get("spec") or {}).get("serviceName")
    if service:
        spec["subdomain"] = service
    claims = {str((t.get("metadata") or {}).get("name", "")): t
              for t in (sts.get("spec") or {}).get("volumeClaimTemplates") or []}
    volumes = [v for v in spec.get("volumes") or [] if v.get("name") not in claims]
    for template_name in claims:
        volumes.append({"name": template_name, "persistentVolumeClaim": {
            "claimName": claim_name(template_name, sts, ordinal)}})
    if volumes:
        spec["volumes"] = volumes
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def _is_running_and_ready(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and common.is_pod_ready(pod)


def _is_failed(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") == "Failed"


def _is_succeeded(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") == "Succeeded"


def _revision_of(pod: Obj) -> str:
    return common.labels_of(pod).get(REVISION_LABEL, "")


# ----------------------------------------------------------------------------- controller


class StatefulSetController:
    """``statefulset-controller``."""

    name = COMPONENT
    watches: tuple[KindInfo, ...] = (STATEFULSETS, PODS, REVISIONS)

    def keys_for(self, info: KindInfo, obj: Obj, snapshot: Snapshot) -> Iterable[Key]:
        if info == STATEFULSETS:
            yield Key.of(info, obj)
            return
        ref = common.controller_ref(obj)
        if ref is not None and ref.get("kind") == "StatefulSet" \
                and ref.get("apiVersion") == STATEFULSETS.api_version:
            yield Key(STATEFULSETS.group_resource, common.namespace_of(obj),
                      str(ref.get("name", "")))

    def reconcile(self, snapshot: Snapshot, key: Key, clock: Clock) -> Result:
        sts = snapshot.get(STATEFULSETS, key.namespace, key.name)
        if sts is None or common.is_deleting(sts):
            return Result()
        return _Sync(snapshot, sts, clock).run()


class _Sync:
    """One pass of ``updateStatefulSet`` over a snapshot."""

    def __init__(self, snapshot: Snapshot, sts: Obj, clock: Clock) -> None:
        self.snapshot = snapshot
        self.sts = sts
        self.clock = clock
        self.writes = common.Writes()
        self.spec = sts.get("spec") or {}
        self.status = sts.get("status") or {}
        self.namespace = common.namespace_of(sts)
        self.set_name = common.name_of(sts)
        self.min_ready = int(self.spec.get("minReadySeconds") or 0)
        self.requeue: float | None = None

    # --- revisions

    def revisions(self) -> tuple[list[Obj], Obj, Obj]:
        """``getStatefulSetRevisions``: (all revisions, current, update)."""
        owned = common.controlled_by(self.snapshot, REVISIONS, [common.uid_of(self.sts)],
                                     self.namespace)
        history = sorted(owned, key=lambda r: (_revision_number(r), common.name_of(r)))
        collision = int(self.status.get("collisionCount") or 0)
        latest = _revision_number(history[-1]) if history else 0
        candidate = new_revision(self.sts, latest + 1, collision)
        equal = [r for r in history if _revision_data_equal(r, candidate)]
        if equal and equal[-1] is history[-1]:
            update = equal[-1]
        elif equal:
            # A rollback to an older template: that revision becomes the newest.
            update = deep_copy_json(equal[-1])
            update["revision"] = latest + 1
            self.writes.update(REVISIONS, update)
            history = [r for r in history if common.name_of(r) != common.name_of(update)]
            history.append(update)
        else:
            update = candidate
            self.writes.create(REVISIONS, candidate)
            history.append(candidate)
        current_name = self.status.get("currentRevision")
        current = next((r for r in history if common.name_of(r) == current_name), update)
        return history, current, update

    # --- the pass

    def run(self) -> Result:
        history, current, update = self.revisions()
        current_name, update_name = common.name_of(current), common.name_of(update)
        raw_replicas = self.spec.get("replicas")
        replicas = 1 if raw_replicas is None else int(raw_replicas)
        start = ordinal_start(self.sts)
        owned = common.controlled_by(self.snapshot, PODS, [common.uid_of(self.sts)],
                                     self.namespace)
        by_ordinal: dict[int, Obj] = {}
        condemned: list[Obj] = []
        for pod in owned:
            ordinal = pod_ordinal(self.sts, pod)
            if ordinal is not None and start <= ordinal < start + replicas:
                by_ordinal[ordinal] = pod
            else:
                condemned.append(pod)
        condemned.sort(key=lambda p: pod_ordinal(self.sts, p) or -1, reverse=True)
        self.manage(by_ordinal, condemned, replicas, start, current, update)
        self.write_status(owned, current_name, update_name)
        self.truncate_history(history, owned, current_name, update_name)
        return Result(self.writes.actions(), self.requeue)

    def _wait_available(self, pod: Obj) -> bool:
        """Whether a Running and Ready pod still waits out ``minReadySeconds``."""
        left = common.available_in(pod, self.min_ready, self.clock)
        if left is None or left == 0:
            return False
        self.requeue = left if self.requeue is None else min(self.requeue, left)
        return True

    def _healthy(self, pod: Obj) -> bool:
        return _is_running_and_ready(pod) and not common.is_deleting(pod) \
            and not self._wait_available(pod)

    def manage(self, by_ordinal: dict[int, Obj], condemned: list[Obj], replicas: int,
               start: int, current: Obj, update: Obj) -> None:
        monotonic = self.spec.get("podManagementPolicy", "OrderedReady") != "Parallel"
        strategy = self.spec.get("updateStrategy") or {}
        rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
        partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
        claims_exist = {common.name_of(c) for c in self.snapshot.list(PVCS, self.namespace)}
        created = 0
        for ordinal in range(start, start + replicas):
            pod = by_ordinal.get(ordinal)
            if pod is not None and (_is_failed(pod) or _is_succeeded(pod)) \
                    and not common.is_deleting(pod):
                self._delete(pod)
                by_ordinal.pop(ordinal)
                if monotonic:
                    return
                continue
            if pod is None:
                use_current = rolling and ordinal - start < partition
                revision = current if use_current else update
                fresh = new_pod(self.sts, template_of(revision), common.name_of(revision),
                                ordinal)
                self._create_claims(ordinal, fresh, claims_exist)
                self.writes.create(PODS, fresh, on_error=RecordEvent(
                    self.sts, "Warning", "FailedCreate",
                    f"create Pod {common.name_of(fresh)} in StatefulSet {self.set_name} "
                    "failed error: ", COMPONENT))
                self.writes.event(self.sts, "Normal", "SuccessfulCreate",
                                  f"create Pod {common.name_of(fresh)} in StatefulSet "
                                  f"{self.set_name} successful", COMPONENT)
                created += 1
                if monotonic or created >= BURST_PODS:
                    return  # Parallel: the new pods' events bring the set back for the rest
                continue
            if common.is_deleting(pod) and monotonic:
                return  # waiting for the pod to terminate
            if not self._healthy(pod) and monotonic:
                return  # waiting for Running and Ready (and available)
            self._create_claims(ordinal, pod, claims_exist)
        # Scale down: the highest ordinal first (one at a time when ordered).
        for pod in condemned:
            if common.is_deleting(pod):
                if monotonic:
                    return
                continue
            self._delete(pod)
            if monotonic:
                return
        if not rolling:
            return
        # RollingUpdate: from the highest ordinal down to the partition, one pod at a time.
        for ordinal in range(start + replicas - 1, start + partition - 1, -1):
            pod = by_ordinal.get(ordinal)
            if pod is None:
                return
            if _revision_of(pod) != common.name_of(update) and not common.is_deleting(pod):
                self._delete(pod)
                return
            if not self._healthy(pod):
                return

    def _create_claims(self, ordinal: int, pod: Obj, existing: set[str]) -> None:
        for claim in claims_for(self.sts, ordinal):
            name = common.name_of(claim)
            if name in existing:
                continue
            existing.add(name)
            self.writes.create(PVCS, claim, on_error=RecordEvent(
                self.sts, "Warning", "FailedCreate",
                f"create Claim {name} for Pod {common.name_of(pod)} in StatefulSet "
                f"{self.set_name} failed error: ", COMPONENT))
            self.writes.event(self.sts, "Normal", "SuccessfulCreate",
                              f"create Claim {name} Pod {common.name_of(pod)} in StatefulSet "
                              f"{self.set_name} success", COMPONENT)

    def _delete(self, pod: Obj) -> None:
        self.writes.delete(PODS, pod)
        self.writes.event(self.sts, "Normal", "SuccessfulDelete",
                          f"delete Pod {common.name_of(pod)} in StatefulSet {self.set_name} "
                          "successful", COMPONENT)

    # --- status and history

    def write_status(self, owned: list[Obj], current_name: str, update_name: str) -> None:
        """``updateStatefulSetStatus`` after ``completeRollingUpdate``."""
        status: dict[str, Any] = {
            "observedGeneration": int((self.sts.get("metadata") or {}).get("generation") or 0),
            "replicas": 0, "readyReplicas": 0, "availableReplicas": 0,
            "currentReplicas": 0, "updatedReplicas": 0,
            "currentRevision": current_name, "updateRevision": update_name,
            "collisionCount": int(self.status.get("collisionCount") or 0),
        }
        for pod in owned:
            if common.is_pod_terminal(pod):
                continue
            status["replicas"] += 1
            if _is_running_and_ready(pod):
                status["readyReplicas"] += 1
                if not self._wait_available(pod):
                    status["availableReplicas"] += 1
            if _revision_of(pod) == current_name:
                status["currentReplicas"] += 1
            if _revision_of(pod) == update_name:
                status["updatedReplicas"] += 1
        rolling = (self.spec.get("updateStrategy") or {}).get("type",
                                                              "RollingUpdate") == "RollingUpdate"
        if rolling and status["updatedReplicas"] == status["replicas"] \
                and status["readyReplicas"] == status["replicas"]:
            status["currentRevision"] = update_name
            status["currentReplicas"] = status["updatedReplicas"]
        for field in ("readyReplicas", "currentReplicas", "updatedReplicas"):
            if not status[field]:
                del status[field]
        if self.status.get("conditions"):
            status["conditions"] = self.status["conditions"]
        if status != self.status:
            updated = deep_copy_json(self.sts)
            updated["status"] = status
            self.writes.update_status(STATEFULSETS, updated)

    def truncate_history(self, history: list[Obj], owned: list[Obj], current_name: str,
                         update_name: str) -> None:
        """``truncateHistory``: keep the live revisions and ``revisionHistoryLimit`` others."""
        live = {current_name, update_name} | {_revision_of(p) for p in owned}
        raw_limit = self.spec.get("revisionHistoryLimit")
        limit = 10 if raw_limit is None else int(raw_limit)
        old = [r for r in history if common.name_of(r) not in live
               and (r.get("metadata") or {}).get("uid")]
        for revision in old[:max(0, len(old) - limit)]:
            self.writes.delete(REVISIONS, revision)
