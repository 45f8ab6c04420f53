"""Runners share one budget of reconcile time per slice of real time (clients come first)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import TimerHandle
from kubelab.sandbox.reconcile.events import EventRecorder
from kubelab.sandbox.reconcile.runner import ComponentRunner, TurnBudget
from kubelab.sandbox.reconcile.types import Key, Obj, Result, Snapshot
from kubelab.sandbox.storage import Registry

PODS = kinds.core("pods")


class SteppedClock:
    """Monotonic time moves only when told; sleeps are recorded and then taken at once."""

    speed = 2.0

    def __init__(self) -> None:
        self.t = 100.0
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC)

    def monotonic(self) -> float:
        return self.t

    def sim_elapsed(self, since: datetime) -> float:
        return 0.0

    def call_later(self, sim_seconds: float, callback: Callable[[], None]) -> TimerHandle:
        return asyncio.get_running_loop().call_later(0, callback)

    async def sleep(self, sim_seconds: float) -> None:
        self.sleeps.append(sim_seconds / self.speed)  # recorded in real seconds
        self.t += sim_seconds / self.speed
        await asyncio.sleep(0)


async def test_turn_waits_for_the_next_slice_once_the_share_is_spent() -> None:
    clock = SteppedClock()
    budget = TurnBudget(clock, share=0.5, window=0.02)  # type: ignore[arg-type]
    await budget.turn()
    budget.charge(0.004)
    clock.t += 0.004
    await budget.turn()  # 4 ms of 10 ms spent: runs at once
    assert clock.sleeps == []
    budget.charge(0.007)
    clock.t += 0.007
    await budget.turn()  # 11 ms spent 11 ms into the slice: wait out the other 9 ms
    assert len(clock.sleeps) == 1 and abs(clock.sleeps[0] - 0.009) < 1e-9
    assert budget.waits == 1
    budget.charge(0.003)
    await budget.turn()  # a fresh slice
    assert len(clock.sleeps) == 1


async def test_a_slice_that_ended_resets_without_waiting() -> None:
    clock = SteppedClock()
    budget = TurnBudget(clock, share=0.5, window=0.02)  # type: ignore[arg-type]
    budget.charge(1.0)
    clock.t += 0.05
    await budget.turn()
    assert clock.sleeps == []


class Burner:
    """A reconciler whose every reconcile takes 4 ms of the (stepped) clock."""

    name = "burner"
    watches = (PODS,)

    def __init__(self, clock: SteppedClock) -> None:
        self.clock = clock
        self.seen: list[str] = []

    def keys_for(self, info: kinds.KindInfo, obj: Obj, snapshot: Snapshot) -> Iterable[Key]:
        return []

    def reconcile(self, snapshot: Snapshot, key: Key, clock: object) -> Result:
        self.seen.append(key.name)
        self.clock.t += 0.004
        return Result()


async def test_runners_sharing_a_budget_pause_after_their_share() -> None:
    clock = SteppedClock()
    registry = Registry(clock, None)  # type: ignore[arg-type]
    recorder = EventRecorder(registry, clock)  # type: ignore[arg-type]
    budget = TurnBudget(clock, share=0.6, window=0.02)  # type: ignore[arg-type]
    burners = [Burner(clock), Burner(clock)]
    runners = [ComponentRunner(b, registry, clock, recorder, budget)  # type: ignore[arg-type]
               for b in burners]
    for runner in runners:
        runner.start()
        for n in range(5):
            runner.enqueue(Key(PODS.group_resource, "default", f"p{n}"))
    for _ in range(200):
        if all(len(b.seen) == 5 for b in burners):
            break
        await asyncio.sleep(0)
    for runner in runners:
        await runner.stop()
    assert all(len(b.seen) == 5 for b in burners)
    # 10 reconciles of 4 ms = 40 ms of work; at most 12 ms of it per 20 ms slice.
    assert budget.waits >= 2
    assert all(0 < s <= 0.02 for s in clock.sleeps), clock.sleeps
