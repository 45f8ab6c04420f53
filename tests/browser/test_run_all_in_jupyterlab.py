"""Run All on a fresh lesson 1 student notebook, in JupyterLab in headless Chromium.

What a learner does first: open lesson 1 and choose Run All without answering anything. Every
cell must run (answer cells start from placeholders the checks call "not answered yet"), no
cell may show an error or stderr output, the last cell (the clean-up) must run, and each graded
cell must say "0 of 2 points: not answered yet". Recipe from research/BINDER.md §3 (Debian's
Chromium through Playwright, isolated Jupyter settings, waiting for the kernel connection).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sandbox_support import start_sandbox

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
LESSON = "01-cluster-and-architecture"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

if not Path(CHROMIUM).exists():  # pragma: no cover - CI installs it
    pytest.skip("Debian chromium is not installed", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """JupyterLab on a copy of the untouched student notebook, and a sandbox of its own."""
    root = tmp_path_factory.mktemp("runall")
    sandbox = start_sandbox(root / "sandbox", speed=50)
    notebooks = root / "notebooks"
    notebooks.mkdir()
    shutil.copyfile(REPO / "notebooks" / LESSON / f"{LESSON}.ipynb",
                    notebooks / f"{LESSON}.ipynb")
    home = root / "home"
    settings = home / "lab-settings"
    for folder, name, value in (
            ("apputils-extension", "notification", {"fetchNews": "false",
                                                    "checkForUpdates": False}),
            ("notebook-extension", "tracker", {"autoStartDefaultKernel": True})):
        path = settings / "@jupyterlab" / folder / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(value))
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBGRADER")}
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
    token = "kubelab-run-all-test"
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={notebooks}", "--LabApp.expose_app_in_browser=True",
         "--LabApp.news_url=",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--allow-root"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("JupyterLab did not start")
        yield {"base": base, "token": token}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
        sandbox.stop()


def test_run_all_on_a_fresh_lesson_reaches_the_end_without_errors(lab: dict[str, Any]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-extensions",
            "--disable-component-update", "--disable-default-apps", "--no-first-run",
            "--disable-sync", "--metrics-recording-only", "--mute-audio", "--disable-quic"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{lab['base']}/lab/tree/{LESSON}.ipynb?reset&token={lab['token']}")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            page.evaluate("""async () => { const w = window.jupyterapp.shell.currentWidget;
                await w.context.ready; await w.sessionContext.ready;
                const k = w.sessionContext.session?.kernel; if (k) await k.info; }""")
            page.evaluate("() => { window.jupyterapp.commands.execute("
                          "'notebook:run-all-cells'); }")
            # Done when the last code cell has an execution count and the kernel is idle.
            page.wait_for_function("""() => {
                const w = window.jupyterapp.shell.currentWidget;
                const cells = w.content.widgets.filter(c => c.model.type === 'code');
                const last = cells[cells.length - 1].model;
                return last.executionCount !== null
                    && w.sessionContext.session?.kernel?.status === 'idle'; }""",
                                   timeout=240_000)
            page.screenshot(path=str(ARTIFACTS / "run-all-lesson01.png"), full_page=True)
            state = page.evaluate("""() => {
                const w = window.jupyterapp.shell.currentWidget;
                const cells = w.content.widgets.filter(c => c.model.type === 'code');
                return {
                  unrun: cells.filter(c => c.model.executionCount === null).length,
                  count: cells.length,
                  errors: [...document.querySelectorAll(
                      ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")]
                      .map(e => e.textContent.slice(0, 500)),
                  outputs: cells.map(c => c.node.querySelector('.jp-OutputArea')?.textContent || ''),
                }; }""")
        finally:
            browser.close()
    assert state["errors"] == []
    assert state["unrun"] == 0 and state["count"] > 10
    text = "\n".join(state["outputs"])
    assert "Traceback" not in text and "NameError" not in text
    assert text.count("0 of 2 points: not answered yet") == 3, text[-3000:]
    assert "proxy_nodes is still ... (the placeholder)" in text
