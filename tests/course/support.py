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


def run_all(notebook: Path, state_dir: Path, twice: bool = False) -> dict[str, Any]:
    """Run All, as JupyterLab's menu does, with nbclient on the sandbox in ``state_dir``.

    Returns ``bad`` (every error output and stderr stream, with its cell), ``last_ran``
    (whether the last code cell got an execution count) and ``graded`` (grade id → the
    first line of the check report each graded cell displayed, and its points) and
    ``cells`` (each code cell's id, the seconds it ran and the text it showed).

    With ``twice``, every code cell but the setup cell runs a second time right after its
    first run, in the same kernel, as a learner who runs a cell again does (an undo run
    twice, an apply of a changed object, a create that already happened). ``again`` then
    lists what a second run showed and its first run did not: a kubectl error (the magic's
    "What to do" display), or a self-check or graded report with a ✗. A second pass after
    the lesson's last cell would replay the lesson on a cluster its clean-up cell emptied,
    which tests little more than the first pass did.
    """
    code = """
import copy, json, sys, nbformat
from datetime import datetime
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], 4)
if sys.argv[2] == "twice":
    doubled = []
    for cell in nb.cells:
        doubled.append(cell)
        if cell.cell_type == "code" and cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") != "setup":
            again = copy.deepcopy(cell)
            again["id"] = (cell.get("id") or "cell")[:58] + "-again"
            again.metadata["kubelab_again"] = True
            doubled.append(again)
    nb.cells = doubled
NotebookClient(nb, timeout=180, kernel_name="python3", allow_errors=True).execute()
REPORT = "application/vnd.kubelab.checks+json"
def kubectl_errors(cell):
    # The magic shows a failed kubectl command as its stderr plus "What to do: <hint>".
    texts = [o.data["text/plain"] for o in cell.get("outputs", [])
             if o.output_type == "display_data" and "\\nWhat to do: " in o.get("data", {}).get("text/plain", "")]
    return {t.splitlines()[0].split(":")[0] + " / " + t.split("What to do: ")[-1] for t in texts}
bad, graded, again = [], {}, []
for i, cell in enumerate(nb.cells):
    rerun = bool(cell.get("metadata", {}).get("kubelab_again"))
    for out in cell.get("outputs", []):
        if out.output_type == "error" or (out.output_type == "stream" and out.name == "stderr"):
            bad.append({"cell": cell.source[:200], "again": rerun, "output": out.get("text") or "\\n".join(out.get("traceback", []))[-2000:]})
    if rerun:
        for err in sorted(kubectl_errors(cell) - kubectl_errors(nb.cells[i - 1])):
            again.append({"cell": cell.source[:200], "problem": "kubectl error: " + err})
        for out in cell.get("outputs", []):
            report = out.get("data", {}).get(REPORT) if out.output_type == "display_data" else None
            failed = [r["description"] + ": " + str(r["found"]) for r in (report or {}).get("results", []) if not r["passed"]]
            if failed:
                again.append({"cell": cell.source[:200], "problem": "check failed: " + "; ".join(failed)})
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if meta.get("grade"):
        texts = [o.data["text/plain"] for o in cell.get("outputs", [])
                 if o.output_type == "display_data" and "application/vnd.kubelab.checks+json" in o.get("data", {})]
        values = [o.data.get("text/plain") for o in cell.get("outputs", []) if o.output_type == "execute_result"]
        graded[meta["grade_id"]] = {"points": meta.get("points"), "report": texts[0].splitlines()[0] if texts else None,
                                    "value": values[0] if values else None}
code = [c for c in nb.cells if c.cell_type == "code"]
def took(cell):
    t = cell.get("metadata", {}).get("execution", {})
    if "iopub.execute_input" not in t or "shell.execute_reply" not in t:
        return None
    stamp = lambda key: datetime.fromisoformat(t[key].replace("Z", "+00:00"))
    return (stamp("shell.execute_reply") - stamp("iopub.execute_input")).total_seconds()
cells = [{"id": c.get("id"), "seconds": took(c),
          "text": "\\n".join(o.get("text") or o.get("data", {}).get("text/plain", "") for o in c.get("outputs", []))[-3000:]}
         for c in code]
print(json.dumps({"bad": bad, "graded": graded, "again": again, "cells": cells,
                  "last_ran": code[-1].get("execution_count") is not None}))
"""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NBGRADER", "KUBELAB_KUBECONFIG", "KUBELAB_CONTEXT"))}
    env["KUBELAB_STATE_DIR"] = str(state_dir)
    for attempt in range(3):
        try:
            out = run_python(code, str(notebook), "twice" if twice else "once", env=env)
            break
        except AssertionError as err:
            # Kernels started side by side can race for a TCP port (jupyter_client picks
            # free ports before the kernel binds them); only that is retried.
            raced = ("Kernel died before replying" in str(err)
                     or "Address already in use" in str(err))
            if not raced or attempt == 2:
                raise
    return dict(json.loads(out.strip().splitlines()[-1]))
