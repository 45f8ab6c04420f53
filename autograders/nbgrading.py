"""Thin wrappers over nbgrader 0.9's Python API, used by the release, class grading and tests.

Why wrappers: nbgrader works on a course directory with a gradebook database, and its CLI
exits 0 even when validation fails. Running it through its API in a scratch copy of the
course keeps the instructor's folders untouched, lets several lessons grade in parallel
(nbgrader itself is serial: one gradebook, one kernel at a time — jupyter/nbgrader#174), and
gives results as data. nbgrader shells out to ``alembic`` when it creates a gradebook, so
this Python's ``bin`` goes first on PATH.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

CONFIG = "nbgrader_config.py"


def lessons(course: Path) -> list[str]:
    """Lesson (assignment) names: the folders of ``course/source`` holding a notebook."""
    source = course / "source"
    return sorted(p.name for p in source.iterdir()
                  if p.is_dir() and any(p.glob("*.ipynb")))


def _path_env() -> None:
    bindir = str(Path(sys.executable).parent)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if bindir not in parts:
        os.environ["PATH"] = os.pathsep.join([bindir, *parts])


def prepare(course: Path, work: Path, names: list[str] | None = None) -> Path:
    """Copy the course's config and source (only ``names`` if given) into ``work``."""
    work.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(course / CONFIG, work / CONFIG)
    for name in names or lessons(course):
        shutil.copytree(course / "source" / name, work / "source" / name,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
                        dirs_exist_ok=True)
    return work


def load_config(work: Path) -> Any:
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader(CONFIG, path=str(work)).load_config()
    config.CourseDirectory.root = str(work)
    config.CourseDirectory.db_url = f"sqlite:///{work / 'gradebook.db'}"
    return config


@contextlib.contextmanager
def _quiet_logs() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    with contextlib.redirect_stderr(buffer):
        yield buffer


def api(work: Path, drop_privileges: bool | None = None) -> Any:
    """nbgrader's API on ``work``; autograde runs each notebook outside the course folder and
    scores its graded cells in this process (:mod:`autograders.outside`)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from autograders.outside import autograde_preprocessors

    _path_env()
    config = load_config(work)
    config.Autograde.autograde_preprocessors = autograde_preprocessors()
    config.GradeOutsideKernel.drop_privileges = drop_privileges
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


class NbgraderError(RuntimeError):
    pass


# A kernel that dies before replying, or cannot bind its ports, never ran the learner's code:
# jupyter_client picks free TCP ports before the kernel binds them, so a kernel or sandbox
# started at the same moment in another process can take one first. nbgrader 0.9.6 declares
# ``Execute.execute_retries`` but never reads it, so the wrappers retry such runs themselves.
KERNEL_START_FAILURES = ("Kernel died before replying", "Address already in use",
                         "DeadKernelError")
ATTEMPTS = 3


def _kernel_failed_to_start(text: str) -> bool:
    # asyncio's bind error says "address already in use" (lower case) when the submission's
    # sandbox lost its port in the same race.
    lowered = text.lower()
    return any(marker.lower() in lowered for marker in KERNEL_START_FAILURES)


def _ok(result: dict[str, Any], what: str) -> None:
    if not result.get("success"):
        # nbgrader's ``error`` only says "see the above traceback": the traceback is in the log.
        details = "\n".join(str(result.get(k) or "") for k in ("log", "error")).strip()
        raise NbgraderError(f"nbgrader {what} failed:\n{details[-6000:]}")


def generate_release(course: Path, work: Path, names: list[str]) -> Path:
    """``nbgrader generate_assignment`` for each lesson; returns ``work/release``."""
    prepare(course, work, names)
    grader = api(work)
    for name in names:
        with _quiet_logs():
            result = grader.generate_assignment(name, force=True)
        _ok(result, f"generate_assignment {name}")
    return work / "release"


@dataclass
class CellScore:
    grade_id: str
    score: float
    max_score: float


@dataclass
class NotebookScore:
    student: str
    assignment: str
    notebook: str
    score: float
    max_score: float
    cells: list[CellScore]
    reports: dict[str, Any] = field(default_factory=dict)

    def cell(self, grade_id: str) -> CellScore:
        return next(c for c in self.cells if c.grade_id == grade_id)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NotebookScore:
        data = dict(data)
        data["cells"] = [CellScore(**c) for c in data["cells"]]
        return cls(**data)


def autograde(work: Path, assignment: str, student: str,
              drop_privileges: bool | None = None) -> list[NotebookScore]:
    """Autograde ``work/submitted/<student>/<assignment>`` and read the scores back."""
    grader = api(work, drop_privileges)
    for attempt in range(ATTEMPTS):
        with _quiet_logs():
            result = grader.autograde(assignment, student, force=True, create=True)
        failure = f"{result.get('error') or ''}\n{result.get('log') or ''}"
        if result.get("success") or not _kernel_failed_to_start(failure) \
                or attempt == ATTEMPTS - 1:
            break
    _ok(result, f"autograde {assignment} for {student}")
    return read_scores(work, assignment, student)


def read_reports(notebook: Path) -> dict[str, Any]:
    """The check reports a graded notebook's test cells published, by grade id."""
    import nbformat

    from autograders.engine import REPORT_MIME

    reports: dict[str, Any] = {}
    if not notebook.exists():
        return reports
    nb = nbformat.read(str(notebook), as_version=4)
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if grade_id and REPORT_MIME in data:
                reports[grade_id] = data[REPORT_MIME]
    return reports


def read_scores(work: Path, assignment: str, student: str) -> list[NotebookScore]:
    from nbgrader.api import Gradebook

    out = []
    with Gradebook(f"sqlite:///{work / 'gradebook.db'}") as gb:
        submission = gb.find_submission(assignment, student)
        for nb in submission.notebooks:
            cells = [CellScore(g.name, float(g.auto_score or 0.0), float(g.max_score))
                     for g in nb.grades]
            graded = work / "autograded" / student / assignment / f"{nb.name}.ipynb"
            out.append(NotebookScore(student, assignment, nb.name, float(nb.score),
                                     float(nb.max_score),
                                     sorted(cells, key=lambda c: c.grade_id),
                                     read_reports(graded)))
    return out


def grade_lesson(template: Path, work: Path, lesson: str,
                 submissions: dict[str, Path],
                 timings: dict[str, float] | None = None,
                 drop_privileges: bool | None = None) -> list[NotebookScore]:
    """Autograde ``submissions`` (student -> notebook) of one lesson in a copy of ``template``.

    ``template`` is a course directory where ``generate_assignment`` already ran, so its
    gradebook holds the instructor's test cells that nbgrader restores before grading.
    Seconds spent per student go into ``timings`` when given. Each notebook runs in its own
    scratch folder, as its own user when ``drop_privileges`` (None: when possible), and is
    scored from outside its kernel (:mod:`autograders.outside`).

    With ``drop_privileges`` None this call holds the kernels' traverse grant
    (:func:`autograders.outside.kernel_access`) while it grades, as ``kubelab grade`` does:
    deciding from a probe alone would let a kernel run as another user only while some
    other grading run happened to hold the grant, and fail ("Permission denied" on Python)
    once that run ended. A caller that already holds it passes its verdict.
    """
    if drop_privileges is None:
        from autograders.outside import kernel_access

        with kernel_access() as (drop, _):
            return grade_lesson(template, work, lesson, submissions, timings, drop)
    from autograders.clock import SYSTEM_CLOCK

    shutil.copytree(template, work, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("submitted", "autograded", "feedback"))
    scores: list[NotebookScore] = []
    for student, notebook in submissions.items():
        target = work / "submitted" / student / lesson
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(notebook, target / notebook.name)
    for student in submissions:
        start = SYSTEM_CLOCK.monotonic()
        scores.extend(autograde(work, lesson, student, drop_privileges))
        if timings is not None:
            timings[student] = round(SYSTEM_CLOCK.monotonic() - start, 2)
    return scores


@dataclass
class LessonResult:
    """What grading one lesson produced: scores, and Validator results if asked for."""

    scores: list[NotebookScore]
    validation: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Seconds each autograde (by student) and validation (``validate:<label>``) took.
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class LessonJob:
    """Submissions (student -> notebook) of one lesson to grade in one process.

    Jobs are keyed by lesson name, or by any name when ``lesson`` is given (several jobs of
    one lesson split a large class over several processes).
    """

    submissions: dict[str, Path]
    validate: dict[str, tuple[Path, bool]] = field(default_factory=dict)  # label -> (nb, invert)
    lesson: str | None = None


def split_jobs(by_lesson: dict[str, dict[str, Path]], workers: int) -> dict[str, LessonJob]:
    """Jobs for a class: each lesson's submissions dealt over up to ``workers`` processes.

    One process per lesson leaves cores idle when a class hands in one lesson (the usual
    case: 30 copies of this week's notebook); dealing submissions round-robin keeps every
    worker busy. Larger lessons come first, so the slowest jobs start earliest.
    """
    jobs: dict[str, LessonJob] = {}
    for lesson, submissions in sorted(by_lesson.items(), key=lambda kv: -len(kv[1])):
        parts = max(1, min(workers, len(submissions)))
        chunks = [LessonJob({}, lesson=lesson) for _ in range(parts)]
        for i, (student, notebook) in enumerate(sorted(submissions.items())):
            chunks[i % parts].submissions[student] = notebook
        for i, job in enumerate(chunks):
            jobs[lesson if parts == 1 else f"{lesson}.part{i}"] = job
    return jobs


def grade_in_parallel(template: Path, scratch: Path, jobs: dict[str, LessonJob],
                      workers: int = 2,
                      drop_privileges: bool | None = None) -> dict[str, LessonResult]:
    """Grade several lessons at once, each in its own process, course copy and gradebook.

    nbgrader grades one notebook at a time; separate gradebooks make parallel runs safe.
    Jobs start in the order given, so putting the longest first shortens the run.
    """
    import json
    import subprocess
    from concurrent.futures import ThreadPoolExecutor

    def run(key: str) -> LessonResult:
        job = jobs[key]
        lesson = job.lesson or key
        request = {"template": str(template), "work": str(scratch / key), "lesson": lesson,
                   "submissions": {s: str(p) for s, p in job.submissions.items()},
                   "validate": {k: [str(p), inv] for k, (p, inv) in job.validate.items()},
                   "drop_privileges": drop_privileges}
        proc = subprocess.run([sys.executable, "-m", "autograders.nbgrading"],
                              input=json.dumps(request), capture_output=True, text=True,
                              check=False)
        if proc.returncode != 0:
            raise NbgraderError(f"grading {key} failed:\n{proc.stderr[-3000:]}")
        data = json.loads(proc.stdout)
        return LessonResult([NotebookScore.from_dict(d) for d in data["scores"]],
                            data["validation"], data.get("timings", {}))

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = dict(zip(jobs, pool.map(run, list(jobs)), strict=True))
    return {key: results[key] for key in sorted(jobs)}


def validate(path: Path, *, invert: bool = False, work: Path | None = None) -> dict[str, Any]:
    """nbgrader's Validator on one notebook (``{}`` when it passes)."""
    from nbgrader.validator import Validator

    _path_env()
    config = load_config(work) if work is not None else None
    validator = Validator(config=config) if config is not None else Validator()
    validator.invert = invert
    for attempt in range(ATTEMPTS):
        try:
            with _quiet_logs():
                return dict(validator.validate(str(path)))
        except Exception as exc:
            if not _kernel_failed_to_start(f"{type(exc).__name__}: {exc}") \
                    or attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _worker() -> int:
    """``python -m autograders.nbgrading``: grade one lesson described as JSON on stdin."""
    import json

    from autograders.clock import SYSTEM_CLOCK

    request = json.loads(sys.stdin.read())
    work = Path(request["work"])
    if len(request["submissions"]) > 1:
        # Kernels forked from one warm process (autograders.forkserver): it starts now, beside
        # nbgrader's own set-up, and pays the kernel's imports once for the whole job.
        from autograders import forkserver

        forkserver.start()
    timings: dict[str, float] = {}
    scores = grade_lesson(Path(request["template"]), work, request["lesson"],
                          {s: Path(p) for s, p in request["submissions"].items()}, timings,
                          request.get("drop_privileges"))
    validation = {}
    for label, (nb, inv) in request.get("validate", {}).items():
        start = SYSTEM_CLOCK.monotonic()
        validation[label] = validate(Path(nb), invert=bool(inv), work=work)
        timings[f"validate:{label}"] = round(SYSTEM_CLOCK.monotonic() - start, 2)
    print(json.dumps({"scores": [s.as_dict() for s in scores],
                      "validation": json.loads(json.dumps(validation, default=str)),
                      "timings": timings}))
    return 0


if __name__ == "__main__":
    sys.exit(_worker())
