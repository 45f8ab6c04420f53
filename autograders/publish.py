"""``kubelab publish DEST``: the students' repository — everything they need, no answers.

Why: Binder (repo2docker) puts the whole repository in the student's home, so whatever the
course repository holds, a student can open. The instructor's repository holds
``course/source`` (solutions between nbgrader's markers), the tests (wrong-answer variants
built from the solutions) and the grading tools. The published tree holds only what a
student runs:

* ``notebooks/`` — the student versions ``make release`` generates (nbgrader's
  ``generate_assignment`` removes solutions and hidden tests);
* the package — ``src/kubelab`` and the ``autograders`` package *without* the instructor's
  tools (:data:`INSTRUCTOR_ONLY`: release, grading a class, this module). What ships of the
  autograders is what a self-check runs: the public checks, whose expected values are the
  lesson's stated task or are read from the student's own cluster at check time, and hint
  ladders whose last step shows the form of a command, never the filled-in answer;
* ``binder/``, ``pyproject.toml``, the licence and ``environment.yml``;
* a short students' README: how to start on Binder (a badge for ``--repo OWNER/REPO``, the
  published repository) or locally.

:func:`leaks` names every file of a tree that holds nbgrader's solution or hidden-test markers,
so the command refuses to finish a tree that would give answers away.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Top-level entries copied as they are.
SHIPPED = ("notebooks", "src", "autograders", "binder", "pyproject.toml", "LICENSE",
           "environment.yml")
# Modules of the autograders package that are the instructor's tools, not the students'.
INSTRUCTOR_ONLY = ("release.py", "nbgrading.py", "classroom.py", "outside.py", "publish.py")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".ipynb_checkpoints",
                                 ".mypy_cache", ".ruff_cache", "build", "dist")
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS",
           "### END HIDDEN TESTS")
FIRST_LESSON = "01-cluster-and-architecture"


def binder_badge(repo: str | None, ref: str = "main", lesson: str = FIRST_LESSON) -> str:
    """The README's Binder badge for the published repository ``OWNER/REPO``."""
    from kubelab.binder_link import binder_url

    url = binder_url(repo or "OWNER/REPO", ref, lesson)
    return f"[![Binder](https://mybinder.org/badge_logo.svg)]({url})"


def students_readme(repo: str | None, ref: str) -> str:
    clone = f"https://github.com/{repo}" if repo else "<this repository's address>"
    return f"""# kubelab — learn Kubernetes hands-on

{binder_badge(repo, ref)}

Jupyter notebooks with a Kubernetes cluster already running, the real `kubectl`, live
diagrams of the control plane and the workers, and a self-check for every exercise.

## On Binder

Click the badge: JupyterLab opens on lesson 1 with a cluster already running. Run the cells
from the top — the first cell of every lesson connects to the cluster.

- `%kubectl …` runs the real `kubectl` against your cluster; in a terminal, plain `kubectl`
  works too.
- Every exercise has a **self-check** cell: it says what is right, what is wrong, and a hint
  (run it again for a fuller hint). The graded cell after it shows your points — the same
  checks, so all ✓ means full marks.
- **Validate** (toolbar) re-runs the whole notebook on a fresh cluster, as your instructor's
  grader will. Make your cells safe to run twice (`kubectl apply`).
- Binder sessions end after about 10 idle minutes and forget everything: download your
  notebook (File → Download) to keep or hand it in.

## On your own machine

With Python ≥ 3.11:

```bash
git clone {clone} kubelab && cd kubelab
python3 -m venv .venv && .venv/bin/pip install -e ".[course]"
.venv/bin/kubelab lab
```

`kubelab lab` starts the cluster and JupyterLab on lesson 1 of your working copy,
`my-notebooks/` (copied from `notebooks/` once, never overwritten). Ctrl-C stops both.

Lessons: 01 the cluster and its architecture · 02 pods, deployments and scaling · 03 services
· 04 rolling update and rollback · 05 health checks · 06 secrets · 07 resources and scheduling
· 08 a web API · 09 self-healing under node failure · 10 namespaces, labels, ConfigMaps and a
ResourceQuota.
"""


def _text_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and ".git" not in path.relative_to(root).parts:
            yield path


def leaks(root: Path) -> list[str]:
    """Files under ``root`` holding nbgrader's solution or hidden-test markers."""
    found = []
    for path in _text_files(root):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if any(marker in text for marker in MARKERS):
            found.append(str(path.relative_to(root)))
    return found


def publish(dest: Path, repo: str | None = None, ref: str = "main",
            source: Path = REPO) -> Path:
    """Write the students' tree to ``dest`` (which must not exist or be empty)."""
    if dest.exists() and any(dest.iterdir()):
        raise ValueError(f"{dest} is not empty")
    dest.mkdir(parents=True, exist_ok=True)
    for name in SHIPPED:
        src = source / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=IGNORED)
        elif src.is_file():
            shutil.copy2(src, dest / name)
    for module in INSTRUCTOR_ONLY:
        (dest / "autograders" / module).unlink(missing_ok=True)
    (dest / "README.md").write_text(students_readme(repo, ref), encoding="utf-8")
    bad = leaks(dest)
    if bad:
        raise RuntimeError(f"the published tree would hold answers: {', '.join(bad)}")
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="kubelab publish",
        description="Write the students' repository (notebooks, package, binder/, README) "
                    "with no solutions, hidden tests or instructor tools.")
    parser.add_argument("dest", type=Path, help="an empty or new directory")
    parser.add_argument("--repo", help="OWNER/REPO of the published repository (the Binder "
                                       "badge points at it)")
    parser.add_argument("--ref", default="main", help="the branch Binder builds")
    args = parser.parse_args(argv)
    try:
        out = publish(args.dest, args.repo, args.ref)
    except (ValueError, RuntimeError) as exc:
        print(f"kubelab publish: {exc}", file=sys.stderr)
        return 2
    print(f"published the students' tree to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
