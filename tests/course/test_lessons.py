"""The course end to end: solutions execute, and nbgrader grades every kind of submission.

One session fixture generates the release once, then grades each lesson's submissions — the
solution, the blank release and three deliberately wrong ones — and runs nbgrader's Validator
on the solution and the blank, lessons in parallel (each in its own process, course copy,
gradebook, and one fresh sandbox per notebook, as ``kubelab.connect`` gives under nbgrader).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from sandbox_support import start_sandbox

from autograders.nbgrading import LessonJob, LessonResult, NotebookScore, grade_in_parallel
from course.support import COURSE, execute, generate_template, lessons, make_submission
from course.variants import EDITS, VARIANTS

pytestmark = [pytest.mark.notebooks, pytest.mark.slow, pytest.mark.timeout(1800)]
LESSONS = lessons()
# Lessons mostly wait on the (simulated) cluster, so three at a time keep two cores busy.
WORKERS = 3


@pytest.fixture(scope="session")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, LessonResult]:
    root = tmp_path_factory.mktemp("grading")
    template = generate_template(root / "template", LESSONS)
    release = template / "release"
    jobs: dict[str, LessonJob] = {}
    for lesson in LESSONS:
        folder = root / "submissions" / lesson
        subs: dict[str, Path] = {}
        notebooks = {"solution": make_submission(lesson, release),
                     "blank": make_submission(lesson, release, blank=True)}
        for v in VARIANTS.get(lesson, []):
            edits = {gid: EDITS.get((lesson, v.name, gid), []) for gid in v.answers}
            notebooks[f"wrong-{v.name}"] = make_submission(lesson, release, v.answers, edits)
        for student, nb in notebooks.items():
            path = folder / student / f"{lesson}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, str(path))
            subs[student] = path
        jobs[lesson] = LessonJob(subs, {"solution": (subs["solution"], False),
                                        "blank": (subs["blank"], False)})
    return grade_in_parallel(template, root / "work", jobs, workers=WORKERS)


def score_of(result: LessonResult, student: str) -> NotebookScore:
    [score] = [s for s in result.scores if s.student == student]
    return score


def test_every_lesson_has_wrong_submissions() -> None:
    assert len(LESSONS) >= 8
    for lesson in LESSONS:
        assert len(VARIANTS.get(lesson, [])) >= 3, lesson


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
                         ids=[f"{lesson[:2]}-{v.name}" for lesson, v in CASES])
def test_wrong_submission_gets_partial_score_and_says_why(
        graded: dict[str, LessonResult], lesson: str, variant: object) -> None:
    from course.variants import Variant

    assert isinstance(variant, Variant)
    score = score_of(graded[lesson], f"wrong-{variant.name}")
    got = {c.grade_id: c.score for c in score.cells}
    want = {c.grade_id: variant.expected.get(c.grade_id, c.max_score) for c in score.cells}
    assert got == want, score.reports
    assert 0 < score.score < score.max_score
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


@pytest.fixture(scope="session")
def executed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, object]]]:
    """Each solution notebook run by nbclient on its own fresh sandbox, two at a time."""
    root = tmp_path_factory.mktemp("execute")

    def run(lesson: str) -> list[dict[str, object]]:
        handle = start_sandbox(root / lesson, speed=50)
        try:
            return execute(COURSE / "source" / lesson / f"{lesson}.ipynb", handle.kubeconfig)
        finally:
            handle.stop()

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return dict(zip(LESSONS, pool.map(run, LESSONS), strict=True))


@pytest.mark.parametrize("lesson", LESSONS)
def test_solution_notebook_executes_cleanly(executed: dict[str, list[dict[str, object]]],
                                            lesson: str) -> None:
    assert executed[lesson] == []
