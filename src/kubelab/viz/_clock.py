"""The diagram's view of time: a tiny adapter so nothing in ``kubelab.viz`` reads the clock.

The diagram needs "now" for one reason: ages (a leader lease renewed 40 s ago, a node
heartbeat 55 s ago) are differences between an API timestamp and the present, exactly as
``kubectl get`` computes its AGE column. Taking the clock as a parameter lets tests use a
manual clock (any object with ``now()`` and ``monotonic()``, such as the sandbox's
``ManualClock``) and keeps ``kubelab.viz`` free of ``kubelab.sandbox`` imports, because
the diagram must work against any cluster.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol

from kubelab.apimachinery.times import parse_time as parse_time
from kubelab.apimachinery.times import rfc3339 as rfc3339


class Clock(Protocol):
    """What the diagram asks of time."""

    def now(self) -> datetime:
        """Wall-clock time (UTC)."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin, for periods between polls."""


class SystemClock:
    """The real clock: UTC wall time and the process's monotonic timer."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()
