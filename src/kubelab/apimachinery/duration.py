"""How old is it? The human-readable durations ``kubectl get`` prints.

Every AGE, LAST SEEN and ``N (5m ago)`` cell the API server puts in a Table comes from
``k8s.io/apimachinery/pkg/util/duration``: :func:`human_duration` is ``HumanDuration``
(two or three significant figures: ``90s``, ``2m5s``, ``47m``, ``5h3m``, ``3d4h``,
``2y10d``) and :func:`short_human_duration` is ``ShortHumanDuration`` (one unit only).
:func:`translate_timestamp_since` is ``translateTimestampSince`` from
``pkg/printers/internalversion/printers.go``: the age of an RFC 3339 timestamp, or
``<unknown>`` when the object does not carry it.

The arithmetic follows Go's integer conversions exactly (truncation toward zero), because a
learner comparing the sandbox with a real cluster notices ``1m59s`` versus ``2m``. Clock
skew of up to one second into the future still reads ``0s``, as upstream allows; more than
that reads ``<invalid>``. The current time is always passed in (the sandbox's one clock, or the
diagram's), so these are pure functions. The sandbox's tables and the diagram both print
with them: a node up three days and five hours reads ``3d5h`` in both.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from kubelab.apimachinery.times import parse_time

_MINUTE = 60
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR


def _trunc(value: float) -> int:
    """Go's ``int(float64)``: truncation toward zero."""
    return math.trunc(value)


def short_human_duration(seconds: float) -> str:
    """``duration.ShortHumanDuration``: ``59s``, ``59m``, ``23h``, ``364d``, ``2y``."""
    whole = _trunc(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 60:
        return f"{whole}s"
    minutes = _trunc(seconds / _MINUTE)
    if minutes < 60:
        return f"{minutes}m"
    hours = _trunc(seconds / _HOUR)
    if hours < 24:
        return f"{hours}h"
    if hours < 24 * 365:
        return f"{hours // 24}d"
    return f"{_trunc(seconds / _HOUR / 24 / 365)}y"


def human_duration(seconds: float) -> str:
    """``duration.HumanDuration``: the AGE column's wording.

    ``<2m`` → ``Ns``; ``<10m`` → ``XmYs`` (``Xm`` on a whole minute); ``<3h`` → ``Nm``;
    ``<8h`` → ``XhYm``; ``<48h`` → ``Nh``; ``<8d`` → ``XdYh``; ``<2y`` → ``Nd``;
    ``<8y`` → ``XyYd``; then ``Ny``.
    """
    whole = _trunc(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 2 * _MINUTE:
        return f"{whole}s"
    minutes = whole // _MINUTE
    if minutes < 10:
        secs = whole % _MINUTE
        return f"{minutes}m" if secs == 0 else f"{minutes}m{secs}s"
    if minutes < 3 * 60:
        return f"{minutes}m"
    hours = whole // _HOUR
    if hours < 8:
        mins = minutes % 60
        return f"{hours}h" if mins == 0 else f"{hours}h{mins}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 8 * 24:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if days == 0 else f"{years}y{days}d"
    return f"{hours // 24 // 365}y"


def seconds_since(ts: str | None, now: datetime) -> float | None:
    """Seconds from an RFC 3339 timestamp to ``now``; ``None`` if missing or unparsable."""
    when = parse_time(ts)
    if when is None:
        return None
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return (now - when).total_seconds()


def translate_timestamp_since(ts: str | None, now: datetime) -> str:
    """``translateTimestampSince``: the age of ``ts`` at ``now``, ``<unknown>`` if unset."""
    elapsed = seconds_since(ts, now)
    if elapsed is None:
        return "<unknown>"
    return human_duration(elapsed)
