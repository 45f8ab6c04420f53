"""Saved notebooks and exported HTML keep the diagram's last drawn state."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from sandbox_support import SandboxHandle

pytestmark = pytest.mark.notebooks


def test_executed_notebook_keeps_the_drawing_for_html_export(sandbox: SandboxHandle,
                                                             tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import time\n"
        "from kubelab.viz import show_cluster\n"
        "diagram = show_cluster()\n"
        "deadline = time.time() + 20\n"
        "while 'data-node=\"kubelab-worker\"' not in diagram.html and time.time() < deadline:\n"
        "    time.sleep(0.1)\n"
        "diagram.stop()\n"
        "diagram")]
    env_before = dict(os.environ)
    os.environ["KUBECONFIG"] = str(sandbox.kubeconfig)
    try:
        client = NotebookClient(nb, timeout=120, kernel_name="python3",
                                store_widget_state=True,
                                resources={"metadata": {"path": str(tmp_path)}})
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    values = [m["state"].get("value", "") for m in state.values()
              if m.get("model_name") == "AnyModel"]
    assert any('data-node="kubelab-worker"' in v and 'data-component' in v for v in values)
    path = tmp_path / "saved.ipynb"
    nbformat.write(nb, path)

    from nbconvert import HTMLExporter

    html, _ = HTMLExporter().from_filename(str(path))
    assert "application/vnd.jupyter.widget-state+json" in html
    assert "kubelab-worker" in html
