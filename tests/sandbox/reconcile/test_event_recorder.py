"""The recorder folds a repeated event into one Event whose count grows, as client-go's
EventCorrelator does, without touching the stored version it started from."""

from __future__ import annotations

from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.reconcile.events import EventRecorder
from kubelab.sandbox.reconcile.types import RecordEvent
from kubelab.sandbox.storage import Registry

EVENTS = kinds.core("events")


def test_a_repeated_event_grows_its_count_and_leaves_the_stored_version_alone() -> None:
    clock = ManualClock()
    registry = Registry(clock)
    registry.create(kinds.core("namespaces"), {"metadata": {"name": "default"}})
    recorder = EventRecorder(registry, clock)
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "web", "namespace": "default", "uid": "u-1"}}
    action = RecordEvent(pod, "Warning", "BackOff", "Back-off restarting failed container",
                         "kubelet", "worker-1", "spec.containers{web}")
    recorder.record(action, "kubelet")
    (first,) = registry.list_objects(EVENTS, "default")[0]
    stored = registry.peek(EVENTS, "default", first["metadata"]["name"])
    assert stored is not None and stored["count"] == 1
    clock.advance(10)
    recorder.record(action, "kubelet")
    (second,) = registry.list_objects(EVENTS, "default")[0]
    assert second["metadata"]["name"] == first["metadata"]["name"]
    assert second["count"] == 2 and second["lastTimestamp"] != first["lastTimestamp"]
    assert second["firstTimestamp"] == first["firstTimestamp"]
    # The version the update started from is as it was stored.
    assert stored["count"] == 1 and stored["lastTimestamp"] == first["lastTimestamp"]
    assert stored["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
