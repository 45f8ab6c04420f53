"""The architecture scene: every component linked to the API server only; deltas and replay."""

from __future__ import annotations

import copy
import json
import re

import pytest

from kubelab.viz import scene as scenes
from kubelab.viz.model import ClusterSnapshot, ProjectionCache, project
from viz.support import NAMES, find, raw_fixture, snapshot


def _points(path: str) -> list[tuple[float, float]]:
    """The corners of an M/H/V path."""
    x = y = 0.0
    out = []
    for cmd, value in re.findall(r"([MHV])\s*([-\d. ]+)", path):
        nums = [float(v) for v in value.split()]
        if cmd == "M":
            x, y = nums
        elif cmd == "H":
            x = nums[0]
        else:
            y = nums[0]
        out.append((x, y))
    return out


def _on_edge(point: tuple[float, float], box: tuple[float, float, float, float]) -> bool:
    x, y = point
    bx, by, bw, bh = box
    inside = bx - 0.5 <= x <= bx + bw + 0.5 and by - 0.5 <= y <= by + bh + 0.5
    edge = min(abs(x - bx), abs(x - bx - bw), abs(y - by), abs(y - by - bh)) < 0.6
    return inside and edge


def _box(scene: scenes.Scene, gid: str) -> tuple[float, float, float, float]:
    """Absolute (x, y, w, h) of a component group's rectangle."""
    x = y = 0.0
    eid = gid
    while eid:
        match = re.match(r"translate\(([-\d.]+),([-\d.]+)\)", scene[eid]["a"].get("transform", ""))
        if match:
            x, y = x + float(match.group(1)), y + float(match.group(2))
        eid = scene[eid]["p"]
    rect = scene[gid + "#r"]["a"]
    return x, y, float(rect["width"]), float(rect["height"])


@pytest.mark.parametrize("name", NAMES)
def test_every_component_has_one_link_and_it_goes_to_the_api_server(name: str) -> None:
    state = project(snapshot(name))
    scene = scenes.build(state)
    api = _box(scene, "cp/apiserver")
    links = {eid.removeprefix("link/"): el for eid, el in scene.items() if eid.startswith("link/")}
    expected = {c.key for c in state.control_plane if c.key != "apiserver"} | {"kubectl"}
    expected |= {f"{agent}/{n.name}" for n in state.nodes for agent in ("kubelet", "kube-proxy")}
    assert set(links) == expected
    for link, el in links.items():
        points = _points(el["a"]["d"])
        owner = f"cp/{link}" if "/" not in link else link
        assert _on_edge(points[0], _box(scene, owner)), link
        assert _on_edge(points[-1], api), link
        assert el["a"]["data-link"] == link


def test_node_boxes_do_not_overlap_and_chips_stay_inside() -> None:
    state = project(snapshot("ten_nodes"))
    scene = scenes.build(state)
    boxes = [scenes.node_origin(i) for i in range(len(state.nodes))]
    for i, (x1, y1) in enumerate(boxes):
        for x2, y2 in boxes[i + 1:]:
            assert abs(x1 - x2) >= scenes.NODE_W or abs(y1 - y2) >= scenes.NODE_H
        assert x1 + scenes.NODE_W <= scenes.WIDTH
    for eid, el in scene.items():
        if eid.startswith("pod/") and el["p"].startswith("node/"):
            if "transform" in el["a"]:
                x, y = map(float, re.findall(r"[-\d.]+", el["a"]["transform"]))
            else:
                x, y = float(el["a"]["x"]), float(el["a"]["y"])
            assert 0 <= x < scenes.NODE_W - 8 and 0 <= y < scenes.NODE_H - 12, eid


@pytest.mark.parametrize("name", NAMES)
def test_delta_and_undo_round_trip(name: str) -> None:
    data = raw_fixture(name)
    old = scenes.build(project(ClusterSnapshot.from_dict(copy.deepcopy(data))))
    pod = next(p for p in data["pods"]
               if p["spec"].get("nodeName") and p["metadata"]["namespace"] != "kube-system")
    data["pods"].remove(pod)
    new = scenes.build(project(ClusterSnapshot.from_dict(data)))
    forward, undo = scenes.scene_delta(old, new)
    assert forward and undo
    assert scenes.apply(old, forward) == new
    assert scenes.apply(new, undo) == old
    assert f"pod/{pod['metadata']['namespace']}/{pod['metadata']['name']}" in forward.delete
    # parents come before children, so the browser can create them in order
    order = {eid: i for i, eid in enumerate(forward.set)}
    for eid, el in forward.set.items():
        if el["p"] in order:
            assert order[el["p"]] < order[eid]


def test_one_pod_change_is_a_small_delta() -> None:
    data = raw_fixture("many_pods")
    old = scenes.build(project(ClusterSnapshot.from_dict(copy.deepcopy(data))))
    pod = next(p for p in data["pods"] if p["status"].get("phase") == "Running")
    pod["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
    new = scenes.build(project(ClusterSnapshot.from_dict(data)))
    forward, _ = scenes.scene_delta(old, new)
    size = len(json.dumps(forward.to_json()))
    whole = len(json.dumps(new))
    assert 0 < size < whole / 50, (size, whole)


def test_history_rewinds_a_rolling_update_step_by_step() -> None:
    data = raw_fixture("rolling_update")
    old_rs, new_rs = "kdemo-dep-5d8f6c7b9", "kdemo-dep-7c4b8d6f5"
    old_pods = [p for p in data["pods"] if p["metadata"]["name"].startswith(old_rs)]
    history = scenes.History(limit=3)
    drawn = [scenes.build(project(ClusterSnapshot.from_dict(copy.deepcopy(data))))]
    current = drawn[0]
    for i, pod in enumerate(old_pods + old_pods[:1]):
        if i < len(old_pods):
            find(data, "pods", pod["metadata"]["name"])["metadata"]["deletionTimestamp"] = \
                "2026-03-02T10:00:30Z"
        else:
            data["pods"] = [p for p in data["pods"] if p["metadata"]["name"] != pod["metadata"]["name"]]
        new = scenes.build(project(ClusterSnapshot.from_dict(copy.deepcopy(data))))
        forward, undo = scenes.scene_delta(current, new)
        history.append(scenes.Frame(i + 1, "t", forward, undo))
        drawn.append(new)
        current = new
    assert new_rs  # the new ReplicaSet's pods stay drawn throughout
    frames = len(drawn) - 1
    assert len(history) == min(3, frames)
    for index in range(len(history)):
        assert history.scene_at(current, index) == drawn[frames - len(history) + 1 + index]
    with pytest.raises(IndexError):
        history.scene_at(current, len(history))


def test_static_svg_escapes_and_nests() -> None:
    data = raw_fixture("kubeadm")
    find(data, "pods", "big-1")["metadata"]["name"] = "<b>x</b>"
    svg = scenes.svg(scenes.build(project(ClusterSnapshot.from_dict(data))))
    assert "<b>" not in svg and "&lt;b&gt;x&lt;/b&gt;" in svg
    assert svg.startswith('<svg class="kubelab-scene"') and svg.endswith("</svg>")
    assert svg.count("<g") == svg.count("</g>")


@pytest.mark.parametrize("name", NAMES)
def test_caches_change_nothing_but_the_work(name: str) -> None:
    """project() and build() with their caches equal fresh ones, after pods and events change."""
    data = raw_fixture(name)
    for i, pod in enumerate(data["pods"]):  # recordings carry no versions; the API's do
        pod["metadata"]["resourceVersion"] = str(100 + i)
    projection, elements = ProjectionCache(), scenes.ElementCache()
    first = ClusterSnapshot.from_dict(data)
    assert project(first, cache=projection) == project(first)
    assert scenes.build(project(first), elements) == scenes.build(project(first))
    pods = [p for p in data["pods"] if p["metadata"]["namespace"] != "kube-system"]
    changed = copy.deepcopy(pods[0])
    changed["status"]["phase"] = "Failed"
    changed["metadata"]["resourceVersion"] = "99999"
    data["pods"] = [changed if p is pods[0] else p for p in data["pods"]]
    data["events"] = [*data["events"], {
        "metadata": {"name": "e-new", "namespace": pods[-1]["metadata"]["namespace"]},
        "involvedObject": {"kind": "Pod", "name": pods[-1]["metadata"]["name"],
                           "namespace": pods[-1]["metadata"]["namespace"]},
        "reason": "Unhealthy", "message": "Readiness probe failed: HTTP 503", "count": 3,
        "type": "Warning", "lastTimestamp": "2026-03-02T10:00:00Z"}]
    second = ClusterSnapshot.from_dict(data)  # unchanged pods are the same objects
    cached, fresh = project(second, cache=projection), project(second)
    assert cached == fresh
    assert scenes.build(cached, elements) == scenes.build(fresh)
    chip = next(p for p in fresh.pods if p.name == pods[-1]["metadata"]["name"])
    assert chip.probe_failures >= 3
    # every chip but the changed pod's was reused, not recomputed
    reused = sum(1 for f in projection.refresh(second.pods) if f.chip is not None)
    assert reused >= len([p for p in fresh.pods]) - 1
