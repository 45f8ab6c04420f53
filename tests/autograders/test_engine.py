"""The check engine: bounded waiting, settled failures, partial credit, quiet output."""

from __future__ import annotations

import logging
import sys
import warnings
from typing import Any

from autograders import engine
from autograders.engine import Check, Context, Exercise, Outcome, Report, evaluate, ok, wrong

from .fakes import SteppingClock, context


def flipping_check(clock: SteppingClock, at: float) -> Check:
    """Passes once the clock reaches ``at`` seconds (like a rollout finishing)."""
    return Check("eventually true", lambda ctx: ok() if clock.monotonic() >= at
                 else wrong("not yet"))


def test_waits_until_a_converging_check_passes() -> None:
    clock = SteppingClock()
    results, waited = evaluate([(flipping_check(clock, 2.0), False)], lambda: context({}),
                               timeout=10, clock=clock)
    assert results[0].outcome.passed
    assert 2.0 <= waited < 3.0


def test_gives_up_at_the_deadline() -> None:
    clock = SteppingClock()
    results, waited = evaluate([(flipping_check(clock, 99.0), False)], lambda: context({}),
                               timeout=5, clock=clock)
    assert not results[0].outcome.passed
    assert waited == 5.0
    assert sum(clock.pauses) == 5.0


def test_settled_failures_end_the_wait_at_once() -> None:
    clock = SteppingClock()
    settled = Check("wrong image", lambda ctx: wrong("image is x", settled=True))
    results, waited = evaluate([(settled, False)], lambda: context({}), timeout=30, clock=clock)
    assert waited == 0 and clock.pauses == []
    assert results[0].outcome.found == "image is x"


def test_a_missing_object_shrinks_the_deadline_to_the_grace_period() -> None:
    clock = SteppingClock()
    missing = Check("exists", lambda ctx: wrong("there is no deployment x", missing=True))
    never = flipping_check(clock, 99.0)
    _, waited = evaluate([(missing, False), (never, False)], lambda: context({}), timeout=30,
                         clock=clock)
    assert waited == engine.MISSING_GRACE


def test_partial_credit_scales_to_the_cell_points() -> None:
    checks = [Check("a", lambda ctx: ok(), points=2), Check("b", lambda ctx: wrong("no"))]
    ex = Exercise("x.y", "Ex", checks, context_factory=lambda: context({}),
                  clock=SteppingClock())
    report = ex.run(timeout=0)
    assert (report.earned, report.possible) == (2, 3)
    assert report.scaled(6) == 4.0
    ex.add(Check("hidden", lambda ctx: ok(), points=1))
    report = ex.run(timeout=0)
    assert (report.earned, report.possible) == (3, 4)
    assert [r.hidden for r in report.results] == [False, False, True]


def test_a_probe_that_raises_fails_its_check_without_raising() -> None:
    def boom(ctx: Context) -> Outcome:
        raise KeyError("spec")

    ex = Exercise("x.y", "Ex", [Check("fragile", boom)], context_factory=lambda: context({}),
                  clock=SteppingClock())
    report = ex.run(timeout=0)
    assert not report.passed
    assert "could not be checked (KeyError)" in report.results[0].outcome.found


def test_score_writes_nothing_to_stderr(capsys: Any) -> None:
    def noisy(ctx: Context) -> Outcome:
        print("oops", file=sys.stderr)
        warnings.warn("InsecureRequestWarning", stacklevel=1)
        logging.getLogger("kubernetes").warning("retrying")
        return ok()

    ex = Exercise("x.y", "Ex", [Check("noisy", noisy)], context_factory=lambda: context({}),
                  clock=SteppingClock())
    assert ex.score(out_of=2, timeout=0) == 2.0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "All checks pass." in captured.out


def test_report_text_says_what_was_found_and_the_hint() -> None:
    check = Check("deployment web has 3 ready replicas", lambda ctx: ok(), hint="wait")
    report = Report("x.y", "Exercise 1", [engine.Result(check, wrong("1 ready"))])
    text = report.text()
    assert "✗ deployment web has 3 ready replicas" in text
    assert "found: 1 ready" in text and "hint: wait" in text
    assert "0/1 points" in text
    html = report._repr_html_()
    assert "1 ready" in html and "<script" not in html
