"""Grade a whole class in one command: ``kubelab grade <class-dir-or-zip>``.

Why: nbgrader grades one submission at a time against one gradebook, and its own feedback
pages show the test cells' source — hidden checks included (jupyter/nbgrader#917). This
command takes a class as instructors actually have it — nbgrader's
``submitted/<student>/<lesson>/`` tree, or a zip of notebooks downloaded from a learning
platform — grades every lesson in parallel (each in its own scratch course, gradebook and
per-notebook sandbox), prints a summary table, writes ``grades.csv``, and writes one feedback
page per student and lesson that explains each check (what was expected, what was found, a
hint) without showing any test code. Each notebook's kernel runs in a folder of its own, as a
user of its own when grading runs as root, and its graded cells are scored from outside it
(:mod:`autograders.outside`).
"""

from __future__ import annotations

import argparse
import csv
import html
import re
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from autograders.engine import report_html
from autograders.nbgrading import (
    NotebookScore,
    generate_release,
    grade_in_parallel,
    lessons,
    split_jobs,
)
from autograders.outside import isolation_warning, kernel_access

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Submission:
    student: str
    lesson: str
    notebook: Path


def _student_id(text: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.@-]+", "-", text).strip("-_.")
    return cleaned or "unknown"


def find_submissions(root: Path, known: list[str]) -> list[Submission]:
    """Submissions under ``root``: ``[submitted/]<student>/<lesson>/*.ipynb``, or any
    notebook whose file name contains a lesson name (the student is its folder, or what is
    left of the file name)."""
    base = root / "submitted" if (root / "submitted").is_dir() else root
    found: dict[tuple[str, str], Path] = {}
    for path in sorted(base.rglob("*.ipynb")):
        rel = path.relative_to(base)
        if ".ipynb_checkpoints" in rel.parts or rel.parts[0].startswith("__MACOSX"):
            continue
        lesson = next((name for name in known if name in path.stem or name in rel.parts), None)
        if lesson is None:
            continue
        student = rel.parts[0] if len(rel.parts) >= 2 else path.stem.replace(lesson, "")
        found.setdefault((_student_id(student), lesson), path)
    return [Submission(s, lesson, p) for (s, lesson), p in sorted(found.items())]


def summary_table(scores: list[NotebookScore], names: list[str]) -> str:
    students = sorted({s.student for s in scores})
    by = {(s.student, s.assignment): s for s in scores}
    header = ["student", *[n.split("-")[0] for n in names], "total"]  # 05b-debugging: 05b
    rows = [header]
    for student in students:
        total = possible = 0.0
        row = [student]
        for name in names:
            score = by.get((student, name))
            if score is None:
                row.append("-")
                continue
            total += score.score
            possible += score.max_score
            row.append(f"{score.score:g}/{score.max_score:g}")
        row.append(f"{total:g}/{possible:g}")
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)


def feedback_page(score: NotebookScore) -> str:
    parts = [f"<h1>{html.escape(score.assignment)} — {html.escape(score.student)}</h1>",
             f"<p>Score: <strong>{score.score:g} / {score.max_score:g}</strong></p>"]
    for cell in score.cells:
        report = score.reports.get(cell.grade_id)
        parts.append(f"<h2>{html.escape(cell.grade_id)}: {cell.score:g} / {cell.max_score:g}"
                     "</h2>")
        if report is None:
            parts.append("<p>This check did not run to the end (an error or a time-out "
                         "earlier in the cell); no points.</p>")
        else:
            parts.append(report_html(report))
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>kubelab feedback"
            f"</title></head><body style='font-family:sans-serif'>{''.join(parts)}"
            "</body></html>\n")


def write_outputs(scores: list[NotebookScore], names: list[str], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "grades.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "lesson", "score", "max_score"])
        for s in sorted(scores, key=lambda s: (s.student, s.assignment)):
            writer.writerow([s.student, s.assignment, f"{s.score:g}", f"{s.max_score:g}"])
    for s in scores:
        page = out / "feedback" / s.student / f"{s.assignment}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(feedback_page(s))


def grade_class(source: Path, course: Path, out: Path, only: list[str] | None = None,
                workers: int = 2) -> list[NotebookScore]:
    known = lessons(course)
    with tempfile.TemporaryDirectory(prefix="kubelab-class-") as tmp:
        scratch = Path(tmp)
        if source.is_file() and zipfile.is_zipfile(source):
            with zipfile.ZipFile(source) as archive:
                for member in archive.namelist():
                    target = (scratch / "unzipped" / member).resolve()
                    if not str(target).startswith(str((scratch / "unzipped").resolve())):
                        raise ValueError(f"unsafe path in zip: {member}")
                archive.extractall(scratch / "unzipped")
            source = scratch / "unzipped"
        subs = [s for s in find_submissions(source, known) if not only or s.lesson in only]
        names = sorted({s.lesson for s in subs})
        if not subs:
            return []
        template = scratch / "template"
        generate_release(course, template, names)
        by_lesson = {name: {s.student: s.notebook for s in subs if s.lesson == name}
                     for name in names}
        with kernel_access() as (drop, reason):
            warning = isolation_warning(drop, reason)
            if warning:
                print(f"kubelab grade: {warning}", file=sys.stderr)
            results = grade_in_parallel(template, scratch / "work",
                                        split_jobs(by_lesson, workers), workers=workers,
                                        drop_privileges=drop)
    scores = [score for r in results.values() for score in r.scores]
    write_outputs(scores, names, out)
    return scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kubelab grade", description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path,
                        help="a class folder (nbgrader's submitted/ layout) or a zip of notebooks")
    parser.add_argument("--assignment", action="append", default=[],
                        help="grade only this lesson (repeatable)")
    parser.add_argument("--course", type=Path, default=REPO / "course",
                        help="the course root holding nbgrader_config.py and source/")
    parser.add_argument("--out", type=Path, default=Path("kubelab-grades"),
                        help="where grades.csv and feedback/ are written")
    parser.add_argument("--jobs", type=int, default=2,
                        help="notebooks graded at once, each with its own kernel and sandbox")
    args = parser.parse_args(argv)
    if not args.source.exists():
        print(f"kubelab grade: {args.source} does not exist", file=sys.stderr)
        return 2
    scores = grade_class(args.source, args.course, args.out, args.assignment or None,
                         args.jobs)
    if not scores:
        print("No submissions found: expected submitted/<student>/<lesson>/<lesson>.ipynb "
              "or notebooks named after a lesson.")
        return 1
    names = sorted({s.assignment for s in scores})
    print(summary_table(scores, names))
    print(f"\ngrades: {args.out / 'grades.csv'}\nfeedback: {args.out / 'feedback'}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
