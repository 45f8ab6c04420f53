"""Jupyter widgets for the live cluster diagram and its supporting views.

:class:`ClusterDiagram` is an ``ipywidgets.HTML`` whose ``value`` is the rendered diagram.
A core widget with a plain string trait is deliberately boring: it needs no front-end
extension, works in JupyterLab, Notebook 7 and Voila, and a saved notebook or an
``nbconvert --to html`` export keeps the last drawn state with no kernel. The watcher
thread (:mod:`kubelab.viz.watcher`) feeds it snapshots; each update is one trait change
inside ``hold_sync()``. Updating widgets from a thread needs ipykernel 7.1 or newer
(7.0.x drops thread-originated comm messages, ipykernel#1450).

The supporting views (:class:`RolloutTimeline`, :class:`NodeCapacityBars`,
:class:`EventFeed`, :class:`TrafficPerPod`) are also ``HTML`` widgets holding SVG or HTML
made by pure functions in this module, so they too survive export. Attach them to a
diagram with :meth:`ClusterDiagram.add_view` and they update from the same snapshots.
"""

from __future__ import annotations

import io
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from html import escape
from typing import Any, Protocol

import ipywidgets
from kubernetes import client, config

from kubelab.apimachinery.types import ObjView as Obj
from kubelab.viz._clock import Clock, parse_time
from kubelab.viz.model import (
    DEFAULT_CHIP_LIMIT,
    ClusterSnapshot,
    DiagramState,
    NodeState,
    human_duration,
    project,
)
from kubelab.viz.render import render
from kubelab.viz.watcher import ClusterWatcher


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


class ClusterDiagram(ipywidgets.HTML):
    """The live block diagram of a cluster's control plane and workers.

    Args:
        api_client: the cluster to draw (default: the current kubeconfig context).
        namespace: draw only pods of this namespace.
        label_selector: draw only pods matching this kubectl-style selector.
        clock: time source (default: the real clock).
        chip_limit: pods drawn per node before "+N more".
        context: cluster name for the header (default: the kubeconfig context).
        watcher_options: extra keyword arguments for :class:`ClusterWatcher`.
    """

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
        **kwargs: Any,
    ) -> None:
        super().__init__(value=_placeholder("Connecting to the cluster…"), **kwargs)
        self.namespace = namespace
        self.label_selector = label_selector
        self.chip_limit = chip_limit
        self.state: DiagramState | None = None
        self.snapshot: ClusterSnapshot | None = None
        self.updates = 0
        self._api_client = api_client
        self._context = context
        self._clock = clock
        self._watcher_options = dict(watcher_options or {})
        self._watcher: ClusterWatcher | None = None
        self._views: list[SnapshotView] = []
        self._update_lock = threading.Lock()

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
        """Stop the watch threads (the last drawing stays)."""
        if self._watcher is not None:
            self._watcher.stop()

    def close(self) -> None:
        self.stop()
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
        if self.snapshot is not None:
            self.update(self.snapshot)

    # ------------------------------------------------------------------ drawing

    def update(self, snapshot: ClusterSnapshot) -> DiagramState:
        """Project, render and show ``snapshot`` (callable from any thread)."""
        with self._update_lock:
            state = project(
                snapshot,
                namespace=self.namespace,
                label_selector=self.label_selector,
                chip_limit=self.chip_limit,
                previous=self.state,
            )
            html = render(state)
            with self.hold_sync():
                self.value = html
            self.state, self.snapshot = state, snapshot
            self.updates += 1
            for view in self._views:
                view.update_from(snapshot, state)
            return state


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
