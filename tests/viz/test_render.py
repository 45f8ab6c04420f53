"""The HTML/SVG rendering shows every component and every pod."""

from __future__ import annotations

import pytest

from kubelab.viz.model import LEGEND, ClusterSnapshot, project
from kubelab.viz.render import render
from viz.support import NAMES, find, raw_fixture, snapshot


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
