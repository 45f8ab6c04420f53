"""Inside a real kernel, diagram updates made from the watcher's thread reach the front end.

The browser-free form of the check: start an ipykernel, draw a diagram from a background
thread, and count the ``comm_msg`` frames (custom messages) on the iopub channel (what
JupyterLab would receive). ipykernel 7.0.x drops such messages (ipykernel#1450).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from queue import Empty

import pytest

jupyter_client = pytest.importorskip("jupyter_client")

FIXTURE = Path(__file__).parent / "fixtures" / "kubeadm.yaml"


def test_thread_updates_reach_iopub() -> None:
    km, kc = jupyter_client.manager.start_new_kernel(kernel_name="python3")
    try:
        code = textwrap.dedent(
            f"""
            import threading, yaml
            from kubelab.viz.model import ClusterSnapshot
            from kubelab.viz.widgets import ClusterDiagram
            data = yaml.safe_load(open({str(FIXTURE)!r}))
            d = ClusterDiagram(api_client=object())
            display(d)
            def work():
                for i in range(5):
                    data["pods"][-1]["metadata"]["name"] = f"thread-pod-{{i}}"
                    d.update(ClusterSnapshot.from_dict(data))
            t = threading.Thread(target=work)
            t.start(); t.join()
            """
        )
        msg_id = kc.execute(code)
        updates = []
        done = False
        while not done:
            try:
                msg = kc.get_iopub_msg(timeout=30)
            except Empty:
                break
            content = msg["content"]
            if msg["msg_type"] == "error":
                pytest.fail("\n".join(content["traceback"]))
            if msg["msg_type"] == "comm_msg" and content["data"].get("method") == "custom":
                message = content["data"]["content"]
                if message.get("type") == "frame":
                    updates.append(message["frame"]["fwd"]["set"])
            if (
                msg["msg_type"] == "status"
                and content["execution_state"] == "idle"
                and msg["parent_header"].get("msg_id") == msg_id
            ):
                done = True
        assert len(updates) == 5
        assert all(f"pod/default/thread-pod-{i}" in updates[i] for i in range(5))
        assert all(len(u) < 30 for u in updates[1:])  # only what changed, not the drawing
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_viz_never_imports_the_sandbox() -> None:
    code = "import sys, kubelab.viz; print(sorted(m for m in sys.modules if m.startswith('kubelab.sandbox')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
