"""`kubelab grade`: a zip of downloaded notebooks in, a summary, grades.csv and feedback out."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import nbformat
import pytest
from course.support import generate_template, make_submission, run_python

from autograders.classroom import find_submissions, summary_table
from autograders.nbgrading import CellScore, NotebookScore, split_jobs

LESSON = "06-secrets"


def test_finds_submissions_in_both_layouts(tmp_path: Path) -> None:
    for rel in ["submitted/ada/06-secrets/06-secrets.ipynb",
                "submitted/bob/06-secrets/06-secrets.ipynb",
                "submitted/bob/notes/unrelated.ipynb"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}")
    subs = find_submissions(tmp_path, ["06-secrets", "07-resources-scheduling"])
    assert [(s.student, s.lesson) for s in subs] == [("ada", LESSON), ("bob", LESSON)]
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "carol_06-secrets.ipynb").write_text("{}")
    (flat / "07-resources-scheduling - dan.ipynb").write_text("{}")
    subs = find_submissions(flat, ["06-secrets", "07-resources-scheduling"])
    assert [(s.student, s.lesson) for s in subs] == [("carol", LESSON),
                                                     ("dan", "07-resources-scheduling")]


def test_summary_table_lines_up_students_and_lessons() -> None:
    scores = [NotebookScore("ada", LESSON, LESSON, 11, 11, [CellScore("t", 11, 11)]),
              NotebookScore("bob", LESSON, LESSON, 3.5, 11, [CellScore("t", 3.5, 11)])]
    table = summary_table(scores, [LESSON])
    rows = [line.split() for line in table.splitlines()]
    assert rows == [["student", "06", "total"], ["ada", "11/11", "11/11"],
                    ["bob", "3.5/11", "3.5/11"]]
    starts = {line.index(cell) for line, cell in zip(table.splitlines(), ["06", "11/11", "3.5/11"],
                                                      strict=True)}
    assert len(starts) == 1  # columns line up


@pytest.mark.notebooks
@pytest.mark.timeout(900)
def test_grades_a_zipped_class(tmp_path: Path) -> None:
    template = generate_template(tmp_path / "template", [LESSON])
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for student, blank in (("ada", False), ("bob", True)):
            nb = make_submission(LESSON, template / "release", blank=blank)
            z.writestr(f"{student}/{LESSON}.ipynb", nbformat.writes(nb))
    out = tmp_path / "grades"
    stdout = run_python("import sys; from autograders.classroom import main;"
                        "sys.exit(main(sys.argv[1:]))", str(archive), "--out", str(out))
    lines = stdout.splitlines()
    assert lines[0].split() == ["student", "06", "total"]
    assert lines[1].split()[0] == "ada" and lines[1].split()[1] == "11/11"
    assert lines[2].split()[0] == "bob" and lines[2].split()[1] == "0/11"
    with open(out / "grades.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["student"], r["score"]) for r in rows] == [("ada", "11"), ("bob", "0")]
    page = (out / "feedback" / "bob" / f"{LESSON}.html").read_text()
    assert "there is no secret app-secret" in page and "kubectl create secret generic" in page
    hidden_page = (out / "feedback" / "ada" / f"{LESSON}.html").read_text()
    assert "it is a generic (Opaque) Secret" in hidden_page  # a hidden check, by its name
    for code in ("ex.add(", "checks.", "BEGIN HIDDEN"):
        assert code not in page and code not in hidden_page


def test_a_class_handing_in_one_lesson_is_dealt_over_every_worker() -> None:
    class_of_30 = {f"s{i:02d}": Path(f"s{i:02d}.ipynb") for i in range(30)}
    jobs = split_jobs({LESSON: class_of_30, "07-resources-scheduling": {"ada": Path("a")}},
                      workers=4)
    assert list(jobs)[:4] == [f"{LESSON}.part{i}" for i in range(4)]  # the big lesson first
    assert [len(j.submissions) for j in jobs.values()] == [8, 8, 7, 7, 1]
    assert {j.lesson for j in jobs.values()} == {LESSON, "07-resources-scheduling"}
    dealt = [s for j in jobs.values() if j.lesson == LESSON for s in j.submissions]
    assert sorted(dealt) == sorted(class_of_30)  # each submission exactly once
    assert jobs["07-resources-scheduling"].submissions == {"ada": Path("a")}
    assert list(split_jobs({LESSON: class_of_30}, workers=1)) == [LESSON]
