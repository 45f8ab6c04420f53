"""The graders' view of time: bounded waiting without calling the system clock directly.

Checks poll the cluster until what they expect is true or a deadline passes (the way
``kubectl wait --timeout`` and ``kubectl rollout status --timeout`` do), so they need "now"
and "pause". Taking the clock as a parameter lets unit tests step time with a manual clock
and keeps ``autograders`` free of ``kubelab.sandbox`` imports: the graders must work
against any cluster.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """What a bounded wait asks of time."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin."""

    def pause(self, seconds: float) -> None:
        """Block for ``seconds`` (a manual clock just advances)."""


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def pause(self, seconds: float) -> None:
        threading.Event().wait(max(0.0, seconds))


SYSTEM_CLOCK = SystemClock()
