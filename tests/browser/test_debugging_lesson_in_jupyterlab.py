"""The debugging lesson (05b) in JupyterLab in headless Chromium, as a learner works it.

A fresh student notebook: connect, break the shop, ask ``%why`` about the web front (the
kubelet's pull of a tag that does not exist, quoted as evidence), type the repair into the
answer cell of exercise 2 (``kubectl set image`` and ``kubectl set selector``), run it and
then the self-check, which must come out green: every check ✓, none ✗. Recipe from
research/BINDER.md §3 (Debian's Chromium through Playwright, isolated Jupyter settings,
waiting for the kernel connection). The cells are found by their nbgrader ids and text, not
by position, so the test follows the lesson when cells are added.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from browser.support import (
    ARTIFACTS,
    Lab,
    chromium,
    open_notebook,
    run_cell,
    sandbox_lab,
    wait_output,
)

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
LESSON = "05b-debugging"
NOTEBOOK = REPO / "notebooks" / LESSON / f"{LESSON}.ipynb"
# What a learner types into exercise 2's answer cell.
REPAIR = ("%kubectl set image deployment/shop-web web=nginx:1.27\n"
          "%kubectl set selector service shop-front app=shop-web\n"
          "%kubectl rollout status deployment/shop-web --timeout=120s")
RED = "rgb(207, 34, 46)"  # the ✗ of a check report (#cf222e)
GREEN = "rgb(26, 127, 55)"  # its ✓ (#1a7f37)

pytest.importorskip("playwright.sync_api")


def cell_index(test: Any) -> int:
    """The index of the first cell of the student notebook for which ``test`` holds."""
    cells = nbformat.read(str(NOTEBOOK), 4).cells
    return next(i for i, cell in enumerate(cells) if test(cell))


def by_grade_id(grade_id: str) -> int:
    return cell_index(lambda c: c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                      == grade_id)


def by_source(start: str) -> int:
    return cell_index(lambda c: c.cell_type == "code" and c.source.startswith(start))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab on a copy of the untouched student notebook, and a sandbox of its own."""
    def copy(folder: Path) -> None:
        shutil.copyfile(NOTEBOOK, folder / f"{LESSON}.ipynb")

    with sandbox_lab(tmp_path_factory.mktemp("debugging"), copy, speed=50) as running:
        yield running


def output_text(page: Any, index: int) -> str:
    return str(page.evaluate(
        """(i) => { const cell = window.jupyterapp.shell.currentWidget.content.widgets[i];
                     const out = cell.node.querySelector('.jp-OutputArea');
                     return out ? out.textContent : ''; }""", index))


def show_output(page: Any, index: int) -> None:
    """Scroll a cell's output into view, for the screenshot."""
    page.evaluate("""(i) => window.jupyterapp.shell.currentWidget.content.widgets[i].node
                               .querySelector('.jp-OutputArea')?.scrollIntoView()""", index)


def run_and_wait(page: Any, index: int) -> None:
    """Run a cell and wait until the kernel has finished it (execution count set, idle)."""
    page.evaluate("""(i) => { const cell = window.jupyterapp.shell.currentWidget.content
                                  .widgets[i]; cell.model.outputs.clear();
                               cell.model.executionCount = null; }""", index)
    run_cell(page, index)
    page.wait_for_function(
        """(i) => { const w = window.jupyterapp.shell.currentWidget;
                     return w.content.widgets[i].model.executionCount !== null
                         && w.sessionContext.session?.kernel?.status === 'idle'; }""",
        arg=index, timeout=150_000)


def test_breakage_why_repair_and_green_self_check(lab: Lab) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    setup, shop = by_grade_id("setup"), by_source("from autograders.lessons.lesson05b")
    why = by_source("%why deploy/shop-web")
    answer, selfcheck = by_grade_id("ex-05b-front"), by_grade_id("selfcheck-05b-front")
    started = time.monotonic()
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        open_notebook(page, lab.url(f"lab/tree/{LESSON}.ipynb", "reset"))
        run_cell(page, setup)
        wait_output(page, setup, "Connected to", timeout=60_000)
        run_cell(page, shop)
        wait_output(page, shop, "deployment.apps/shop-web created", timeout=60_000)

        # The breakage, explained: %why quotes the kubelet's failed pull once it has tried.
        deadline = time.monotonic() + 45
        while True:
            run_and_wait(page, why)
            said = output_text(page, why)
            if "has no tag '1.99-typo'" in said or time.monotonic() > deadline:
                break
            page.wait_for_timeout(2_000)
        assert "Deployment shop-web is not ready" in said, said
        assert "has no tag '1.99-typo'" in said and "Failed to pull image" in said, said
        assert "kubectl set image deployment/" in said, said
        # The worker's command keeps its shell variables: not typeset as a formula.
        assert '[ -z "$QUEUE" ]' in said, said
        assert page.evaluate("(i) => !window.jupyterapp.shell.currentWidget.content"
                             ".widgets[i].node.querySelector('mjx-container')", why)
        assert page.evaluate("(i) => !!window.jupyterapp.shell.currentWidget.content"
                             ".widgets[i].node.querySelector('.kubelab-why')", why)
        show_output(page, why)
        page.screenshot(path=str(ARTIFACTS / "debugging-why.png"), full_page=True)

        # Before the repair the self-check says what is wrong, in red.
        run_and_wait(page, selfcheck)
        before = output_text(page, selfcheck)
        assert "image is still 'nginx:1.99-typo'" in before, before

        # The learner types the repair into the answer cell and runs it.
        page.evaluate("""([i, text]) => { const cell = window.jupyterapp.shell.currentWidget
                                              .content.widgets[i];
                                          cell.model.sharedModel.setSource(text); }""",
                      [answer, REPAIR])
        run_and_wait(page, answer)
        repaired = output_text(page, answer)
        assert 'deployment "shop-web" successfully rolled out' in repaired, repaired

        run_and_wait(page, selfcheck)
        after = output_text(page, selfcheck)
        colours = page.evaluate(
            """(i) => [...window.jupyterapp.shell.currentWidget.content.widgets[i].node
                         .querySelectorAll('.kubelab-report li > span')]
                      .map(s => getComputedStyle(s).color)""", selfcheck)
        show_output(page, selfcheck)
        page.screenshot(path=str(ARTIFACTS / "debugging-self-check.png"), full_page=True)
    assert "All checks pass." in after and "✗" not in after, after
    assert colours and set(colours) == {GREEN}, colours
    assert RED not in colours
    # Not a speed check (the machine may be shared): where the time went, with -s.
    print(f"debugging lesson in the browser: {time.monotonic() - started:.1f} s")
