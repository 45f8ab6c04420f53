"""A graded kernel of a notebook that connects starts importing the client as it starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from autograders import outside

SETUP = "from kubelab.connect import connect\ncluster = connect()"


def _notebook(*sources: str) -> dict[str, object]:
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    return dict(nb)


def test_only_notebooks_that_connect_get_the_preload() -> None:
    assert outside.uses_client(_notebook("x = 1", SETUP))
    assert not outside.uses_client(_notebook("x = 2", "assert x == 2"))
    markdown = new_notebook(cells=[nbformat.v4.new_markdown_cell("see kubelab.connect")])
    assert not outside.uses_client(dict(markdown))


def _prepared(tmp_path: Path, *sources: str) -> Path:
    grader = outside.GradeOutsideKernel()
    scratch = tmp_path / "scratch"
    scratch.mkdir(parents=True)
    grader._prepare(new_notebook(cells=[new_code_cell(s) for s in sources]),
                    {"nbgrader": {"notebook": "lesson"}}, scratch, None)
    return scratch / ".ipython" / "profile_default" / "startup" / "00-kubelab-preload.py"


def test_the_start_up_file_lies_in_the_kernels_own_folder(tmp_path: Path) -> None:
    assert _prepared(tmp_path / "a", SETUP).read_text() == outside.PRELOAD
    assert not _prepared(tmp_path / "b", "x = 2").exists()


def test_ipython_runs_it_and_the_client_api_is_imported_before_any_cell(tmp_path: Path) -> None:
    startup = _prepared(tmp_path, SETUP)
    env = dict(os.environ, IPYTHONDIR=str(startup.parents[2]))
    probe = ("import sys, kubelab.connect as k; k._preloading.join(120); "
             "print('core' if 'kubernetes.client.api.core_v1_api' in sys.modules else 'none', "
             "sorted(n for n in dir() if 'kubelab' in n))")
    proc = subprocess.run([sys.executable, "-m", "IPython", "--no-banner", "-c", probe],
                          env=env, capture_output=True, text=True, timeout=300, check=True)
    assert proc.stdout.split() == ["core", "[]"]
