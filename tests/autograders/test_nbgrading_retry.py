"""The grading wrappers retry a run whose kernel never started, and nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from autograders import nbgrading


class FakeGrader:
    def __init__(self, results: list[dict[str, Any]]) -> None:
        self.results = results
        self.calls = 0

    def autograde(self, assignment: str, student: str, **kw: Any) -> dict[str, Any]:
        self.calls += 1
        return self.results.pop(0)


DIED = {"success": False, "error": "", "log": "RuntimeError: Kernel died before replying to "
                                            "kernel_info"}
BROKEN = {"success": False, "error": "", "log": "SyntaxError in the notebook JSON"}


def graded(monkeypatch: pytest.MonkeyPatch, results: list[dict[str, Any]]) -> FakeGrader:
    grader = FakeGrader(results)
    monkeypatch.setattr(nbgrading, "api", lambda work, drop_privileges=None: grader)
    monkeypatch.setattr(nbgrading, "read_scores", lambda work, a, s: [])
    return grader


def test_a_kernel_that_died_at_start_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    grader = graded(monkeypatch, [DIED, {"success": True}])
    assert nbgrading.autograde(Path("w"), "01", "ada") == []
    assert grader.calls == 2


def test_retries_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    grader = graded(monkeypatch, [DIED] * nbgrading.ATTEMPTS)
    with pytest.raises(nbgrading.NbgraderError, match="Kernel died"):
        nbgrading.autograde(Path("w"), "01", "ada")
    assert grader.calls == nbgrading.ATTEMPTS


def test_other_failures_are_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    grader = graded(monkeypatch, [BROKEN, {"success": True}])
    with pytest.raises(nbgrading.NbgraderError, match="SyntaxError"):
        nbgrading.autograde(Path("w"), "01", "ada")
    assert grader.calls == 1


def test_a_sandbox_that_lost_its_port_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    # The submission's sandbox picks a free port, then binds it; another process can take it
    # in between, and asyncio words the error in lower case.
    lost = {"success": False, "error": "", "log": (
        "RuntimeError: the sandbox exited with code 1:\nOSError: [Errno 98] error while "
        "attempting to bind on address ('127.0.0.1', 44507): address already in use")}
    grader = graded(monkeypatch, [lost, {"success": True}])
    assert nbgrading.autograde(Path("w"), "01", "ada") == []
    assert grader.calls == 2
