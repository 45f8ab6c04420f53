"""Keys, snapshots, actions and results: the vocabulary of a reconcile function."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from kubelab.apimachinery.types import Obj
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.clock import Clock


@dataclass(frozen=True, order=True)
class Key:
    """What a worker reconciles: one object, named by resource (``deployments.apps``)."""

    resource: str
    namespace: str
    name: str

    @classmethod
    def of(cls, info: KindInfo, obj: Obj) -> Key:
        meta = obj.get("metadata", {})
        return cls(info.group_resource, meta.get("namespace", ""), meta.get("name", ""))


class Snapshot(Protocol):
    """A read-only view of the cluster's current objects (a lister).

    Objects returned are the store's own: a reconcile function must ``copy.deepcopy``
    before changing one.
    """

    def get(self, info: KindInfo, namespace: str, name: str) -> Obj | None: ...

    def list(self, info: KindInfo, namespace: str | None = None,
             labels: dict[str, str] | None = None) -> list[Obj]: ...


# ----------------------------------------------------------------------------- actions


@dataclass(frozen=True)
class Create:
    """Create an object. ``on_error``: the event to record when the API server refuses it
    (its message is prefixed to the Status message), e.g. the ReplicaSet controller's
    ``FailedCreate`` "Error creating: pods "x" is forbidden: exceeded quota: …".
    ``on_failure``: given the Status message, the write that reports the failure (the
    ReplicaSet's ``ReplicaFailure`` condition, written as upstream's sync writes its status
    after a failed ``manageReplicas``); the rest of the batch is dropped as before."""

    info: KindInfo
    obj: Obj
    on_error: RecordEvent | None = None
    on_failure: Callable[[str], Action] | None = field(default=None, compare=False)
    #: The writer's field manager when it is not the component's own binary (see
    #: :class:`Update`).
    manager: str | None = None


@dataclass(frozen=True)
class Update:
    """Replace the object (its ``metadata.resourceVersion`` is checked: 409 on a stale one).
    ``manager``: the writer's field manager when it is not the component's own binary (the
    control plane stands for several: its static pods are the kubelet's, its leader Leases
    kube-scheduler's and kube-controller-manager's)."""

    info: KindInfo
    obj: Obj
    manager: str | None = None


@dataclass(frozen=True)
class UpdateStatus:
    """Write only the status, through the ``/status`` subresource."""

    info: KindInfo
    obj: Obj


@dataclass(frozen=True)
class Delete:
    info: KindInfo
    namespace: str
    name: str
    propagation: str = "Background"
    grace_period_seconds: int | None = None
    uid: str | None = None  # precondition: only delete this incarnation


@dataclass(frozen=True)
class Bind:
    """``POST pods/<name>/binding``: the scheduler's one write."""

    namespace: str
    name: str
    node: str
    uid: str


@dataclass(frozen=True)
class RecordEvent:
    """An Event about ``involved`` (aggregated like client-go's EventCorrelator).

    ``field_path`` is describe's *Subobject* (``spec.containers{nginx}``).
    """

    involved: Obj
    type: str
    reason: str
    message: str
    component: str
    host: str = ""
    field_path: str = ""


Action = Create | Update | UpdateStatus | Delete | Bind | RecordEvent


@dataclass
class Result:
    actions: list[Action] = field(default_factory=list)
    #: Reconcile this key again after this many *simulated* seconds (None: only on change).
    requeue_after: float | None = None
    #: The requeue is periodic upkeep (a Lease renewal, a status report) that nobody waits
    #: for: a virtual clock fires it on time but does not skip idle time for it
    #: (:func:`~kubelab.sandbox.clock.call_later_background`).
    background: bool = False

    def then(self, other: Result) -> Result:
        delays = [(d, r.background) for r in (self, other)
                  if (d := r.requeue_after) is not None]
        if not delays:
            return Result(self.actions + other.actions, None)
        soonest = min(d for d, _ in delays)
        return Result(self.actions + other.actions, soonest,
                      background=all(b for d, b in delays if d == soonest))


class Reconciler(Protocol):
    """A controller, the scheduler, or a kubelet: watch → keys → reconcile."""

    name: str

    #: The kinds whose changes can affect this component's decisions.
    watches: tuple[KindInfo, ...]

    def keys_for(self, info: KindInfo, obj: Obj, snapshot: Snapshot) -> Iterable[Key]:
        """Map one changed object to the keys to reconcile (an event handler)."""
        ...

    def reconcile(self, snapshot: Snapshot, key: Key, clock: Clock) -> Result:
        """Compute what to write to move ``key`` toward its desired state.

        A controller's reconcile is pure: a function of the snapshot, the key and the clock.
        Components with local state say so (a kubelet starts and stops its simulated
        containers here; the scheduler decides from the cache its handlers keep).

        Read time only from ``clock``: ``clock.now()`` for timestamps to write and
        ``clock.sim_elapsed(ts)`` for "has minReadySeconds passed since ts" questions.
        """
        ...
