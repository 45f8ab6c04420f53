"""Event recording with aggregation, like client-go's ``record.EventRecorder``.

client-go's EventCorrelator folds identical events (same object, reason, message, source)
seen within ten minutes into one Event whose ``count`` grows and ``lastTimestamp`` moves, so
``kubectl describe`` shows ``(x3 over 2m)`` instead of a wall of repeats. Names are
``<involvedObject.name>.<hex unix nanos>`` as the real recorder makes them.
"""

from __future__ import annotations

from typing import Any

from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.errors import ApiError
from kubelab.sandbox.clock import Clock, rfc3339
from kubelab.sandbox.reconcile.types import RecordEvent
from kubelab.sandbox.store.registry import SERVER_MANAGER, Registry

AGGREGATION_WINDOW = 600.0  # seconds, real time (event timestamps are wall clock)


class EventRecorder:
    def __init__(self, registry: Registry, clock: Clock) -> None:
        self.registry = registry
        self.clock = clock
        self._recent: dict[tuple[str, ...], tuple[str, str]] = {}
        self._seq = 0

    def record(self, action: RecordEvent, manager: str = SERVER_MANAGER) -> None:
        """Write (or aggregate into) the Event, recorded in ``managedFields`` as written by
        ``manager`` (the reporting component's binary, as client-go's broadcaster is)."""
        involved = action.involved
        meta = involved.get("metadata", {})
        namespace = meta.get("namespace") or "default"
        info = kinds.core("events")
        key = (meta.get("uid", ""), action.field_path, action.reason, action.message,
               action.component, action.host, action.type)
        now = self.clock.now()
        stamp = rfc3339(now)
        known = self._recent.get(key)
        if known is not None:
            ns, name = known
            existing = self.registry.peek(info, ns, name)
            if existing is not None:
                last = existing.get("lastTimestamp") or stamp
                from kubelab.sandbox.clock import parse_time

                last_t = parse_time(last)
                if last_t is not None and (now - last_t).total_seconds() < AGGREGATION_WINDOW:
                    # A shallow copy: the registry copies what it stores (a back-off
                    # event's count moves on every sync of a crash-looping container).
                    event = {**existing, "count": int(existing.get("count", 1)) + 1,
                             "lastTimestamp": stamp}
                    try:
                        self.registry.update(info, event, namespace=ns, manager=manager,
                                             copy_result=False)
                        return
                    except ApiError:
                        pass
        self._seq += 1
        nanos = int(now.timestamp() * 1e9) + self._seq
        name = f"{meta.get('name', 'unknown')}.{nanos:x}"
        involved_ref: dict[str, Any] = {
            "kind": involved.get("kind", ""),
            "namespace": meta.get("namespace", "") or None,
            "name": meta.get("name", ""),
            "uid": meta.get("uid", ""),
            "apiVersion": involved.get("apiVersion", ""),
            "resourceVersion": meta.get("resourceVersion", ""),
        }
        if action.field_path:
            involved_ref["fieldPath"] = action.field_path
        involved_ref = {k: v for k, v in involved_ref.items() if v is not None}
        source: dict[str, str] = {"component": action.component}
        if action.host:
            source["host"] = action.host
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": involved_ref,
            "reason": action.reason, "message": action.message, "type": action.type,
            "source": source, "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
            "eventTime": None, "reportingComponent": action.component,
            "reportingInstance": action.host or "",
        }
        try:
            self.registry.create(info, event, namespace=namespace, manager=manager,
                                 copy_result=False)
        except ApiError:
            return  # e.g. the namespace is terminating: events are best effort upstream too
        self._recent[key] = (namespace, name)
        if len(self._recent) > 20_000:
            self._recent.clear()
