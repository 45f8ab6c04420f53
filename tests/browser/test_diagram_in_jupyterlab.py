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
from typing import Any

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
        ' "--replicas=2").stdout)',
        'print(cluster.kubectl("scale", "deployment", "web", "--replicas=6").stdout)',
        'print(cluster.kubectl("run", "stuck", "--image=nginx:no-such-tag").stdout)',
        'print(cluster.kubectl("set", "image", "deployment/web", "nginx=nginx:1.27").stdout)',
        f'cluster.fault("stop-kubelet", node="{WORKER}")')


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with sandbox_lab(tmp_path_factory.mktemp("lab"), _notebook, speed=20,
                     args=["--JupyterNotebookApp.expose_app_in_browser=True"]) as running:
        yield running


WEB_PODS = "[...document.querySelectorAll(\".kubelab-live [data-pod^='default/web-']\")]"


def _web_pods(page: Any) -> list[str]:
    return sorted(page.evaluate(f"() => {WEB_PODS}.map(e => e.getAttribute('data-pod') + ' ' +"
                                " e.getAttribute('data-status'))"))


def _frame(page: Any) -> tuple[int, int, str]:
    return page.evaluate("() => { const r = document.querySelector('.kubelab-live');"
                         " return [Number(r.getAttribute('data-frame')),"
                         " Number(r.getAttribute('data-frames')), r.getAttribute('data-live')]; }")


def test_diagram_pulses_diagnoses_and_replays(lab: Lab) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        open_notebook(page, lab.url("lab/tree/diagram.ipynb", "reset"))
        run_cell(page, 0)
        page.wait_for_selector(".kubelab-live [data-component]", timeout=60_000)
        page.wait_for_function(
            "() => document.querySelectorAll('.kubelab-live [data-node]').length >= 4",
            timeout=30_000)
        for component in ("apiserver", "etcd", "scheduler", "controller-manager"):
            assert page.query_selector(f".kubelab-live [data-component='{component}']"), component
        for link in ("etcd", "scheduler", "controller-manager", "kubectl", f"kubelet/{WORKER}"):
            assert page.query_selector(f".kubelab-live path[data-link='{link}']"), link
        page.screenshot(path=str(ARTIFACTS / "diagram-initial.png"), full_page=True)

        run_cell(page, 1)
        page.wait_for_function(f"() => {WEB_PODS}.length == 2", timeout=20_000)
        started = time.monotonic()
        run_cell(page, 2)  # kubectl scale: the request travels through the API server
        page.wait_for_selector(".kubelab-live circle.kl-pulse", timeout=10_000)
        page.screenshot(path=str(ARTIFACTS / "diagram-pulses.png"), full_page=True)
        page.wait_for_function(f"() => {WEB_PODS}.length == 6", timeout=10_000)
        seen_after = time.monotonic() - started
        page.wait_for_function(f"() => {WEB_PODS}.every(e => e.closest('[data-node]'))",
                               timeout=10_000)
        # (a straight link has an empty box, which Playwright calls hidden: wait for it attached)
        page.wait_for_selector(".kubelab-live path[data-link='scheduler'][data-pulsed]",
                               state="attached", timeout=10_000)
        page.wait_for_selector(".kubelab-live path[data-link^='kubelet/'][data-pulsed]",
                               state="attached", timeout=10_000)
        log = page.inner_text(".kubelab-live [data-section=activity]")
        assert "API server" in log
        page.screenshot(path=str(ARTIFACTS / "diagram-scaled.png"), full_page=True)
        assert seen_after < 3.0, f"new pods drawn after {seen_after:.2f}s"

        run_cell(page, 3)  # a pod whose image tag does not exist
        page.wait_for_selector(".kubelab-live [data-pod='default/stuck'][data-status='failed']",
                               timeout=60_000)
        page.click(".kubelab-live [data-pod='default/stuck']")
        page.wait_for_selector(".kubelab-live [data-section=details] [data-diagnosis]",
                               timeout=10_000)
        details = page.inner_text(".kubelab-live [data-section=details]")
        assert "no-such-tag" in details and "kubectl describe pod stuck" in details, details
        reason = page.get_attribute(".kubelab-live [data-diagnosis]", "data-diagnosis")
        assert reason in ("UnknownTag", "ImagePullBackOff", "ErrImagePull"), reason
        page.screenshot(path=str(ARTIFACTS / "diagram-diagnosis.png"), full_page=True)

        run_cell(page, 4)  # a rolling update, pod by pod
        page.wait_for_function(
            f"() => {{ const p = {WEB_PODS}; return p.length == 6 &&"
            " p.every(e => e.getAttribute('data-status') == 'ready') &&"
            " new Set(p.map(e => e.getAttribute('data-pod').split('-').slice(0, -1).join('-')))"
            ".size == 1; }", timeout=90_000)
        page.wait_for_timeout(1500)
        live_pods = _web_pods(page)
        frame, frames, live = _frame(page)
        assert live == "true" and frame == frames - 1
        steps = 0
        while steps < frames - 1:
            page.click(".kubelab-live [data-replay=back]")
            steps += 1
            assert _frame(page)[2] == "false"
            if _web_pods(page) != live_pods:
                break
        assert _web_pods(page) != live_pods, "stepping back did not change the drawing"
        page.screenshot(path=str(ARTIFACTS / "diagram-replay.png"), full_page=True)
        before = _web_pods(page)
        page.click(".kubelab-live [data-replay=back]")
        page.click(".kubelab-live [data-replay=forward]")
        assert _web_pods(page) == before  # one step back and forth lands on the same drawing
        page.eval_on_selector(".kubelab-live [data-replay=slider]",
                              "(s) => { s.value = '0'; s.dispatchEvent(new Event('input')); }")
        assert _frame(page)[0] == 0
        page.click(".kubelab-live [data-replay=live]")
        assert _frame(page)[2] == "true"

        run_cell(page, 5)
        page.wait_for_function(
            f"() => {{ const n = document.querySelector(\".kubelab-live [data-node='{WORKER}']\");"
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
        page.wait_for_selector(".kubelab-live [data-node]", state="attached", timeout=180_000)
        page.wait_for_selector(".kubelab-live path[data-link='scheduler']", state="attached",
                               timeout=10_000)
        page.screenshot(path=str(ARTIFACTS / "diagram-notebook7.png"), full_page=True)
