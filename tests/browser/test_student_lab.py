"""The student's JupyterLab after ``kubelab lab-setup`` (what ``make lab`` and Binder apply), in
headless Chromium: no "Nbgrader" menu, no Create Assignment panel, no dialog on opening a
notebook (news or "Select Kernel") — and the Validate button, whose plugin does not need the
hidden menu plugin, still validates.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser.support import ARTIFACTS, chromium, isolated_env, jupyterlab, write_notebook

from kubelab import labsetup

pytestmark = pytest.mark.browser

pytest.importorskip("playwright.sync_api")


@pytest.mark.timeout(240)
def test_student_lab_has_validate_and_no_instructor_parts(tmp_path: Path) -> None:
    labsetup.apply()  # this environment, as `make lab` does
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    write_notebook(notebooks / "lesson.ipynb", "print(6 * 7)")
    # No settings of its own and no news flags: what keeps dialogs away is lab-setup's.
    home = tmp_path / "home"
    with jupyterlab(notebooks, isolated_env(home, HOME=str(home))) as lab, \
            chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(lab.url("lab/tree/lesson.ipynb", "reset"))
        panel = ".jp-NotebookPanel:not(.lm-mod-hidden)"
        page.wait_for_selector(f"{panel} .jp-Cell", timeout=60_000)
        # The kernel starts by itself: no "Select Kernel" dialog, and no news prompt.
        page.wait_for_selector(f"{panel} .jp-Notebook-ExecutionIndicator"
                               "[data-status='idle']", timeout=60_000)
        menus = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
        assert "File" in menus and "Nbgrader" not in menus, menus
        assert page.locator(".jp-Dialog").count() == 0
        assert page.get_by_text("Create Assignment").count() == 0
        assert page.locator(".jp-Notification-Toast").count() == 0

        page.locator(f"{panel} .validate-button").first.click()
        dialog = page.locator(".jp-Dialog")
        dialog.wait_for(timeout=30_000)
        page.wait_for_function(
            "() => /passes all the tests/.test("
            "document.querySelector('.jp-Dialog')?.textContent || '')",
            timeout=120_000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "student-lab-validate.png"))
