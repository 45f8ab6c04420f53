"""The AGE wording of ``apimachinery/pkg/util/duration`` at every boundary."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kubelab.apimachinery.duration import (
    human_duration,
    short_human_duration,
    translate_timestamp_since,
)
from kubelab.apimachinery.times import rfc3339, rfc3339_micro
from kubelab.sandbox.clock import ManualClock

MIN = 60
HOUR = 60 * MIN
DAY = 24 * HOUR
YEAR = 365 * DAY

HUMAN_CASES = [
    (-2, "<invalid>"),
    (-1.5, "0s"),  # Go's int() truncates toward zero: one second of skew is "now"
    (-1, "0s"),
    (-0.4, "0s"),
    (0, "0s"),
    (0.9, "0s"),
    (59, "59s"),
    (60, "60s"),
    (119.99, "119s"),
    (2 * MIN, "2m"),
    (2 * MIN + 1, "2m1s"),
    (5 * MIN, "5m"),
    (9 * MIN + 59, "9m59s"),
    (10 * MIN, "10m"),
    (10 * MIN + 59, "10m"),
    (3 * HOUR - 1, "179m"),
    (3 * HOUR, "3h"),
    (3 * HOUR + MIN, "3h1m"),
    (8 * HOUR - 1, "7h59m"),
    (8 * HOUR, "8h"),
    (48 * HOUR - 1, "47h"),
    (48 * HOUR, "2d"),
    (49 * HOUR, "2d1h"),
    (8 * DAY - 1, "7d23h"),
    (8 * DAY, "8d"),
    (2 * YEAR - 1, "729d"),
    (2 * YEAR, "2y"),
    (2 * YEAR + DAY, "2y1d"),
    (8 * YEAR - 1, "7y364d"),
    (8 * YEAR, "8y"),
    (20 * YEAR + 100 * DAY, "20y"),
]


@pytest.mark.parametrize(("seconds", "expected"), HUMAN_CASES, ids=[c[1] for c in HUMAN_CASES])
def test_human_duration(seconds: float, expected: str) -> None:
    """HumanDuration keeps two or three significant figures, switching units at its bounds."""
    assert human_duration(seconds) == expected


SHORT_CASES = [
    (-2, "<invalid>"),
    (-1, "0s"),
    (0, "0s"),
    (59, "59s"),
    (60, "1m"),
    (HOUR - 1, "59m"),
    (HOUR, "1h"),
    (DAY - 1, "23h"),
    (DAY, "1d"),
    (YEAR - 1, "364d"),
    (YEAR, "1y"),
    (800 * DAY, "2y"),
]


@pytest.mark.parametrize(("seconds", "expected"), SHORT_CASES, ids=[c[1] for c in SHORT_CASES])
def test_short_human_duration(seconds: float, expected: str) -> None:
    """ShortHumanDuration prints a single unit."""
    assert short_human_duration(seconds) == expected


def test_translate_timestamp_since_reads_the_clock() -> None:
    """The age of a timestamp grows as the clock advances."""
    clock = ManualClock()
    created = rfc3339(clock.now())
    assert translate_timestamp_since(created, clock.now()) == "0s"
    clock.advance(125)
    assert translate_timestamp_since(created, clock.now()) == "2m5s"
    clock.advance(3 * DAY)
    assert translate_timestamp_since(created, clock.now()) == "3d"


def test_translate_timestamp_since_micro_time() -> None:
    """MicroTime values (events' eventTime) are read with their fractions."""
    clock = ManualClock()
    stamp = rfc3339_micro(clock.now() - timedelta(seconds=90, microseconds=500_000))
    assert translate_timestamp_since(stamp, clock.now()) == "90s"


@pytest.mark.parametrize("value", [None, "", "yesterday"])
def test_translate_timestamp_since_unknown(value: str | None) -> None:
    """A missing or unreadable timestamp is ``<unknown>``, as for a zero metav1.Time."""
    assert translate_timestamp_since(value, ManualClock().now()) == "<unknown>"


def test_future_timestamp_is_invalid() -> None:
    """A timestamp two seconds or more in the future is reported as ``<invalid>``."""
    clock = ManualClock()
    future = rfc3339(clock.now() + timedelta(seconds=5))
    assert translate_timestamp_since(future, clock.now()) == "<invalid>"
