"""The course end to end: solutions execute, and nbgrader grades every kind of submission.

One session fixture generates the release once, then grades each lesson's submissions — the
solution, the blank release and three deliberately wrong ones — runs nbgrader's Validator on
the solution and the blank (each grading job in its own process, course copy and gradebook,
with one fresh sandbox per notebook, as ``kubelab.connect`` gives under nbgrader), executes
each instructor notebook as a learner would, on a sandbox of its own, and does Run All on each
untouched student notebook (``notebooks/``) the same way; all of it as one pool of tasks,
longest first.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import nbformat
import pytest
from sandbox_support import start_sandbox

from autograders.clock import SYSTEM_CLOCK
from autograders.nbgrading import LessonJob, LessonResult, NotebookScore, grade_in_parallel
from course.support import (
    COURSE,
    REPO,
    execute,
    generate_template,
    lessons,
    make_submission,
    run_all,
)
from course.variants import EDITS, VARIANTS

pytestmark = [pytest.mark.notebooks, pytest.mark.slow, pytest.mark.timeout(1800)]
# KUBELAB_LESSONS=09,10 runs only the lessons whose names start with those prefixes.
ONLY = tuple(p for p in os.environ.get("KUBELAB_LESSONS", "").split(",") if p)
LESSONS = [name for name in lessons() if not ONLY or name.startswith(ONLY)]
# The machine is CPU-bound (each run is a kernel plus a simulated cluster), so three runs at
# a time keep two cores busy without starving the simulated clocks.
WORKERS = int(os.environ.get("KUBELAB_COURSE_WORKERS", "3"))
# Relative cost of one full run of each lesson (measured; only the order of tasks depends on
# it, so a stale number costs minutes, never correctness). Unknown lessons count as heavy.
COST = {"01": 1.0, "02": 1.4, "03": 1.0, "04": 0.75, "05": 0.7, "05b": 1.0, "06": 1.25,
        "07": 1.0, "08": 0.85, "09": 1.35, "10": 1.2, "11": 1.0, "12": 1.0, "13": 0.8,
        "14": 1.0, "15": 1.2}


@dataclass
class CourseRun:
    """Every lesson graded (solution, blank, wrong variants, Validator) and every solution
    executed as a learner runs it, with the wall time each task took."""

    graded: dict[str, LessonResult]
    executed: dict[str, list[dict[str, Any]]]
    fresh: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def _submissions(lesson: str, release: Path, folder: Path) -> dict[str, Path]:
    notebooks = {"solution": make_submission(lesson, release),
                 "blank": make_submission(lesson, release, blank=True)}
    for v in VARIANTS.get(lesson, []):
        edits = {gid: EDITS.get((lesson, v.name, gid), []) for gid in v.answers}
        notebooks[f"wrong-{v.name}"] = make_submission(lesson, release, v.answers, edits)
    subs: dict[str, Path] = {}
    for student, nb in notebooks.items():
        path = folder / student / f"{lesson}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(path))
        subs[student] = path
    return subs


@pytest.fixture(scope="session")
def course_run(tmp_path_factory: pytest.TempPathFactory) -> CourseRun:
    """All grading and execution as small tasks in one pool, the longest first.

    Each lesson's wrong submissions grade in one process, its solution and blank (autograde
    and Validator) in another, and its solution executes on a sandbox of its own: about 30
    tasks, so no core idles while one long lesson finishes alone.
    """
    root = tmp_path_factory.mktemp("course")
    template = generate_template(root / "template", LESSONS)
    release = template / "release"
    tasks: dict[str, tuple[float, Callable[[], Any]]] = {}
    for lesson in LESSONS:
        cost = COST.get(lesson.split("-")[0], 2.0)
        subs = _submissions(lesson, release, root / "submissions" / lesson)
        wrong = {s: p for s, p in subs.items() if s.startswith("wrong-")}
        right = LessonJob({s: subs[s] for s in ("solution", "blank")},
                          {"solution": (subs["solution"], False),
                           "blank": (subs["blank"], False)}, lesson=lesson)
        for key, job, weight in ((f"{lesson}/wrong", LessonJob(wrong, lesson=lesson),
                                  len(wrong) * cost),
                                 (f"{lesson}/right", right, 2.4 * cost)):
            tasks[key] = (weight, partial(grade_in_parallel, template, root / "work",
                                          {key: job}, 1))
        tasks[f"{lesson}/execute"] = (0.8 * cost, partial(_execute, lesson, root / "execute"))
        tasks[f"{lesson}/run-all"] = (0.5 * cost, partial(_run_all, lesson, root / "run-all"))
    order = sorted(tasks, key=lambda key: -tasks[key][0])
    results: dict[str, Any] = {}
    seconds: dict[str, float] = {}

    def run(key: str) -> None:
        start = SYSTEM_CLOCK.monotonic()
        results[key] = tasks[key][1]()
        seconds[key] = round(SYSTEM_CLOCK.monotonic() - start, 1)

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for future in [pool.submit(run, key) for key in order]:
            future.result()
    graded = {}
    for lesson in LESSONS:
        wrong_part = results[f"{lesson}/wrong"][f"{lesson}/wrong"]
        right_part = results[f"{lesson}/right"][f"{lesson}/right"]
        graded[lesson] = LessonResult(right_part.scores + wrong_part.scores,
                                      right_part.validation,
                                      {**right_part.timings, **wrong_part.timings})
    return CourseRun(graded, {lesson: results[f"{lesson}/execute"] for lesson in LESSONS},
                     {lesson: results[f"{lesson}/run-all"] for lesson in LESSONS}, seconds)


def _execute(lesson: str, root: Path) -> list[dict[str, Any]]:
    """The instructor's notebook run by nbclient as a learner runs it, on a fresh sandbox."""
    handle = start_sandbox(root / lesson, speed=50)
    try:
        return execute(COURSE / "source" / lesson / f"{lesson}.ipynb", handle.state_dir)
    finally:
        handle.stop()


def _run_all(lesson: str, root: Path) -> dict[str, Any]:
    """The untouched student notebook, Run All, on a fresh sandbox of its own."""
    handle = start_sandbox(root / lesson, speed=50)
    try:
        return run_all(REPO / "notebooks" / lesson / f"{lesson}.ipynb", handle.state_dir)
    finally:
        handle.stop()


@pytest.fixture(scope="session")
def graded(course_run: CourseRun) -> dict[str, LessonResult]:
    return course_run.graded


@pytest.fixture(scope="session")
def executed(course_run: CourseRun) -> dict[str, list[dict[str, Any]]]:
    return course_run.executed


def score_of(result: LessonResult, student: str) -> NotebookScore:
    [score] = [s for s in result.scores if s.student == student]
    return score


def test_every_lesson_has_wrong_submissions() -> None:
    assert len(lessons()) >= 10
    for lesson in lessons():
        assert len(VARIANTS.get(lesson, [])) >= 3, lesson


def test_debugging_variants_leave_each_breakage_unfixed_alone() -> None:
    """The debugging lesson's wrong submissions cover all six breakages one at a time: for
    each cause, a variant whose failing report quotes the still-broken field (the graded
    runs below check that the self-check really says it)."""
    from autograders.lessons.lesson05b import CAUSES

    field_of = {"image": "image is still", "selector": "spec.selector.app is still",
                "crash": "env[QUEUE].value is still", "cpu": "requests.cpu is still",
                "config": "configMapKeyRef.key is still",
                "probe": "readinessProbe.httpGet.path is still"}
    assert set(field_of) == set(CAUSES)
    variants = VARIANTS["05b-debugging"]
    for cause, text in field_of.items():
        named = [v for v in variants if any(text in m for m in v.messages.values())]
        assert len(named) == 1 and len(named[0].messages) == 1, (cause, named)


@pytest.mark.parametrize("lesson", LESSONS)
def test_solution_gets_full_marks(graded: dict[str, LessonResult], lesson: str) -> None:
    score = score_of(graded[lesson], "solution")
    assert score.max_score > 0
    missing = {c.grade_id: (c.score, c.max_score) for c in score.cells if c.score != c.max_score}
    assert not missing, (missing, score.reports)


@pytest.mark.parametrize("lesson", LESSONS)
def test_blank_release_gets_zero(graded: dict[str, LessonResult], lesson: str) -> None:
    score = score_of(graded[lesson], "blank")
    assert score.score == 0, {c.grade_id: c.score for c in score.cells}


CASES = [(lesson, v) for lesson in LESSONS for v in VARIANTS.get(lesson, [])]


@pytest.mark.parametrize(("lesson", "variant"), CASES,
                         ids=[f"{lesson.split('-')[0]}-{v.name}" for lesson, v in CASES])
def test_wrong_submission_gets_partial_score_and_says_why(
        graded: dict[str, LessonResult], lesson: str, variant: object) -> None:
    from course.variants import Variant

    assert isinstance(variant, Variant)
    score = score_of(graded[lesson], f"wrong-{variant.name}")
    got = {c.grade_id: c.score for c in score.cells}
    want = {c.grade_id: variant.expected.get(c.grade_id, c.max_score) for c in score.cells}
    # An expected score may be a tuple of acceptable scores, for a cell whose answer races
    # with the cluster (a count of pods that are still starting).
    got = {k: (v if not isinstance(want[k], tuple) or v not in want[k] else want[k])
           for k, v in got.items()}
    assert got == want, score.reports
    assert 0 < score.score < score.max_score
    # The self-check runs the graded cell's public checks (the instructor's copy may add
    # hidden ones): all public ✓ exactly when the cell earns full marks, so no wrong answer
    # passes the self-check and loses points to a hidden check; every ✗ comes with a hint.
    for cell in score.cells:
        results = score.reports[cell.grade_id]["results"]
        public = [r for r in results if not r["hidden"]]
        assert public, (cell.grade_id, results)
        assert all(r["passed"] for r in public) == (cell.score == cell.max_score), \
            (cell.grade_id, cell.score, results)
        assert all(r["hint"] for r in results if not r["passed"]), (cell.grade_id, results)
    for grade_id, text in variant.messages.items():
        report = score.reports[grade_id]
        found = [r["found"] for r in report["results"] if not r["passed"]]
        assert any(text in f for f in found), (text, found)


@pytest.mark.parametrize("lesson", LESSONS)
def test_validator_passes_solution_and_fails_blank(graded: dict[str, LessonResult],
                                                   lesson: str) -> None:
    validation = graded[lesson].validation
    assert validation["solution"] == {}, validation["solution"]
    graded_cells = len(score_of(graded[lesson], "blank").cells)
    assert len(validation["blank"].get("failed", [])) == graded_cells, validation["blank"]
    # A zero is a failure with its reason, not nbgrader's fixed "Partial credit" wording.
    for failed in validation["blank"]["failed"]:
        assert "Partial credit" not in failed["error"], failed
        assert "0 of " in failed["error"] and "not answered yet" in failed["error"], failed


@pytest.mark.parametrize("lesson", LESSONS)
def test_solution_notebook_executes_cleanly(executed: dict[str, list[dict[str, object]]],
                                            lesson: str) -> None:
    assert executed[lesson] == []


@pytest.mark.parametrize("lesson", LESSONS)
def test_run_all_on_a_fresh_student_notebook_reaches_the_end(course_run: CourseRun,
                                                             lesson: str) -> None:
    """No cell raises or writes to stderr, the last cell runs, and every graded cell says
    "0 of N points: not answered yet" and returns that 0 for nbgrader."""
    fresh = course_run.fresh[lesson]
    assert fresh["bad"] == []
    assert fresh["last_ran"]
    assert fresh["graded"], lesson
    for grade_id, cell in fresh["graded"].items():
        head = f"0 of {cell['points']:g} points: not answered yet — "
        assert cell["report"] is not None and head in cell["report"], (grade_id, cell)
        assert cell["value"] == "0", (grade_id, cell)


def test_timings_are_reported(course_run: CourseRun) -> None:
    """Not a check of speed: prints where the suite's time went (see ``-s`` or the log)."""
    lines = [f"{key:45} {secs:7.1f}s" for key, secs in
             sorted(course_run.seconds.items(), key=lambda kv: -kv[1])]
    for lesson, result in sorted(course_run.graded.items()):
        lines += [f"  {lesson}: {name} {secs:.1f}s" for name, secs in result.timings.items()]
    print("\n".join(lines))
    assert set(course_run.seconds) == {f"{lesson}/{part}" for lesson in LESSONS
                                       for part in ("wrong", "right", "execute", "run-all")}
