"""Open the app in the browser, as the workshop did: JupyterLab with jupyter-server-proxy in
headless Chromium. A notebook's ``cluster.open_app(...)`` link opens the kdemo page in a new
tab (blue, v1); after the rolling update the same link shows v2 (green), and blue again after
``kubectl rollout undo``.

The server runs under a non-default base URL, so the link's ``/proxy/<port>/`` path proves
that the kernel found the base URL of the server that started it. Screenshots land in
tests/artifacts/ (not committed).
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
from sandbox_support import start_sandbox
from workshop import manifests

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
BASE_URL = "/kubelab-lab/"

if not Path(CHROMIUM).exists():  # pragma: no cover - CI installs it (.ci/run)
    pytest.skip("Debian chromium is not installed", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("jupyter_server_proxy")


def _notebook(path: Path) -> None:
    rollout = ('print(cluster.kubectl("rollout", "status", "deployment/kdemo-dep",'
               ' "--timeout=120s").stdout)')
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import time\n"
            "from kubelab.connect import connect\n"
            "cluster = connect()\n"
            f"cluster.kubectl('apply', '-f', '-', input={manifests.kdemo('v1')!r})\n"
            "cluster.kubectl('expose', 'deployment', 'kdemo-dep', '--type=LoadBalancer',"
            " '--name=kdemo-svc', '--port=80', '--target-port=8080')\n"
            "while not cluster.core().read_namespaced_service('kdemo-svc', 'default')"
            ".status.load_balancer.ingress:\n"
            "    time.sleep(0.2)\n" + rollout),
        nbformat.v4.new_code_cell('cluster.open_app("kdemo-svc")'),
        nbformat.v4.new_code_cell(
            'print(cluster.kubectl("set", "image", "deployment/kdemo-dep",'
            ' "kdemo=apprenda/kdemo:v2").stdout)\n' + rollout),
        nbformat.v4.new_code_cell(
            'print(cluster.kubectl("rollout", "undo", "deployment/kdemo-dep").stdout)\n'
            + rollout),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("lab")
    sandbox = start_sandbox(root / "sandbox", speed=20)
    notebooks = root / "notebooks"
    notebooks.mkdir()
    _notebook(notebooks / "browse.ipynb")
    home = root / "home"
    settings = home / "lab-settings"
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "notebook-extension").mkdir(parents=True)
    (settings / "@jupyterlab/apputils-extension/notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    (settings / "@jupyterlab/notebook-extension/tracker.jupyterlab-settings").write_text(
        json.dumps({"autoStartDefaultKernel": True}))
    env = {k: v for k, v in os.environ.items() if k != "JUPYTERHUB_SERVICE_PREFIX"}
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
         f"--ServerApp.base_url={BASE_URL}", f"--ServerApp.root_dir={notebooks}",
         "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--allow-root"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}{BASE_URL.rstrip('/')}"
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


def _wait_output(page: Any, index: int, text: str, timeout: float = 150_000) -> None:
    page.wait_for_function(
        """([i, t]) => { const w = window.jupyterapp.shell.currentWidget;
              const cell = w.content.widgets[i];
              return cell && cell.node.querySelector('.jp-OutputArea') &&
                     cell.node.querySelector('.jp-OutputArea').textContent.includes(t); }""",
        arg=[index, text], timeout=timeout)


def _colour(tab: Any) -> str:
    return str(tab.evaluate("() => getComputedStyle(document.body).backgroundColor"))


BLUE, GREEN = "rgb(0, 0, 255)", "rgb(0, 128, 0)"


def test_the_link_opens_the_app_and_follows_the_rolling_update(lab: dict[str, Any]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright_api.sync_playwright() as p:
        browser = _launch(p)
        context = browser.new_context(viewport={"width": 1200, "height": 800})
        page = context.new_page()
        page.goto(f"{lab['base']}/lab/tree/browse.ipynb?reset&token={lab['token']}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        page.evaluate("""async () => { const w = window.jupyterapp.shell.currentWidget;
            await w.context.ready; await w.sessionContext.ready;
            const k = w.sessionContext.session?.kernel; if (k) await k.info; }""")
        _run_cell(page, 0)
        _wait_output(page, 0, "successfully rolled out")
        _run_cell(page, 1)
        link = page.wait_for_selector("a.kubelab-app-link", timeout=60_000)
        assert link is not None
        label, href = link.text_content(), link.get_attribute("href")
        # Labelled with the EXTERNAL-IP a learner would type; leads through Jupyter's proxy
        # under this server's base URL to the sandbox's nodePort.
        assert label is not None and label.startswith("http://203.0.113."), label
        assert href is not None and href.startswith(f"{BASE_URL}proxy/3"), href
        page.screenshot(path=str(ARTIFACTS / "app-link.png"), full_page=True)

        with context.expect_page(timeout=30_000) as opened:
            link.click()
        tab = opened.value
        tab.wait_for_load_state()
        tab.wait_for_selector("h1", timeout=30_000)
        assert "Hello from kdemo-dep-" in tab.inner_text("h1")
        assert "kdemo version 1.0" in tab.inner_text("body")
        assert _colour(tab) == BLUE
        tab.screenshot(path=str(ARTIFACTS / "app-v1-blue.png"))

        page.bring_to_front()
        _run_cell(page, 2)
        _wait_output(page, 2, "successfully rolled out")
        tab.bring_to_front()
        tab.reload()
        tab.wait_for_selector("h1", timeout=30_000)
        assert "kdemo version 1.1" in tab.inner_text("body")
        assert _colour(tab) == GREEN
        tab.screenshot(path=str(ARTIFACTS / "app-v2-green.png"))

        page.bring_to_front()
        _run_cell(page, 3)
        _wait_output(page, 3, "successfully rolled out")
        tab.bring_to_front()
        tab.reload()
        tab.wait_for_selector("h1", timeout=30_000)
        assert "kdemo version 1.0" in tab.inner_text("body")
        assert _colour(tab) == BLUE
        tab.screenshot(path=str(ARTIFACTS / "app-undo-blue.png"))
        browser.close()
