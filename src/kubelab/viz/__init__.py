"""The live cluster diagram: what the workshop drew on the whiteboard, kept up to date.

Layers, like the rest of the course: :mod:`~kubelab.viz.model` (pure view-model),
:mod:`~kubelab.viz.render` (pure HTML/SVG), :mod:`~kubelab.viz.watcher` (list+watch
threads over the official ``kubernetes`` client) and :mod:`~kubelab.viz.widgets`
(ipywidgets). Only standard Kubernetes API calls are made, so the diagram draws the
embedded sandbox, kind, kubeadm and managed clusters alike; ``kubelab.sandbox`` is never
imported here.
"""

from kubelab.viz.model import ClusterSnapshot, DiagramState, diff, project
from kubelab.viz.render import render, render_page
from kubelab.viz.widgets import (
    ClusterDiagram,
    EventFeed,
    NodeCapacityBars,
    RolloutTimeline,
    TrafficPerPod,
    show_cluster,
)

__all__ = [
    "ClusterDiagram",
    "ClusterSnapshot",
    "DiagramState",
    "EventFeed",
    "NodeCapacityBars",
    "RolloutTimeline",
    "TrafficPerPod",
    "diff",
    "project",
    "render",
    "render_page",
    "show_cluster",
]
