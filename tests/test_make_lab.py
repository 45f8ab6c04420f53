"""``make lab``, the README's first command, from a clean clone: lesson 1 is served from the
student's git-ignored working copy, the sandbox it started answers with 4 Ready nodes, and
Ctrl-C (SIGINT to the terminal's process group) stops everything it started.

The clone reuses this checkout's virtualenv (``make lab VENV=…``) instead of a 3-minute PyPI
install, and runs the clone's own code (``PYTHONPATH``); everything else — HOME, the sandbox's
state, Jupyter's config/data/runtime dirs — is the test's own. Jupyter's port, token and "no
browser" come from a config file in the test's JUPYTER_CONFIG_DIR, so the command line stays
exactly the README's.

The unit tests below pin the working-copy rule: made on first run, later runs copy in only
new files and never replace one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_support import wait_for_jupyter

from kubelab import lab

REPO = Path(__file__).resolve().parents[1]
VENV = Path(sys.prefix)
LESSON = "01-cluster-and-architecture/01-cluster-and-architecture.ipynb"
NOBODY = 65534


# -- the working copy (pure rule + file I/O) -------------------------------------------------

def test_files_to_copy_never_names_a_present_file() -> None:
    released = [Path("01/01.ipynb"), Path("02/02.ipynb"), Path("01/.ipynb_checkpoints/x.ipynb")]
    assert lab.files_to_copy(released, set()) == [Path("01/01.ipynb"), Path("02/02.ipynb")]
    assert lab.files_to_copy(released, {Path("01/01.ipynb")}) == [Path("02/02.ipynb")]


def test_working_copy_is_made_once_and_only_gains_new_lessons(tmp_path: Path) -> None:
    released, work = tmp_path / "notebooks", tmp_path / "my-notebooks"
    (released / "01-a").mkdir(parents=True)
    (released / "01-a" / "01-a.ipynb").write_text("released 1")
    assert lab.sync_working_copy(released, work) == [Path("01-a/01-a.ipynb")]
    assert lab.first_lesson(work) == Path("01-a/01-a.ipynb")

    (work / "01-a" / "01-a.ipynb").write_text("my answers")
    (released / "01-a" / "01-a.ipynb").write_text("released 1, revised")
    (released / "02-b").mkdir()
    (released / "02-b" / "02-b.ipynb").write_text("released 2")
    assert lab.sync_working_copy(released, work) == [Path("02-b/02-b.ipynb")]
    assert (work / "01-a" / "01-a.ipynb").read_text() == "my answers"
    assert (work / "02-b" / "02-b.ipynb").read_text() == "released 2"
    assert lab.sync_working_copy(released, work) == []


def test_jupyter_command_is_loopback_and_allows_root_only_for_root(tmp_path: Path) -> None:
    cmd = lab.jupyter_command(tmp_path, Path(LESSON), as_root=False)
    assert "--ServerApp.ip=127.0.0.1" in cmd and "--allow-root" not in cmd
    assert cmd[-1] == LESSON and f"--ServerApp.root_dir={tmp_path}" in cmd
    assert "--allow-root" in lab.jupyter_command(tmp_path, None, as_root=True)


# -- make lab from a clean clone -------------------------------------------------------------

def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _processes_with(marker: str) -> dict[int, str]:
    """Processes whose environment holds ``marker`` (everything `make lab` started has it)."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes().split(b"\0"):
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(
                    b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
    return found


@pytest.fixture(params=["invoking-user", "non-root"])
def workspace(request: pytest.FixtureRequest) -> Iterator[tuple[Path, list[str]]]:
    """A temp dir for the clone and its HOME, and the prefix that runs `make` as its user."""
    prefix: list[str] = []
    if request.param == "non-root":
        if os.geteuid() != 0:
            pytest.skip("already non-root: the invoking-user run covers it")
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("setpriv (util-linux) is needed to run make lab as a non-root user")
        prefix = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
        probe = subprocess.run([*prefix, "env", str(VENV / "bin" / "python"), "-c", "pass"],
                               capture_output=True, text=True, check=False)
        if probe.returncode != 0:
            pytest.skip(f"this virtualenv's Python cannot run as uid {NOBODY}: "
                        f"{probe.stderr.strip()[:200]}")
    root = Path(tempfile.mkdtemp(prefix="kubelab-make-lab-"))
    try:
        yield root, prefix
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_make_lab_from_a_clean_clone(workspace: tuple[Path, list[str]]) -> None:
    tmp, as_user = workspace
    if not (VENV / "bin" / "kubelab").exists() or shutil.which("make") is None:
        pytest.skip("needs make and this checkout's virtualenv")
    clone = tmp / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True, timeout=60)
    # `make lab` first brings the venv up to date with pyproject.toml; with VENV pointing at
    # this checkout's venv that would reinstall it from the clone. `make test` keeps the venv
    # current in CI; a stale venv here means an uncommitted pyproject change.
    if subprocess.run(["make", "-q", "venv", f"VENV={VENV}"], cwd=clone,
                      capture_output=True, check=False).returncode != 0:
        pytest.skip("the virtualenv is older than the committed pyproject.toml: run `make venv`")

    home, state = tmp / "home", tmp / "state"
    token = f"make-lab-{os.getpid()}"
    (home / ".jupyter").mkdir(parents=True)
    (home / ".jupyter" / "jupyter_server_config.json").write_text(json.dumps({
        "ServerApp": {"open_browser": False, "port": 0, "port_retries": 0},
        "IdentityProvider": {"token": token}}))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KUBE", "JUPYTER", "VIRTUAL_ENV", "PYTHON", "MAKE", "IPYTHON"))}
    env.update(HOME=str(home), KUBELAB_STATE_DIR=str(state),
               JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
               JUPYTER_DATA_DIR=str(home / ".local/share/jupyter"),
               JUPYTER_RUNTIME_DIR=str(home / ".local/share/jupyter/runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(home / ".jupyter/lab/user-settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / ".jupyter/lab/workspaces"),
               IPYTHONDIR=str(home / ".ipython"),
               PYTHONPATH=f"{clone / 'src'}{os.pathsep}{clone}")
    if as_user:
        subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", str(tmp)], check=True)
        tmp.chmod(0o755)
    which = subprocess.run([*as_user, str(VENV / "bin" / "python"), "-c",
                            "import kubelab; print(kubelab.__file__)"],
                           env=env, capture_output=True, text=True, check=True)
    assert which.stdout.startswith(str(clone)), which.stdout  # the clone's code runs

    marker = f"KUBELAB_STATE_DIR={state}"
    log = tmp / "make-lab.log"
    started = time.monotonic()
    with open(log, "wb") as out:
        make = subprocess.Popen([*as_user, "make", "lab", f"VENV={VENV}"], cwd=clone, env=env,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        runtime = home / ".local/share/jupyter/runtime"
        base = wait_for_jupyter(runtime, token, lambda: make.poll() is None,
                                timeout=max(1.0, 120 - (time.monotonic() - started)))
        assert base is not None, log.read_text()[-4000:]
        port = int(base.rsplit(":", 1)[1].split("/")[0])
        with urllib.request.urlopen(f"{base}/api/contents/{LESSON}?content=1&token={token}",
                                    timeout=30) as response:
            served = json.loads(response.read())
        served_after = time.monotonic() - started
        assert served is not None, log.read_text()[-4000:]
        assert served["type"] == "notebook" and served["content"]["cells"]
        print(f"make lab → lesson 1 served in {served_after:.1f} s")

        # The student's copy, not the git-tracked notebooks/, and git does not see it.
        assert (clone / "my-notebooks" / LESSON).is_file()
        status = subprocess.run(["git", "-c", "safe.directory=*", "status", "--porcelain"],
                                cwd=clone, capture_output=True, text=True, check=True)
        assert status.stdout == "", status.stdout

        kubeconfig = state / "kubeconfig"
        ready: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            nodes = subprocess.run(
                [str(VENV / "bin" / "kubectl"), "--kubeconfig", str(kubeconfig),
                 "--cache-dir", str(tmp / "kubectl-cache"), "get", "nodes", "--no-headers"],
                capture_output=True, text=True, check=False, timeout=30)
            ready = [line for line in nodes.stdout.splitlines() if line.split()[1] == "Ready"]
            if len(ready) == 4:
                break
            time.sleep(0.5)
        assert len(ready) == 4, nodes.stdout + nodes.stderr

        # A kernel, as opening the lesson starts one: Ctrl-C must stop it too.
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/kernels", data=b"{}", method="POST",
            headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 201

        mine = _processes_with(marker)
        assert any("ipykernel_launcher" in cmd for cmd in mine.values()), mine
        sandbox_port = json.loads((state / "server.json").read_text())["port"]
        assert any("kubelab.sandbox" in cmd and "serve" in cmd for cmd in mine.values()), mine
        assert any("jupyterlab" in cmd for cmd in mine.values()), mine
        assert _port_open(port) and _port_open(sandbox_port)

        # Ctrl-C in the terminal: SIGINT to the foreground process group.
        interrupted = time.monotonic()
        os.killpg(make.pid, signal.SIGINT)
        make.wait(timeout=90)
        stopped_after = time.monotonic() - interrupted
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()
        leftovers = _processes_with(marker)
        for pid in leftovers:  # only processes this test's `make lab` started
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    text = log.read_text()
    print(f"Ctrl-C → everything stopped in {stopped_after:.1f} s")
    assert leftovers == {}, f"still running after Ctrl-C: {leftovers}\n{text[-3000:]}"
    assert not _port_open(port) and not _port_open(sandbox_port)
    assert "JupyterLab stopped." in text and "Sandbox stopped." in text, text[-3000:]
