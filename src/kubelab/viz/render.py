"""Draw a :class:`~kubelab.viz.model.DiagramState` as one self-contained HTML/SVG string.

The picture is the architecture drawing of :mod:`kubelab.viz.scene` (the Kubernetes docs'
"Cluster Architecture": the API server in the middle, etcd behind it, the scheduler and
controller manager beside it, a kubelet and kube-proxy on every node, every component
linked to the API server and nothing else), as static SVG, with the header, the "just
changed" list and the legend around it.

The output has no scripts and no external assets. That is what lets the same string serve
as the static copy saved notebooks and ``nbconvert --to html`` keep (the live widget's
``value``), and as a standalone page for browser tests. Every drawn thing carries a
``data-*`` attribute (``data-component``, ``data-node``, ``data-pod``, ``data-status``,
``data-health``) so tests can find it; the live front-end (``static/diagram.js``) draws the
very same elements from the scene's JSON.

Purely computational: state in, string out.
"""

from __future__ import annotations

from html import escape

from kubelab.viz import scene as scenes
from kubelab.viz.model import HEALTH_COLOURS, DiagramState

_FONT = "font-family:-apple-system,'Segoe UI',Roboto,'DejaVu Sans',Arial,sans-serif"
_SMALL = "font-size:11px;color:#52606d"


def _a(value: object) -> str:
    return escape(str(value), quote=True)


def _dot(health: str) -> str:
    colour = HEALTH_COLOURS.get(health, HEALTH_COLOURS["unknown"])
    return (
        '<svg width="10" height="10" viewBox="0 0 10 10" style="vertical-align:middle;margin-right:4px" '
        f'aria-hidden="true"><circle cx="5" cy="5" r="4" fill="{colour}" stroke="#52606d"'
        ' stroke-width="0.8"></circle></svg>'
    )


def legend_html(state: DiagramState) -> str:
    """Pod colours and health dots, with what each means (the front-end shows the same)."""
    items = "".join(
        f'<span data-legend="{_a(e.status)}" title="{_a(e.meaning)}" style="margin-right:10px;white-space:nowrap">'
        f'<span style="display:inline-block;width:11px;height:11px;background:{e.colour};border-radius:3px;'
        f'border:1px solid rgba(0,0,0,.25);vertical-align:middle;margin-right:3px"></span>{escape(e.label)}</span>'
        for e in state.legend
    )
    health = "".join(
        f'<span style="margin-right:10px;white-space:nowrap">{_dot(h)}{h}</span>'
        for h in HEALTH_COLOURS
    )
    return f'<div data-section="legend" style="{_SMALL};margin:4px">{items}<br>{health}</div>'


def changes_html(state: DiagramState) -> str:
    if not state.changes:
        return ""
    items = "".join(
        f'<li data-change="{_a(c.kind)}">{escape(c.message)}</li>' for c in state.changes[:12]
    )
    more = f"<li>… {len(state.changes) - 12} more</li>" if len(state.changes) > 12 else ""
    return (
        f'<div data-section="changes" style="{_SMALL};margin:4px"><b>Just changed</b>'
        f'<ul style="margin:2px 0 0 16px;padding:0">{items}{more}</ul></div>'
    )


def render(state: DiagramState, scene: scenes.Scene | None = None) -> str:
    """The diagram as one HTML fragment (a ``<div class="kubelab-diagram">``); ``scene``
    is :func:`kubelab.viz.scene.build` of ``state`` when the caller already has it."""
    drawn = scene if scene is not None else scenes.build(state)
    return (
        f'<div class="kubelab-diagram" data-at="{_a(state.at)}" data-changes="{len(state.changes)}" '
        f'style="{_FONT};font-size:12px;color:#1f2933;background:#fbfcfd;padding:4px;border-radius:8px">'
        f'<div style="{_SMALL};margin:2px 4px">at {escape(state.at)}</div>'
        f"{scenes.svg(drawn)}{changes_html(state)}{legend_html(state)}</div>"
    )


def render_page(state: DiagramState, *, title: str = "Cluster diagram") -> str:
    """A complete standalone HTML document around :func:`render`."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head><body>{render(state)}</body></html>\n"
    )
