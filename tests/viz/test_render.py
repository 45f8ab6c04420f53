"""The HTML/SVG rendering shows every component and every pod."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from kubelab.viz.model import LEGEND, ClusterSnapshot, project
from kubelab.viz.render import render
from viz.support import NAMES, find, raw_fixture, snapshot

STATIC = Path(__file__).resolve().parents[2] / "src" / "kubelab" / "viz" / "static"


@pytest.mark.parametrize("name", NAMES)
def test_render_contains_every_component_node_and_pod(name: str) -> None:
    state = project(snapshot(name), chip_limit=1000)
    html = render(state)
    for comp in state.control_plane:
        assert f'data-component="{comp.key}" data-health="{comp.health}"' in html
    for node in state.nodes:
        assert f'data-node="{node.name}" data-health="{node.kubelet.health}"' in html
        assert node.runtime in html
        for key in ("kubelet", "kube-proxy", "runtime"):
            assert html.count(f'data-component="{key}"') == len(state.nodes)
    for pod in state.pods:
        assert f'data-pod="{pod.key}" data-status="{pod.status}"' in html
    for entry in LEGEND:
        assert f'data-legend="{entry.status}"' in html
    assert "<script" not in html and "http://" not in html and "https://" not in html


def test_header_names_the_cluster_and_hidden_control_plane() -> None:
    data = raw_fixture("gke")
    html = render(project(ClusterSnapshot.from_dict(data)))
    assert data["context"] in html and data["server_version"] in html
    assert 'data-note="control-plane-hidden"' in html
    assert 'data-note="control-plane-hidden"' not in render(project(snapshot("kubeadm")))


def test_many_pods_are_compacted_with_more_counter() -> None:
    state = project(snapshot("many_pods"), chip_limit=10)
    html = render(state)
    for node in state.nodes:
        if node.more_pods:
            assert f'data-more="{node.more_pods}"' in html
            hidden = node.pods[10:]
            assert hidden[0].key in html  # listed in the "+N more" tooltip
    assert f'data-more="{state.more_waiting}"' in html
    assert "Waiting for the scheduler" in html and "Insufficient cpu" in html


def test_text_from_the_cluster_is_escaped() -> None:
    data = raw_fixture("kubeadm")
    find(data, "pods", "big-1")["status"]["conditions"][0]["message"] = (
        '<img src=x onerror="alert(1)">'
    )
    html = render(project(ClusterSnapshot.from_dict(data)))
    assert "<img" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html


def test_the_saved_drawing_is_copied_even_while_frames_keep_coming(tmp_path: Path) -> None:
    """The front end copies the drawing into the widget state a saved notebook keeps 2 s
    after a burst of frames, and at the latest 10 s after the first uncopied frame, so a
    cluster whose heartbeats keep frames under 2 s apart still saves a recent drawing."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = STATIC / "diagram.js"
    probe = tmp_path / "probe.mjs"
    probe.write_text(
        f"import {{ saveDelay }} from {json.dumps(script.as_uri())};\n"
        "console.log(JSON.stringify([saveDelay(0, 0), saveDelay(0, 5000), saveDelay(0, 8500),"
        " saveDelay(0, 9999), saveDelay(0, 12000)]));\n")
    out = subprocess.run([node, str(probe)], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [2000, 2000, 1500, 1, 0]
