"""``kubelab lab``: what ``make lab`` runs — the sandbox, then JupyterLab on lesson 1.

It plays the part a cluster's admin and a classroom's file server play: it makes sure a
cluster is up (the embedded sandbox, as ``kubelab sandbox start``), gives the student a
working copy of the lessons, and starts JupyterLab (Jupyter Server) on it, with every kernel
and terminal pointed at the sandbox through ``KUBECONFIG`` and ``PATH``.

The student's work lives outside git: ``my-notebooks/`` (git-ignored) is copied from the
released ``notebooks/`` on first run; later runs copy in only files that are new (a lesson
added by ``git pull``) and never replace an existing one, so pulling the course never
overwrites an answer.

Leaving: Ctrl-C (or SIGTERM/SIGHUP) stops JupyterLab — which shuts its kernels down — and the
sandbox, if this command started it; a sandbox that was already running keeps running and
the message says how to stop it. JupyterLab runs in its own session so that the terminal's
Ctrl-C reaches only this process, which then stops things in order, instead of
JupyterLab's "Shutdown this Jupyter server (y/[n])?" prompt.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from types import FrameType

RELEASED = "notebooks"
WORKING_COPY = "my-notebooks"
SKIPPED_PARTS = frozenset({".ipynb_checkpoints", "__pycache__", ".DS_Store"})
STOP_TIMEOUT = 30.0


def files_to_copy(released: Iterable[Path], present: set[Path]) -> list[Path]:
    """Relative paths of released files the working copy lacks (never one it has)."""
    return sorted(rel for rel in released
                  if rel not in present and not SKIPPED_PARTS.intersection(rel.parts))


def _relative_files(root: Path) -> set[Path]:
    if not root.is_dir():
        return set()
    return {path.relative_to(root) for path in root.rglob("*") if path.is_file()}


def sync_working_copy(released: Path, work: Path) -> list[Path]:
    """Copy the released notebooks the working copy does not have yet; return them."""
    copied = files_to_copy(_relative_files(released), _relative_files(work))
    for rel in copied:
        target = work / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(released / rel, target)
    return copied


def first_lesson(root: Path) -> Path | None:
    """``NN-name/NN-name.ipynb`` of the first lesson folder (sorted), relative to root."""
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        notebook = folder / f"{folder.name}.ipynb"
        if notebook.is_file():
            return notebook.relative_to(root)
    return None


def jupyter_command(root: Path, open_path: Path | None, *, as_root: bool) -> list[str]:
    """JupyterLab on 127.0.0.1 only, rooted at ``root`` (a browser opens ``open_path``)."""
    cmd = [sys.executable, "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.root_dir={root}"]
    if as_root:
        cmd.append("--allow-root")
    if open_path is not None:
        # Jupyter resolves a file argument against its working directory (the root here).
        cmd.append(str(open_path))
    return cmd


class _Signals:
    """Remember the first stop request; a second one means 'stop now'."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="kubelab lab",
        description="Start the sandbox and JupyterLab on your working copy of the lessons "
                    "(run it from the course checkout). Ctrl-C stops both.")
    parser.add_argument("--instructor", action="store_true",
                        help="JupyterLab on course/ with nbgrader's instructor tools "
                             "(formgrader, create assignment) turned on")
    parser.add_argument("--course", type=Path, default=Path.cwd(),
                        help="the course checkout (default: the current directory)")
    args = parser.parse_args(argv)

    from kubelab import labsetup
    from kubelab.sandbox import daemon

    course = args.course.resolve()
    released = course / RELEASED
    if not released.is_dir():
        print(f"kubelab lab: no {RELEASED}/ in {course}; run it from the course checkout",
              file=sys.stderr)
        return 2
    try:
        labsetup.apply(instructor=args.instructor)
    except PermissionError as err:
        # A shared, read-only environment keeps whatever setup its owner gave it.
        print(f"kubelab lab: could not write the JupyterLab setup ({err}); continuing",
              file=sys.stderr)
    if args.instructor:
        root, open_path = course / "course", None
        print("Instructor setup: nbgrader's formgrader and create-assignment are on "
              "(`make lab` turns them off again).")
    else:
        root = course / WORKING_COPY
        copied = sync_working_copy(released, root)
        open_path = first_lesson(root)
        print(f"Your notebooks: {root}" + (f" ({len(copied)} new files copied from "
                                           f"{RELEASED}/)" if copied else ""))

    signals = _Signals()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signals)
    state_dir = daemon.default_state_dir()
    already = daemon.running(state_dir) is not None
    try:
        info = daemon.start(state_dir)
    except RuntimeError as err:
        print(f"kubelab lab: the sandbox did not start: {err}", file=sys.stderr)
        return 1
    print(f"Sandbox {'already running' if already else 'started'} at {info.url} "
          f"(state in {state_dir})")
    bindir = str(Path(sys.executable).parent)
    env = dict(os.environ, KUBELAB_STATE_DIR=str(state_dir),
               KUBECONFIG=str(state_dir / "kubeconfig"),
               PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
    code = 0
    try:
        if signals.count:
            return 130
        print("Press Ctrl-C here to stop JupyterLab"
              + (" (the sandbox was running before and keeps running)." if already
                 else " and the sandbox."), flush=True)
        code = _serve(jupyter_command(root, open_path, as_root=os.geteuid() == 0),
                      root, env, signals)
    finally:
        if already:
            print("The sandbox keeps running (it was running before): "
                  "`kubelab sandbox stop` stops it.")
        else:
            daemon.stop(state_dir)
            print("Sandbox stopped.")
    return code


def _serve(cmd: list[str], root: Path, env: dict[str, str], signals: _Signals) -> int:
    """Run JupyterLab until it exits or a stop signal arrives; then stop it (and kernels)."""
    server = subprocess.Popen(cmd, cwd=root, env=env, stdin=subprocess.DEVNULL,
                              start_new_session=True)
    while server.poll() is None and not signals.count:
        time.sleep(0.2)
    if server.poll() is not None:
        if server.returncode:
            print(f"JupyterLab exited with code {server.returncode}.", file=sys.stderr)
        return server.returncode
    print("\nStopping JupyterLab (and its kernels)…", flush=True)
    # SIGTERM: Jupyter Server shuts its kernels and terminals down, then exits.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while server.poll() is None and time.monotonic() < deadline and signals.count < 2:
        time.sleep(0.1)
    if server.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    print("JupyterLab stopped.", flush=True)
    return 0
