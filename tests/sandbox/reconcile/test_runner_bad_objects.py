"""One malformed object (written before validation existed, or by a buggy component) must not
make a controller log a traceback on every event: once per object, then quietly."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import pytest

from kubelab.sandbox import bootstrap
from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import Clock, ManualClock
from kubelab.sandbox.reconcile.events import EventRecorder
from kubelab.sandbox.reconcile.runner import ComponentRunner
from kubelab.sandbox.reconcile.types import Key, Result
from kubelab.sandbox.storage import Registry

PODS = kinds.core("pods")


class LabelReader:
    """Reads pod labels as a dict, as the replicaset controller does."""

    name = "label-reader"
    watches = (PODS,)

    def keys_for(self, info: Any, obj: dict[str, Any], snapshot: Any) -> Iterable[Key]:
        labels = obj["metadata"].get("labels") or {}
        return [("default", str(labels.get("app", "")))]  # raises on a list

    def reconcile(self, snapshot: Any, key: Key, clock: Clock) -> Result:
        if key[1] == "boom":
            raise ValueError("bad spec")
        return Result()


async def test_a_bad_object_logs_once_not_per_event(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()
    registry = Registry(clock)
    bootstrap.seed(registry, 1)
    runner = ComponentRunner(LabelReader(), registry, clock, EventRecorder(registry, clock))
    runner.start()
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bad", "labels": {"a": "b"}},
           "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    stored = registry.create(PODS, pod, namespace="default")
    with caplog.at_level(logging.DEBUG, logger="kubelab.sandbox.reconcile"):
        for i in range(5):  # a malformed object slipped into the store, updated 5 times
            stored["metadata"]["labels"] = ["not", "a", "map", str(i)]
            registry._commit(PODS, stored, old=registry.peek(PODS, "default", "bad"),
                             event_type="MODIFIED", namespace="default", name="bad")
            stored = dict(registry.peek(PODS, "default", "bad") or {})
        assert errors_so_far(caplog) == 0  # the handlers run after the commits, not in them
        assert runner.handle_events() >= 1
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and "keys_for failed" in errors[0].getMessage()
        caplog.clear()
        for _ in range(4):  # a reconcile that raises: traceback once, then back-off quietly
            runner.process(("default", "boom"))
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and "reconcile" in errors[0].getMessage()
    await runner.stop()
    registry.close()


def errors_so_far(caplog: pytest.LogCaptureFixture) -> int:
    return sum(1 for r in caplog.records if r.levelno >= logging.ERROR)
