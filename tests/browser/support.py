"""What every browser test needs: an isolated JupyterLab server and Debian's Chromium.

Recipe from research/BINDER.md §3: the server runs with its own ``JUPYTER_*`` directories (no
settings, kernels or workspaces of this machine leak in), on a free loopback port with a known
token, in a process group of its own so that stopping it stops its kernels too; Chromium is
driven through Playwright's Python API (no browser download), and cells run only once the
notebook's kernel is connected.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_support import wait_for_jupyter
from sandbox_support import SandboxHandle, start_sandbox

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_MISSING = not Path(CHROMIUM).exists()
CHROMIUM_REASON = "Debian chromium is not installed (apt-get install -y chromium)"
#: Headless Chromium as a test wants it: no sandboxing (root in a container), no GPU, and
#: nothing that talks to the network on its own.
CHROMIUM_ARGS = (
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-extensions",
    "--disable-component-update", "--disable-default-apps", "--no-first-run",
    "--disable-sync", "--metrics-recording-only", "--mute-audio", "--disable-quic")
#: Screenshots (not committed).
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
TOKEN = "kubelab-browser-test"

#: What ``kubelab lab-setup`` would otherwise provide, for a lab without it: no news or
#: update prompt, and the notebook's kernel starts without a "Select Kernel" dialog.
QUIET_SETTINGS = {
    ("apputils-extension", "notification"): {"fetchNews": "false", "checkForUpdates": False},
    ("notebook-extension", "tracker"): {"autoStartDefaultKernel": True},
}
QUIET_ARGS = ("--LabApp.news_url=",
              "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate")


@dataclass(frozen=True)
class Lab:
    """A running JupyterLab: ``base`` is its URL including the base URL, without a final slash."""

    base: str
    token: str
    sandbox: SandboxHandle | None = None

    def url(self, path: str, query: str = "") -> str:
        """``path`` (no leading slash) under the base URL, with the token."""
        return f"{self.base}/{path}?{query + '&' if query else ''}token={self.token}"


def isolated_env(home: Path, *, drop: Sequence[str] = (), **extra: str) -> dict[str, str]:
    """This process's environment with every Jupyter directory under ``home``, without the
    variables that start with one of ``drop``, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(tuple(drop))}
    env.update({
        "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "IPYTHONDIR": str(home / "ipython"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "lab-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
    })
    env.update(extra)
    return env


def write_quiet_settings(env: Mapping[str, str]) -> None:
    """:data:`QUIET_SETTINGS` as the user settings of the lab that ``env`` describes."""
    for (folder, name), value in QUIET_SETTINGS.items():
        path = (Path(env["JUPYTERLAB_SETTINGS_DIR"]) / "@jupyterlab" / folder
                / f"{name}.jupyterlab-settings")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


def write_notebook(path: Path, *sources: str) -> None:
    """A notebook of code cells ``sources`` for the ``python3`` kernel."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)


@contextmanager
def jupyterlab(root_dir: Path, env: Mapping[str, str], *, token: str = TOKEN,
               base_url: str = "/", args: Sequence[str] = (),
               sandbox: SandboxHandle | None = None) -> Iterator[Lab]:
    """JupyterLab on a loopback port of its own choosing serving ``root_dir``, ready when this
    yields; stopped with its whole process group (kernels included) afterwards.

    The server binds port 0 and the test reads the port back from the server's runtime file
    (``jpserver-<pid>.json``): a port picked here and handed over would stay free for the
    seconds the server takes to import, long enough for another listener to take it and
    answer in its place. The server's log goes to ``jupyterlab.log`` beside ``root_dir``,
    quoted when it does not start.
    """
    runtime = Path(env["JUPYTER_RUNTIME_DIR"])
    log_path = root_dir.parent / "jupyterlab.log"
    with log_path.open("ab") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
             "--port=0", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
             f"--ServerApp.base_url={base_url}", f"--ServerApp.root_dir={root_dir}", *args,
             *(["--allow-root"] if os.geteuid() == 0 else [])],
            env=dict(env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = wait_for_jupyter(runtime, token, lambda: server.poll() is None)
        if url is None:
            tail = log_path.read_text(errors="replace")[-3000:]
            pytest.fail(f"JupyterLab did not start (exit {server.poll()}):\n{tail}")
        yield Lab(url, token, sandbox)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


@contextmanager
def sandbox_lab(root: Path, notebooks: Callable[[Path], None], *, speed: float,
                base_url: str = "/", args: Sequence[str] = ()) -> Iterator[Lab]:
    """A sandbox of its own (in ``root``) and JupyterLab whose kernels reach it, serving the
    folder ``notebooks`` fills, with :data:`QUIET_SETTINGS` in place of ``kubelab lab-setup``.

    A JupyterHub base URL or nbgrader variables of the calling environment are not passed on:
    the kernel must find the base URL of the server that started it.
    """
    (root / "notebooks").mkdir()
    notebooks(root / "notebooks")
    sandbox = start_sandbox(root / "sandbox", speed=speed)
    try:
        env = isolated_env(
            root / "home", drop=("JUPYTERHUB_SERVICE_PREFIX", "NBGRADER"),
            KUBELAB_STATE_DIR=str(sandbox.state_dir), KUBECONFIG=str(sandbox.kubeconfig),
            PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
        write_quiet_settings(env)
        with jupyterlab(root / "notebooks", env, base_url=base_url, sandbox=sandbox,
                        args=["--LabApp.expose_app_in_browser=True", *QUIET_ARGS, *args]) as lab:
            yield lab
    finally:
        sandbox.stop()


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Debian Chromium (Playwright ``Browser``), closed afterwards."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=list(CHROMIUM_ARGS))
        try:
            yield browser
        finally:
            browser.close()


def open_notebook(page: Any, url: str) -> None:
    """Open the notebook at ``url`` and wait until its kernel is connected, so that the
    first cell run is not lost."""
    page.goto(url)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    page.evaluate("""async () => { const w = window.jupyterapp.shell.currentWidget;
        await w.context.ready; await w.sessionContext.ready;
        const k = w.sessionContext.session?.kernel; if (k) await k.info; }""")


def run_cell(page: Any, index: int) -> None:
    """Run the ``index``-th cell of the current notebook, as Shift+Enter does."""
    page.evaluate(
        """(i) => { const w = window.jupyterapp.shell.currentWidget;
                     w.content.activeCellIndex = i;
                     window.jupyterapp.commands.execute('notebook:run-cell'); }""", index)


def wait_output(page: Any, index: int, text: str, timeout: float = 150_000) -> None:
    """Wait until the ``index``-th cell's output contains ``text``."""
    page.wait_for_function(
        """([i, t]) => { const w = window.jupyterapp.shell.currentWidget;
              const cell = w.content.widgets[i];
              return cell && cell.node.querySelector('.jp-OutputArea') &&
                     cell.node.querySelector('.jp-OutputArea').textContent.includes(t); }""",
        arg=[index, text], timeout=timeout)
