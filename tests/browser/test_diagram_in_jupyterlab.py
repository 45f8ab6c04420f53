"""The live diagram in a real browser: JupyterLab and Notebook 7 in headless Chromium.

Recipe from research/BINDER.md §3: Debian's Chromium driven by Playwright's Python API
(no browser download), an isolated Jupyter config, `autoStartDefaultKernel`, and waiting for
the kernel connection before running cells. Both front ends expose their application as
``window.jupyterapp`` and show the notebook as the shell's current widget, so one journey
serves both; only the page that opens the notebook differs. Screenshots land in
tests/artifacts/ as ``diagram-<front end>-<step>.png`` (not committed).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
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

pytest.importorskip("playwright.sync_api")


@dataclass(frozen=True)
class FrontEnd:
    """How one Jupyter front end opens the journey's notebook, and what that journey works on.

    Each front end drives a notebook of its own, in a namespace of its own, so that the two
    journeys share one sandbox, one server and one browser (no second start-up) without
    seeing each other's pods: JupyterLab's journey works in ``default``, Notebook 7's in a
    namespace named after it. Only JupyterLab's journey ends by stopping a kubelet
    (``worker``): a node's health is drawn by the same front-end code in both, and Notebook 7's
    journey stays lean (the whole suite has a time budget).
    """

    name: str
    page: str  # the notebook page under the server's base URL: {notebook} is the file
    query: str
    namespace: str
    worker: str | None

    @property
    def notebook(self) -> str:
        return f"diagram-{self.name}.ipynb"

    @property
    def pods(self) -> str:
        """A JavaScript expression: the diagram's chips of the deployment's pods."""
        return ("[...document.querySelectorAll("
                f"\".kubelab-live [data-pod^='{self.namespace}/web-']\")]")

    def shot(self, step: str) -> str:
        """Where the screenshot of ``step`` is kept: one set per front end."""
        return str(ARTIFACTS / f"diagram-{self.name}-{step}.png")


JUPYTERLAB = FrontEnd("jupyterlab", "lab/tree/{notebook}", "reset", "default", "kubelab-worker2")
NOTEBOOK7 = FrontEnd("notebook7", "notebooks/{notebook}", "", "notebook7", None)


def _cells(front: FrontEnd) -> list[str]:
    """The journey's cells: draw, deploy, scale up, a stuck pod, a rolling update (and a node
    down)."""
    ns = front.namespace
    flag = f', "-n", "{ns}"'
    create = ("" if ns == "default"
              else f'print(cluster.kubectl("create", "namespace", "{ns}").stdout)\n')
    return [
        "from kubelab.connect import connect\n"
        "from kubelab.viz import show_cluster\n"
        "cluster = connect()\n"
        "diagram = show_cluster()\n"
        "diagram",
        f'{create}print(cluster.kubectl("create", "deployment", "web", "--image=nginx",'
        f' "--replicas=2"{flag}).stdout)',
        f'print(cluster.kubectl("scale", "deployment", "web", "--replicas=6"{flag}).stdout)',
        f'print(cluster.kubectl("run", "stuck", "--image=nginx:no-such-tag"{flag}).stdout)',
        f'print(cluster.kubectl("set", "image", "deployment/web", "nginx=nginx:1.27"{flag})'
        '.stdout)',
        *([f'cluster.fault("stop-kubelet", node="{front.worker}")'] if front.worker else [])]


def _notebooks(folder: Path) -> None:
    """One notebook per front end, each with its journey's cells."""
    for front in (JUPYTERLAB, NOTEBOOK7):
        write_notebook(folder / front.notebook, *_cells(front))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with sandbox_lab(tmp_path_factory.mktemp("lab"), _notebooks, speed=20,
                     args=["--JupyterNotebookApp.expose_app_in_browser=True"]) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for both front ends' journeys."""
    with chromium() as running:
        yield running


def _web_pods(page: Any, front: FrontEnd) -> list[str]:
    return sorted(page.evaluate(f"() => {front.pods}.map(e => e.getAttribute('data-pod') + ' ' +"
                                " e.getAttribute('data-status'))"))


def _frame(page: Any) -> tuple[int, int, str]:
    return page.evaluate("() => { const r = document.querySelector('.kubelab-live');"
                         " return [Number(r.getAttribute('data-frame')),"
                         " Number(r.getAttribute('data-frames')), r.getAttribute('data-live')]; }")


@pytest.mark.parametrize("front", [JUPYTERLAB, NOTEBOOK7], ids=lambda f: f.name)
def test_diagram_pulses_diagnoses_and_replays(lab: Lab, browser: Any, front: FrontEnd) -> None:
    """The journey of issue 15 in one front end: a scale-up pulses the scheduler's and a
    kubelet's links, clicking a stuck pod shows its diagnosis, the replay steps a rolling
    update back and forth, and (in JupyterLab) a stopped kubelet turns its node unhealthy."""
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        open_notebook(page, lab.url(front.page.format(notebook=front.notebook), front.query))
        _draws_the_cluster(page, front)
        _scale_up_pulses(page, front)
        _stuck_pod_diagnosed(page, front)
        _replay_steps_a_rolling_update(page, front)
        if front.worker:
            _node_goes_down(page, front)
        errors = page.evaluate(
            "() => [...document.querySelectorAll('.jp-OutputArea-output')]"
            ".map(e => e.textContent).filter(t => /Error displaying widget|model not found/"
            ".test(t))")
        assert errors == []
    finally:
        page.close()


def _draws_the_cluster(page: Any, front: FrontEnd) -> None:
    """Cell 0 draws the control plane, the nodes and every component's link."""
    run_cell(page, 0)
    page.wait_for_selector(".kubelab-live [data-component]", state="attached", timeout=60_000)
    page.wait_for_function(
        "() => document.querySelectorAll('.kubelab-live [data-node]').length >= 4",
        timeout=30_000)
    for component in ("apiserver", "etcd", "scheduler", "controller-manager"):
        assert page.query_selector(f".kubelab-live [data-component='{component}']"), component
    for link in ("etcd", "scheduler", "controller-manager", "kubectl", "kubelet/kubelab-worker2"):
        assert page.query_selector(f".kubelab-live path[data-link='{link}']"), link
    page.screenshot(path=front.shot("initial"), full_page=True)


def _scale_up_pulses(page: Any, front: FrontEnd) -> None:
    """A deployment of 2 scaled to 6: pulses on the scheduler's and a kubelet's links, and the
    new pods drawn on their nodes within 3 s."""
    pods = front.pods
    run_cell(page, 1)
    page.wait_for_function(f"() => {pods}.length == 2", timeout=20_000)
    started = time.monotonic()
    run_cell(page, 2)  # kubectl scale: the request travels through the API server
    page.wait_for_selector(".kubelab-live circle.kl-pulse", timeout=10_000)
    page.screenshot(path=front.shot("pulses"), full_page=True)
    page.wait_for_function(f"() => {pods}.length == 6", timeout=10_000)
    seen_after = time.monotonic() - started
    page.wait_for_function(f"() => {pods}.every(e => e.closest('[data-node]'))", timeout=10_000)
    # (a straight link has an empty box, which Playwright calls hidden: wait for it attached)
    page.wait_for_selector(".kubelab-live path[data-link='scheduler'][data-pulsed]",
                           state="attached", timeout=10_000)
    page.wait_for_selector(".kubelab-live path[data-link^='kubelet/'][data-pulsed]",
                           state="attached", timeout=10_000)
    log = page.inner_text(".kubelab-live [data-section=activity]")
    assert "API server" in log
    page.screenshot(path=front.shot("scaled"), full_page=True)
    assert seen_after < 3.0, f"new pods drawn after {seen_after:.2f}s"


def _stuck_pod_diagnosed(page: Any, front: FrontEnd) -> None:
    """A pod whose image tag does not exist: clicking its chip shows the diagnosis."""
    run_cell(page, 3)
    stuck = f".kubelab-live [data-pod='{front.namespace}/stuck']"
    page.wait_for_selector(f"{stuck}[data-status='failed']", timeout=60_000)
    page.click(stuck)
    page.wait_for_selector(".kubelab-live [data-section=details] [data-diagnosis]",
                           timeout=10_000)
    details = page.inner_text(".kubelab-live [data-section=details]")
    assert "no-such-tag" in details and "kubectl describe pod stuck" in details, details
    reason = page.get_attribute(".kubelab-live [data-diagnosis]", "data-diagnosis")
    assert reason in ("UnknownTag", "ImagePullBackOff", "ErrImagePull"), reason
    page.screenshot(path=front.shot("diagnosis"), full_page=True)


def _replay_steps_a_rolling_update(page: Any, front: FrontEnd) -> None:
    """A rolling update, pod by pod; the replay's buttons and slider step back through it
    (the drawing changes, leaving live mode) and forward again."""
    pods = front.pods
    run_cell(page, 4)
    page.wait_for_function(
        f"() => {{ const p = {pods}; return p.length == 6 &&"
        " p.every(e => e.getAttribute('data-status') == 'ready') &&"
        " new Set(p.map(e => e.getAttribute('data-pod').split('-').slice(0, -1).join('-')))"
        ".size == 1; }", timeout=90_000)
    # Frames that still arrive (the stuck pod's back-off, heartbeats) leave the web pods as
    # they are: a step back that undoes one of them restores the same drawing, so the loop
    # below steps on until the rollout's own changes are undone.
    page.wait_for_timeout(300)
    live_pods = _web_pods(page, front)
    frame, frames, live = _frame(page)
    assert live == "true" and frame == frames - 1
    steps = 0
    while steps < frames - 1:
        page.click(".kubelab-live [data-replay=back]")
        steps += 1
        assert _frame(page)[2] == "false"
        if _web_pods(page, front) != live_pods:
            break
    assert _web_pods(page, front) != live_pods, "stepping back did not change the drawing"
    page.screenshot(path=front.shot("replay"), full_page=True)
    before = _web_pods(page, front)
    page.click(".kubelab-live [data-replay=back]")
    page.click(".kubelab-live [data-replay=forward]")
    assert _web_pods(page, front) == before  # one step back and forth lands on the same drawing
    page.eval_on_selector(".kubelab-live [data-replay=slider]",
                          "(s) => { s.value = '0'; s.dispatchEvent(new Event('input')); }")
    assert _frame(page)[0] == 0
    page.click(".kubelab-live [data-replay=live]")
    assert _frame(page)[2] == "true"


def _node_goes_down(page: Any, front: FrontEnd) -> None:
    """The journey's last cell stops ``front.worker``'s kubelet: its node turns unhealthy."""
    run_cell(page, 5)
    page.wait_for_function(
        "() => { const n = document.querySelector("
        f"\".kubelab-live [data-node='{front.worker}']\");"
        " return n && n.getAttribute('data-health') !== 'ok'; }", timeout=30_000)
    page.screenshot(path=front.shot("node-notready"), full_page=True)
