"""Nodes: what the kubelet registers, with every status field the client insists on.

Mirrors ``pkg/registry/core/node/strategy.go`` (the kubelet creates a node *with* its
status, so create keeps it; a main-resource update keeps the old status), and
``SetDefaults_NodeStatus`` (``allocatable`` defaults to ``capacity``). The official Python
client (37.x) refuses a node whose ``nodeInfo`` lacks any of ten fields or whose
``daemonEndpoints.kubeletEndpoint`` lacks ``Port``, so defaulting fills them the way a real
kubelet always does. ``spec.unschedulable`` is selectable (``kubectl get nodes
--field-selector``).
"""

from __future__ import annotations

from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import Obj, Strategy, register
from kubelab.sandbox.api.strategies.pod import canonical_resource_list
from kubelab.sandbox.api.validation import (
    invalid,
    not_supported,
    qualified_name_errors,
    validate_object_meta,
)

NODE_INFO_FIELDS = ("architecture", "bootID", "containerRuntimeVersion", "kernelVersion",
                    "kubeProxyVersion", "kubeletVersion", "machineID", "operatingSystem",
                    "osImage", "systemUUID")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


class NodeStrategy(Strategy):
    """``nodeStrategy``: cluster-scoped; the status subresource belongs to the kubelet."""

    has_status_subresource = True

    def default(self, obj: Obj) -> None:
        status = obj.get("status")
        if not isinstance(status, dict):
            return
        for key in ("capacity", "allocatable"):
            canonical_resource_list(status.get(key), "Node")
        if status.get("allocatable") is None and isinstance(status.get("capacity"), dict):
            status["allocatable"] = dict(status["capacity"])
        info = status.get("nodeInfo")
        if isinstance(info, dict):
            for key in NODE_INFO_FIELDS:
                info.setdefault(key, "")
        endpoints = status.get("daemonEndpoints")
        if isinstance(endpoints, dict):
            kubelet = endpoints.get("kubeletEndpoint")
            if isinstance(kubelet, dict):
                kubelet.setdefault("Port", 0)

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        causes = validate_object_meta(obj, info)
        for i, taint in enumerate((obj.get("spec") or {}).get("taints") or []):
            taint = taint or {}
            path = f"spec.taints[{i}]"
            effect = taint.get("effect", "")
            if effect not in TAINT_EFFECTS:
                causes.append(not_supported(f"{path}.effect", effect, TAINT_EFFECTS))
            key = str(taint.get("key", ""))
            causes += [invalid(f"{path}.key", key, e) for e in qualified_name_errors(key)]
        return causes

    def prepare_for_create(self, obj: Obj) -> None:
        """Unlike most kinds, a node is created with the status its kubelet reports."""

    def selectable_fields(self, obj: Obj) -> dict[str, str]:
        unschedulable = bool((obj.get("spec") or {}).get("unschedulable"))
        return super().selectable_fields(obj) | {
            "spec.unschedulable": "true" if unschedulable else "false"}


register("v1", "Node", NodeStrategy())
