"""The live diagram in a real browser: JupyterLab (and Notebook 7) in headless Chromium.

Recipe from research/BINDER.md §3: Debian's Chromium driven by Playwright's Python API
(no browser download), an isolated Jupyter config, `autoStartDefaultKernel`, and waiting for
the kernel connection before running cells. Screenshots land in tests/artifacts/ (not
committed).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser.support import (
    ARTIFACTS,
    Lab,
    chromium,
    open_notebook,
    run_cell,
    sandbox_lab,
    write_notebook,
)

pytestmark = pytest.mark.browser

WORKER = "kubelab-worker2"

pytest.importorskip("playwright.sync_api")


def _notebook(folder: Path) -> None:
    """diagram.ipynb, the notebook the test drives."""
    write_notebook(
        folder / "diagram.ipynb",
        "from kubelab.connect import connect\n"
        "from kubelab.viz import show_cluster\n"
        "cluster = connect()\n"
        "diagram = show_cluster()\n"
        "diagram",
        'print(cluster.kubectl("create", "deployment", "web", "--image=nginx",'
        ' "--replicas=6").stdout)',
        f'cluster.fault("stop-kubelet", node="{WORKER}")')


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with sandbox_lab(tmp_path_factory.mktemp("lab"), _notebook, speed=20,
                     args=["--JupyterNotebookApp.expose_app_in_browser=True"]) as running:
        yield running


def test_diagram_renders_and_follows_the_cluster(lab: Lab) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        open_notebook(page, lab.url("lab/tree/diagram.ipynb", "reset"))
        run_cell(page, 0)
        page.wait_for_selector(".widget-html [data-component]", timeout=60_000)
        page.wait_for_function(
            "() => document.querySelectorAll('.widget-html [data-node]').length >= 4",
            timeout=30_000)
        for component in ("apiserver", "etcd", "scheduler", "controller-manager"):
            assert page.query_selector(f"[data-component*='{component}']"), component
        page.screenshot(path=str(ARTIFACTS / "diagram-initial.png"), full_page=True)

        started = time.monotonic()
        run_cell(page, 1)
        page.wait_for_function(
            "() => document.querySelectorAll(\"[data-pod^='default/web-']\").length == 6",
            timeout=10_000)
        seen_after = time.monotonic() - started
        page.wait_for_function(
            "() => [...document.querySelectorAll(\"[data-pod^='default/web-']\")]"
            ".every(e => e.closest('[data-node]'))", timeout=10_000)
        page.screenshot(path=str(ARTIFACTS / "diagram-scaled.png"), full_page=True)
        assert seen_after < 2.0, f"new pods drawn after {seen_after:.2f}s"

        run_cell(page, 2)
        page.wait_for_function(
            f"() => {{ const n = document.querySelector(\"[data-node='{WORKER}']\");"
            " return n && n.getAttribute('data-health') !== 'ok'; }", timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "diagram-node-notready.png"), full_page=True)
        errors = page.evaluate(
            "() => [...document.querySelectorAll('.jp-OutputArea-output')]"
            ".map(e => e.textContent).filter(t => /Error displaying widget|model not found/"
            ".test(t))")
        assert errors == []


def test_diagram_renders_in_notebook7(lab: Lab) -> None:
    assert lab.sandbox is not None
    assert lab.sandbox.request("GET", "/readyz")[0] == 200
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        open_notebook(page, lab.url("notebooks/diagram.ipynb"))
        run_cell(page, 0)
        page.wait_for_selector(".widget-html [data-node]", timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "diagram-notebook7.png"), full_page=True)
