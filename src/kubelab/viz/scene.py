"""The architecture picture as a flat scene of SVG elements, and deltas between scenes.

The picture is the one the Kubernetes documentation draws in "Cluster Architecture" and
the workshop drew on the whiteboard: the API server in the middle, etcd behind it, the
scheduler and controller manager beside it, kubectl (and every other client) at the side,
and below them the nodes, each with its kubelet and kube-proxy. Every component has one
link, to the API server, and nothing else: components never talk to each other, they
write to and watch the API server. Nodes carry requests-vs-allocatable bars and pod chips
coloured by :data:`~kubelab.viz.model.LEGEND`.

A scene is a flat, ordered ``{id: element}`` mapping (parents before children); each
element is JSON (``{"k": tag, "p": parent id, "a": attributes, "x": text, "tip": title}``).
Positions are fixed by slot (node *n* is always in the same cell, its chip *i* in the same
place), so a change in the cluster changes only a few elements: :func:`scene_delta`
returns those, with the ops that undo them, and that is all the browser receives
(:mod:`kubelab.viz.static`'s ``diagram.js`` draws the same elements). :func:`svg` turns a
scene into the static SVG saved notebooks and HTML exports keep. :class:`History` is the
bounded list of frames the replay slider walks.

Purely computational: states in, dictionaries and strings out.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any

from kubelab.viz.model import (
    HEALTH_COLOURS,
    STATUS_COLOURS,
    UNSCHEDULED,
    ComponentState,
    DiagramState,
    NodeState,
    PodChip,
)

Element = dict[str, Any]
Scene = dict[str, Element]

WIDTH = 1050
NAMED_CHIPS_UP_TO = 12  # a node with more pods draws compact squares
COLUMNS = 4
NODE_W, NODE_H = 245, 236
GUTTER = 14
ROW_PITCH = NODE_H + 30
NODES_TOP = 196
TRUNK_X = GUTTER + 2 * (NODE_W + GUTTER) - GUTTER // 2  # the gutter under the API server
API = (TRUNK_X - 80, 70, 160, 48)
MORE_NAMES = 30  # names listed in a "+N more" tooltip
_FONT = "-apple-system,'Segoe UI',Roboto,'DejaVu Sans',Arial,sans-serif"
_TEXT = "#1f2933"
_MUTED = "#52606d"
_BG = {"down": "#fdeaea", "degraded": "#fff6dc", "hidden": "#f4f6f8"}

# Control-plane boxes: (x, y, w, h) and the link path to the API server.
_CP_BOXES: dict[str, tuple[tuple[int, int, int, int], str]] = {
    "kubectl": ((20, 8, 170, 36), f"M 190 26 H {API[0] - 20} V 80 H {API[0]}"),
    "etcd": ((TRUNK_X - 60, 8, 120, 36), f"M {TRUNK_X} 44 V {API[1]}"),
    "scheduler": ((API[0] - 180, 76, 150, 36), f"M {API[0] - 30} 94 H {API[0]}"),
    "controller-manager": ((API[0] + API[2] + 30, 76, 170, 36),
                           f"M {API[0] + API[2] + 30} 94 H {API[0] + API[2]}"),
    "cloud-controller-manager": (
        (WIDTH - 180, 8, 170, 36),
        f"M {WIDTH - 180} 26 H {API[0] + API[2] + 20} V 80 H {API[0] + API[2]}"),
}


def _el(kind: str, parent: str, attrs: Mapping[str, Any], text: str | None = None,
        tip: str | None = None) -> Element:
    out: Element = {"k": kind, "p": parent, "a": dict(attrs)}
    if text is not None:
        out["x"] = text
    if tip:
        out["tip"] = tip
    return out


def _box(scene: Scene, eid: str, parent: str, comp: ComponentState, x: int, y: int, w: int,
         h: int, *, data: Mapping[str, str], label: str | None = None) -> None:
    """A component box: a group with its data attributes, a rectangle, a dot and a label."""
    scene[eid] = _el("g", parent, {**data, "data-health": comp.health,
                                   "transform": f"translate({x},{y})", "class": "kl-box"},
                     tip=f"{comp.label}: {comp.health} - {comp.why}")
    scene[eid + "#r"] = _el("rect", eid, {
        "width": w, "height": h, "rx": 6, "fill": _BG.get(comp.health, "#f7faf8"),
        "stroke": "#9aa5b1", "stroke-dasharray": "4 3" if comp.health == "hidden" else "none"})
    scene[eid + "#d"] = _el("circle", eid, {
        "cx": 10, "cy": h / 2, "r": 4, "fill": HEALTH_COLOURS.get(comp.health, "#9aa3af"),
        "stroke": _MUTED, "stroke-width": 0.8})
    scene[eid + "#t"] = _el("text", eid, {"x": 19, "y": h / 2 + 4, "font-weight": 600},
                            label or comp.label)


def _link(scene: Scene, link: str, path: str) -> None:
    scene["link/" + link] = _el("path", "layer/links", {
        "d": path, "data-link": link, "fill": "none", "stroke": "#9aa5b1", "stroke-width": 1.2})


def node_origin(index: int) -> tuple[int, int]:
    """Top-left corner of the ``index``-th node box."""
    row, col = divmod(index, COLUMNS)
    return GUTTER + col * (NODE_W + GUTTER), NODES_TOP + row * ROW_PITCH


def _agent_path(x: int, y: int, lane: int) -> str:
    gutter_y = y - 18 - 4 * lane
    trunk = TRUNK_X - 2 + 4 * lane
    return f"M {x} {y - 11} V {gutter_y} H {trunk} V {API[1] + API[3]}"


def _chip_tip(p: PodChip) -> str:
    tip = f"{p.key}\n{p.reason} · ready {p.ready} · restarts {p.restarts}"
    if p.owner:
        tip += f"\nowner {p.owner}"
    if p.probe_message:
        tip += f"\n{p.probe_message}"
    return tip


class ElementCache:
    """Chip elements of the previous :func:`build`, reused when a chip's pod, slot and
    highlight are unchanged: at 5,000 pods most chips are, and reusing the very same
    element objects also makes :func:`scene_delta`'s comparison an identity check."""

    def __init__(self) -> None:
        self._last: dict[tuple[Any, ...], list[tuple[str, Element]]] = {}
        self._next: dict[tuple[Any, ...], list[tuple[str, Element]]] = {}

    def get(self, key: tuple[Any, ...]) -> list[tuple[str, Element]] | None:
        found = self._last.get(key)
        if found is not None:
            self._next[key] = found
        return found

    def put(self, key: tuple[Any, ...], elements: list[tuple[str, Element]]) -> None:
        self._next[key] = elements

    def swap(self) -> None:
        """End of a build: keep only what it used."""
        self._last, self._next = self._next, {}


def _chips(scene: Scene, parent: str, pods: tuple[PodChip, ...], limit: int, width: int,
           top: int, changed: Mapping[str, str], cache: ElementCache | None = None) -> int:
    """Pod chips in fixed slots; returns the y below the last row."""
    named = len(pods) <= NAMED_CHIPS_UP_TO
    shown, hidden = pods[:limit], pods[limit:]
    cw, ch = (112, 16) if named else (14, 14)
    pitch_x, pitch_y = (cw + 5, 19) if named else (17, 17)
    per_row = max(1, (width - 8) // pitch_x)
    y = top
    for i, pod in enumerate(shown):
        row, col = divmod(i, per_row)
        x, y = 8 + col * pitch_x, top + row * pitch_y
        key = (parent, pod, x, y, named, changed.get(pod.key))
        cached = cache.get(key) if cache is not None else None
        if cached is not None:
            scene.update(cached)
            continue
        attrs: dict[str, Any] = {"data-pod": pod.key, "data-status": pod.status}
        if pod.key in changed:
            attrs["data-changed"] = changed[pod.key]
        cid = f"pod/{pod.key}"
        box = {"width": cw, "height": ch, "rx": 8 if named else 3,
               "fill": STATUS_COLOURS.get(pod.status, "#6b7280"),
               "stroke": _MUTED if pod.status == UNSCHEDULED else "rgba(0,0,0,.25)",
               "stroke-dasharray": "3 2" if pod.status == UNSCHEDULED else "none"}
        if named:
            label = pod.name if len(pod.name) <= 17 else pod.name[:16] + "…"
            attrs.update({"transform": f"translate({x},{y})", "class": "kl-chip"})
            elements = [(cid, _el("g", parent, attrs, tip=_chip_tip(pod))),
                        (cid + "#r", _el("rect", cid, box)),
                        (cid + "#t", _el("text", cid, {"x": 6, "y": 12, "font-size": 10}, label))]
        else:
            # A compact chip is one element (thousands are drawn): its tooltip is an
            # attribute the front-end turns into a title on hover.
            attrs.update(box, x=x, y=y, **{"class": "kl-chip", "data-tip": _chip_tip(pod)})
            elements = [(cid, _el("rect", parent, attrs))]
        scene.update(elements)
        if cache is not None:
            cache.put(key, elements)
    bottom = y + (pitch_y if shown else 0)
    if hidden:
        names = "\n".join(p.key for p in hidden[:MORE_NAMES])
        if len(hidden) > MORE_NAMES:
            names += f"\n… and {len(hidden) - MORE_NAMES} more"
        scene[parent + "#more"] = _el("text", parent, {
            "data-more": len(hidden), "x": 8, "y": bottom + 10, "font-weight": 600,
            "fill": _MUTED}, f"+{len(hidden)} more", tip=names)
        bottom += 14
    return bottom


def _bar(scene: Scene, parent: str, i: int, use: Any, y: int) -> None:
    pct = min(100.0, use.fraction * 100)
    colour = "#e0524f" if use.fraction > 0.9 else "#f4c542" if use.fraction > 0.7 else "#4c8bf5"
    bid = f"{parent}#bar{i}"
    scene[bid] = _el("g", parent, {"data-resource": use.resource,
                                   "transform": f"translate(8,{y})"},
                     tip=f"{use.resource} requests / allocatable: {use.text} ({pct:.0f}%)")
    scene[bid + "l"] = _el("text", bid, {"x": 0, "y": 8, "fill": _MUTED}, use.resource)
    scene[bid + "b"] = _el("rect", bid, {"x": 50, "width": 84, "height": 8, "rx": 4,
                                         "fill": "#e8edf2"})
    scene[bid + "f"] = _el("rect", bid, {"x": 50, "width": round(84 * pct / 100, 1),
                                         "height": 8, "rx": 4, "fill": colour})
    scene[bid + "v"] = _el("text", bid, {"x": 229, "y": 8, "text-anchor": "end",
                                         "fill": _MUTED}, use.text)


def _node(scene: Scene, index: int, node: NodeState, state: DiagramState,
          changed_pods: Mapping[str, str], changed_nodes: set[str],
          cache: ElementCache | None) -> None:
    x, y = node_origin(index)
    nid = f"node/{node.name}"
    attrs: dict[str, Any] = {"data-node": node.name, "data-health": node.kubelet.health,
                             "transform": f"translate({x},{y})", "class": "kl-node"}
    if node.name in changed_nodes:
        attrs["data-changed"] = "node"
    scene[nid] = _el("g", "layer/boxes", attrs, tip=f"{node.name}: {node.kubelet.why}")
    down = node.kubelet.health == "down"
    scene[nid + "#frame"] = _el("rect", nid, {
        "width": NODE_W, "height": NODE_H, "rx": 8, "fill": "#fff7f7" if down else "#ffffff",
        "stroke": "#e0524f" if down else "#c9d1db"})
    for lane, agent in enumerate((node.kubelet, node.kube_proxy)):
        _box(scene, f"{agent.key}/{node.name}", nid, agent, 8 + lane * 118, -11, 110, 22,
             data={"data-component": agent.key})
        _link(scene, f"{agent.key}/{node.name}", _agent_path(x + 63 + lane * 118, y, lane))
    scene[nid + "#name"] = _el("text", nid, {"x": 8, "y": 26, "font-weight": 700},
                               node.name if len(node.name) <= 34 else node.name[:33] + "…")
    roles = ", ".join(node.roles) or "worker"
    badges = [b for b, on in (("NotReady", down), ("SchedulingDisabled", node.unschedulable)) if on]
    scene[nid + "#sub"] = _el("text", nid, {"x": 8, "y": 40, "fill": "#c0392b" if badges else _MUTED},
                              " · ".join([roles, node.kubelet_version, *badges]))
    runtime_health = "ok" if node.kubelet.health == "ok" else "unknown"
    scene[nid + "#runtime"] = _el("text", nid, {
        "data-component": "runtime", "data-health": runtime_health, "x": 8, "y": 54,
        "fill": _MUTED}, f"runtime {node.runtime}")
    for i, use in enumerate(node.capacity):
        _bar(scene, nid, i, use, 62 + 13 * i)
    _chips(scene, nid, node.pods, state.chip_limit, NODE_W, 104, changed_pods, cache)
    if len(node.pods) > NAMED_CHIPS_UP_TO:
        counts = " · ".join(f"{n} {status}" for status, n in node.status_counts)
        scene[nid + "#counts"] = _el("text", nid, {"x": 8, "y": NODE_H - 8, "fill": _MUTED},
                                     counts)


def _waiting(scene: Scene, state: DiagramState, top: int, changed: Mapping[str, str]) -> int:
    if not state.waiting:
        return top
    wid = "waiting"
    scene[wid] = _el("g", "layer/boxes", {"data-section": "waiting",
                                          "transform": f"translate({GUTTER},{top})"})
    # The lane also holds pods bound to a node the snapshot does not list (a partial
    # recording, a node object deleted before PodGC removed its pods, or a node hidden from
    # the viewer); they are not Pending and the scheduler has nothing left to do for them.
    reasons: dict[str, int] = {}
    pending = elsewhere = 0
    for p in state.waiting:
        if p.node:
            elsewhere += 1
            reason = f"{p.reason} on {p.node} (node not listed)"
        else:
            pending += 1
            reason = p.reason
        reasons[reason] = reasons.get(reason, 0) + 1
    shown = list(reasons.items())[:3]
    height = 40 + 14 * len(shown) + (40 if len(state.waiting) <= NAMED_CHIPS_UP_TO else 60)
    scene[wid + "#frame"] = _el("rect", wid, {
        "width": WIDTH - 2 * GUTTER, "height": height, "rx": 8, "fill": "#f7f8fa",
        "stroke": "#9aa5b1", "stroke-dasharray": "5 3"})
    titles = ([f"Waiting for the scheduler ({pending} Pending)"] if pending else []) + (
        [f"On nodes not listed ({elsewhere})"] if elsewhere else [])
    scene[wid + "#title"] = _el("text", wid, {"x": 8, "y": 18, "font-weight": 700},
                                " \u00b7 ".join(titles))
    for i, (reason, n) in enumerate(shown):
        scene[f"{wid}#reason{i}"] = _el("text", wid, {"data-reason": "", "x": 8, "y": 34 + 14 * i,
                                                      "fill": _MUTED}, f"{n} \u00d7 {reason}")
    _chips(scene, wid, state.waiting, state.chip_limit, WIDTH - 2 * GUTTER,
           28 + 14 * len(shown), changed)
    return top + height + 10


def build(state: DiagramState, cache: ElementCache | None = None) -> Scene:
    """The scene for ``state``: control plane, links, nodes, chips, waiting pods.
    ``cache`` (kept between calls) reuses unchanged chips' elements."""
    changed_pods = {c.subject: c.kind for c in state.changes if "/" in c.subject}
    changed_nodes = {c.subject for c in state.changes if c.kind.startswith("node-")}
    scene: Scene = {
        "layer/links": _el("g", "", {"data-layer": "links"}),
        "layer/boxes": _el("g", "", {"data-layer": "boxes"}),
    }
    info = state.cluster
    bits = [info.context or "cluster"]
    if info.server_version:
        bits.append(f"Kubernetes {info.server_version}")
    bits.append(info.note)
    if state.filter_text:
        bits.append(f"showing {state.filter_text}")
    scene["header"] = _el("text", "layer/boxes", {"data-section": "header", "x": 8, "y": 146,
                                                  "fill": _MUTED},
                          " · ".join(bits))
    if info.control_plane_hidden:
        scene["note/hidden"] = _el("text", "layer/boxes", {
            "data-note": "control-plane-hidden", "x": 8, "y": 162, "fill": "#2f5fb3"},
            "Managed cluster: the provider runs the API server, etcd, scheduler and "
            "controller manager outside your nodes; only the API's answers are visible.")
    cp_nodes = ", ".join(n.name for n in state.nodes if n.control_plane)
    where = (f"control plane on {cp_nodes}" if cp_nodes else
             "control plane: run by the provider, out of sight" if info.control_plane_hidden
             else "control plane: not visible")
    scene["cp/frame"] = _el("rect", "layer/links", {
        "x": API[0] - 200, "y": 2, "width": API[2] + 420, "height": 124, "rx": 10,
        "fill": "#f5f8ff", "stroke": "#c9d1db"})
    scene["cp/label"] = _el("text", "layer/links", {
        "x": API[0] - 194, "y": 120, "fill": _MUTED, "font-size": 10},
        where if len(where) < 60 else "control plane")
    for comp in state.control_plane:
        if comp.key == "apiserver":
            _box(scene, "cp/apiserver", "layer/boxes", comp, *API,
                 data={"data-component": "apiserver"})
            continue
        place = _CP_BOXES.get(comp.key)
        if place is None:
            continue
        (bx, by, bw, bh), path = place
        _box(scene, f"cp/{comp.key}", "layer/boxes", comp, bx, by, bw, bh,
             data={"data-component": comp.key})
        _link(scene, comp.key, path)
    client = ComponentState("kubectl", "kubectl & clients", "ok", "kubectl, the Python client "
                            "and every other API client")
    (bx, by, bw, bh), path = _CP_BOXES["kubectl"]
    _box(scene, "cp/kubectl", "layer/boxes", client, bx, by, bw, bh,
         data={"data-client": "kubectl"})
    _link(scene, "kubectl", path)
    for i, node in enumerate(state.nodes):
        _node(scene, i, node, state, changed_pods, changed_nodes, cache)
    rows = (len(state.nodes) + COLUMNS - 1) // COLUMNS
    bottom = _waiting(scene, state, NODES_TOP + rows * ROW_PITCH, changed_pods)
    scene["size"] = _el("meta", "", {"width": WIDTH, "height": max(bottom, NODES_TOP + 20)})
    if cache is not None:
        cache.swap()
    return scene


# --------------------------------------------------------------------------- deltas


@dataclass(frozen=True)
class Delta:
    """Elements to set (new or changed, parents first) and ids to delete."""

    set: dict[str, Element] = field(default_factory=dict)
    delete: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.set or self.delete)

    def to_json(self) -> dict[str, Any]:
        return {"set": self.set, "del": self.delete}


def scene_delta(old: Mapping[str, Element], new: Mapping[str, Element]) -> tuple[Delta, Delta]:
    """(forward, undo): the ops that turn ``old`` into ``new``, and back."""
    forward = Delta({k: v for k, v in new.items() if (o := old.get(k)) is not v and o != v},
                    [k for k in old if k not in new])
    undo = Delta({k: old[k] for k in old if k not in new or (k in forward.set)},
                 [k for k in forward.set if k not in old])
    return forward, undo


def apply(scene: Scene, delta: Delta) -> Scene:
    """A new scene with ``delta`` applied (the browser does the same to its SVG)."""
    out = {k: v for k, v in scene.items() if k not in delta.delete}
    out.update(delta.set)
    return out


@dataclass(frozen=True)
class Frame:
    """One update: what changed in the picture, how to undo it, and who did it."""

    seq: int
    at: str
    forward: Delta
    undo: Delta
    pulses: tuple[dict[str, Any], ...] = ()
    changes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "fwd": self.forward.to_json(),
                "undo": self.undo.to_json(), "pulses": list(self.pulses),
                "changes": list(self.changes)}


class History:
    """The last ``limit`` frames, oldest first; :meth:`scene_at` rewinds the current scene."""

    def __init__(self, limit: int = 500) -> None:
        self.frames: deque[Frame] = deque(maxlen=limit)

    def __len__(self) -> int:
        return len(self.frames)

    def __iter__(self) -> Iterator[Frame]:
        return iter(self.frames)

    def append(self, frame: Frame) -> None:
        self.frames.append(frame)

    def scene_at(self, current: Scene, index: int) -> Scene:
        """The scene right after frame ``index`` (0 = oldest kept), from the current one."""
        if not -len(self.frames) <= index < len(self.frames):
            raise IndexError(f"frame {index} not in a history of {len(self.frames)}")
        index %= len(self.frames)
        scene = current
        for frame in reversed(list(self.frames)[index + 1:]):
            scene = apply(scene, frame.undo)
        return scene


# --------------------------------------------------------------------------- static SVG


def _attrs(attrs: Mapping[str, Any]) -> str:
    return "".join(f' {k}="{escape(str(v), quote=True)}"' for k, v in attrs.items())


def svg(scene: Mapping[str, Element]) -> str:
    """The scene as one ``<svg>`` element (what ``diagram.js`` draws, without scripts)."""
    children: dict[str, list[str]] = {}
    for eid, el in scene.items():
        children.setdefault(el.get("p", ""), []).append(eid)

    def emit(eid: str) -> Iterable[str]:
        el = scene[eid]
        yield f"<{el['k']}{_attrs(el['a'])}>"
        if el.get("tip"):
            yield f"<title>{escape(el['tip'])}</title>"
        if "x" in el:
            yield escape(str(el["x"]))
        for child in children.get(eid, ()):
            yield from emit(child)
        yield f"</{el['k']}>"

    size = scene.get("size", {}).get("a", {"width": WIDTH, "height": 400})
    parts = [f'<svg class="kubelab-scene" '
             f'width="{size["width"]}" height="{size["height"]}" '
             f'viewBox="0 0 {size["width"]} {size["height"]}" '
             f'style="font-family:{_FONT};font-size:11px;fill:{_TEXT};max-width:100%">']
    for eid in children.get("", ()):
        if scene[eid]["k"] != "meta":
            parts.extend(emit(eid))
    parts.append("</svg>")
    return "".join(parts)
