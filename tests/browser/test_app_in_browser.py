"""Open the app in the browser, as the workshop did: JupyterLab with jupyter-server-proxy in
headless Chromium. A notebook's ``cluster.open_app(...)`` link opens the kdemo page in a new
tab (blue, v1); after the rolling update the same link shows v2 (green), and blue again after
``kubectl rollout undo``.

The server runs under a non-default base URL, so the link's ``/proxy/<port>/`` path proves
that the kernel found the base URL of the server that started it. Screenshots land in
tests/artifacts/ (not committed).
"""

from __future__ import annotations

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
    wait_output,
    write_notebook,
)
from workshop import manifests

pytestmark = pytest.mark.browser

BASE_URL = "/kubelab-lab/"

pytest.importorskip("playwright.sync_api")
pytest.importorskip("jupyter_server_proxy")


def _notebook(folder: Path) -> None:
    """browse.ipynb, the notebook the test drives."""
    rollout = ('print(cluster.kubectl("rollout", "status", "deployment/kdemo-dep",'
               ' "--timeout=120s").stdout)')
    write_notebook(
        folder / "browse.ipynb",
        "import time\n"
        "from kubelab.connect import connect\n"
        "cluster = connect()\n"
        f"cluster.kubectl('apply', '-f', '-', input={manifests.kdemo('v1')!r})\n"
        "cluster.kubectl('expose', 'deployment', 'kdemo-dep', '--type=LoadBalancer',"
        " '--name=kdemo-svc', '--port=80', '--target-port=8080')\n"
        "while not cluster.core().read_namespaced_service('kdemo-svc', 'default')"
        ".status.load_balancer.ingress:\n"
        "    time.sleep(0.2)\n" + rollout,
        'cluster.open_app("kdemo-svc")',
        'print(cluster.kubectl("set", "image", "deployment/kdemo-dep",'
        ' "kdemo=apprenda/kdemo:v2").stdout)\n' + rollout,
        'print(cluster.kubectl("rollout", "undo", "deployment/kdemo-dep").stdout)\n'
        + rollout)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with sandbox_lab(tmp_path_factory.mktemp("lab"), _notebook, speed=20,
                     base_url=BASE_URL) as running:
        yield running


def _colour(tab: Any) -> str:
    return str(tab.evaluate("() => getComputedStyle(document.body).backgroundColor"))


def _roll_and_reload(page: Any, tab: Any, cell: int) -> None:
    """Run the notebook's rollout cell ``cell``, then reload the app's tab."""
    page.bring_to_front()
    run_cell(page, cell)
    wait_output(page, cell, "successfully rolled out")
    tab.bring_to_front()
    tab.reload()
    tab.wait_for_selector("h1", timeout=30_000)


BLUE, GREEN = "rgb(0, 0, 255)", "rgb(0, 128, 0)"


def test_the_link_opens_the_app_and_follows_the_rolling_update(lab: Lab) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1200, "height": 800})
        page = context.new_page()
        open_notebook(page, lab.url("lab/tree/browse.ipynb", "reset"))
        run_cell(page, 0)
        wait_output(page, 0, "successfully rolled out")
        run_cell(page, 1)
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

        _roll_and_reload(page, tab, 2)
        assert "kdemo version 1.1" in tab.inner_text("body")
        assert _colour(tab) == GREEN
        tab.screenshot(path=str(ARTIFACTS / "app-v2-green.png"))

        _roll_and_reload(page, tab, 3)
        assert "kdemo version 1.0" in tab.inner_text("body")
        assert _colour(tab) == BLUE
        tab.screenshot(path=str(ARTIFACTS / "app-undo-blue.png"))
