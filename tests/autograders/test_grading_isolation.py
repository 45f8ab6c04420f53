"""`kubelab grade` against a cheating submission: its kernel cannot set its own score, see the
answers, touch a classmate or write outside its folder (autograders.outside)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from course.support import generate_template, make_submission, run_python

from autograders import checks
from autograders.engine import REPORT_MIME, Check, Context
from autograders.lessons import exercise as register
from autograders.outside import Opaque, decode, grade_cell, parse_answers, parse_hint_steps

from .fakes import FakeSnapshot

LESSON = "02-pods-deployments-scaling"

# One extra cell in a blank lesson-2 notebook. It does what a cheater would: replaces the
# scoring function, looks for the gradebook (hidden tests), the instructor's source/ and the
# classmates' notebooks, rewrites those it can, writes a file outside its folder, and leaves a
# note of what it managed in a world-writable drop box so the test can read it.
CHEAT = r'''
import json, os, sys
import autograders.engine as _engine
_engine.Exercise.score = lambda self, out_of, timeout=None: out_of
_found = {"uid": os.getuid(), "cwd": os.getcwd(), "gradebooks": [], "hidden_tests": False,
          "sources": [], "rewrote": [], "outside": "not written", "parent_cwd": None}
try:
    _found["parent"] = open(f"/proc/{os.getppid()}/cmdline").read().replace("\0", " ")
except OSError as exc:
    _found["parent"] = f"denied: {exc.__class__.__name__}"
try:
    _found["parent_cwd"] = os.readlink(f"/proc/{os.getppid()}/cwd")
except OSError as exc:
    _found["parent_cwd"] = f"denied: {exc.__class__.__name__}"
_roots = [ROOT]  # where grading keeps its folders (TMPDIR), and the class folder
if _found["parent_cwd"] and not _found["parent_cwd"].startswith("denied"):
    _roots.append(_found["parent_cwd"])
for _root in _roots:
    for _dir, _subdirs, _files in os.walk(_root):
        if _dir.startswith(os.getcwd()):
            continue
        for _name in _files:
            _path = os.path.join(_dir, _name)
            if _name == "gradebook.db":
                _found["gradebooks"].append(_path)
                try:
                    _found["hidden_tests"] |= b"ex.add(" in open(_path, "rb").read()
                except OSError:
                    pass
            elif _name.endswith(".ipynb"):
                if "/source/" in _path:
                    _found["sources"].append(_path)
                try:
                    with open(_path, "w") as _f:
                        _f.write("{}")
                    _found["rewrote"].append(_path)
                except OSError:
                    pass
try:
    with open(OUTSIDE, "w") as _f:
        _f.write("written by a submission")
    _found["outside"] = "written"
except OSError as exc:
    _found["outside"] = f"refused: {exc.__class__.__name__}"
with open(os.path.join(DROPBOX, f"note-{os.getpid()}.json"), "w") as _f:
    json.dump(_found, _f)
print("cheated")
'''


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A root-owned directory every user may traverse (like /tmp, unlike pytest's tmp_path)."""
    path = Path(tempfile.mkdtemp(prefix="kubelab-isolation-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _cheating_notebook(release: Path, root: Path, outside: Path, dropbox: Path) -> object:
    nb = make_submission(LESSON, release, blank=True)
    code = (CHEAT.replace("ROOT", repr(str(root))).replace("OUTSIDE", repr(str(outside)))
            .replace("DROPBOX", repr(str(dropbox))))
    nb.cells.insert(1, nbformat.v4.new_code_cell(code))
    return nb


@pytest.mark.notebooks
@pytest.mark.timeout(1200)
@pytest.mark.parametrize("jobs", [1, 2])
def test_a_cheating_submission_scores_nothing_and_harms_no_one(
        tmp_path: Path, open_dir: Path, jobs: int) -> None:
    template = generate_template(tmp_path / "template", [LESSON])
    klass = open_dir / "class"
    outside = open_dir / "outside"
    dropbox = open_dir / "dropbox"
    for d in (klass, outside, dropbox):
        d.mkdir()
    dropbox.chmod(0o1777)  # world-writable, like /tmp: where the note can be left
    # "mallory" sorts after "ada": with --jobs 1 ada is graded first, in the same worker.
    for student, nb in (("ada", make_submission(LESSON, template / "release")),
                        ("mallory", _cheating_notebook(template / "release", open_dir,
                                                       outside / "pwned.txt", dropbox))):
        target = klass / "submitted" / student / LESSON / f"{LESSON}.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(nb, str(target))
    ada_before = (klass / "submitted" / "ada" / LESSON / f"{LESSON}.ipynb").read_text()
    env = {**os.environ, "TMPDIR": str(open_dir)}  # grading folders inside a traversable dir
    out = tmp_path / "grades"
    run_python("import sys; from autograders.classroom import main;"
               "sys.exit(main(sys.argv[1:]))", str(klass), "--out", str(out),
               "--jobs", str(jobs), env=env)

    with open(out / "grades.csv") as f:
        rows = {r["student"]: r["score"] for r in csv.DictReader(f)}
    assert rows == {"ada": "11", "mallory": "0"}
    page = (out / "feedback" / "mallory" / f"{LESSON}.html").read_text()
    assert "0 of 6 points" in page and "not answered yet" in page
    assert (klass / "submitted" / "ada" / LESSON / f"{LESSON}.ipynb").read_text() == ada_before

    notes = [json.loads(p.read_text()) for p in dropbox.glob("note-*.json")]
    assert len(notes) == 1, "the cheating cell ran"
    note = notes[0]
    assert note["gradebooks"] == [] and note["hidden_tests"] is False
    assert note["sources"] == [] and note["rewrote"] == []
    assert not note["cwd"].startswith(str(tmp_path)) and LESSON not in note["cwd"]
    # With one worker for both, the kernels were forked from the worker's warm fork server
    # (autograders.forkserver); with two, each worker had one notebook and launched it anew.
    assert ("autograders.forkserver" in note["parent"]) is (jobs == 1), note["parent"]
    if os.geteuid() == 0:  # the kernel ran as a user of its own
        assert note["uid"] not in (0, os.getuid())
        assert note["parent_cwd"].startswith("denied")
        assert note["outside"].startswith("refused") and not (outside / "pwned.txt").exists()
    # Nothing of the grading is left behind, and the kernel's folder is gone.
    assert not Path(note["cwd"]).exists()
    assert sorted(p.name for p in open_dir.iterdir()) == ["class", "dropbox", "outside"]


def test_answers_round_trip_as_plain_data_and_nothing_else() -> None:
    from autograders.outside import EXPORT, MARK

    assert MARK.encode("unicode_escape").decode() in EXPORT
    raw = {"names": {"t": "list", "v": ["a", "b"]}, "pair": {"t": "tuple", "v": [1, 2.5]},
           "blank": {"t": "..."}, "flags": {"t": "dict", "v": [["on", True], [1, None]]},
           "client": {"t": "opaque", "type": "CoreV1Api"},
           "bad": {"t": "dict", "v": [[{"t": "list", "v": []}, 1]]}}
    first = json.dumps({"variables": {"x": 1}})
    last = json.dumps({"variables": raw, "hint_steps": [["02.scale", "replicas", 2], "junk"]})
    text = f"noise\n{MARK}{first}\n{MARK}{last}\n"
    assert parse_hint_steps(text) == {("02.scale", "replicas"): 2}
    answers = parse_answers(text)
    assert answers["names"] == ["a", "b"] and answers["pair"] == (1, 2.5)
    assert answers["blank"] is Ellipsis and answers["flags"] == {"on": True, 1: None}
    assert answers["client"] == Opaque("CoreV1Api") and isinstance(answers["bad"], Opaque)
    assert "x" not in answers  # the last line wins
    assert parse_answers("no answers here") == {} and parse_answers(f"{MARK}[1]") == {}
    assert parse_answers(f"{MARK}{json.dumps({'variables': [1]})}") == {}
    assert decode({"t": "set", "v": [1, 1]}) == {1}


@register("test.outside", "A test exercise graded outside the kernel")
def _greeting() -> list[Check]:
    return [checks.variable("greeting", test=lambda v: isinstance(v, str),
                            description="greeting is text")]


def test_a_graded_cell_runs_here_on_exported_values() -> None:
    def context(variables: dict[str, object]) -> Context:
        return Context(FakeSnapshot({}), variables)

    source = ('ex = exercise("test.outside")\n'
              'ex.add(checks.variable("greeting", test=lambda v: v == "Hello Kubernetes!"))\n'
              'ex.score(out_of=2, timeout=0)')
    full = grade_cell(source, {"greeting": "Hello Kubernetes!"}, context)
    assert [o.output_type for o in full] == ["display_data", "execute_result"]
    assert full[-1].data["text/plain"] == "2"
    assert full[0].data[REPORT_MIME]["score"] == 2
    half = grade_cell(source, {"greeting": "Hello"}, context)
    assert half[-1].data["text/plain"] == "1"
    wrong = grade_cell(source, {"greeting": Opaque("str subclass")}, context)
    assert wrong[-1].data["text/plain"] == "0"
    blank = grade_cell(source, {"greeting": Ellipsis}, context)
    assert blank[-1].data["text/plain"] == "0"
    assert "not answered yet" in blank[0].data["text/plain"]
    broken = grade_cell("ex = exercise('no.such')\nex.score(out_of=2)", {}, context)
    assert [o.output_type for o in broken] == ["error"]  # nbgrader scores an error 0
