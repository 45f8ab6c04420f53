"""Expired Events go in batches, each its own turn of the event loop."""

from __future__ import annotations

from kubelab.sandbox import bootstrap
from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.storage import Registry
from kubelab.sandbox.store import registry as store

EVENTS = kinds.core("events")


def test_a_burst_of_expired_events_is_deleted_in_batches() -> None:
    clock = ManualClock()
    registry = Registry(clock, event_ttl=600)
    bootstrap.seed(registry, 1)
    total = store.EVENT_SWEEP_BATCH * 3 + 7
    for i in range(total):
        registry.create(EVENTS, {"metadata": {"name": f"e{i}"}, "reason": "Started",
                                 "involvedObject": {"kind": "Pod", "name": "p",
                                                    "namespace": "default"},
                                 "message": "m", "type": "Normal", "count": 1},
                        namespace="default")
    batches: list[int] = []
    sweep = registry.expire_events

    def counted(limit: int | None = None) -> int:
        gone = sweep(limit)
        batches.append(gone)
        return gone

    registry.expire_events = counted  # type: ignore[method-assign]
    clock.advance(601)
    assert not list(registry.iter_objects(EVENTS, "default"))
    assert max(batches) == store.EVENT_SWEEP_BATCH and sum(batches) == total
    assert len([b for b in batches if b]) == 4
