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
