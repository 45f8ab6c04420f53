"""Fixtures shared by the controller tests."""

from __future__ import annotations

import pytest

from kubelab.sandbox.clock import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    """Time moves only when a test says so."""
    return ManualClock()
