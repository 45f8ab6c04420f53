"""Jupyter widgets for the live cluster diagram and its supporting views.

:class:`ClusterDiagram` is an anywidget (a small ESM front-end, ``static/diagram.js``,
shipped with the package; anywidget's JupyterLab/Notebook 7 extension loads it, no build
step): the kernel sends the browser the diagram once, then only what changed, so an update
of a 1,000-pod cluster is a few hundred bytes instead of the whole drawing. Its ``value``
keeps a static HTML copy for saved notebooks and ``nbconvert --to html`` exports. The
watcher thread (:mod:`kubelab.viz.watcher`) feeds it snapshots and the watch events between
them. Sending from a thread needs ipykernel 7.1 or newer (7.0.x drops thread-originated
comm messages, ipykernel#1450).

The supporting views (:class:`RolloutTimeline`, :class:`NodeCapacityBars`,
:class:`EventFeed`, :class:`TrafficPerPod`) are also ``HTML`` widgets holding SVG or HTML
made by pure functions in this module, so they too survive export. Attach them to a
diagram with :meth:`ClusterDiagram.add_view` and they update from the same snapshots.
"""

from __future__ import annotations

import io
import json
import os
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any, Protocol

import anywidget
import ipywidgets
import traitlets
from kubernetes import client, config

from kubelab.apimachinery.types import ObjView as Obj
from kubelab.viz import scene as scenes
from kubelab.viz._clock import Clock, parse_time
from kubelab.viz.activity import (
    Flow,
    Pulse,
    WatchEvent,
    dedupe,
    events_between,
    pulses_between,
)
from kubelab.viz.model import (
    DEFAULT_CHIP_LIMIT,
    ClusterSnapshot,
    DiagramState,
    NodeState,
    ProjectionCache,
    human_duration,
    project,
)
from kubelab.viz.render import legend_html, render
from kubelab.viz.watcher import ClusterWatcher

STATIC = Path(__file__).parent / "static"
#: How long :meth:`ClusterDiagram.flow` waits for no new hop of its story. At the learner's
#: speed a kubelet's last reports come up to about a second after ``kubectl rollout status``.
FLOW_SETTLE = 1.5
#: The same under nbgrader (``NBGRADER_EXECUTION``): there the notebook's cluster is a private
#: sandbox at grading speed with virtual time (:func:`kubelab.connect.connect`), where those
#: reports reach the diagram within a tenth of a second of ``rollout status`` (measured: the
#: last hops 0.04 and 0.08 s after it). A second of quiet more only made lesson 1 grade slower.
GRADING_FLOW_SETTLE = 0.5


def flow_settle() -> float:
    """The quiet period :meth:`ClusterDiagram.flow` waits for by default (see above)."""
    return GRADING_FLOW_SETTLE if os.environ.get("NBGRADER_EXECUTION") else FLOW_SETTLE


class SnapshotView(Protocol):
    def update_from(self, snapshot: ClusterSnapshot, state: DiagramState) -> None: ...


def _placeholder(text: str) -> str:
    return f'<div class="kubelab-diagram" data-placeholder style="font-size:12px;color:#52606d">{escape(text)}</div>'


def default_client() -> tuple[client.ApiClient, str]:
    """The notebook's cluster (:func:`kubelab.connect.current`), or the kubeconfig context."""
    from kubelab import connect

    if connect._current is not None:
        cluster = connect._current
        return cluster.api_client, cluster.context or ("kubelab" if cluster.is_sandbox else "")
    try:
        _, current = config.list_kube_config_contexts()
        return config.new_client_from_config(), str(current.get("name") or "")
    except Exception as kubeconfig_error:
        try:
            config.load_incluster_config()
        except Exception:
            raise RuntimeError(
                "No cluster to draw: no usable kubeconfig (KUBECONFIG or ~/.kube/config) "
                f"and not running inside a cluster ({kubeconfig_error}). Start the sandbox or "
                "pass api_client=."
            ) from kubeconfig_error
        return client.ApiClient(), "in-cluster"


class ClusterDiagram(anywidget.AnyWidget):
    """The live architecture diagram of a cluster: control plane, nodes, pods, and the
    requests travelling between them.

    The kernel computes the picture (:mod:`kubelab.viz.scene`) and sends the browser only
    what changed in each update, as a *frame*: the changed SVG elements, the ops that undo
    them (for the replay slider) and the pulses of :mod:`kubelab.viz.activity` (who wrote
    what, who was told). The front-end, ``static/diagram.js`` (an anywidget ESM module),
    draws them; clicking a pod or node asks the kernel for its details and its
    :mod:`kubelab.why` diagnosis. The last :attr:`history_limit` frames are kept here too,
    so a view opened later (a second output, a reloaded page) gets them with the scene.

    ``value`` holds a static drawing (:func:`kubelab.viz.render.render`, no scripts): the
    widget shows it until the kernel answers, and it is what saved notebooks and HTML
    exports keep. The kernel sends it on the first drawing, on a filter change and on
    :meth:`stop`; the front-end keeps its own copy current (without sending it back), so
    a notebook saved with widget state holds the drawing as last seen.

    Args:
        api_client: the cluster to draw (default: the current kubeconfig context).
        namespace: draw only pods of this namespace.
        label_selector: draw only pods matching this kubectl-style selector.
        clock: time source (default: the real clock).
        chip_limit: pods drawn per node before "+N more".
        context: cluster name for the header (default: the kubeconfig context).
        watcher_options: extra keyword arguments for :class:`ClusterWatcher`.
        history_limit: frames kept for replay.
    """

    _esm = STATIC / "diagram.js"
    value = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self,
        api_client: client.ApiClient | None = None,
        namespace: str | None = None,
        label_selector: str | None = None,
        *,
        clock: Clock | None = None,
        chip_limit: int = DEFAULT_CHIP_LIMIT,
        context: str | None = None,
        watcher_options: Mapping[str, Any] | None = None,
        history_limit: int = 500,
        **kwargs: Any,
    ) -> None:
        super().__init__(value=_placeholder("Connecting to the cluster…"), **kwargs)
        self.namespace = namespace
        self.label_selector = label_selector
        self.chip_limit = chip_limit
        self.state: DiagramState | None = None
        self.snapshot: ClusterSnapshot | None = None
        self.scene: scenes.Scene = {}
        self._projection = ProjectionCache()
        self._elements = scenes.ElementCache()
        self.history = scenes.History(history_limit)
        self.updates = 0
        self.bytes_sent = 0
        self.last_frame_bytes = 0
        self.last_pulses: tuple[Pulse, ...] = ()
        self._api_client = api_client
        self._context = context
        self._clock = clock
        self._watcher_options = dict(watcher_options or {})
        self._watcher: ClusterWatcher | None = None
        self._views: list[SnapshotView] = []
        self._update_lock = threading.RLock()
        self.on_msg(self._on_front_end)

    # ------------------------------------------------------------------ wiring

    @property
    def watcher(self) -> ClusterWatcher:
        if self._watcher is None:
            api = self._api_client
            context = self._context
            if api is None:
                api, found = default_client()
                context = context or found
            self._watcher = ClusterWatcher(
                api,
                self.update,
                clock=self._clock,
                context=context or "",
                record_events=True,
                **self._watcher_options,
            )
        return self._watcher

    def add_view(self, view: SnapshotView) -> SnapshotView:
        """Update ``view`` from every snapshot this diagram draws; returns it."""
        self._views.append(view)
        if self.snapshot is not None and self.state is not None:
            view.update_from(self.snapshot, self.state)
        return view

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> ClusterDiagram:
        """Start watching; the diagram redraws within half a second of each change."""
        self.watcher.start()
        return self

    def stop(self) -> None:
        """Stop the watch threads; the last drawing stays (and becomes the static copy)."""
        if self._watcher is not None:
            self._watcher.stop()
        self.freeze()

    def close(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
        super().close()

    def refresh(self) -> None:
        """Redraw now: ask the running watcher, or list the cluster once without threads."""
        if self._watcher is not None and self._watcher.running:
            self._watcher.refresh()
        else:
            self.update(self.watcher.list_once())

    def set_filter(
        self, *, namespace: str | None = None, label_selector: str | None = None
    ) -> None:
        """Change which pods are drawn and redraw from the last snapshot."""
        self.namespace, self.label_selector = namespace, label_selector
        with self._update_lock:
            self.state = None  # a new filter is not a change in the cluster: no highlights
            snapshot = self.snapshot
        if snapshot is not None:
            self.update(snapshot, events=())
            self.freeze()

    # ------------------------------------------------------------------ drawing

    @property
    def html(self) -> str:
        """The current drawing as static HTML (what :attr:`value` holds after :meth:`freeze`)."""
        with self._update_lock:
            if self.state is None:
                return str(self.value)
            return render(self.state, self.scene)

    def freeze(self) -> None:
        """Send the current drawing as the static copy (saved notebooks, HTML exports)."""
        html = self.html
        if html != self.value:
            self.value = html

    def update(
        self, snapshot: ClusterSnapshot, events: Iterable[WatchEvent] | None = None
    ) -> DiagramState:
        """Project ``snapshot``, work out who did what, and send the browser the frame
        (callable from any thread). ``events`` are the watch events since the last
        snapshot; without them they are worked out by comparing the two snapshots.
        As with an informer's cache, a changed object must be a new object: objects are
        never modified in place (per-pod work is reused while a pod is the same object)."""
        with self._update_lock:
            state = project(
                snapshot,
                namespace=self.namespace,
                label_selector=self.label_selector,
                chip_limit=self.chip_limit,
                previous=self.state,
                cache=self._projection,
            )
            previous = self.snapshot
            if events is None and self._watcher is not None:
                events = self._watcher.take_events() or None
            if events is None:
                events = events_between(previous, snapshot) if previous is not None else ()
            nodes = [n.name for n in state.nodes]
            pulses = tuple(dedupe(pulses_between(previous, events, nodes))) if previous else ()
            scene = scenes.build(state, self._elements)
            forward, undo = scenes.scene_delta(self.scene, scene)
            first = not self.scene
            self.state, self.snapshot, self.scene = state, snapshot, scene
            self.last_pulses = pulses
            self.updates += 1
            if forward or pulses:
                frame = scenes.Frame(
                    seq=self.updates,
                    at=state.at,
                    forward=forward,
                    undo=undo,
                    pulses=tuple(p.to_json() for p in pulses),
                    changes=tuple(c.message for c in state.changes[:12]),
                )
                self.history.append(frame)
                self._send_frame({"type": "frame", "frame": frame.to_json()})
            if first:
                self.value = render(state, scene)
            for view in self._views:
                view.update_from(snapshot, state)
            return state

    # ------------------------------------------------------------------ the story told

    def mark(self) -> int:
        """A point in the diagram's history, for :meth:`flow` (``since=diagram.mark()``)."""
        with self._update_lock:
            return self.updates

    def flow(self, since: int = 0, *, about: str | None = None, settle: float | None = None,
             timeout: float = 15.0) -> Flow:
        """The hops drawn as pulses after ``since`` (a :meth:`mark`), as numbered text;
        with ``about``, only hops whose object's name contains it (``about="web"`` keeps
        the Deployment ``web``, its ReplicaSet and pods, and leaves out the kubelets' node
        heartbeats and everything else going on at the time).

        The watcher delivers changes a moment after the API has them, so this first waits
        until no new hop of the story has arrived for ``settle`` seconds (at most ``timeout``): called
        right after ``kubectl rollout status``, it still shows the kubelets' last reports.
        ``settle`` defaults to :func:`flow_settle` (shorter while nbgrader runs the notebook).
        Frames older than the history kept (:attr:`history_limit`) are gone.
        """
        settle = flow_settle() if settle is None else settle
        idle = threading.Event()

        def hops() -> list[str]:
            with self._update_lock:
                frames = [f for f in self.history if f.seq > since]
            return [str(p.get("t", "")) for f in frames for p in f.pulses
                    if about is None or about in str(p.get("o", ""))]

        # Quiet means no new hop of the story: kubelets' heartbeats keep drawing frames.
        waited, quiet, step, last = 0.0, 0.0, 0.25, len(hops())
        while waited < timeout and quiet < settle:
            idle.wait(step)
            waited += step
            now = len(hops())
            quiet = 0.0 if now != last else quiet + step
            last = now
        return Flow.of(hops())

    # ------------------------------------------------------------------ front-end

    def _send_frame(self, message: dict[str, Any]) -> None:
        text = json.dumps(message, separators=(",", ":"))
        self.last_frame_bytes = len(text.encode())
        self.bytes_sent += self.last_frame_bytes
        self.send(message)

    def reset_message(self) -> dict[str, Any]:
        """What a newly opened view needs: the whole scene, the kept frames, the legend."""
        with self._update_lock:
            return {
                "type": "reset",
                "scene": self.scene,
                "frames": [f.to_json() for f in self.history],
                "legend": legend_html(self.state) if self.state else "",
            }

    def details(self, kind: str, key: str) -> str:
        """HTML for a clicked pod (``namespace/name``) or node: its facts and diagnosis."""
        with self._update_lock:
            snap, state = self.snapshot, self.state
        if snap is None or state is None:
            return ""
        return details_html(snap, state, kind, key)

    def _on_front_end(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        if content.get("type") == "hello":
            with self._update_lock:  # no frame may slip between the scene and its sending
                self._send_frame(self.reset_message())
        elif content.get("type") == "select":
            kind, key = str(content.get("kind") or ""), str(content.get("key") or "")
            self._send_frame({"type": "details", "target": f"{kind}/{key}",
                        "html": self.details(kind, key)})


def details_html(snap: ClusterSnapshot, state: DiagramState, kind: str, key: str) -> str:
    """A pod's or node's facts as the diagram knows them, and :mod:`kubelab.why`'s
    diagnosis of it from the same objects (pure; escapes everything from the cluster)."""
    from kubelab.why.diagnose import Objects, diagnose_node, diagnose_pod

    if kind == "pod":
        namespace, _, name = key.partition("/")
        chip = next((p for p in state.pods if p.key == key), None)
        objects = Objects(
            pods=[dict(p) for p in snap.pods if _ns(p) == namespace],
            events=[dict(e) for e in snap.events if _ns(e) == namespace],
            nodes=[dict(n) for n in snap.nodes],
            replicasets=[dict(r) for r in snap.replicasets if _ns(r) == namespace],
            deployments=[dict(d) for d in snap.deployments if _ns(d) == namespace],
            services=[dict(s) for s in snap.services if _ns(s) == namespace],
            endpointslices=[dict(s) for s in snap.endpointslices if _ns(s) == namespace],
        )
        diagnosis = diagnose_pod(name, objects, namespace)
        facts = []
        if chip is not None:
            facts = [("pod", chip.key), ("node", chip.node or "(not scheduled)"),
                     ("status", chip.reason), ("ready", chip.ready),
                     ("restarts", str(chip.restarts)), ("owner", chip.owner or "-")]
    else:
        node = state.node(key)
        objects = Objects(pods=[dict(p) for p in snap.pods], events=[dict(e) for e in snap.events],
                          nodes=[dict(n) for n in snap.nodes])
        diagnosis = diagnose_node(key, objects)
        facts = []
        if node is not None:
            facts = [("node", node.name), ("roles", ", ".join(node.roles) or "worker"),
                     ("kubelet", node.kubelet.why), ("kube-proxy", node.kube_proxy.why),
                     *((u.resource + " requests", u.text) for u in node.capacity),
                     ("taints", ", ".join(node.taints) or "none"),
                     ("pods", str(len(node.pods)))]
    rows = "".join(f"<tr><th style='text-align:left;padding-right:8px'>{escape(k)}</th>"
                   f"<td>{escape(v)}</td></tr>" for k, v in facts)
    return (f"<table data-details='{escape(kind)}'>{rows}</table>"
            f"<div data-diagnosis='{escape(diagnosis.reason)}'>{diagnosis._repr_html_()}</div>")


def _ns(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "")


def show_cluster(**kw: Any) -> ClusterDiagram:
    """The lessons' one-liner: a started :class:`ClusterDiagram` (end a cell with it)."""
    return ClusterDiagram(**kw).start()


# --------------------------------------------------------------------------- plots


def _figure_svg(fig: Any) -> str:
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "kubelab"}):
        fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    return text[text.find("<svg") :]


def _new_figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=96)


# --------------------------------------------------------------------------- rollout timeline


def _owned_by(obj: Obj, kind: str, name: str) -> bool:
    return any(
        r.get("kind") == kind and r.get("name") == name
        for r in (obj.get("metadata") or {}).get("ownerReferences") or ()
    )


def replica_sample(
    snapshot: ClusterSnapshot, deployment: str, namespace: str
) -> dict[str, tuple[int, int]]:
    """{ReplicaSet name: (replicas, readyReplicas)} for one Deployment, from a snapshot."""
    out: dict[str, tuple[int, int]] = {}
    for rs in snapshot.replicasets:
        meta = rs.get("metadata") or {}
        if meta.get("namespace") != namespace or not _owned_by(rs, "Deployment", deployment):
            continue
        status = rs.get("status") or {}
        out[str(meta.get("name"))] = (
            int(status.get("replicas") or 0),
            int(status.get("readyReplicas") or 0),
        )
    return out


def timeline_svg(
    samples: Sequence[tuple[datetime, Mapping[str, tuple[int, int]]]], title: str
) -> str:
    """Step lines of replicas (solid) and ready replicas (dashed) per ReplicaSet."""
    fig = _new_figure(6.4, 2.6)
    ax = fig.add_subplot()
    names = sorted({n for _, s in samples for n in s})
    t0 = samples[0][0] if samples else None
    for i, name in enumerate(names):
        xs = [(t - t0).total_seconds() for t, _ in samples] if t0 else []
        reps = [s.get(name, (0, 0))[0] for _, s in samples]
        ready = [s.get(name, (0, 0))[1] for _, s in samples]
        colour = f"C{i % 10}"
        ax.step(xs, reps, where="post", color=colour, label=f"{name} replicas")
        ax.step(xs, ready, where="post", color=colour, linestyle="--", label=f"{name} ready")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("seconds")
    ax.set_ylabel("pods")
    ax.yaxis.get_major_locator().set_params(integer=True)
    if names:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _figure_svg(fig)


class RolloutTimeline(ipywidgets.HTML):
    """Replicas per ReplicaSet of one Deployment over time (a rolling update, drawn)."""

    def __init__(
        self, deployment: str, namespace: str = "default", *, max_samples: int = 2000, **kwargs: Any
    ) -> None:
        super().__init__(value=_placeholder(f"Waiting for Deployment {deployment}…"), **kwargs)
        self.deployment, self.namespace, self.max_samples = deployment, namespace, max_samples
        self.samples: list[tuple[datetime, dict[str, tuple[int, int]]]] = []

    def record(self, snapshot: ClusterSnapshot) -> bool:
        """Add a sample if the replica counts changed; True when one was added."""
        sample = replica_sample(snapshot, self.deployment, self.namespace)
        if self.samples and self.samples[-1][1] == sample:
            return False
        self.samples.append((snapshot.now, sample))
        del self.samples[: -self.max_samples]
        return True

    def update_from(self, snapshot: ClusterSnapshot, state: DiagramState) -> None:
        if self.record(snapshot):
            title = f"Deployment {self.namespace}/{self.deployment}: pods per ReplicaSet"
            self.value = timeline_svg(self.samples, title)


# --------------------------------------------------------------------------- capacity


def capacity_html(nodes: Iterable[NodeState]) -> str:
    """One row per node: requested / allocatable bars for cpu, memory and pods."""
    rows = []
    for node in nodes:
        cells = []
        for use in node.capacity:
            pct = min(100.0, use.fraction * 100)
            colour = (
                "#e0524f" if use.fraction > 0.9 else "#f4c542" if use.fraction > 0.7 else "#4c8bf5"
            )
            cells.append(
                f'<td data-resource="{escape(use.resource)}" style="padding:2px 6px;min-width:150px">'
                f'<div style="height:9px;background:#e8edf2;border-radius:4px;overflow:hidden">'
                f'<div style="height:9px;width:{pct:.0f}%;background:{colour}"></div></div>'
                f'<div style="font-size:11px;color:#52606d">{escape(use.text)} ({pct:.0f}%)</div></td>'
            )
        rows.append(
            f'<tr data-node="{escape(node.name)}"><th style="text-align:left;padding-right:8px">{escape(node.name)}</th>{"".join(cells)}</tr>'
        )
    head = "<tr><th></th><th>cpu requests</th><th>memory requests</th><th>pods</th></tr>"
    return f'<table class="kubelab-capacity" style="font-size:12px;border-collapse:collapse">{head}{"".join(rows)}</table>'


class NodeCapacityBars(ipywidgets.HTML):
    """Requests vs allocatable per node: why a pod stays Pending with Insufficient cpu."""

    def update_from(self, snapshot: ClusterSnapshot, state: DiagramState) -> None:
        self.value = capacity_html(state.nodes)


# --------------------------------------------------------------------------- events


def _event_time(ev: Obj) -> datetime | None:
    series = ev.get("series") or {}
    for value in (
        ev.get("lastTimestamp"),
        series.get("lastObservedTime"),
        ev.get("eventTime"),
        (ev.get("metadata") or {}).get("creationTimestamp"),
    ):
        when = parse_time(value)
        if when is not None:
            return when
    return None


def latest_events(events: Iterable[Obj], limit: int, namespace: str | None = None) -> list[Obj]:
    """The ``limit`` newest events, newest first (optionally of one namespace)."""
    chosen = [
        e
        for e in events
        if not namespace or (e.get("metadata") or {}).get("namespace") == namespace
    ]

    def key(ev: Obj) -> float:
        when = _event_time(ev)
        return when.timestamp() if when else float("-inf")

    return sorted(chosen, key=key, reverse=True)[:limit]


def events_html(events: Sequence[Obj], now: datetime) -> str:
    """A table with the columns of ``kubectl get events``: LAST SEEN, TYPE, REASON, OBJECT, MESSAGE."""
    rows = []
    for ev in events:
        when = _event_time(ev)
        age = human_duration((now - when).total_seconds()) if when else "<unknown>"
        ref = ev.get("involvedObject") or ev.get("regarding") or {}
        obj = f"{str(ref.get('kind') or '').lower()}/{ref.get('name') or ''}"
        etype = str(ev.get("type") or "Normal")
        style = "background:#fff3f0" if etype == "Warning" else ""
        message = str(ev.get("message") or ev.get("note") or "").strip()
        rows.append(
            f'<tr data-reason="{escape(str(ev.get("reason") or ""))}" style="{style}">'
            f"<td>{escape(age)}</td><td>{escape(etype)}</td><td>{escape(str(ev.get('reason') or ''))}</td>"
            f"<td>{escape(obj)}</td><td>{escape(message)}</td></tr>"
        )
    head = "<tr><th>LAST SEEN</th><th>TYPE</th><th>REASON</th><th>OBJECT</th><th>MESSAGE</th></tr>"
    return (
        '<table class="kubelab-events" style="font-size:12px;font-family:monospace;border-collapse:collapse;'
        f'text-align:left">{head}{"".join(rows)}</table>'
    )


class EventFeed(ipywidgets.HTML):
    """The latest N events, newest first."""

    def __init__(self, limit: int = 15, namespace: str | None = None, **kwargs: Any) -> None:
        super().__init__(value=_placeholder("No events yet."), **kwargs)
        self.limit, self.namespace = limit, namespace

    def update_from(self, snapshot: ClusterSnapshot, state: DiagramState) -> None:
        self.value = events_html(
            latest_events(snapshot.events, self.limit, self.namespace), snapshot.now
        )


# --------------------------------------------------------------------------- traffic


def traffic_counts(responses: Iterable[str]) -> list[tuple[str, int]]:
    """Responses per pod name, most first (ties by name)."""
    return sorted(Counter(responses).items(), key=lambda kv: (-kv[1], kv[0]))


def traffic_svg(counts: Sequence[tuple[str, int]], title: str) -> str:
    fig = _new_figure(6.0, max(1.6, 0.35 * len(counts) + 0.9))
    ax = fig.add_subplot()
    names = [n for n, _ in counts][::-1]
    values = [v for _, v in counts][::-1]
    bars = ax.barh(names, values, color="#4c8bf5")
    ax.bar_label(bars, fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("responses")
    return _figure_svg(fig)


class TrafficPerPod(ipywidgets.HTML):
    """How a Service spread requests over its pods: one bar per pod that answered."""

    def __init__(self, title: str = "Responses per pod", **kwargs: Any) -> None:
        super().__init__(value=_placeholder("No responses yet."), **kwargs)
        self.title = title
        self.counts: Counter[str] = Counter()

    def update(self, responses: Iterable[str]) -> None:
        """Replace the data with these responses (pod names) and redraw."""
        self.counts = Counter(responses)
        self._draw()

    def add(self, *pod_names: str) -> None:
        """Count more responses and redraw."""
        self.counts.update(pod_names)
        self._draw()

    def _draw(self) -> None:
        self.value = traffic_svg(traffic_counts(self.counts.elements()), self.title)
