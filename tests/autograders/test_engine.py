"""The check engine: bounded waiting, settled failures, partial credit, quiet output."""

from __future__ import annotations

import logging
import sys
import warnings
from typing import Any

import pytest

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


def test_polls_back_off_from_a_short_first_pause() -> None:
    clock = SteppingClock()
    evaluate([(flipping_check(clock, 1.0), False)], lambda: context({}), timeout=10,
             clock=clock, interval=0.25, first_interval=0.02)
    assert clock.pauses[:5] == pytest.approx([0.02, 0.04, 0.08, 0.16, 0.25])
    assert max(clock.pauses) == 0.25


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
    assert text.startswith("Exercise 1 — 0 of 1 checks pass: fix what is marked ✗")
    html = report._repr_html_()
    assert "1 ready" in html and "<script" not in html


@pytest.fixture(autouse=False)
def shown(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The text of every report a cell would display."""
    texts: list[str] = []
    monkeypatch.setattr(engine, "_publish", lambda report: texts.append(report.text()))
    return texts


def _exercise(*checks: Check, variables: dict[str, Any] | None = None) -> Exercise:
    return Exercise("x.y", "Exercise 2", list(checks),
                    context_factory=lambda: context({}, variables or {}), clock=SteppingClock())


def test_graded_cell_prints_the_same_score_it_returns(shown: list[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    half = _exercise(Check("a", lambda ctx: ok()),
                     Check("b", lambda ctx: wrong("no", settled=True)))
    points = half.score(out_of=2, timeout=0)
    assert points == 1 and isinstance(points, int)
    assert shown[-1].splitlines()[0] == "Exercise 2 — 1 of 2 points: 1 of 2 checks fail"
    full = _exercise(Check("a", lambda ctx: ok()))
    assert full.score(out_of=6, timeout=0) == 6
    assert shown[-1].splitlines()[0] == "Exercise 2 — 6 of 6 points"
    third = _exercise(Check("a", lambda ctx: ok()),
                      Check("b", lambda ctx: wrong("x", settled=True)),
                      Check("c", lambda ctx: wrong("y", settled=True)))
    assert third.score(out_of=2, timeout=0) == 0.67
    assert shown[-1].startswith("Exercise 2 — 0.67 of 2 points: 2 of 3 checks fail")


def test_a_placeholder_or_undefined_variable_is_not_answered_yet(
        shown: list[str], capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    from autograders import checks

    for variables, detail in (({"proxy_nodes": ...}, "proxy_nodes is still ... (the placeholder)"),
                              ({}, "there is no variable proxy_nodes (run your cell first)")):
        ex = _exercise(checks.variable("proxy_nodes", test=lambda v: v == ["a"]),
                       variables=variables)
        report = ex.run(timeout=0)
        assert report.results[0].outcome.missing
        assert report.verdict() == f"0 of 1 checks pass: not answered yet — {detail}"
        assert ex.score(out_of=2, timeout=0) == 0
        assert shown[-1].startswith(f"Exercise 2 — 0 of 2 points: not answered yet — {detail}")
        assert capsys.readouterr().err == ""   # a learner's own run: nothing on stderr


def test_a_probe_reading_an_unanswered_variable_with_answer_is_not_answered() -> None:
    def probe(ctx: Context) -> Outcome:
        return ok() if engine.answer(ctx, "node") == "w1" else wrong("other")

    report = _exercise(Check("the node", probe), variables={"node": ...}).run(timeout=0)
    found = report.results[0].outcome.found
    assert found == "not answered yet: node is still ... (the placeholder)"
    assert report.results[0].outcome.missing
    assert _exercise(Check("the node", probe), variables={"node": "w1"}).run(timeout=0).passed


def test_under_nbgrader_a_zero_is_also_said_on_stderr(shown: list[str], capsys: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """nbgrader's Validator says "Partial credit" for any score below the maximum unless the
    cell wrote to stderr; a zero then reads as a failure with its reason."""
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    zero = _exercise(Check("exists", lambda ctx: wrong("there is no namespace x", missing=True)))
    assert zero.score(out_of=2, timeout=0) == 0
    captured = capsys.readouterr()
    assert captured.err == ("Exercise 2 — 0 of 2 points: not answered yet — there is no "
                            "namespace x\n")
    half = _exercise(Check("a", lambda ctx: ok()),
                     Check("b", lambda ctx: wrong("no", settled=True)))
    assert half.score(out_of=2, timeout=0) == 1
    assert capsys.readouterr().err == ""


def test_report_html_and_dict_carry_the_verdict() -> None:
    report = _exercise(Check("a", lambda ctx: ok())).run(timeout=0)
    report.out_of = 3
    data = report.as_dict()
    assert (data["score"], data["out_of"], data["verdict"]) == (3.0, 3, "3 of 3 points")
    assert "3 of 3 points" in engine.report_html(data)
    del data["verdict"]   # a report saved by an older version
    assert "1 of 1 points" in engine.report_html(data)


def test_hint_ladder_climbs_each_time_the_same_check_fails_again() -> None:
    engine.HINT_STEPS.clear()
    steps = engine.ladder("look at spec.replicas", "replicas is the desired count",
                          "kubectl scale deployment <name> --replicas=<n>")
    failing = Check("replicas", lambda ctx: wrong("spec.replicas is 5", settled=True),
                    hint=steps)
    passing = Check("image", lambda ctx: ok(), hint=("never shown",))
    ex = Exercise("x.ladder", "Ex", [failing, passing], context_factory=lambda: context({}),
                  clock=SteppingClock())
    shown = []
    for _ in range(4):
        report = ex.run(timeout=5)
        [bad] = [r for r in report.as_dict()["results"] if not r["passed"]]
        shown.append(bad["hint"])
        assert f"hint: {bad['hint']}" in report.text()
        assert [r["hint"] for r in report.as_dict()["results"] if r["passed"]] == [""]
    assert shown == [steps[0], steps[1], steps[2], steps[2]]
    # another exercise's check of the same name starts at the first step
    other = Exercise("x.other", "Ex", [failing], context_factory=lambda: context({}),
                     clock=SteppingClock())
    assert other.run(timeout=5).as_dict()["results"][0]["hint"] == steps[0]


def test_a_check_without_a_hint_still_gets_a_nudge() -> None:
    check = Check("service web sends traffic to 2 ready pods", lambda ctx: wrong("0"))
    assert check.hints and "service web sends traffic to 2 ready pods" in check.hint_at(0)
    assert check.hint_at(5) == check.hint_at(0)


def test_a_settled_failure_ends_a_learners_wait_after_the_grace(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    clock = SteppingClock()
    wrong_count = Check("replicas", lambda ctx: wrong("spec asks for 3", settled=True))
    converging = flipping_check(clock, 99.0)
    ex = Exercise("x.early", "Ex", [wrong_count, converging],
                  context_factory=lambda: context({}), clock=clock)
    report = ex.run(timeout=45)
    assert report.waited == pytest.approx(engine.SETTLED_GRACE, abs=0.5)
    assert "spec asks for 3" in report.text()


def test_grading_still_waits_for_the_other_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    clock = SteppingClock()
    wrong_count = Check("replicas", lambda ctx: wrong("spec asks for 3", settled=True))
    converging = flipping_check(clock, 8.0)
    ex = Exercise("x.grade", "Ex", [wrong_count, converging],
                  context_factory=lambda: context({}), clock=clock)
    report = ex.run(timeout=15)
    assert report.results[1].outcome.passed and 8.0 <= report.waited < 9.0
