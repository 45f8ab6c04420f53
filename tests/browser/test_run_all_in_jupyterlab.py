"""Run All on a fresh lesson 1 student notebook, in JupyterLab in headless Chromium.

What a learner does first: open lesson 1 and choose Run All without answering anything. Every
cell must run (answer cells start from placeholders the checks call "not answered yet"), no
cell may show an error or stderr output, the last cell (the clean-up) must run, and each graded
cell must say "0 of 2 points: not answered yet". Recipe from research/BINDER.md §3 (Debian's
Chromium through Playwright, isolated Jupyter settings, waiting for the kernel connection).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser.support import ARTIFACTS, Lab, chromium, open_notebook, sandbox_lab

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
LESSON = "01-cluster-and-architecture"

pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab on a copy of the untouched student notebook, and a sandbox of its own."""
    def copy(folder: Path) -> None:
        shutil.copyfile(REPO / "notebooks" / LESSON / f"{LESSON}.ipynb",
                        folder / f"{LESSON}.ipynb")

    with sandbox_lab(tmp_path_factory.mktemp("runall"), copy, speed=50) as running:
        yield running


def test_run_all_on_a_fresh_lesson_reaches_the_end_without_errors(lab: Lab) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        open_notebook(page, lab.url(f"lab/tree/{LESSON}.ipynb", "reset"))
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
    assert state["errors"] == []
    assert state["unrun"] == 0 and state["count"] > 10
    text = "\n".join(state["outputs"])
    assert "Traceback" not in text and "NameError" not in text
    assert text.count("0 of 2 points: not answered yet") == 3, text[-3000:]
    assert "proxy_nodes is still ... (the placeholder)" in text
