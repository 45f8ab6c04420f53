"""binder/ works from scratch: its pinned requirements install into a fresh virtualenv,
postBuild leaves only the student-facing nbgrader extensions on, and start launches the
sandbox before handing over to the server command (a stub here), which finds it answering.

Slow (a full install, from pip's cache when warm), so marked ``slow``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

STUB = """
import os, shutil, subprocess, sys
kubectl = shutil.which("kubectl")
assert kubectl and kubectl.startswith(sys.argv[1]), kubectl
out = subprocess.run([kubectl, "get", "--raw", "/readyz"], capture_output=True, text=True)
nodes = subprocess.run([kubectl, "get", "nodes", "-o", "name"], capture_output=True, text=True)
print("READYZ", out.stdout.strip(), "NODES", len(nodes.stdout.split()))
"""


def test_pins_are_exact() -> None:
    for line in (BINDER / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and line != ".":
            assert "==" in line and not any(op in line for op in "<>~*"), line
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"
    for script in ("postBuild", "start"):
        assert os.access(BINDER / script, os.X_OK)
    assert (BINDER / "start").read_text().rstrip().endswith('exec "$@"')


def test_binder_installs_and_start_launches_the_sandbox(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bindir = env_dir / "bin"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("VIRTUAL_ENV", "KUBECONFIG", "KUBELAB", "NBGRADER", "PYTHON"))}
    env.update(PATH=f"{bindir}{os.pathsep}{env['PATH']}", HOME=str(tmp_path / "home"),
               PIP_CACHE_DIR=os.environ.get("PIP_CACHE_DIR",
                                            str(Path.home() / ".cache" / "pip")),
               KUBELAB_STATE_DIR=str(tmp_path / "state"), TMPDIR=str(tmp_path))
    (tmp_path / "home").mkdir()

    def run(*cmd: str, timeout: float = 1200) -> str:
        proc = subprocess.run(list(cmd), cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        assert proc.returncode == 0, f"{cmd}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        return proc.stdout + proc.stderr

    run(str(bindir / "python"), "-m", "pip", "install", "-q", "-r",
        str(BINDER / "requirements.txt"))
    run(str(bindir / "python"), "-m", "pip", "check")

    run("bash", str(BINDER / "postBuild"))
    labext = run(str(bindir / "jupyter"), "labextension", "list")
    assert "@jupyter/nbgrader:formgrader" in labext
    serverext = run(str(bindir / "jupyter"), "server", "extension", "list")
    enabled = [line for line in serverext.splitlines() if "nbgrader" in line and "enabled" in line]
    assert len(enabled) == 1 and "validate_assignment" in enabled[0], serverext
    assert (tmp_path / "home" / ".jupyter" / "nbgrader_config.py").exists()

    try:
        out = run(str(BINDER / "start"), str(bindir / "python"), "-c", STUB, str(bindir),
                  timeout=120)
        assert "READYZ ok" in out and "NODES 4" in out, out
    finally:
        subprocess.run([str(bindir / "kubelab"), "sandbox", "stop"], env=env, check=False,
                       capture_output=True, timeout=60)


def test_environment_yml_uses_the_binder_pins() -> None:
    text = (REPO / "environment.yml").read_text()
    assert "python=3.11" in text and "-r binder/requirements.txt" in text
    assert sys.version_info >= (3, 11)
