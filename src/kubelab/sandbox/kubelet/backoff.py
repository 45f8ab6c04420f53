"""Per-key exponential back-off on the simulated clock.

Mirrors client-go's ``util/flowcontrol/backoff.go`` as the kubelet uses it twice: for image
pulls (``pkg/kubelet/images/puller.go``, ``IsInBackOffSinceUpdate``) and for container
restarts (``pkg/kubelet/kuberuntime/kuberuntime_manager.go`` ``doBackOff``,
``IsInBackOffSince``). Both start at 10s and double up to 300s; an entry idle for twice the
maximum is forgotten, which is why a container that ran fine for ten minutes restarts
without delay again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kubelab.sandbox.clock import Clock

INITIAL = 10.0
MAXIMUM = 300.0


@dataclass
class _Entry:
    backoff: float
    last_update: datetime


class Backoff:
    def __init__(self, initial: float = INITIAL, maximum: float = MAXIMUM) -> None:
        self.initial = initial
        self.maximum = maximum
        self._entries: dict[str, _Entry] = {}

    def get(self, key: str) -> float:
        entry = self._entries.get(key)
        return entry.backoff if entry else 0.0

    def _expired(self, entry: _Entry, event_time: datetime) -> bool:
        return (event_time - entry.last_update).total_seconds() > 2 * self.maximum

    def next(self, key: str, event_time: datetime) -> float:
        """Record a failure at ``event_time``; return the new back-off."""
        entry = self._entries.get(key)
        if entry is None or self._expired(entry, event_time):
            entry = _Entry(self.initial, event_time)
        else:
            entry = _Entry(min(entry.backoff * 2, self.maximum), event_time)
        self._entries[key] = entry
        return entry.backoff

    def remaining_since(self, key: str, event_time: datetime, clock: Clock) -> float:
        """``IsInBackOffSince``: simulated seconds of back-off left after ``event_time``."""
        entry = self._entries.get(key)
        if entry is None or self._expired(entry, event_time):
            return 0.0
        return max(0.0, entry.backoff - clock.sim_elapsed(event_time))

    def remaining_since_update(self, key: str, clock: Clock) -> float:
        """``IsInBackOffSinceUpdate``: back-off left since the last recorded failure."""
        entry = self._entries.get(key)
        if entry is None:
            return 0.0
        return max(0.0, entry.backoff - clock.sim_elapsed(entry.last_update))

    def forget(self, key: str) -> None:
        self._entries.pop(key, None)
