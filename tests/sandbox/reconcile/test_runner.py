"""The runner on the real registry with a manual clock: handlers off the commit path, one
reconcile per key however many events, requeue-after on the clock, failures retried with
back-off and surfaced in the log."""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Iterable

import pytest

from kubelab.sandbox import bootstrap
from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import Clock, ManualClock
from kubelab.sandbox.reconcile.events import EventRecorder
from kubelab.sandbox.reconcile.runner import EVENTS, ComponentRunner
from kubelab.sandbox.reconcile.types import Key, Obj, Result, Snapshot, Update
from kubelab.sandbox.storage import Registry

CONFIGMAPS = kinds.core("configmaps")


class Recorder:
    """Maps a ConfigMap to the key named by its ``app`` label; reconciles as told."""

    name = "recorder"
    watches = (CONFIGMAPS,)

    def __init__(self) -> None:
        self.handled: list[tuple[str, str]] = []
        self.reconciled: list[Key] = []
        self.requeue_after: float | None = None
        self.fail: set[str] = set()
        self.actions: list[Update] = []
        self.in_commit = False

    def keys_for(self, info: kinds.KindInfo, obj: Obj, snapshot: Snapshot) -> Iterable[Key]:
        labels = obj["metadata"].get("labels") or {}
        self.handled.append((obj["metadata"]["name"], str(labels.get("app", ""))))
        if labels.get("app") == "explode":
            raise RuntimeError("handler bug")
        return [Key("apps", "default", str(labels.get("app", "")))]

    def reconcile(self, snapshot: Snapshot, key: Key, clock: Clock) -> Result:
        self.reconciled.append(key)
        if key.name in self.fail:
            raise ValueError(f"cannot reconcile {key.name}")
        actions, self.actions = self.actions, []
        return Result(list(actions), self.requeue_after)


Setup = tuple[ManualClock, Registry, Recorder, ComponentRunner]


@pytest.fixture
def setup() -> Setup:
    clock = ManualClock()
    registry = Registry(clock)
    bootstrap.seed(registry, 1)
    component = Recorder()
    runner = ComponentRunner(component, registry, clock, EventRecorder(registry, clock))
    return clock, registry, component, runner


def cm(name: str, app: str, data: str = "") -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default", "labels": {"app": app}},
            "data": {"v": data}}


def write(registry: Registry, name: str, app: str, data: str) -> None:
    current = copy.deepcopy(registry.get(CONFIGMAPS, "default", name))
    current["metadata"]["labels"] = {"app": app}
    current["data"] = {"v": data}
    registry.update(CONFIGMAPS, current, namespace="default")


def drain(runner: ComponentRunner) -> list[Key]:
    """Process queued keys on the test's stack (a synchronous driver); return them."""
    seen: list[Key] = []
    while len(runner.queue):
        key = runner.queue._queue.popleft()
        runner.queue._dirty.discard(key)
        runner.queue._processing.add(key)
        try:
            runner.process(key)
        finally:
            runner.queue.done(key)
        seen.append(key)
    return seen


async def test_handlers_run_after_the_commit_not_inside_it(setup: Setup) -> None:
    _, registry, component, runner = setup
    runner._unsubscribe = registry.subscribe(runner._on_event)
    registry.create(CONFIGMAPS, cm("one", "web"), namespace="default")
    assert component.handled == []  # the writer's commit only noted the event
    assert list(runner.queue._queue) == [EVENTS]
    drain(runner)
    assert component.handled == [("one", "web")]
    assert component.reconciled == [Key("apps", "default", "web")]


async def test_many_events_for_one_object_make_one_handler_call_and_one_reconcile(setup: Setup) -> None:
    _, registry, component, runner = setup
    runner._unsubscribe = registry.subscribe(runner._on_event)
    registry.create(CONFIGMAPS, cm("one", "web"), namespace="default")
    for i in range(5):
        write(registry, "one", "web", str(i))
    drain(runner)
    assert component.handled == [("one", "web")]
    assert component.reconciled == [Key("apps", "default", "web")]


async def test_a_relabelled_object_reaches_both_its_old_and_new_keys(setup: Setup) -> None:
    _, registry, component, runner = setup
    runner._unsubscribe = registry.subscribe(runner._on_event)
    registry.create(CONFIGMAPS, cm("one", "web"), namespace="default")
    write(registry, "one", "api", "x")
    drain(runner)
    # Coalescing never hides a routing change: the handler sees both label sets.
    assert component.handled == [("one", "web"), ("one", "api")]
    assert sorted(component.reconciled) == [Key("apps", "default", "api"),
                                            Key("apps", "default", "web")]


async def test_a_failing_handler_is_logged_with_its_traceback_and_spares_the_writer(
        setup: Setup, caplog: pytest.LogCaptureFixture) -> None:
    _, registry, component, runner = setup
    runner._unsubscribe = registry.subscribe(runner._on_event)
    with caplog.at_level(logging.DEBUG, logger="kubelab.sandbox.reconcile"):
        stored = registry.create(CONFIGMAPS, cm("bad", "explode"), namespace="default")
        assert stored["metadata"]["name"] == "bad"  # the write succeeded
        registry.create(CONFIGMAPS, cm("good", "web"), namespace="default")
        drain(runner)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "keys_for failed on ConfigMap bad" in errors[0].getMessage()
    assert errors[0].exc_info is not None and "handler bug" in str(errors[0].exc_info[1])
    assert component.reconciled == [Key("apps", "default", "web")]


async def test_requeue_after_visits_the_key_again_on_the_clock(setup: Setup) -> None:
    clock, _, component, runner = setup
    component.requeue_after = 30.0
    runner.enqueue(Key("apps", "default", "web"))
    drain(runner)
    clock.advance(29.9)
    assert len(runner.queue) == 0
    clock.advance(0.1)
    assert drain(runner) == [Key("apps", "default", "web")]
    component.requeue_after = None
    clock.advance(60)
    assert drain(runner) == [Key("apps", "default", "web")]  # the last visit set a timer
    clock.advance(600)
    assert drain(runner) == []  # and that visit asked for none


async def test_a_failing_reconcile_is_logged_once_and_retried_with_back_off(
        setup: Setup, caplog: pytest.LogCaptureFixture) -> None:
    clock, _, component, runner = setup
    component.fail = {"web"}
    key = Key("apps", "default", "web")
    with caplog.at_level(logging.DEBUG, logger="kubelab.sandbox.reconcile"):
        runner.enqueue(key)
        drain(runner)
        delays = []
        for _ in range(4):
            waited = 0.0
            while not len(runner.queue):
                clock.advance(0.001)
                waited += 0.001
            delays.append(round(waited, 3))
            drain(runner)
    # client-go's per-item exponential back-off: 5 ms, doubling.
    assert delays == [0.005, 0.01, 0.02, 0.04]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is not None
    assert runner.last_error == "ValueError: cannot reconcile web"
    component.fail = set()
    clock.advance(1)
    drain(runner)
    assert runner._failures == {}  # a success resets the back-off


async def test_a_conflict_is_retried_not_lost(setup: Setup) -> None:
    clock, registry, component, runner = setup
    stored = registry.create(CONFIGMAPS, cm("one", "web"), namespace="default")
    stale = copy.deepcopy(stored)
    write(registry, "one", "web", "newer")
    stale["data"] = {"v": "from a stale read"}
    component.actions = [Update(CONFIGMAPS, stale)]
    runner.enqueue(Key("apps", "default", "web"))
    drain(runner)
    assert registry.get(CONFIGMAPS, "default", "one")["data"] == {"v": "newer"}
    assert runner._failures == {Key("apps", "default", "web"): 1}
    clock.advance(0.005)
    assert drain(runner) == [Key("apps", "default", "web")]


async def test_the_worker_task_reconciles_each_key_once_for_a_burst_of_events(setup: Setup) -> None:
    _, registry, component, runner = setup
    runner.start()
    try:
        for name in ("a", "b", "c"):
            registry.create(CONFIGMAPS, cm(name, "web"), namespace="default")
        for i in range(3):
            write(registry, "a", "web", str(i))
        for _ in range(50):
            if not runner.queue.busy:
                break
            await asyncio.sleep(0)
        assert not runner.queue.busy
        # Three objects, six events: one key, reconciled once (the events were noted inside
        # the commits, before the worker ran, so they all fed the same visit).
        assert component.reconciled == [Key("apps", "default", "web")]
        assert sorted(name for name, _ in component.handled) == ["a", "b", "c"]
    finally:
        await runner.stop()
        registry.close()
