"""The student's JupyterLab after ``kubelab lab-setup`` (what ``make lab`` and Binder apply), in
headless Chromium: no "Nbgrader" menu, no Create Assignment panel, no dialog on opening a
notebook (news or "Select Kernel") — and the Validate button, whose plugin does not need the
hidden menu plugin, still validates.
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
from pathlib import Path

import pytest

from kubelab import labsetup

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.timeout(240)
def test_student_lab_has_validate_and_no_instructor_parts(tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    labsetup.apply()  # this environment, as `make lab` does
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    (notebooks / "lesson.ipynb").write_text(json.dumps({
        "cells": [{"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {},
                   "outputs": [], "source": "print(6 * 7)"}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5}))
    home = tmp_path / "home"
    env = dict(os.environ, HOME=str(home), JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_DATA_DIR=str(home / "data"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"))
    port, token = _free_port(), "student-lab-test"
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={notebooks}",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "no JupyterLab"
                time.sleep(0.2)
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
                "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.goto(f"{base}/lab/tree/lesson.ipynb?token={token}&reset")
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
            finally:
                browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
