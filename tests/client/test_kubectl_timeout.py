"""The Python side of a kubectl call outlasts the ``--timeout`` kubectl was given."""

from __future__ import annotations

import pytest

from kubelab.connect import (
    KUBECTL_DEFAULT_TIMEOUT,
    KUBECTL_TIMEOUT_MARGIN,
    go_duration,
    kubectl_timeout,
)


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("2m", 120), ("1h30m", 5400),
                                                ("500ms", 0.5), ("45", 45), ("1m30s", 90)])
def test_go_durations(text: str, seconds: float) -> None:
    assert go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "5x", "m5"])
def test_not_durations(text: str) -> None:
    assert go_duration(text) is None


def test_the_process_outlasts_kubectls_own_timeout() -> None:
    assert kubectl_timeout(["rollout", "status", "deployment/x", "--timeout=120s"]) \
        == 120 + KUBECTL_TIMEOUT_MARGIN
    assert kubectl_timeout(["wait", "--for=condition=Ready", "node/n", "--timeout", "3m"]) \
        == 180 + KUBECTL_TIMEOUT_MARGIN
    assert kubectl_timeout(["get", "pods"]) == KUBECTL_DEFAULT_TIMEOUT
    assert kubectl_timeout(["get", "pods", "--request-timeout=5s"]) == KUBECTL_DEFAULT_TIMEOUT
    assert kubectl_timeout(["rollout", "status", "deployment/x", "--timeout=0"]) is None
