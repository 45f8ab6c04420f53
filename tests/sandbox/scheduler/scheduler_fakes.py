"""A dict-backed Snapshot and small builders for nodes and pods."""

from __future__ import annotations

import copy
import itertools
from typing import Any

from kubelab.sandbox.api.kinds import KindInfo

Obj = dict[str, Any]
_uid = itertools.count(1)


class FakeSnapshot:
    def __init__(self, *objects: tuple[KindInfo, Obj]) -> None:
        self.objects: dict[tuple[str, str, str], Obj] = {}
        for info, obj in objects:
            self.put(info, obj)

    def put(self, info: KindInfo, obj: Obj) -> Obj:
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        if info.namespaced:
            meta.setdefault("namespace", "default")
        meta.setdefault("uid", f"uid-{next(_uid)}")
        self.objects[(info.group_resource, meta.get("namespace", ""), meta["name"])] = obj
        return obj

    def remove(self, info: KindInfo, namespace: str, name: str) -> None:
        del self.objects[(info.group_resource, namespace, name)]

    def get(self, info: KindInfo, namespace: str, name: str) -> Obj | None:
        return self.objects.get((info.group_resource, namespace, name))

    def list(self, info: KindInfo, namespace: str | None = None,
             labels: dict[str, str] | None = None) -> list[Obj]:
        return [o for (r, ns, _), o in sorted(self.objects.items())
                if r == info.group_resource and (namespace is None or ns == namespace)]


def node(name: str, cpu: str = "940m", memory: str = "2832084Ki", pods: str = "110",
         labels: dict[str, str] | None = None, taints: list[Obj] | None = None,
         unschedulable: bool = False) -> Obj:
    spec: Obj = {}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    return {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                                  **(labels or {})}},
            "spec": spec,
            "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods,
                                       "ephemeral-storage": "40Gi"}}}


def control_plane(name: str = "control-plane") -> Obj:
    return node(name, labels={"node-role.kubernetes.io/control-plane": ""},
                taints=[{"key": "node-role.kubernetes.io/control-plane",
                         "effect": "NoSchedule"}])


def pod(name: str, cpu: str | None = None, memory: str | None = None, node_name: str = "",
        **spec: Any) -> Obj:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    container: Obj = {"name": "app", "image": "nginx"}
    if requests:
        container["resources"] = {"requests": requests}
    body: Obj = {"metadata": {"name": name, "namespace": "default"},
                 "spec": {"containers": [container], "schedulerName": "default-scheduler",
                          **spec},
                 "status": {"phase": "Pending"}}
    if node_name:
        body["spec"]["nodeName"] = node_name
    return body
