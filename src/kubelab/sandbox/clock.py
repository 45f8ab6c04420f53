"""The one clock of the sandbox.

Kubernetes components read time for two different purposes, and the sandbox keeps them
apart on purpose:

* **Timestamps** (``creationTimestamp``, condition transition times, event times) stay
  wall-clock, so ``kubectl get``'s AGE column reads right.
* **Durations** (stage delays, probe periods, ``minReadySeconds``, back-off, progress
  deadlines, eviction timeouts) are *simulated seconds*: the clock divides them by a speed
  factor, so a 30 s ``minReadySeconds`` takes 3 real seconds at speed 10.

Every other module asks this module for time; none calls ``time.time()``, ``datetime.now()``
or ``asyncio.sleep`` directly. :class:`ManualClock` lets unit tests step time
deterministically, the way client-go's fake clock does for controllers.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """What components may ask of time."""

    speed: float

    def now(self) -> datetime:
        """Wall-clock time (UTC) used for timestamps."""

    def monotonic(self) -> float:
        """Real seconds from an arbitrary origin, for measuring latencies."""

    def sim_elapsed(self, since: datetime) -> float:
        """Simulated seconds elapsed since a timestamp written by :meth:`now`."""

    def call_later(self, sim_seconds: float, callback: Callable[[], None]) -> TimerHandle:
        """Run ``callback`` after ``sim_seconds`` of simulated time."""

    async def sleep(self, sim_seconds: float) -> None:
        """Wait ``sim_seconds`` of simulated time."""


def rfc3339(t: datetime) -> str:
    """Second-precision RFC 3339, as the API server writes ``metav1.Time``."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_micro(t: datetime) -> str:
    """Microsecond-precision RFC 3339, as the API server writes ``metav1.MicroTime``."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: str | None) -> datetime | None:
    """Parse an RFC 3339 timestamp as written by :func:`rfc3339` (or with fractions)."""
    if not value:
        return None
    text = value.replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


class RealClock:
    """Wall-clock timestamps; durations divided by ``speed`` on the running event loop."""

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sim_elapsed(self, since: datetime) -> float:
        return (self.now() - since).total_seconds() * self.speed

    def real_seconds(self, sim_seconds: float) -> float:
        return max(0.0, sim_seconds / self.speed)

    def call_later(self, sim_seconds: float, callback: Callable[[], None]) -> TimerHandle:
        loop = asyncio.get_running_loop()
        return loop.call_later(self.real_seconds(sim_seconds), callback)

    async def sleep(self, sim_seconds: float) -> None:
        await asyncio.sleep(self.real_seconds(sim_seconds))

    @staticmethod
    def blocking_sleep(real_seconds: float) -> None:
        """Block the calling thread; for synchronous helpers outside the event loop."""
        time.sleep(real_seconds)


@dataclass(order=True)
class _ManualTimer:
    due: float
    seq: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """A clock that moves only when a test calls :meth:`advance`.

    ``now()`` starts at a fixed instant; simulated and real seconds are the same (speed 1),
    so a test reads durations exactly as the Kubernetes source states them.
    """

    speed = 1.0

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._offset = 0.0
        self._timers: list[_ManualTimer] = []
        self._seq = itertools.count()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._offset)

    def monotonic(self) -> float:
        return self._offset

    def sim_elapsed(self, since: datetime) -> float:
        return (self.now() - since).total_seconds()

    def call_later(self, sim_seconds: float, callback: Callable[[], None]) -> TimerHandle:
        timer = _ManualTimer(self._offset + max(0.0, sim_seconds), next(self._seq), callback)
        heapq.heappush(self._timers, timer)
        return timer

    async def sleep(self, sim_seconds: float) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not done.done():
                done.set_result(None)

        self.call_later(sim_seconds, wake)
        await done

    def advance(self, seconds: float) -> None:
        """Move time forward, firing due timers in order."""
        target = self._offset + seconds
        while self._timers and self._timers[0].due <= target:
            timer = heapq.heappop(self._timers)
            self._offset = max(self._offset, timer.due)
            if not timer.cancelled:
                timer.callback()
        self._offset = target
