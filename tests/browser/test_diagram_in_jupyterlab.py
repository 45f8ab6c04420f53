"""The live diagram in a real browser: JupyterLab (and Notebook 7) in headless Chromium.

Recipe from research/BINDER.md §3: Debian's Chromium driven by Playwright's Python API
(no browser download), an isolated Jupyter config, `autoStartDefaultKernel`, and waiting for
the kernel connection before running cells. Screenshots land in tests/artifacts/ (not
committed).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from sandbox_support import SandboxHandle, start_sandbox

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
WORKER = "kubelab-worker2"

if not Path(CHROMIUM).exists():  # pragma: no cover - CI installs it (.ci/run)
    pytest.skip("Debian chromium is not installed", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.sync_api")


def _notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from kubelab.connect import connect\n"
            "from kubelab.viz import show_cluster\n"
            "cluster = connect()\n"
            "diagram = show_cluster()\n"
            "diagram"),
        nbformat.v4.new_code_cell(
            'print(cluster.kubectl("create", "deployment", "web", "--image=nginx",'
            ' "--replicas=6").stdout)'),
        nbformat.v4.new_code_cell(f'cluster.fault("stop-kubelet", node="{WORKER}")'),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("lab")
    sandbox = start_sandbox(root / "sandbox", speed=20)
    notebooks = root / "notebooks"
    notebooks.mkdir()
    _notebook(notebooks / "diagram.ipynb")
    home = root / "home"
    settings = home / "lab-settings"
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "notebook-extension").mkdir(parents=True)
    (settings / "@jupyterlab/apputils-extension/notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    (settings / "@jupyterlab/notebook-extension/tracker.jupyterlab-settings").write_text(
        json.dumps({"autoStartDefaultKernel": True}))
    env = dict(os.environ)
    env.update({
        "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "IPYTHONDIR": str(home / "ipython"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "KUBELAB_STATE_DIR": str(sandbox.state_dir),
        "KUBECONFIG": str(sandbox.kubeconfig),
        "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
    })
    port = _free_port()
    token = "kubelab-browser-test"
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={notebooks}", "--LabApp.expose_app_in_browser=True",
         "--JupyterNotebookApp.expose_app_in_browser=True", "--LabApp.news_url=",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--allow-root"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                break
        except OSError:
            time.sleep(0.2)
    else:
        os.killpg(server.pid, signal.SIGTERM)
        pytest.fail("JupyterLab did not start")
    yield {"base": base, "token": token, "sandbox": sandbox}
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=20)
    sandbox.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _launch(p: Any) -> Any:
    return p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
        "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-extensions",
        "--disable-component-update", "--disable-default-apps", "--no-first-run",
        "--disable-sync", "--metrics-recording-only", "--mute-audio", "--disable-quic"])


def _run_cell(page: Any, index: int) -> None:
    page.evaluate(
        """(i) => { const w = window.jupyterapp.shell.currentWidget;
                     w.content.activeCellIndex = i;
                     window.jupyterapp.commands.execute('notebook:run-cell'); }""", index)


def _pods(page: Any, prefix: str) -> int:
    return int(page.evaluate(
        "(p) => document.querySelectorAll(`[data-pod^='${p}']`).length", prefix))


def test_diagram_renders_and_follows_the_cluster(lab: dict[str, Any]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright_api.sync_playwright() as p:
        browser = _launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{lab['base']}/lab/tree/diagram.ipynb?reset&token={lab['token']}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        page.evaluate("""async () => { const w = window.jupyterapp.shell.currentWidget;
            await w.context.ready; await w.sessionContext.ready;
            const k = w.sessionContext.session?.kernel; if (k) await k.info; }""")
        _run_cell(page, 0)
        page.wait_for_selector(".widget-html [data-component]", timeout=60_000)
        page.wait_for_function(
            "() => document.querySelectorAll('.widget-html [data-node]').length >= 4",
            timeout=30_000)
        for component in ("apiserver", "etcd", "scheduler", "controller-manager"):
            assert page.query_selector(f"[data-component*='{component}']"), component
        page.screenshot(path=str(ARTIFACTS / "diagram-initial.png"), full_page=True)

        started = time.monotonic()
        _run_cell(page, 1)
        page.wait_for_function(
            "() => document.querySelectorAll(\"[data-pod^='default/web-']\").length == 6",
            timeout=10_000)
        seen_after = time.monotonic() - started
        page.wait_for_function(
            "() => [...document.querySelectorAll(\"[data-pod^='default/web-']\")]"
            ".every(e => e.closest('[data-node]'))", timeout=10_000)
        page.screenshot(path=str(ARTIFACTS / "diagram-scaled.png"), full_page=True)
        assert seen_after < 2.0, f"new pods drawn after {seen_after:.2f}s"

        _run_cell(page, 2)
        page.wait_for_function(
            f"() => {{ const n = document.querySelector(\"[data-node='{WORKER}']\");"
            " return n && n.getAttribute('data-health') !== 'ok'; }", timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "diagram-node-notready.png"), full_page=True)
        errors = page.evaluate(
            "() => [...document.querySelectorAll('.jp-OutputArea-output')]"
            ".map(e => e.textContent).filter(t => /Error displaying widget|model not found/"
            ".test(t))")
        assert errors == []
        browser.close()


def test_diagram_renders_in_notebook7(lab: dict[str, Any]) -> None:
    sandbox: SandboxHandle = lab["sandbox"]
    assert sandbox.request("GET", "/readyz")[0] == 200
    with playwright_api.sync_playwright() as p:
        browser = _launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{lab['base']}/notebooks/diagram.ipynb?token={lab['token']}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        page.evaluate("""async () => { const w = window.jupyterapp.shell.currentWidget;
            await w.context.ready; await w.sessionContext.ready;
            const k = w.sessionContext.session?.kernel; if (k) await k.info; }""")
        _run_cell(page, 0)
        page.wait_for_selector(".widget-html [data-node]", timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "diagram-notebook7.png"), full_page=True)
        browser.close()
