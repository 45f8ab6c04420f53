"""Events expire ``event_ttl`` simulated seconds after their last write (``--event-ttl``)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from kubelab.sandbox import bootstrap
from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.storage import Registry
from kubelab.sandbox.store.registry import EVENT_TTL_SECONDS

EVENTS = kinds.core("events")
NEW_EVENTS = kinds.resource("events.events.k8s.io")


def event(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name},
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"},
            "reason": "Started", "message": "Started container c", "type": "Normal",
            "count": 1}


def names(registry: Registry) -> list[str]:
    return sorted(e["metadata"]["name"] for e in registry.iter_objects(EVENTS, "default"))


def test_default_ttl_is_one_hour_like_kube_apiserver() -> None:
    assert EVENT_TTL_SECONDS == 3600
    assert Registry(ManualClock()).event_ttl == 3600


def test_events_expire_after_the_ttl_since_their_last_write() -> None:
    clock = ManualClock()
    registry = Registry(clock, event_ttl=600)
    bootstrap.seed(registry, 1)
    registry.create(EVENTS, event("a"), namespace="default")
    clock.advance(300)
    registry.create(EVENTS, event("b"), namespace="default")
    watcher, _ = registry.watch(EVENTS, "default", since=registry.revision)
    clock.advance(299)
    assert names(registry) == ["a", "b"]
    clock.advance(2)  # a is 601 s old
    assert names(registry) == ["b"]
    # An update renews the lease, as kube-apiserver re-attaches the TTL on every write.
    updated = copy.deepcopy(registry.get(EVENTS, "default", "b"))
    updated["count"] = 2
    registry.update(EVENTS, updated, namespace="default")
    clock.advance(400)  # b last written 400 s ago
    assert names(registry) == ["b"]
    clock.advance(201)
    assert names(registry) == []
    deleted = []
    while not watcher.queue.empty():
        item = watcher.queue.get_nowait()
        if item is not None and item.type == "DELETED":
            deleted.append(item.obj["metadata"]["name"])
    assert deleted == ["a", "b"]
    registry.close()


def test_events_k8s_io_events_expire_too_and_other_kinds_never() -> None:
    clock = ManualClock()
    registry = Registry(clock, event_ttl=60)
    bootstrap.seed(registry, 1)
    registry.create(NEW_EVENTS, {"apiVersion": "events.k8s.io/v1", "kind": "Event",
                                 "metadata": {"name": "n"}, "eventTime": "2026-01-01T00:00:00.000000Z",
                                 "reportingController": "x", "reportingInstance": "y",
                                 "action": "A", "reason": "R", "type": "Normal",
                                 "regarding": {"kind": "Pod", "name": "p"}},
                    namespace="default")
    registry.create(kinds.core("configmaps"), {"apiVersion": "v1", "kind": "ConfigMap",
                                              "metadata": {"name": "stays"}},
                    namespace="default")
    clock.advance(61)
    assert list(registry.iter_objects(NEW_EVENTS, "default")) == []
    assert registry.peek(kinds.core("configmaps"), "default", "stays") is not None
    registry.close()


def test_events_loaded_from_the_datastore_expire_after_a_restart(tmp_path: Path) -> None:
    clock = ManualClock()
    db = tmp_path / "etcd.sqlite"
    registry = Registry(clock, db, event_ttl=100)
    bootstrap.seed(registry, 1)
    registry.create(EVENTS, event("old"), namespace="default")
    registry.close()
    clock = ManualClock()
    reopened = Registry(clock, db, event_ttl=100)
    assert names(reopened) == ["old"]
    clock.advance(101)
    assert names(reopened) == []
    reopened.close()


def test_churned_events_level_off() -> None:
    clock = ManualClock()
    registry = Registry(clock, event_ttl=3600)
    bootstrap.seed(registry, 1)
    live = []
    for i in range(2000):  # one Event every 10 simulated seconds for 20,000 s
        registry.create(EVENTS, event(f"e{i}"), namespace="default")
        clock.advance(10)
        live.append(len(names(registry)) if i % 200 == 199 else None)
    counts = [c for c in live if c is not None]
    assert max(counts) <= 361 and counts[-1] == counts[-2]
    registry.close()
