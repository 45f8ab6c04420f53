"""An in-memory cluster for controller tests: a Snapshot that can apply actions.

It fills server fields the way the API server does (uid, resourceVersion,
creationTimestamp, generateName suffixes, generation on spec change), keeps status on main
writes, honours deletion finalizers, and stores RecordEvents as core/v1 Events so that
``describe``-style assertions can read them back.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable
from typing import Any

from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.clock import ManualClock, rfc3339
from kubelab.sandbox.controllers.namespace import Finalize
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

EVENTS = kinds.core("events")
SPEC_KINDS = {"Deployment", "ReplicaSet", "DaemonSet"}


class Conflict(Exception):
    pass


class FakeCluster:
    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.objects: dict[tuple[str, str, str], Obj] = {}
        self._rv = itertools.count(100)
        self._uid = itertools.count(1)
        self._suffix = itertools.count(0)
        self.conflicts = 0

    # ------------------------------------------------------------------ Snapshot

    def get(self, info: KindInfo, namespace: str, name: str) -> Obj | None:
        obj = self.objects.get((info.group_resource, namespace if info.namespaced else "",
                                name))
        return copy.deepcopy(obj) if obj is not None else None

    def list(self, info: KindInfo, namespace: str | None = None,
             labels: dict[str, str] | None = None) -> list[Obj]:
        out = []
        for (res, ns, _), obj in sorted(self.objects.items()):
            if res != info.group_resource or (namespace is not None and ns != namespace):
                continue
            have = obj.get("metadata", {}).get("labels") or {}
            if labels and any(have.get(k) != v for k, v in labels.items()):
                continue
            out.append(copy.deepcopy(obj))
        return out

    # ------------------------------------------------------------------ writes

    def add(self, info: KindInfo, obj: Obj) -> Obj:
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        if info.namespaced:
            meta.setdefault("namespace", "default")
        else:
            meta.pop("namespace", None)
        if not meta.get("name"):
            meta["name"] = meta["generateName"] + f"x{next(self._suffix):04d}"
        key = (info.group_resource, meta.get("namespace", ""), meta["name"])
        assert key not in self.objects, f"exists: {key}"
        meta["uid"] = f"uid-{next(self._uid)}"
        meta.setdefault("creationTimestamp", rfc3339(self.clock.now()))
        meta["resourceVersion"] = str(next(self._rv))
        obj["apiVersion"], obj["kind"] = info.api_version, info.kind
        if obj["kind"] in SPEC_KINDS:
            meta["generation"] = 1
        self.objects[key] = obj
        return copy.deepcopy(obj)

    def _key(self, info: KindInfo, obj: Obj) -> tuple[str, str, str]:
        meta = obj["metadata"]
        return (info.group_resource, meta.get("namespace", "") if info.namespaced else "",
                meta["name"])

    def _check_rv(self, old: Obj, new: Obj) -> None:
        rv = new.get("metadata", {}).get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            self.conflicts += 1
            raise Conflict(new["metadata"]["name"])

    def _store(self, key: tuple[str, str, str], obj: Obj) -> None:
        meta = obj["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers") and not (
                obj.get("kind") == "Namespace" and obj.get("spec", {}).get("finalizers")):
            self.objects.pop(key, None)
            return
        meta["resourceVersion"] = str(next(self._rv))
        self.objects[key] = obj

    def update(self, info: KindInfo, obj: Obj) -> None:
        key = self._key(info, obj)
        old = self.objects[key]
        self._check_rv(old, obj)
        new = copy.deepcopy(obj)
        for field in ("uid", "creationTimestamp", "deletionTimestamp", "generation"):
            if field in old["metadata"]:
                new["metadata"][field] = old["metadata"][field]
        if "status" in old:
            new["status"] = copy.deepcopy(old["status"])
        if old.get("kind") in SPEC_KINDS and new.get("spec") != old.get("spec"):
            new["metadata"]["generation"] = old["metadata"]["generation"] + 1
        if old.get("kind") == "Namespace":
            new["spec"] = copy.deepcopy(old.get("spec", {}))
        self._store(key, new)

    def update_status(self, info: KindInfo, obj: Obj) -> None:
        key = self._key(info, obj)
        old = self.objects[key]
        self._check_rv(old, obj)
        new = copy.deepcopy(old)
        new["status"] = copy.deepcopy(obj.get("status", {}))
        if old.get("kind") == "Deployment":
            # deploymentStatusStrategy resets spec and labels only: annotations go through.
            new["metadata"]["annotations"] = copy.deepcopy(
                obj.get("metadata", {}).get("annotations"))
        self._store(key, new)

    def finalize(self, obj: Obj) -> None:
        info = kinds.core("namespaces")
        key = self._key(info, obj)
        old = self.objects[key]
        self._check_rv(old, obj)
        new = copy.deepcopy(old)
        new.setdefault("spec", {})["finalizers"] = obj.get("spec", {}).get("finalizers", [])
        self._store(key, new)

    def delete(self, info: KindInfo, namespace: str, name: str,
               propagation: str = "Background", uid: str | None = None) -> None:
        key = (info.group_resource, namespace if info.namespaced else "", name)
        old = self.objects.get(key)
        if old is None or (uid and old["metadata"]["uid"] != uid):
            return
        new = copy.deepcopy(old)
        finalizers = list(new["metadata"].get("finalizers") or [])
        if propagation == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        if propagation == "Orphan" and "orphan" not in finalizers:
            finalizers.append("orphan")
        ns_waits = info.kind == "Namespace" and new.get("spec", {}).get("finalizers")
        if not finalizers and not ns_waits:
            del self.objects[key]
            return
        new["metadata"]["finalizers"] = finalizers
        new["metadata"].setdefault("deletionTimestamp", rfc3339(self.clock.now()))
        if info.kind == "Namespace":
            new.setdefault("status", {})["phase"] = "Terminating"
        self._store(key, new)

    def record(self, action: RecordEvent) -> None:
        involved = action.involved["metadata"]
        for (res, _, _), ev in self.objects.items():
            if res == "events" and ev["involvedObject"]["uid"] == involved["uid"] \
                    and ev["reason"] == action.reason and ev["message"] == action.message:
                ev["count"] += 1
                ev["lastTimestamp"] = rfc3339(self.clock.now())
                return
        now = rfc3339(self.clock.now())
        self.add(EVENTS, {
            "metadata": {"name": f"{involved['name']}.{next(self._suffix):x}",
                         "namespace": involved.get("namespace", "default")},
            "involvedObject": {"kind": action.involved.get("kind"), "name": involved["name"],
                               "namespace": involved.get("namespace", ""),
                               "uid": involved["uid"]},
            "reason": action.reason, "message": action.message, "type": action.type,
            "source": {"component": action.component}, "count": 1,
            "firstTimestamp": now, "lastTimestamp": now,
        })

    def apply(self, actions: Iterable[Action]) -> None:
        for action in actions:
            try:
                if isinstance(action, Create):
                    self.add(action.info, action.obj)
                elif isinstance(action, Finalize):
                    self.finalize(action.obj)
                elif isinstance(action, UpdateStatus):
                    self.update_status(action.info, action.obj)
                elif isinstance(action, Update):
                    self.update(action.info, action.obj)
                elif isinstance(action, Delete):
                    self.delete(action.info, action.namespace, action.name, action.propagation,
                                action.uid)
                elif isinstance(action, RecordEvent):
                    self.record(action)
            except Conflict:
                pass

    def events(self, reason: str | None = None) -> list[str]:
        return [e["message"] for e in self.list(EVENTS)
                if reason is None or e["reason"] == reason]

    # ------------------------------------------------------------------ driving

    def run(self, controller: Reconciler, key: Key) -> Result:
        result = controller.reconcile(self, key, self.clock)
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
