"""Events (core/v1): what ``kubectl describe`` lists at the bottom of every object.

Mirrors ``pkg/registry/core/event/strategy.go`` (no spec/status, the field selectors
``kubectl describe`` sends: ``involvedObject.name``, ``.namespace``, ``.kind``, ``.uid``…)
and the *legacy* branch of ``ValidateEventCreate`` in ``pkg/apis/core/validation/events.go``:
an event without ``eventTime`` only has to agree with its involved object's namespace,
while a new-style one (``eventTime`` set) also needs ``reportingComponent``,
``reportingInstance``, ``action`` and ``reason``. ``involvedObject`` is a non-optional
struct upstream, so a missing one is written back as ``{}``.
"""

from __future__ import annotations

from typing import Any

from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import Obj, Strategy, register
from kubelab.sandbox.api.validation import (
    dns1123_subdomain_errors,
    invalid,
    qualified_name_errors,
    required,
)

REPORTING_INSTANCE_LIMIT = 128
ACTION_LIMIT = 128
REASON_LIMIT = 128
NOTE_LIMIT = 1024


def validate_new_style(event: dict[str, Any], controller_field: str, reason: str,
                       action: str, instance: str) -> list[Cause]:
    """The checks every event with ``eventTime`` gets, in upstream order."""
    causes: list[Cause] = []
    controller = event.get(controller_field, "")
    if not controller:
        causes.append(required(controller_field))
    causes += [invalid(controller_field, controller, e)
               for e in qualified_name_errors(controller)]
    if not instance:
        causes.append(required("reportingInstance"))
    if len(instance) > REPORTING_INSTANCE_LIMIT:
        causes.append(invalid("reportingInstance", "",
                              f"can have at most {REPORTING_INSTANCE_LIMIT} characters"))
    if not action:
        causes.append(required("action"))
    if len(action) > ACTION_LIMIT:
        causes.append(invalid("action", "", f"can have at most {ACTION_LIMIT} characters"))
    if not reason:
        causes.append(required("reason"))
    if len(reason) > REASON_LIMIT:
        causes.append(invalid("reason", "", f"can have at most {REASON_LIMIT} characters"))
    return causes


class EventStrategy(Strategy):
    """``eventStrategy``: events are plain records; any update replaces them."""

    def default(self, obj: Obj) -> None:
        if not isinstance(obj.get("involvedObject"), dict):
            obj["involvedObject"] = {}

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        causes: list[Cause] = []
        namespace = (obj.get("metadata") or {}).get("namespace", "")
        involved = obj.get("involvedObject") or {}
        involved_ns = involved.get("namespace", "")
        if not obj.get("eventTime"):
            if not involved_ns:
                if namespace not in ("", "default"):
                    causes.append(invalid("involvedObject.namespace", involved_ns,
                                          "does not match event.namespace"))
            elif namespace != involved_ns:
                causes.append(invalid("involvedObject.namespace", involved_ns,
                                      "does not match event.namespace"))
        else:
            if not involved_ns and namespace not in ("default", "kube-system"):
                causes.append(invalid("involvedObject.namespace", involved_ns,
                                      "does not match event.namespace"))
            causes += validate_new_style(obj, "reportingComponent", obj.get("reason", ""),
                                         obj.get("action", ""),
                                         obj.get("reportingInstance", ""))
        causes += [invalid("namespace", namespace, e)
                   for e in dns1123_subdomain_errors(namespace)]
        if not (obj.get("metadata") or {}).get("name"):
            causes.append(required("metadata.name", "name or generateName is required"))
        return causes

    def selectable_fields(self, obj: Obj) -> dict[str, str]:
        involved = obj.get("involvedObject") or {}
        source = obj.get("source") or {}
        fields = {f"involvedObject.{k}": str(involved.get(k, "")) for k in
                  ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion",
                   "fieldPath")}
        return super().selectable_fields(obj) | fields | {
            "reason": obj.get("reason", ""),
            "reportingComponent": obj.get("reportingComponent", ""),
            "source": source.get("component", "") or obj.get("reportingComponent", ""),
            "type": obj.get("type", ""),
        }


register("v1", "Event", EventStrategy())
