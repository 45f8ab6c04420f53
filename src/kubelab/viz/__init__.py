"""The live cluster diagram: what the workshop drew on the whiteboard, kept up to date.

Layers, like the rest of the course: :mod:`~kubelab.viz.model` (pure view-model),
:mod:`~kubelab.viz.scene` (pure: the architecture picture as SVG elements, deltas between
pictures, the replay history), :mod:`~kubelab.viz.activity` (pure: who changed what, as
pulses along the links to the API server), :mod:`~kubelab.viz.render` (pure static
HTML/SVG), :mod:`~kubelab.viz.watcher` (list+watch threads over the official
``kubernetes`` client) and :mod:`~kubelab.viz.widgets` (the anywidget diagram, whose
front-end is ``static/diagram.js``, and ipywidgets views). Only standard Kubernetes API calls are made, so the diagram draws the
embedded sandbox, kind, kubeadm and managed clusters alike; ``kubelab.sandbox`` is never
imported here.

The names below are imported on first use (PEP 562 ``__getattr__``): ``import kubelab.viz``
costs nothing, and ``from kubelab.viz import render`` does not pull in ipywidgets and the
``kubernetes`` client's API classes, which only the widgets need.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_WHERE = {
    "ClusterSnapshot": "model", "DiagramState": "model", "diff": "model", "project": "model",
    "render": "render", "render_page": "render",
    "ClusterDiagram": "widgets", "EventFeed": "widgets", "NodeCapacityBars": "widgets",
    "RolloutTimeline": "widgets", "TrafficPerPod": "widgets", "show_cluster": "widgets",
}

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


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
