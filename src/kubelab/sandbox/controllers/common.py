"""Helpers every controller shares: owner references, pod predicates, a write batch.

These mirror small pieces of ``k8s.io/kubernetes/pkg/controller/controller_utils.go``
(``IsPodActive``, ``FilterActivePods``, ``NewControllerRef``), of
``k8s.io/kubernetes/pkg/api/v1/pod/util.go`` (``IsPodReady``, ``IsPodAvailable``) and of
``k8s.io/apimachinery/pkg/apis/meta/v1/controller_ref.go`` (``GetControllerOf``).

:class:`Writes` exists because a reconcile function returns *all* of its writes at once,
while an upstream controller issues them one by one and sees each write's result. When one
pass changes the same object twice (scale a ReplicaSet and then refresh its annotations,
say), the batch keeps one write per object, holding the latest content; a status write
(or main-resource write) that follows another write of the same object drops
``resourceVersion`` (an unconditional update, which the API server allows for these
kinds) because the first write has already moved it.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Container, Iterable
from datetime import UTC, datetime
from typing import Any

from kubelab.apimachinery import selectors
from kubelab.apimachinery.selectors import LabelSelector, label_selector_from_spec
from kubelab.apimachinery.types import deep_copy_json
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.clock import Clock, parse_time, rfc3339
from kubelab.sandbox.reconcile.types import (
    Action,
    Create,
    Delete,
    Obj,
    RecordEvent,
    Snapshot,
    Update,
    UpdateStatus,
)

#: Given the API server's refusal of a create, the write that reports it (``Create.on_failure``).
FailureWrite = Callable[[str], Action]

#: ``k8s.io/apimachinery/pkg/util/rand``'s alphabet: no vowels, no look-alike characters.
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# ----------------------------------------------------------------------------- metadata


def meta(obj: Obj) -> dict[str, Any]:
    m: dict[str, Any] = obj.setdefault("metadata", {})
    return m


def name_of(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("name", ""))


def namespace_of(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("namespace", ""))


def uid_of(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("uid", ""))


def labels_of(obj: Obj) -> dict[str, str]:
    return dict(obj.get("metadata", {}).get("labels") or {})


def annotations_of(obj: Obj) -> dict[str, str]:
    return dict(obj.get("metadata", {}).get("annotations") or {})


def is_deleting(obj: Obj) -> bool:
    return bool(obj.get("metadata", {}).get("deletionTimestamp"))


def created_at(obj: Obj) -> datetime:
    """``creationTimestamp`` (the epoch when absent, which sorts first, as a zero time does)."""
    return parse_time(obj.get("metadata", {}).get("creationTimestamp")) or _EPOCH


def by_creation(objs: Iterable[Obj]) -> list[Obj]:
    """Oldest first, ties by name (``ReplicaSetsByCreationTimestamp``)."""
    return sorted(objs, key=lambda o: (created_at(o), name_of(o)))


def controller_ref(obj: Obj) -> dict[str, Any] | None:
    """The owner reference with ``controller: true`` (``metav1.GetControllerOf``)."""
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def new_controller_ref(owner: Obj, info: KindInfo) -> dict[str, Any]:
    """``metav1.NewControllerRef``: controller and blockOwnerDeletion both true."""
    return {"apiVersion": info.api_version, "kind": info.kind, "name": name_of(owner),
            "uid": uid_of(owner), "controller": True, "blockOwnerDeletion": True}


def selector_of(obj: Obj) -> LabelSelector:
    return label_selector_from_spec(obj.get("spec", {}).get("selector"))


def selector_is_empty(obj: Obj) -> bool:
    return selectors.selector_is_empty(obj.get("spec", {}).get("selector"))


# ----------------------------------------------------------------------------- indexes


def controlled_and_orphans(snapshot: Snapshot, info: KindInfo, owner: Obj) -> list[Obj]:
    """Objects of ``info`` that ``owner`` controls, then the orphans of its namespace.

    What a claim (``ClaimPods``, ``ClaimReplicaSets``) needs to look at: kube-controller-
    manager reads them from its informer's controller-UID index (the owner's uid, and the
    namespace's orphan key), so a sync costs O(its own objects + orphans), not a walk of
    every object. A snapshot without those indexes (a test's fixture) is scanned instead.
    """
    namespace = namespace_of(owner)
    controlled = getattr(snapshot, "controlled_by", None)
    orphans = getattr(snapshot, "orphans", None)
    if callable(controlled) and callable(orphans):
        return [*controlled(info, uid_of(owner)), *orphans(info, namespace)]
    uid = uid_of(owner)
    out = []
    for obj in snapshot.list(info, namespace):
        ref = controller_ref(obj)
        if ref is None or ref.get("uid") == uid:
            out.append(obj)
    return out


def controlled_by(snapshot: Snapshot, info: KindInfo, owner_uids: Iterable[str],
                  namespace: str) -> list[Obj]:
    """Objects of ``info`` in ``namespace`` controlled by any of ``owner_uids`` (from the
    controller-UID index when the snapshot has one, else a scan of the namespace)."""
    uids = set(owner_uids)
    indexed = getattr(snapshot, "controlled_by", None)
    if callable(indexed):
        return [obj for uid in sorted(uids) for obj in indexed(info, uid)
                if namespace_of(obj) == namespace]
    out = []
    for obj in snapshot.list(info, namespace):
        ref = controller_ref(obj)
        if ref is not None and ref.get("uid") in uids:
            out.append(obj)
    return out


# ----------------------------------------------------------------------------- pods


def is_pod_active(pod: Obj) -> bool:
    """Not Succeeded, not Failed, not being deleted (``controller.IsPodActive``)."""
    phase = pod.get("status", {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not is_deleting(pod)


def is_pod_terminal(pod: Obj) -> bool:
    return pod.get("status", {}).get("phase") in ("Succeeded", "Failed")


def pod_condition(pod: Obj, ctype: str) -> dict[str, Any] | None:
    for cond in pod.get("status", {}).get("conditions") or []:
        if cond.get("type") == ctype:
            return dict(cond)
    return None


def is_pod_ready(pod: Obj) -> bool:
    cond = pod_condition(pod, "Ready")
    return cond is not None and cond.get("status") == "True"


def pod_ready_since(pod: Obj) -> datetime | None:
    cond = pod_condition(pod, "Ready")
    if cond is None or cond.get("status") != "True":
        return None
    return parse_time(cond.get("lastTransitionTime"))


def available_in(pod: Obj, min_ready_seconds: int, clock: Clock) -> float | None:
    """Simulated seconds until a ready pod becomes available; 0 if it is, None if not ready.

    ``podutil.IsPodAvailable``: ready, and ready for *more than* ``minReadySeconds``
    (``lastTransitionTime + minReadySeconds`` strictly before now).
    """
    if not is_pod_ready(pod):
        return None
    if min_ready_seconds <= 0:
        return 0.0
    since = pod_ready_since(pod)
    if since is None:
        return float(min_ready_seconds)
    elapsed = clock.sim_elapsed(since)
    if elapsed > min_ready_seconds:
        return 0.0
    # The availability test is strict, so ask to look again a hair past the boundary.
    return min_ready_seconds - elapsed + 0.001


def max_restarts(pod: Obj) -> int:
    statuses = pod.get("status", {}).get("containerStatuses") or []
    return max((int(s.get("restartCount", 0)) for s in statuses), default=0)


def generated_name(base: str, seed: str, taken: Container[str]) -> str:
    """``<base><5 chars>``, as ``names.SimpleNameGenerator`` makes them, but seeded.

    The suffix is drawn from a ``random.Random`` seeded by ``seed``, so a reconcile stays a
    pure function of its inputs; names in ``taken`` are skipped.
    """
    digest = hashlib.sha256(seed.encode()).hexdigest()
    rng = random.Random(digest)
    for _ in range(100):
        candidate = base + "".join(rng.choice(SAFE_ALPHABET) for _ in range(5))
        if candidate not in taken:
            return candidate
    return base + "".join(rng.choice(SAFE_ALPHABET) for _ in range(8))


def now_str(clock: Clock) -> str:
    return rfc3339(clock.now())


# ----------------------------------------------------------------------------- writes


class Writes:
    """One write per object per reconcile; later changes replace earlier ones.

    Keys are ``(resource, namespace, name, subresource)``; creates, deletes and events keep
    their order. :meth:`actions` returns them in the order they were first asked for.
    """

    def __init__(self) -> None:
        self._order: list[tuple[str, ...] | int] = []
        self._writes: dict[tuple[str, ...], Action] = {}
        self._others: list[Action] = []

    @staticmethod
    def _key(info: KindInfo, obj: Obj, sub: str) -> tuple[str, ...]:
        return (info.group_resource, namespace_of(obj), name_of(obj), sub)

    def create_tracked(self, info: KindInfo, obj: Obj) -> None:
        """A create whose object later :meth:`update` calls may still change."""
        key = self._key(info, obj, "create")
        if key not in self._writes:
            self._order.append(key)
        fresh = deep_copy_json(obj)
        for server_field in ("uid", "creationTimestamp", "resourceVersion"):
            fresh.get("metadata", {}).pop(server_field, None)
        self._writes[key] = Create(info, fresh)

    def update(self, info: KindInfo, obj: Obj) -> None:
        pending = self._key(info, obj, "create")
        if pending in self._writes:
            self.create_tracked(info, obj)
            return
        key = self._key(info, obj, "")
        if key not in self._writes:
            self._order.append(key)
        self._writes[key] = Update(info, deep_copy_json(obj))

    def update_status(self, info: KindInfo, obj: Obj) -> None:
        key = self._key(info, obj, "status")
        if key not in self._writes:
            self._order.append(key)
        self._writes[key] = UpdateStatus(info, deep_copy_json(obj))

    def add(self, action: Action) -> None:
        self._order.append(len(self._others))
        self._others.append(action)

    def create(self, info: KindInfo, obj: Obj, on_error: RecordEvent | None = None,
               on_failure: FailureWrite | None = None) -> None:
        self.add(Create(info, deep_copy_json(obj), on_error, on_failure))

    def delete(self, info: KindInfo, obj: Obj, propagation: str = "Background") -> None:
        self.add(Delete(info, namespace_of(obj), name_of(obj), propagation, uid=uid_of(obj)))

    def event(self, involved: Obj, type_: str, reason: str, message: str,
              component: str) -> None:
        self.add(RecordEvent(involved, type_, reason, message, component))

    def pending_status(self, info: KindInfo, obj: Obj) -> Obj | None:
        """The object of a status write already in the batch, if any."""
        action = self._writes.get(self._key(info, obj, "status"))
        return action.obj if isinstance(action, UpdateStatus) else None

    def actions(self) -> list[Action]:
        """The batch, in order; a second write to one object carries no resourceVersion."""
        out: list[Action] = []
        written: set[tuple[str, ...]] = set()
        for item in self._order:
            if isinstance(item, int):
                out.append(self._others[item])
                continue
            action = self._writes[item]
            if isinstance(action, Update | UpdateStatus) and item[:3] in written:
                obj = deep_copy_json(action.obj)
                obj.get("metadata", {}).pop("resourceVersion", None)
                action = type(action)(action.info, obj)
            written.add(item[:3])
            out.append(action)
        return out


def set_condition(conditions: list[dict[str, Any]], cond: dict[str, Any],
                  same: tuple[str, ...] = ("status", "reason")) -> bool:
    """Replace the condition of ``cond['type']``; keep ``lastTransitionTime`` if status holds.

    Nothing changes when the fields in ``same`` are equal (``SetDeploymentCondition``
    compares status and reason only). Returns whether anything changed; a changed condition
    moves to the end, as upstream's filter-and-append does.
    """
    for i, old in enumerate(conditions):
        if old.get("type") != cond["type"]:
            continue
        if all(old.get(k) == cond.get(k) for k in same):
            return False
        if old.get("status") == cond.get("status") and "lastTransitionTime" in old:
            cond = {**cond, "lastTransitionTime": old["lastTransitionTime"]}
        del conditions[i]
        conditions.append(cond)
        return True
    conditions.append(cond)
    return True
