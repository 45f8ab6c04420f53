"""binder/ works from scratch: its pinned requirements install into a fresh virtualenv,
postBuild installs the course itself (``--no-deps``, leaving nothing behind in the student's
home, which on Binder is the repository), leaves only the student-facing nbgrader parts on
and the course's JupyterLab settings in place (read back through a running JupyterLab's REST
API), and start launches the sandbox before handing over to the server command (a stub
here), which finds it answering.

Slow (a full install, from pip's cache when warm), so marked ``slow``; the pin checks are not.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
import venv
from pathlib import Path

import pytest
from jupyter_support import wait_for_jupyter
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from kubelab import labsetup

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"

IPYKERNEL_FLOOR = Version("7.1")  # 7.0.x drops widget updates sent from threads

STUB = """
import os, shutil, subprocess, sys
kubectl = shutil.which("kubectl")
assert kubectl and kubectl.startswith(sys.argv[1]), kubectl
out = subprocess.run([kubectl, "get", "--raw", "/readyz"], capture_output=True, text=True)
nodes = subprocess.run([kubectl, "get", "nodes", "-o", "name"], capture_output=True, text=True)
print("READYZ", out.stdout.strip(), "NODES", len(nodes.stdout.split()))
"""


def _pins() -> dict[str, Version]:
    pins = {}
    for line in (BINDER / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            req = Requirement(line)
            (spec,) = req.specifier
            pins[canonicalize_name(req.name)] = Version(spec.version)
    return pins


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_pins_are_exact() -> None:
    for line in (BINDER / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            # Exact pins only, and not the local package: a requirements.txt naming "." changes
            # with every commit, so Binder would rebuild the whole dependency layer each time.
            assert re.fullmatch(r"[A-Za-z0-9._-]+==[0-9][0-9A-Za-z.]*", line), line
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"
    for script in ("postBuild", "start"):
        assert os.access(BINDER / script, os.X_OK)
    assert (BINDER / "start").read_text().rstrip().endswith('exec "$@"')
    assert "--no-deps" in (BINDER / "postBuild").read_text()


def test_every_course_dependency_is_pinned_within_pyproject_ranges() -> None:
    """postBuild installs the course with --no-deps: requirements.txt must hold them all."""
    project = _pyproject()["project"]
    pins = _pins()
    for line in project["dependencies"] + project["optional-dependencies"]["course"]:
        req = Requirement(line)
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not pinned in binder/requirements.txt"
        assert req.specifier.contains(pins[name]), f"{req.name}=={pins[name]} vs {req}"


def test_ipykernel_floor_is_the_same_everywhere() -> None:
    course = [Requirement(r) for r in _pyproject()["project"]["optional-dependencies"]["course"]]
    (ipykernel,) = [r for r in course if r.name == "ipykernel"]
    assert str(ipykernel.specifier) == f">={IPYKERNEL_FLOOR}"
    assert _pins()["ipykernel"] >= IPYKERNEL_FLOOR
    assert not ipykernel.specifier.contains("7.0.1")


def _tree(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*")}


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return bytes(response.read())


def _lab_rest_checks(bindir: Path, env: dict[str, str], root: Path) -> None:
    """What a student's browser gets from JupyterLab after postBuild, read over REST."""
    token = "binder-test"
    server = subprocess.Popen(
        [str(bindir / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", "--port=0",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", *(["--allow-root"] if os.geteuid() == 0 else [])],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        found = wait_for_jupyter(Path(env["JUPYTER_RUNTIME_DIR"]), token,
                                 lambda: server.poll() is None)
        assert found is not None, "no JupyterLab"
        base = found
        tracker = json.loads(_get(f"{base}/lab/api/settings/@jupyterlab/notebook-extension:"
                                  f"tracker?token={token}"))
        # overrides.json becomes the schema's defaults, under the user's own settings (none).
        assert tracker["schema"]["properties"]["autoStartDefaultKernel"]["default"] is True
        assert tracker["settings"] == {}
        news = json.loads(_get(f"{base}/lab/api/settings/@jupyterlab/apputils-extension:"
                               f"notification?token={token}"))
        assert news["schema"]["properties"]["fetchNews"]["default"] == "false"
        assert news["schema"]["properties"]["checkForUpdates"]["default"] is False
        locks = json.loads(_get(f"{base}/lab/api/plugins?token={token}"))
        assert set(labsetup.INSTRUCTOR_PLUGINS) <= set(locks["lockRules"]), locks
        page = _get(f"{base}/lab?token={token}").decode()
        config = json.loads(re.search(r'<script id="jupyter-config-data"[^>]*>(.*?)</script>',
                                      page, re.S).group(1))
        disabled = set(config["disabledExtensions"])
        assert set(labsetup.INSTRUCTOR_PLUGINS) <= disabled, disabled
        assert "@jupyter/nbgrader:validate-assignment" not in disabled
        # The Validate button's server side runs a notebook; the formgrader's is gone.
        nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": "a1",
                         "metadata": {}, "outputs": [], "source": "print(6 * 7)"}],
              "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                          "language": "python"}},
              "nbformat": 4, "nbformat_minor": 5}
        (root / "validate-me.ipynb").write_text(json.dumps(nb))
        request = urllib.request.Request(
            f"{base}/assignments/validate", method="POST", data=b"path=validate-me.ipynb",
            headers={"Authorization": f"token {token}",
                     "Content-Type": "application/x-www-form-urlencoded"})
        answer = json.loads(_get_request(request))
        assert answer["success"] is True, answer
        with pytest.raises(urllib.error.HTTPError) as gone:
            _get(f"{base}/formgrader?token={token}")
        gone.value.close()
        assert gone.value.code == 404
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _get_request(request: urllib.request.Request) -> bytes:
    with urllib.request.urlopen(request, timeout=60) as response:
        return bytes(response.read())


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_binder_installs_and_start_launches_the_sandbox(tmp_path: Path) -> None:
    # On Binder the repository is the student's home: work in a scratch copy of it, with
    # HOME pointing there, and list the tree before and after the build steps.
    repo = tmp_path / "repo"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True,
                             check=True).stdout.decode().split("\0")
    for name in filter(None, tracked):
        if (REPO / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, repo / name)
    before = _tree(repo)

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bindir = env_dir / "bin"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("VIRTUAL_ENV", "KUBECONFIG", "KUBELAB", "NBGRADER", "PYTHON",
                                "JUPYTER"))}
    env.update(PATH=f"{bindir}{os.pathsep}{env['PATH']}", HOME=str(repo),
               PIP_CACHE_DIR=os.environ.get("PIP_CACHE_DIR",
                                            str(Path.home() / ".cache" / "pip")),
               KUBELAB_STATE_DIR=str(tmp_path / "state"), TMPDIR=str(tmp_path),
               # rustup's command shims, where installed, write settings to $HOME/.rustup.
               RUSTUP_HOME=str(tmp_path / "rustup"))

    def run(*cmd: str, timeout: float = 1200) -> str:
        proc = subprocess.run(list(cmd), cwd=repo, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        assert proc.returncode == 0, f"{cmd}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        return proc.stdout + proc.stderr

    run(str(bindir / "python"), "-m", "pip", "install", "-q", "-r", "binder/requirements.txt")
    run("bash", "binder/postBuild")
    assert _tree(repo) == before, sorted(_tree(repo) ^ before)  # no build/, *.egg-info, ~/.x
    # --no-deps is safe only if requirements.txt already holds every dependency.
    run(str(bindir / "python"), "-m", "pip", "check")
    installed = run(str(bindir / "python"), "-c",
                    "import kubelab, autograders; print(kubelab.__file__)")
    assert str(env_dir) in installed and str(repo) not in installed  # a real install

    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")
    labext = run(str(bindir / "jupyter"), "labextension", "list")
    for plugin in labsetup.INSTRUCTOR_PLUGINS:
        assert plugin in labext, labext
    serverext = run(str(bindir / "jupyter"), "server", "extension", "list")
    enabled = [line for line in serverext.splitlines() if "nbgrader" in line and "enabled" in line]
    assert len(enabled) == 1 and "validate_assignment" in enabled[0], serverext
    assert (env_dir / "etc" / "jupyter" / "nbgrader_config.py").exists()
    _lab_rest_checks(bindir, env, repo)

    try:
        out = run(str(repo / "binder" / "start"), str(bindir / "python"), "-c", STUB,
                  str(bindir), timeout=120)
        assert "READYZ ok" in out and "NODES 4" in out, out
    finally:
        subprocess.run([str(bindir / "kubelab"), "sandbox", "stop"], env=env, check=False,
                       capture_output=True, timeout=60)


def test_environment_yml_uses_the_binder_pins() -> None:
    text = (REPO / "environment.yml").read_text()
    assert "python=3.11" in text and "-r binder/requirements.txt" in text
    assert "- -e ." in text  # the course itself, beside the shared pins
    assert sys.version_info >= (3, 11)
