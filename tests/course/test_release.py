"""notebooks/ is exactly what nbgrader generates from course/source, and leaks nothing."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import textwrap

import pytest

from course.support import COURSE, REPO, lessons, run_python

pytestmark = [pytest.mark.notebooks, pytest.mark.timeout(600)]


def test_release_check_passes() -> None:
    out = run_python("import sys; from autograders.release import main; sys.exit(main(['--check']))")
    assert "notebooks/ matches course/source." in out


def test_release_check_fails_on_a_stale_student_notebook(tmp_path: object) -> None:
    import shutil
    from pathlib import Path

    out_dir = Path(str(tmp_path)) / "notebooks"
    shutil.copytree(REPO / "notebooks", out_dir)
    first = sorted(out_dir.rglob("*.ipynb"))[0]
    nb = json.loads(first.read_text())
    nb["cells"][0]["source"] = ["# edited by hand\n"]
    first.write_text(json.dumps(nb))
    proc = subprocess.run([sys.executable, "-m", "autograders.release", "--check", "--out",
                           str(out_dir)], capture_output=True, text=True, cwd=REPO, check=False)
    assert proc.returncode == 1
    assert "differs: " + str(first.relative_to(out_dir)) in proc.stdout
    assert "edited by hand" in proc.stdout


def test_student_notebooks_hold_no_solutions_or_hidden_tests() -> None:
    names = lessons()
    assert len(names) >= 8
    for name in names:
        text = (REPO / "notebooks" / name / f"{name}.ipynb").read_text()
        for marker in ("BEGIN SOLUTION", "HIDDEN TESTS", "ex.add("):
            assert marker not in text, (name, marker)
        nb = json.loads(text)
        assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")


# Quoted in checks as object kinds ("secret"), not as variables.
KINDS = {"secret", "pod", "pods", "service", "deployment", "namespace", "node", "configmap",
         "event", "quota"}


def _assigned(source: str) -> set[str]:
    """Names a cell assigns at top level (IPython magics turned into Python first)."""
    from IPython.core.inputtransformer2 import TransformerManager

    tree = ast.parse(TransformerManager().transform_cell(source))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def test_every_answer_cell_starts_from_a_placeholder() -> None:
    """Each answer cell's student version says what to do, and every variable its solution
    sets starts as ``name = ...`` (what the checks call "not answered yet")."""
    for name in lessons():
        source = json.loads((COURSE / "source" / name / f"{name}.ipynb").read_text())
        student = json.loads((REPO / "notebooks" / name / f"{name}.ipynb").read_text())
        released = {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"])
                    for c in student["cells"] if c["metadata"].get("nbgrader", {}).get("solution")}
        for cell in source["cells"]:
            meta = cell["metadata"].get("nbgrader", {})
            if not meta.get("solution"):
                continue
            text = "".join(cell["source"])
            head, _, rest = text.partition("### BEGIN SOLUTION")
            solution = rest.partition("### END SOLUTION")[0]
            stub = released[meta["grade_id"]]
            words = [ln for ln in stub.splitlines() if ln.strip() and not ln.startswith("%%")]
            assert words, (name, meta["grade_id"], "the student version says nothing")
            placeholders = {ln.split("=")[0].strip() for ln in head.splitlines()
                            if re.match(r"^\w+ = \.\.\.  # your answer: ", ln)}
            if text.startswith("%%"):   # a manifest for a cell magic: nothing to assign
                continue
            wanted = {v for v in _assigned(textwrap.dedent(solution)) if not v.startswith("_")}
            # Only the variables the checks read by name need one, not helpers computed on
            # the way (a list of pods).
            graded = {v for v in wanted - KINDS
                      if re.search(rf"[\"']{v}[\"']", _checked_names(name))}
            assert graded <= placeholders, (name, meta["grade_id"], graded - placeholders)


def _checked_names(lesson: str) -> str:
    """The text of everything that checks a lesson: its lesson module and its test cells."""
    number = lesson.split("-")[0]   # "05b-debugging" → lesson05b.py
    module = (REPO / "autograders" / "lessons" / f"lesson{number}.py").read_text()
    nb = json.loads((COURSE / "source" / lesson / f"{lesson}.ipynb").read_text())
    tests = "".join("".join(c["source"]) for c in nb["cells"]
                    if c["metadata"].get("nbgrader", {}).get("grade"))
    return module + tests
