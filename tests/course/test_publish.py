"""``kubelab publish``: the students' tree holds no answers, and its notebooks run.

The tree is what Binder puts in a student's home, so the test reads it as a student could:
every text file is searched for nbgrader's solution and hidden-test markers and for the
solution lines themselves, taken from the instructor notebooks in ``course/source``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sandbox_support import start_sandbox

from autograders.publish import INSTRUCTOR_ONLY, MARKERS, leaks, publish
from course.support import COURSE, run_all

LESSON = "01-cluster-and-architecture"


YAML_FIELD = re.compile(r"^-?\s*[\w.\"-]+:\s*\S*$")  # one manifest field, e.g. "kind: Pod"


def solution_lines() -> dict[str, str]:
    """Distinctive lines of every solution (line → lesson): commands and code, without a
    manifest's single fields (``kind: Deployment``, the task's stated image) and without lines
    any lesson also shows outside its solutions (given material)."""
    inside: dict[str, str] = {}
    outside: set[str] = set()
    for path in sorted((COURSE / "source").glob("*/*.ipynb")):
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            source = "".join(cell["source"]) if isinstance(cell["source"], list) \
                else cell["source"]
            solving = False
            for raw in source.splitlines():
                line = raw.strip()
                if line == MARKERS[0]:
                    solving = True
                elif line == MARKERS[1]:
                    solving = False
                elif line:
                    line = line.lstrip("%").strip()
                    if solving:
                        inside[line] = path.parent.name
                    else:
                        outside.add(line)
    return {line: lesson for line, lesson in inside.items()
            if line not in outside and len(line) >= 16 and not YAML_FIELD.match(line)}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return publish(tmp_path_factory.mktemp("pub") / "students", repo="acme/k8s-course",
                   ref="spring")


def test_the_tree_holds_what_students_run_and_nothing_of_the_instructor(tree: Path) -> None:
    top = sorted(p.name for p in tree.iterdir())
    assert top == sorted(["LICENSE", "README.md", "autograders", "binder", "environment.yml",
                          "notebooks", "pyproject.toml", "src"])
    assert {p.name for p in (tree / "notebooks").iterdir()} \
        == {p.name for p in (COURSE / "source").iterdir() if p.is_dir()}
    shipped = {p.name for p in (tree / "autograders").glob("*.py")}
    assert shipped and not shipped & set(INSTRUCTOR_ONLY)
    readme = (tree / "README.md").read_text()
    assert "https://mybinder.org/v2/gh/acme/k8s-course/spring?urlpath=lab/tree/notebooks/" \
        f"{LESSON}/{LESSON}.ipynb" in readme
    for instructor_word in ("nbgrader", "course/source", "kubelab grade", "BEGIN"):
        assert instructor_word not in readme


def test_no_solution_or_hidden_test_text_anywhere(tree: Path) -> None:
    assert leaks(tree) == []
    answers = solution_lines()
    assert len(answers) > 40  # the solutions really were read
    found = []
    for path in sorted(tree.rglob("*")):
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        assert not any(marker in text for marker in MARKERS), path
        found += [(str(path.relative_to(tree)), line) for line in answers if line in text]
    assert found == []


def test_leaks_names_a_file_with_a_solution(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.ipynb").write_text('{"source": ["### BEGIN SOLUTION\\n"]}')
    (tmp_path / "b.py").write_text("print('fine')\n")
    assert leaks(tmp_path) == [str(Path("a") / "x.ipynb")]


def test_publish_refuses_a_non_empty_destination(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty"):
        publish(tmp_path)


def test_the_trees_package_imports_without_the_instructor_tools(tree: Path) -> None:
    env = dict(os.environ, PYTHONPATH=f"{tree / 'src'}{os.pathsep}{tree}")
    code = ("import importlib.util, json, autograders, kubelab.connect;"
            "from autograders import exercise;"
            "ex = exercise('02.deploy');"
            "print(json.dumps([autograders.__file__, kubelab.connect.__file__, len(ex.checks),"
            " True]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=tree, timeout=120, check=True)
    ag, kc, checks, no_grading = json.loads(proc.stdout.strip().splitlines()[-1])
    assert ag.startswith(str(tree)) and kc.startswith(str(tree))
    assert checks >= 4 and no_grading and not (tree / "autograders" / "nbgrading.py").exists()


@pytest.mark.notebooks
@pytest.mark.timeout(600)
def test_run_all_on_a_published_notebook(tree: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The tree's lesson 1, Run All with the tree's package first on the path, reaches the
    end on a sandbox: it connects, runs every cell, and graded cells say 'not answered'."""
    monkeypatch.setenv("PYTHONPATH", f"{tree / 'src'}{os.pathsep}{tree}")
    handle = start_sandbox(tmp_path / "sandbox", speed=50)
    try:
        result = run_all(tree / "notebooks" / LESSON / f"{LESSON}.ipynb", handle.state_dir)
    finally:
        handle.stop()
    assert result["bad"] == [] and result["last_ran"]
    assert result["graded"]
    for grade_id, cell in result["graded"].items():
        assert "not answered yet" in (cell["report"] or ""), (grade_id, cell)


def test_graded_cells_run_only_the_public_checks() -> None:
    """No hidden tests: a graded cell scores exactly the checks its self-check runs."""
    for path in sorted((COURSE / "source").glob("*/*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if not cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
                continue
            source = "".join(cell["source"])
            assert "HIDDEN" not in source and ".add(" not in source, (path.name, source)
            assert re.search(r'ex = exercise\("\d\d[a-z]?\.\w+"\)', source), (path.name, source)
