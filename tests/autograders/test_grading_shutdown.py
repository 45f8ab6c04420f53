"""How ``kubelab grade`` stops a submission's kernel: kubelab's exit hook first (the
``kubectl port-forward`` processes ``open_app`` started in their own sessions), then at once,
without waiting for the interpreter to tear its modules down (autograders.outside)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from course.support import REPO, run_python

LESSON = "00-exit"

# A stand-in for a port-forward: a long sleep in its own session, registered where
# kubelab.browse keeps the kernel's port-forwards.
FORWARD = """
import subprocess
import kubelab.browse as browse
proc = subprocess.Popen(["sleep", "600"], start_new_session=True, text=True)
browse._forwards[("kubeconfig", "", "default", "web", 80)] = browse._Forward(proc, 1)
with open(PIDFILE, "w") as f:
    f.write(str(proc.pid))
x = 2
"""


def _course(root: Path, pidfile: Path) -> Path:
    (root / "source" / LESSON).mkdir(parents=True)
    shutil.copyfile(REPO / "course" / "nbgrader_config.py", root / "nbgrader_config.py")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    work = nbformat.v4.new_code_cell(FORWARD.replace("PIDFILE", repr(str(pidfile))))
    test = nbformat.v4.new_code_cell("assert x == 2")
    test.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                 "task": False, "grade_id": "test", "points": 1,
                                 "schema_version": 3}
    nb.cells = [work, test]
    nbformat.write(nb, str(root / "source" / LESSON / f"{LESSON}.ipynb"))
    return root


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


@pytest.mark.notebooks
@pytest.mark.timeout(600)
def test_the_kernels_port_forwards_are_stopped_before_it_is(tmp_path: Path) -> None:
    pidfile = tmp_path / "forward.pid"
    course = _course(tmp_path / "course", pidfile)
    out = run_python(
        "import sys, json; from pathlib import Path\n"
        "from autograders.nbgrading import generate_release, grade_lesson\n"
        "course, work = Path(sys.argv[1]), Path(sys.argv[2])\n"
        "generate_release(course, work / 'template', [sys.argv[3]])\n"
        "nb = work / 'template' / 'release' / sys.argv[3] / (sys.argv[3] + '.ipynb')\n"
        "scores = grade_lesson(work / 'template', work / 'grading', sys.argv[3],"
        " {'student': nb}, drop_privileges=False)\n"
        "print(json.dumps([s.score for s in scores]))\n",
        str(course), str(tmp_path / "work"), LESSON)
    assert json.loads(out.strip().splitlines()[-1]) == [1.0]
    pid = int(pidfile.read_text())
    assert not _running(pid), "the kernel's port-forward outlived it"
