"""The course end to end: solutions execute, and nbgrader grades every kind of submission.

One session fixture generates the release once, then grades each lesson's submissions — the
solution, the blank release and three deliberately wrong ones — runs nbgrader's Validator on
the solution and the blank (each grading job in its own process, course copy and gradebook,
with one fresh sandbox per notebook, as ``kubelab.connect`` gives under nbgrader), executes
each instructor notebook as a learner would, on a sandbox of its own (every cell but the
setup cell run a second time right after its first run, as a learner runs a cell again), and
does Run All on each untouched student notebook (``notebooks/``) the same way; all of it as
one pool of tasks, longest first.
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
    generate_template,
    lessons,
    make_submission,
    run_all,
    solution_text,
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
    executed as a learner runs it (``again``: what running each cell twice broke), with the
    wall time each task took."""

    graded: dict[str, LessonResult]
    executed: dict[str, list[dict[str, Any]]]
    fresh: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    again: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    typos: dict[str, dict[str, Any]] = field(default_factory=dict)


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


@dataclass(frozen=True)
class Typo:
    """A learner's typo before one of a lesson's waiting cells.

    ``cells`` are instructor cell ids run in order after the setup cell, each with its text
    replacements; ``waits`` maps each waiting cell's position in ``cells`` to what its
    output must say (kubectl's own words), ending well before the Python-side limit.
    """

    lesson: str
    cells: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
    waits: dict[int, tuple[str, ...]]


# The speed the course runs at (Binder's and ``make lab``'s default).
COURSE_SPEED = 5
TIMED_OUT = ("timed out waiting", "exceeded its progress deadline")
TYPOS = {
    # Lesson 2: a pod with a misspelt image tag, waited for until Ready.
    "02-wait": Typo("02-pods-deployments-scaling",
                    (("02-003", (("node-hello:1.0", "node-hello:1.O"),)),),
                    {0: ("timed out waiting",)}),
    # Lesson 2: rollout status on a misspelt name, then on a misspelt image tag.
    "02-rollout": Typo("02-pods-deployments-scaling",
                       (("02-008", (("deployment/hello-world", "deployment/hello-wrold"),)),
                        ("02-007", (("node-hello:1.0", "node-hello:1.O"),)),
                        ("02-008", ())),
                       {0: ("NotFound",), 2: TIMED_OUT}),
    # Lesson 4: the upgrade to a misspelt tag (its cell waits for the rollout), then
    # rollout status on a misspelt name.
    "04-rollout": Typo("04-rolling-update-rollback",
                       (("04-003", ()), ("04-004", ()),
                        ("04-012", (("apprenda/kdemo:v2", "apprenda/kdemo:2"),)),
                        ("04-004", (("deployment/kdemo-dep", "deployment/kdemo"),))),
                       {2: TIMED_OUT, 3: ("NotFound",)}),
}


def _typo_run(name: str, root: Path) -> dict[str, Any]:
    """The typo's cells (and the lesson's setup cell) as a notebook, Run All on a sandbox at
    the course's speed."""
    typo = TYPOS[name]
    source = nbformat.read(str(COURSE / "source" / typo.lesson / f"{typo.lesson}.ipynb"), 4)
    by_id = {c.get("id"): c for c in source.cells}
    [setup] = [c for c in source.cells
               if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "setup"]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(setup.source)]
    for cell_id, edits in typo.cells:
        text = solution_text(by_id[cell_id].source)
        for old, new in edits:
            assert old in text, (cell_id, old)
            text = text.replace(old, new)
        nb.cells.append(nbformat.v4.new_code_cell(text))
    path = root / name / "typo.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    handle = start_sandbox(root / name / "sandbox", speed=COURSE_SPEED)
    try:
        return run_all(path, handle.state_dir)
    finally:
        handle.stop()


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

    # The typo runs wait out kubectl's timeouts at the course's speed: idle time, so they
    # run beside the pool rather than in it.
    with ThreadPoolExecutor(max_workers=len(TYPOS)) as waits:
        typo_runs = {name: waits.submit(_typo_run, name, root / "typos") for name in TYPOS
                     if TYPOS[name].lesson in LESSONS}
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            for future in [pool.submit(run, key) for key in order]:
                future.result()
        typos: dict[str, dict[str, Any]] = {}
        for name, future in typo_runs.items():
            try:   # a failed typo run fails its own test, not every test of the course
                typos[name] = future.result()
            except AssertionError as err:
                typos[name] = {"error": str(err)[-3000:]}
    graded = {}
    for lesson in LESSONS:
        wrong_part = results[f"{lesson}/wrong"][f"{lesson}/wrong"]
        right_part = results[f"{lesson}/right"][f"{lesson}/right"]
        graded[lesson] = LessonResult(right_part.scores + wrong_part.scores,
                                      right_part.validation,
                                      {**right_part.timings, **wrong_part.timings})
    return CourseRun(graded, {lesson: results[f"{lesson}/execute"]["bad"] for lesson in LESSONS},
                     {lesson: results[f"{lesson}/run-all"] for lesson in LESSONS}, seconds,
                     {lesson: results[f"{lesson}/execute"]["again"] for lesson in LESSONS},
                     typos)


def _execute(lesson: str, root: Path) -> dict[str, Any]:
    """The instructor's notebook run by nbclient as a learner runs it, on a fresh sandbox,
    each cell but the setup twice in a row (a second full run costs twice as much and, after
    the lesson's clean-up cell, replays the lesson on an emptied cluster)."""
    handle = start_sandbox(root / lesson, speed=50)
    try:
        return run_all(COURSE / "source" / lesson / f"{lesson}.ipynb", handle.state_dir,
                       twice=True)
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
def test_every_cell_is_safe_to_run_twice(course_run: CourseRun, lesson: str) -> None:
    """A learner runs a cell again (the README promises cells are safe to run twice): the
    second run shows no kubectl error its first run did not (an AlreadyExists, a pod that
    cannot change, an undo with nothing left to undo) and every self-check and graded report
    it shows is all ✓. Python errors on either run fail the test above."""
    assert course_run.again[lesson] == []


@pytest.mark.parametrize("name", sorted(TYPOS))
def test_a_typo_before_a_waiting_cell_ends_in_kubectls_words(course_run: CourseRun,
                                                             name: str) -> None:
    """At the course's speed, a misspelt name or image tag before a cell that waits (rollout
    status) ends that cell with kubectl's own message and the magic's hint, before the
    Python-side limit on kubectl (its ``--timeout`` plus a margin) could raise
    TimeoutExpired: no traceback, and the cells after it still run."""
    from kubelab.connect import kubectl_timeout

    if name not in course_run.typos:
        pytest.skip(f"{TYPOS[name].lesson} is not among KUBELAB_LESSONS")
    run = course_run.typos[name]
    assert "error" not in run, run.get("error")
    assert run["bad"] == []
    assert run["last_ran"]
    cells = run["cells"][1:]   # after the setup cell
    for index, words in TYPOS[name].waits.items():
        cell = cells[index]
        assert "What to do: " in cell["text"], cell
        assert any(w in cell["text"] for w in words), (words, cell)
        limit = min(kubectl_timeout(line.split()[1:]) or 0.0
                    for line in cell_lines(TYPOS[name], index) if "--timeout" in line)
        assert cell["seconds"] < limit - 10, (cell["seconds"], limit)


def cell_lines(typo: Typo, index: int) -> list[str]:
    """The ``%kubectl`` lines of the typo notebook's cell ``index`` (after the setup)."""
    source = nbformat.read(str(COURSE / "source" / typo.lesson / f"{typo.lesson}.ipynb"), 4)
    cell_id, _edits = typo.cells[index]
    [cell] = [c for c in source.cells if c.get("id") == cell_id]
    return [ln.strip() for ln in cell.source.splitlines() if ln.strip().startswith("%kubectl")]


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
