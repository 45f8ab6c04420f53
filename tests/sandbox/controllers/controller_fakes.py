"""The real registry on a manual clock, driven one reconcile at a time: controller tests.

:class:`Cluster` is the API server's store (:class:`~kubelab.sandbox.store.registry.Registry`)
with a test's conveniences: :meth:`Cluster.add` creates an object as a client would (then
writes the status its owner would write), :meth:`Cluster.run` reconciles one key and applies
the actions as the runner does (a 409 from a stale read is counted, not raised), and
:attr:`Cluster.objects` is the datastore itself, for tests that must put an object into a
state no client can write (a pod that is Running on a node no kubelet serves).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, MutableMapping
from typing import Any

from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.errors import ApiError
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.clock import ManualClock, rfc3339
from kubelab.sandbox.reconcile.events import EventRecorder
from kubelab.sandbox.reconcile.types import (
    Action,
    Create,
    Delete,
    Key,
    Obj,
    Reconciler,
    RecordEvent,
    Result,
    Update,
    UpdateStatus,
)
from kubelab.sandbox.storage import Registry, RegistrySnapshot

EVENTS = kinds.core("events")
PODS = kinds.core("pods")
NAMESPACES = kinds.core("namespaces")
_BY_RESOURCE = {info.group_resource: info for info in kinds.KINDS}

StoreKey = tuple[str, str, str]


class Datastore(MutableMapping[StoreKey, Obj]):
    """The registry's stored objects by (resource, namespace, name), as etcd holds them.

    Reading gives the stored object itself; assigning or deleting writes the datastore
    directly (a new resourceVersion and a watch event, but no API rules), the way a test
    would poke etcd.
    """

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def _split(self, key: StoreKey) -> tuple[KindInfo, str, str]:
        resource, namespace, name = key
        info = _BY_RESOURCE[resource]
        return info, namespace if info.namespaced else "", name

    def __getitem__(self, key: StoreKey) -> Obj:
        info, namespace, name = self._split(key)
        obj = self.registry.peek(info, namespace, name)
        if obj is None:
            raise KeyError(key)
        return obj

    def __setitem__(self, key: StoreKey, obj: Obj) -> None:
        info, namespace, name = self._split(key)
        old = self.registry.peek(info, namespace, name)
        self.registry._commit(info, copy.deepcopy(obj), old=copy.deepcopy(old) if old else None,
                              event_type="MODIFIED" if old else "ADDED",
                              namespace=namespace, name=name)

    def __delitem__(self, key: StoreKey) -> None:
        info, namespace, name = self._split(key)
        old = self.registry.peek(info, namespace, name)
        if old is None:
            raise KeyError(key)
        self.registry._commit(info, None, old=old, event_type="DELETED",
                              namespace=namespace, name=name)

    def __iter__(self) -> Iterator[StoreKey]:
        keys = []
        for info in kinds.KINDS:
            for obj in self.registry.iter_objects(info):
                meta = obj.get("metadata") or {}
                keys.append((info.group_resource, str(meta.get("namespace") or ""),
                             str(meta.get("name") or "")))
        return iter(sorted(keys))

    def __len__(self) -> int:
        return sum(1 for _ in self)


class Cluster:
    """The registry and a synchronous driver for one controller (see the module docstring)."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.registry = Registry(clock)
        self.snapshot = RegistrySnapshot(self.registry)
        self.recorder = EventRecorder(self.registry, clock)
        self.objects = Datastore(self.registry)
        self.conflicts = 0
        #: Status messages of creates the API server refused (the runner retries those keys).
        self.refused: list[str] = []

    def ensure_namespace(self, name: str) -> None:
        if self.registry.peek(NAMESPACES, "", name) is None:
            self.registry.create(NAMESPACES, {"metadata": {"name": name}})

    # ------------------------------------------------------------------ Snapshot

    def get(self, info: KindInfo, namespace: str, name: str) -> Obj | None:
        obj = self.snapshot.get(info, namespace if info.namespaced else "", name)
        return copy.deepcopy(obj) if obj is not None else None

    def list(self, info: KindInfo, namespace: str | None = None,
             labels: dict[str, str] | None = None) -> list[Obj]:
        return copy.deepcopy(self.snapshot.list(info, namespace, labels))

    def dependents(self, owner_uid: str) -> Any:
        return self.snapshot.dependents(owner_uid)

    def controlled_by(self, info: KindInfo, controller_uid: str) -> list[Obj]:
        return copy.deepcopy(self.snapshot.controlled_by(info, controller_uid))

    def orphans(self, info: KindInfo, namespace: str) -> list[Obj]:
        return copy.deepcopy(self.snapshot.orphans(info, namespace))

    # ------------------------------------------------------------------ writes

    def add(self, info: KindInfo, obj: Obj) -> Obj:
        """Create ``obj`` through the API rules, then write its status as its owner would."""
        body = copy.deepcopy(obj)
        status = body.pop("status", None)
        meta = body.setdefault("metadata", {})
        namespace = meta.setdefault("namespace", "default") if info.namespaced else ""
        if not info.namespaced:
            meta.pop("namespace", None)
        if namespace:
            self.ensure_namespace(namespace)
        existing = self.registry.peek(info, "", meta.get("name", "")) \
            if info.kind == "Namespace" else None
        if existing is not None:  # created on demand by an earlier add: take this one's labels
            body["metadata"] = {**copy.deepcopy(existing["metadata"]), **meta}
            stored = self.registry.update(info, body)
        else:
            stored = self.registry.create(info, body, namespace=namespace)
        if status:
            stored = copy.deepcopy(stored)
            stored["status"] = status
            stored = self.registry.update(info, stored, namespace=namespace,
                                          subresource="status")
        return copy.deepcopy(stored)

    def _namespace(self, info: KindInfo, obj: Obj) -> str:
        return str(obj.get("metadata", {}).get("namespace") or "") if info.namespaced else ""

    def update(self, info: KindInfo, obj: Obj) -> None:
        self.registry.update(info, obj, namespace=self._namespace(info, obj))

    def update_status(self, info: KindInfo, obj: Obj) -> None:
        self.registry.update(info, obj, namespace=self._namespace(info, obj),
                             subresource="status")

    def delete(self, info: KindInfo, namespace: str, name: str,
               propagation: str = "Background", uid: str | None = None,
               grace_period_seconds: int | None = None) -> None:
        try:
            self.registry.delete(info, namespace if info.namespaced else "", name,
                                 propagation=propagation, uid=uid,
                                 grace_period_seconds=grace_period_seconds)
        except ApiError as err:
            if err.code != 404:
                raise

    def finish_terminating_pods(self) -> None:
        """What the pods' kubelets do once the containers stopped: delete with grace 0."""
        for pod in self.list(PODS):
            meta = pod["metadata"]
            if meta.get("deletionTimestamp"):
                self.delete(PODS, meta["namespace"], meta["name"], grace_period_seconds=0)

    def record(self, action: RecordEvent) -> None:
        self.recorder.record(action)

    def apply(self, actions: Iterable[Action]) -> None:
        """Apply as :meth:`ComponentRunner.apply` does; a 409 is counted and skipped."""
        for action in actions:
            try:
                finalize = getattr(action, "finalize", None)
                if callable(finalize):
                    finalize(self.registry)
                elif isinstance(action, Create):
                    self.add(action.info, action.obj)
                elif isinstance(action, UpdateStatus):
                    self.update_status(action.info, action.obj)
                elif isinstance(action, Update):
                    self.update(action.info, action.obj)
                elif isinstance(action, Delete):
                    self.delete(action.info, action.namespace, action.name, action.propagation,
                                action.uid, action.grace_period_seconds)
                elif isinstance(action, RecordEvent):
                    self.record(action)
            except ApiError as err:
                if isinstance(action, Create) and action.on_error is not None:
                    # A refused create (quota): the runner's event, failure write, retry.
                    event = action.on_error
                    self.record(RecordEvent(event.involved, event.type, event.reason,
                                            event.message + err.message, event.component))
                    if action.on_failure is not None:
                        self.apply([action.on_failure(err.message)])
                    self.refused.append(err.message)
                    return
                if err.code != 409:
                    raise
                self.conflicts += 1

    def events(self, reason: str | None = None) -> list[str]:
        return [e["message"] for e in self.list(EVENTS)
                if reason is None or e["reason"] == reason]

    # ------------------------------------------------------------------ driving

    def run(self, controller: Reconciler, key: Key) -> Result:
        result = controller.reconcile(self.snapshot, key, self.clock)
        self.apply(result.actions)
        return result

    def keys(self, info: KindInfo) -> list[Key]:
        return [Key.of(info, o) for o in self.list(info)]


def writes_of(result: Result) -> list[Action]:
    return [a for a in result.actions if not isinstance(a, RecordEvent)]


def events_of(result: Result) -> list[tuple[str, str]]:
    return [(a.reason, a.message) for a in result.actions if isinstance(a, RecordEvent)]


def deployment(name: str = "web", *, replicas: int = 3, image: str = "nginx:1",
               surge: Any = "25%", unavailable: Any = "25%", min_ready: int = 0,
               strategy: str = "RollingUpdate", **spec: Any) -> Obj:
    strat: Obj = {"type": strategy}
    if strategy == "RollingUpdate":
        strat["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavailable}
    body: Obj = {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "strategy": strat, "revisionHistoryLimit": 10,
                 "progressDeadlineSeconds": 600, "minReadySeconds": min_ready,
                 "template": {"metadata": {"creationTimestamp": None,
                                           "labels": {"app": name}},
                              "spec": {"containers": [{"name": "app", "image": image}]}}},
    }
    body["spec"].update(spec)
    return body


def make_ready(pod: Obj, clock: ManualClock, node: str = "worker-1", ip: str = "") -> Obj:
    pod = copy.deepcopy(pod)
    pod["spec"]["nodeName"] = pod["spec"].get("nodeName") or node
    now = rfc3339(clock.now())
    pod["status"] = {"phase": "Running", "podIP": ip or "10.244.0.1",
                     "conditions": [{"type": "Ready", "status": "True",
                                     "lastTransitionTime": now}]}
    return pod
