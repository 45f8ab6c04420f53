"""Events (events.k8s.io/v1): the structured events the scheduler and kubelet emit.

Mirrors the strict branch of ``ValidateEventCreate`` in
``pkg/apis/core/validation/events.go`` that applies to events created through
``events.k8s.io/v1`` (``eventTime``, ``reportingController``, ``reportingInstance``,
``action``, ``reason``, ``type`` Normal/Warning, ``note`` at most 1 KiB) and
``pkg/registry/core/event/strategy.go`` for the selectable fields, named here as the
``events.k8s.io`` fields (``regarding.*``) upstream converts them from.
"""

from __future__ import annotations

from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import Obj, Strategy, register
from kubelab.sandbox.api.strategies.event import NOTE_LIMIT, validate_new_style
from kubelab.sandbox.api.validation import invalid, required, validate_object_meta

EVENT_TYPES = ("Normal", "Warning")


class EventsV1Strategy(Strategy):
    """The events.k8s.io view of ``eventStrategy``."""

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        causes = validate_object_meta(obj, info)
        namespace = (obj.get("metadata") or {}).get("namespace", "")
        regarding = obj.get("regarding") or {}
        if not regarding.get("namespace", "") and namespace not in ("default", "kube-system"):
            causes.append(invalid("involvedObject.namespace", regarding.get("namespace", ""),
                                  "does not match event.namespace"))
        if not obj.get("eventTime"):
            causes.append(required("eventTime"))
        kind = obj.get("type", "")
        if kind not in EVENT_TYPES:
            causes.append(invalid("type", "", f"has invalid value: {kind}"))
        causes += validate_new_style(obj, "reportingController", obj.get("reason", ""),
                                     obj.get("action", ""), obj.get("reportingInstance", ""))
        if len(obj.get("note", "") or "") > NOTE_LIMIT:
            causes.append(invalid("note", "", f"can have at most {NOTE_LIMIT} characters"))
        return causes

    def selectable_fields(self, obj: Obj) -> dict[str, str]:
        regarding = obj.get("regarding") or {}
        fields = {f"regarding.{k}": str(regarding.get(k, "")) for k in
                  ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion",
                   "fieldPath")}
        return super().selectable_fields(obj) | fields | {
            "reason": obj.get("reason", ""),
            "reportingController": obj.get("reportingController", ""),
            "type": obj.get("type", ""),
        }


register("events.k8s.io/v1", "Event", EventsV1Strategy())
