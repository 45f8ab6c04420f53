"""notebooks/ is exactly what nbgrader generates from course/source, and leaks nothing."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from course.support import REPO, lessons, run_python

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
        assert any("# YOUR CODE HERE" in "".join(c["source"]) for c in nb["cells"])
        assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")
