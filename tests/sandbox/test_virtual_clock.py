"""Virtual time: an idle sandbox jumps to its next timer; pending work keeps real time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from datetime import datetime

import pytest

from kubelab.sandbox import cli
from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import (
    VirtualClock,
    add_busy_check,
    call_later_background,
    client_waiting,
    demote,
    hold,
    sleep_background,
    touch,
)
from kubelab.sandbox.reconcile.events import EventRecorder
from kubelab.sandbox.reconcile.runner import ComponentRunner, TurnBudget, WorkQueue
from kubelab.sandbox.reconcile.types import Key, Obj, Result, Snapshot
from kubelab.sandbox.storage import Registry

PODS = kinds.core("pods")
KEY = Key(PODS.group_resource, "default", "p")


@pytest.fixture
async def clock() -> AsyncIterator[VirtualClock]:
    clock = VirtualClock(speed=2.0)
    clock.attach(asyncio.get_running_loop())
    yield clock
    clock.detach()


def real() -> float:
    return asyncio.get_running_loop().time()


async def test_an_idle_loop_jumps_to_the_next_timer(clock: VirtualClock) -> None:
    start, started = real(), clock.now()
    # Ten simulated minutes: 300 real seconds at speed 2.
    await asyncio.wait_for(clock.sleep(600), 5.0)
    assert real() - start < 1.0
    assert clock.jumps >= 1
    assert clock.skipped == pytest.approx(300, abs=1.0)
    # Timestamps and simulated durations are one timeline.
    assert clock.sim_elapsed(started) == pytest.approx(600, abs=2.0)
    assert (clock.now() - started).total_seconds() == pytest.approx(300, abs=1.0)


async def test_timers_fire_in_order_at_their_simulated_times(clock: VirtualClock) -> None:
    started = clock.now()
    fired: list[tuple[str, float]] = []
    done = asyncio.Event()
    for name, delay in (("c", 90.0), ("a", 10.0), ("b", 40.0)):
        clock.call_later(delay, lambda n=name: fired.append((n, clock.sim_elapsed(started))))
    cancelled = clock.call_later(20, lambda: fired.append(("x", 0.0)))
    cancelled.cancel()
    clock.call_later(100, done.set)
    await asyncio.wait_for(done.wait(), 2.0)
    assert [n for n, _ in fired] == ["a", "b", "c"]
    for (_, at), want in zip(fired, (10, 40, 90), strict=True):
        assert at == pytest.approx(want, abs=0.5)
    assert clock.jumps >= 4


async def test_no_jump_while_a_request_is_held(clock: VirtualClock) -> None:
    with hold(clock):
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(clock.sleep(600), 0.3)
        assert clock.skipped == 0 and clock.jumps == 0
    start = real()
    await asyncio.wait_for(clock.sleep(600), 5.0)
    assert real() - start < 1.0 and clock.jumps >= 1


async def test_no_jump_while_a_work_queue_has_keys(clock: VirtualClock) -> None:
    queue = WorkQueue()
    remove = add_busy_check(clock, lambda: queue.busy)
    queue.add(KEY)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(clock.sleep(600), 0.3)
    key = await queue.get()
    with pytest.raises(TimeoutError):  # being processed still counts as work
        await asyncio.wait_for(clock.sleep(600), 0.2)
    assert clock.jumps == 0
    queue.done(key)
    await asyncio.wait_for(clock.sleep(600), 1.0)
    assert clock.jumps >= 1
    remove()


async def test_simulated_durations_still_run_at_the_speed_factor_while_busy(
        clock: VirtualClock) -> None:
    remove = add_busy_check(clock, lambda: True)
    start = real()
    await clock.sleep(0.4)  # 0.2 real seconds at speed 2
    assert 0.15 <= real() - start < 1.0
    assert clock.jumps == 0
    remove()


async def test_the_rate_cap_bounds_skipping() -> None:
    clock = VirtualClock(speed=1.0, max_rate=100.0, burst=50.0)
    clock.attach(asyncio.get_running_loop())
    try:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(clock.sleep(1000), 0.5)
        # The burst plus at most 100 simulated seconds per real second (and the real 0.5 s).
        assert 40 <= clock.skipped <= 50 + 0.6 * 100
    finally:
        clock.detach()


async def test_with_a_demand_window_time_is_skipped_only_for_a_client() -> None:
    clock = VirtualClock(speed=1.0, demand_window=0.3)
    clock.attach(asyncio.get_running_loop())
    try:
        with pytest.raises(TimeoutError):  # nobody asked anything: real time only
            await asyncio.wait_for(clock.sleep(600), 0.4)
        assert clock.jumps == 0
        touch(clock)  # a request began: skipping for the next 0.3 real seconds
        await asyncio.wait_for(clock.sleep(600), 0.25)
        jumps = clock.jumps
        assert jumps >= 1
        await asyncio.sleep(0.35)
        with pytest.raises(TimeoutError):  # the window closed
            await asyncio.wait_for(clock.sleep(600), 0.3)
        assert clock.jumps == jumps
        with client_waiting(clock):  # an open watch waits on the cluster
            await asyncio.wait_for(clock.sleep(600), 0.25)
        assert clock.jumps > jumps
    finally:
        clock.detach()


class Requeuer:
    """Reconciles one key and asks to be visited again 60 simulated seconds later."""

    name = "requeuer"
    watches = (PODS,)

    def __init__(self) -> None:
        self.seen: list[datetime] = []

    def initial_keys(self) -> list[Key]:
        return [KEY]

    def keys_for(self, info: kinds.KindInfo, obj: Obj, snapshot: Snapshot) -> Iterable[Key]:
        return []

    def reconcile(self, snapshot: Snapshot, key: Key, clock: VirtualClock) -> Result:
        self.seen.append(clock.now())
        return Result(requeue_after=60)


async def test_a_runner_requeue_is_jumped_to_when_idle(clock: VirtualClock) -> None:
    registry = Registry(clock, None)
    runner = ComponentRunner(Requeuer(), registry, clock, EventRecorder(registry, clock))
    component = runner.component
    assert isinstance(component, Requeuer)
    start = real()
    runner.start()
    try:
        for _ in range(200):
            if len(component.seen) >= 4:
                break
            await asyncio.sleep(0.01)
    finally:
        await runner.stop()
        registry.close()
    assert len(component.seen) >= 4, "three minutes of requeues took more than 2 s"
    assert real() - start < 2.5
    gaps = [(b - a).total_seconds() * clock.speed
            for a, b in zip(component.seen, component.seen[1:], strict=False)]
    assert all(g == pytest.approx(60, abs=1.0) for g in gaps), gaps


async def test_a_runner_waiting_for_its_turn_keeps_time_real(clock: VirtualClock) -> None:
    """A key in processing (here waiting for the shared reconcile budget) is work: the
    other timers wait in real time."""
    registry = Registry(clock, None)
    budget = TurnBudget(clock, share=0.0, window=0.6)  # every turn waits out the slice
    runner = ComponentRunner(Requeuer(), registry, clock, EventRecorder(registry, clock),
                             budget)
    runner.start()
    try:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(clock.sleep(600), 0.3)
        assert clock.skipped == 0
    finally:
        await runner.stop()
        registry.close()


def test_a_virtual_time_sandbox_keeps_events_for_a_simulated_day(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Skipped time must not expire the Events a lesson's checks read (--event-ttl)."""
    monkeypatch.delenv("KUBELAB_EVENT_TTL", raising=False)
    monkeypatch.delenv("KUBELAB_VIRTUAL_TIME", raising=False)
    parse = cli._parser().parse_args
    assert cli._event_ttl(parse(["serve"])) == 3600
    assert cli._event_ttl(parse(["serve", "--virtual-time"])) == 86400
    assert cli._event_ttl(parse(["serve", "--virtual-time", "--event-ttl", "60"])) == 60


async def test_background_timers_alone_never_make_the_clock_skip(clock: VirtualClock) -> None:
    """Upkeep (heartbeats, Lease renewals, scrapes) fires on time but is no reason to skip."""
    fired: list[float] = []
    call_later_background(clock, 60, lambda: fired.append(1.0))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(sleep_background(clock, 600), 0.3)
    assert clock.skipped == 0
    assert fired == []
    assert not clock.pending_foreground()


async def test_upkeep_on_the_way_to_a_wait_fires_on_schedule(clock: VirtualClock) -> None:
    """Skipping to a foreground timer fires every background timer before it at its own
    simulated time (the Lease renewals a learner reads afterwards), then stops skipping."""
    started = clock.now()
    renewals: list[float] = []

    def renew() -> None:
        renewals.append(clock.sim_elapsed(started))
        call_later_background(clock, 10, renew)

    call_later_background(clock, 10, renew)
    await asyncio.wait_for(clock.sleep(100), 2.0)
    assert len(renewals) >= 9
    for n, at in enumerate(renewals[:9], start=1):
        assert at == pytest.approx(10 * n, abs=0.5)
    skipped = clock.skipped
    await asyncio.sleep(0.2)
    # Only upkeep is left: time runs at the speed factor again (0.2 real s, not minutes).
    assert clock.skipped == skipped
    assert len(renewals) <= 10


async def test_a_demoted_timer_still_fires_but_is_no_reason_to_skip(
        clock: VirtualClock) -> None:
    fired = asyncio.Event()
    timer = clock.call_later(0.4, fired.set)  # 0.2 real seconds at speed 2
    far = clock.call_later(600, lambda: None)
    demote(clock, far)
    assert clock.pending_foreground()
    await asyncio.wait_for(fired.wait(), 2.0)
    assert clock.skipped < 1.0
    assert timer is not far and not clock.pending_foreground()
    await asyncio.sleep(0.2)
    assert clock.skipped < 1.0


class OnceThenDone(Requeuer):
    """Asks for a visit in ten minutes, then (on its next reconcile) for none."""

    def reconcile(self, snapshot: Snapshot, key: Key, clock: VirtualClock) -> Result:
        self.seen.append(clock.now())
        return Result(requeue_after=600) if len(self.seen) == 1 else Result()


async def test_a_requeue_the_key_no_longer_asks_for_is_not_skipped_to(
        clock: VirtualClock) -> None:
    """A Deployment's progress-deadline check made while it rolled out stays pending after
    it completed (as in upstream's delaying queue); nobody waits for it."""
    registry = Registry(clock, None)
    runner = ComponentRunner(OnceThenDone(), registry, clock, EventRecorder(registry, clock))
    component = runner.component
    assert isinstance(component, OnceThenDone)
    try:
        with hold(clock):  # no skipping while the key is visited twice
            runner.start()
            for _ in range(100):
                if component.seen:
                    break
                await asyncio.sleep(0.01)
            assert clock.pending_foreground()
            runner.enqueue(KEY)
            for _ in range(100):
                if len(component.seen) == 2:
                    break
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        assert len(component.seen) == 2
        assert not clock.pending_foreground()
        assert clock.skipped == 0
    finally:
        await runner.stop()
        registry.close()


def test_a_merged_result_is_upkeep_only_if_its_soonest_requeue_is() -> None:
    upkeep, wait = Result(requeue_after=10, background=True), Result(requeue_after=5)
    assert not upkeep.then(wait).background
    assert upkeep.then(Result(requeue_after=20)).background
    assert upkeep.then(Result()).background
    assert not Result().then(Result()).background


async def test_the_event_ttl_sweep_is_no_reason_to_skip(clock: VirtualClock) -> None:
    """An Event's expiry (a simulated day away under grading) is upkeep: were it a reason
    to skip, every sandbox with an Event would race through heartbeats toward it."""
    from kubelab.sandbox import bootstrap

    registry = Registry(clock, None, event_ttl=600)
    try:
        bootstrap.seed(registry, 1)
        registry.create(kinds.core("events"), {
            "apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"},
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"},
            "reason": "Started", "message": "Started container c", "type": "Normal",
            "count": 1}, namespace="default")
        assert registry._event_timer is not None
        await asyncio.sleep(0.3)
        assert clock.skipped == 0
        assert not clock.pending_foreground()
    finally:
        registry.close()
