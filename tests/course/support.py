"""Helpers for the course tests: build submissions, run nbgrader and nbclient out of process.

nbgrader and nbclient start kernels and import Jupyter machinery whose deprecation warnings
would trip pytest's ``filterwarnings = error``, so they run in child processes and report
JSON back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat

REPO = Path(__file__).resolve().parents[2]
COURSE = REPO / "course"
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def lessons() -> list[str]:
    return sorted(p.name for p in (COURSE / "source").iterdir()
                  if p.is_dir() and (p / f"{p.name}.ipynb").exists())


def run_python(code: str, *args: str, env: dict[str, str] | None = None,
               timeout: float = 900) -> str:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=timeout, env=env, check=False, cwd=REPO)
    if proc.returncode != 0:
        raise AssertionError(f"child process failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return proc.stdout


def generate_template(work: Path, names: list[str]) -> Path:
    """A course copy where ``generate_assignment`` ran for ``names``; returns ``work``."""
    run_python("import sys, json; from pathlib import Path;"
               "from autograders.nbgrading import generate_release;"
               "generate_release(Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3]))",
               str(COURSE), str(work), json.dumps(names))
    return work


def solution_text(source: str) -> str:
    return "\n".join(line for line in source.splitlines() if line.strip() not in MARKERS)


def make_submission(lesson: str, release: Path, answers: dict[str, str | None] | None = None,
                    edits: dict[str, list[tuple[str, str]]] | None = None,
                    blank: bool = False) -> Any:
    """The release notebook with answer cells filled in, as a student would submit it.

    By default every answer is the instructor's solution; ``answers`` replaces some (a
    ``None`` value keeps the solution, to which ``edits`` then apply text replacements).
    """
    source = nbformat.read(str(COURSE / "source" / lesson / f"{lesson}.ipynb"), 4)
    solutions = {c.metadata["nbgrader"]["grade_id"]: solution_text(c.source)
                 for c in source.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    nb = nbformat.read(str(release / lesson / f"{lesson}.ipynb"), 4)
    if blank:
        return nb
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not meta.get("solution"):
            continue
        gid = meta["grade_id"]
        text = solutions[gid]
        if answers and answers.get(gid) is not None:
            text = answers[gid] or ""
        for old, new in (edits or {}).get(gid, []):
            assert old in text, f"{lesson}/{gid}: edit target not found: {old!r}"
            text = text.replace(old, new)
        cell.source = text
    return nb


def execute(notebook: Path, state_dir: Path) -> list[dict[str, Any]]:
    """Run a notebook with nbclient on the sandbox in ``state_dir``; returns its problem outputs.

    The kernel finds the sandbox as a learner's does (``connect()`` reuses the running sandbox
    of ``KUBELAB_STATE_DIR``), so sandbox-only cells such as fault injection run too.
    """
    return list(run_all(notebook, state_dir)["bad"])


def run_all(notebook: Path, state_dir: Path) -> dict[str, Any]:
    """Run All, as JupyterLab's menu does, with nbclient on the sandbox in ``state_dir``.

    Returns ``bad`` (every error output and stderr stream, with its cell), ``last_ran``
    (whether the last code cell got an execution count) and ``graded`` (grade id → the
    first line of the check report each graded cell displayed, and its points).
    """
    code = """
import json, sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], 4)
NotebookClient(nb, timeout=180, kernel_name="python3", allow_errors=True).execute()
bad, graded = [], {}
for cell in nb.cells:
    for out in cell.get("outputs", []):
        if out.output_type == "error" or (out.output_type == "stream" and out.name == "stderr"):
            bad.append({"cell": cell.source[:200], "output": out.get("text") or "\\n".join(out.get("traceback", []))[-2000:]})
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if meta.get("grade"):
        texts = [o.data["text/plain"] for o in cell.get("outputs", [])
                 if o.output_type == "display_data" and "application/vnd.kubelab.checks+json" in o.get("data", {})]
        values = [o.data.get("text/plain") for o in cell.get("outputs", []) if o.output_type == "execute_result"]
        graded[meta["grade_id"]] = {"points": meta.get("points"), "report": texts[0].splitlines()[0] if texts else None,
                                    "value": values[0] if values else None}
code = [c for c in nb.cells if c.cell_type == "code"]
print(json.dumps({"bad": bad, "graded": graded, "last_ran": code[-1].get("execution_count") is not None}))
"""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NBGRADER", "KUBELAB_KUBECONFIG", "KUBELAB_CONTEXT"))}
    env["KUBELAB_STATE_DIR"] = str(state_dir)
    for attempt in range(3):
        try:
            out = run_python(code, str(notebook), env=env)
            break
        except AssertionError as err:
            # Kernels started side by side can race for a TCP port (jupyter_client picks
            # free ports before the kernel binds them); only that is retried.
            if "Kernel died before replying" not in str(err) or attempt == 2:
                raise
    return dict(json.loads(out.strip().splitlines()[-1]))
