"""Draw a :class:`~kubelab.viz.model.DiagramState` as one self-contained HTML/SVG string.

The picture is the workshop's block diagram (the one the Kubernetes docs draw in
"Cluster Architecture"): a control-plane box with the API server, etcd, scheduler,
controller manager (and cloud controller manager when present), then one box per worker
with its kubelet, kube-proxy, container runtime, requests-vs-allocatable bars and pods.

The output uses only inline styles, inline SVG and one scoped ``<style>`` block for the
"just changed" pulse, with no scripts and no external assets. That is what lets the same
string serve three purposes: the live ``ipywidgets.HTML`` value, the static copy that
saved notebooks and ``nbconvert --to html`` keep, and a standalone page for browser
tests. Every drawn thing carries a ``data-*`` attribute (``data-component``,
``data-node``, ``data-pod``, ``data-status``, ``data-health``) so tests can find it.

Purely computational: string in, string out.
"""

from __future__ import annotations

from html import escape

from kubelab.viz.model import (
    HEALTH_COLOURS,
    STATUS_COLOURS,
    ComponentState,
    DiagramState,
    Health,
    NodeState,
    PodChip,
    ResourceUse,
)

NAMED_CHIPS_UP_TO = 12  # above this many pods a node draws compact squares

_FONT = "font-family:-apple-system,'Segoe UI',Roboto,'DejaVu Sans',Arial,sans-serif"
_BOX = "border:1px solid #c9d1db;border-radius:8px;background:#ffffff;padding:8px;margin:4px;box-sizing:border-box"
_SMALL = "font-size:11px;color:#52606d"
_STYLE = """<style>
@keyframes kl-pulse { 0% { box-shadow: 0 0 0 0 rgba(255,140,0,.9); } 100% { box-shadow: 0 0 0 7px rgba(255,140,0,0); } }
.kubelab-diagram .kl-changed { animation: kl-pulse 0.9s ease-out 3; outline: 2px solid #ff8c00; }
</style>"""


def _a(value: object) -> str:
    return escape(str(value), quote=True)


def _dot(health: str) -> str:
    colour = HEALTH_COLOURS.get(health, HEALTH_COLOURS["unknown"])
    dash = ' stroke-dasharray="2 1.5"' if health == "hidden" else ""
    return (
        '<svg width="10" height="10" viewBox="0 0 10 10" style="vertical-align:middle;margin-right:4px" '
        f'aria-hidden="true"><circle cx="5" cy="5" r="4" fill="{colour}" stroke="#52606d"'
        f' stroke-width="0.8"{dash}/></svg>'
    )


def _component(c: ComponentState, changed: set[str], *, wide: bool = True) -> str:
    cls = ' class="kl-changed"' if c.key in changed else ""
    bg = {"down": "#fdeaea", "degraded": "#fff6dc", "hidden": "#f4f6f8"}.get(c.health, "#f7faf8")
    border = "dashed" if c.health == "hidden" else "solid"
    pod = f' data-pod="kube-system/{_a(c.pod)}"' if c.pod else ""
    why = f'<div style="{_SMALL};white-space:normal">{escape(c.why)}</div>' if wide else ""
    return (
        f'<div{cls} data-component="{_a(c.key)}" data-health="{_a(c.health)}"{pod} '
        f'title="{_a(c.label + ": " + c.health + " - " + c.why)}" '
        f'style="border:1px {border} #c9d1db;border-radius:6px;background:{bg};padding:4px 6px;margin:3px;'
        f'flex:1 1 {"150px" if wide else "70px"};min-width:0">'
        f'<div style="font-weight:600">{_dot(c.health)}{escape(c.label)}'
        f' <span style="{_SMALL};font-weight:400">{escape(c.health)}</span></div>{why}</div>'
    )


def _bar(use: ResourceUse) -> str:
    pct = min(100.0, use.fraction * 100)
    colour = "#e0524f" if use.fraction > 0.9 else "#f4c542" if use.fraction > 0.7 else "#4c8bf5"
    return (
        f'<div data-resource="{_a(use.resource)}" title="{_a(use.resource)} requests / allocatable: {_a(use.text)}" '
        f'style="display:flex;align-items:center;gap:4px;{_SMALL}">'
        f'<span style="width:48px">{escape(use.resource)}</span>'
        f'<span style="flex:1;height:7px;background:#e8edf2;border-radius:4px;overflow:hidden">'
        f'<span style="display:block;height:7px;width:{pct:.0f}%;background:{colour}"></span></span>'
        f'<span style="min-width:86px;text-align:right">{escape(use.text)}</span></div>'
    )


def _chip(p: PodChip, changed: dict[str, str], *, named: bool) -> str:
    colour = STATUS_COLOURS.get(p.status, "#6b7280")
    kind = changed.get(p.key)
    cls = ' class="kl-changed"' if kind else ""
    data_changed = f' data-changed="{_a(kind)}"' if kind else ""
    tip = f"{p.key}\n{p.reason} · ready {p.ready} · restarts {p.restarts}"
    if p.owner:
        tip += f"\nowner {p.owner}"
    if p.probe_message:
        tip += f"\n{p.probe_message}"
    border = "1px dashed #52606d" if p.status == "unscheduled" else "1px solid rgba(0,0,0,.25)"
    common = (
        f'{cls} data-pod="{_a(p.key)}" data-status="{_a(p.status)}"{data_changed} title="{_a(tip)}"'
    )
    if named:
        return (
            f'<span{common} style="display:inline-block;max-width:170px;overflow:hidden;text-overflow:ellipsis;'
            f"white-space:nowrap;background:{colour};border:{border};border-radius:9px;padding:1px 7px;"
            f'margin:2px;font-size:11px;color:#111">{escape(p.name)}</span>'
        )
    return (
        f'<span{common} style="display:inline-block;width:12px;height:12px;background:{colour};'
        f'border:{border};border-radius:3px;margin:1px"></span>'
    )


def _more(hidden: tuple[PodChip, ...]) -> str:
    if not hidden:
        return ""
    names = "\n".join(p.key for p in hidden)
    return (
        f'<span data-more="{len(hidden)}" title="{_a(names)}" '
        f'style="{_SMALL};margin-left:4px;font-weight:600">+{len(hidden)} more</span>'
    )


def _chips(pods: tuple[PodChip, ...], limit: int, changed: dict[str, str]) -> str:
    named = len(pods) <= NAMED_CHIPS_UP_TO
    shown, hidden = pods[:limit], pods[limit:]
    inner = "".join(_chip(p, changed, named=named) for p in shown)
    return f'<div style="line-height:1">{inner}{_more(hidden)}</div>'


def _counts(node: NodeState) -> str:
    if len(node.pods) <= NAMED_CHIPS_UP_TO:
        return ""
    parts = [f"{n} {status}" for status, n in node.status_counts]
    return f'<div style="{_SMALL};margin-top:2px">{escape(" · ".join(parts))}</div>'


def _node(
    node: NodeState, state: DiagramState, changed_pods: dict[str, str], changed_nodes: set[str]
) -> str:
    cls = ' class="kl-changed"' if node.name in changed_nodes else ""
    badges = []
    if node.kubelet.health == "down":
        badges.append(("NotReady", "#e0524f"))
    if node.unschedulable:
        badges.append(("SchedulingDisabled", "#f4c542"))
    badge_html = "".join(
        f'<span style="background:{c};color:#111;border-radius:4px;padding:0 4px;margin-left:4px;font-size:10px">{t}</span>'
        for t, c in badges
    )
    roles = ", ".join(node.roles) or "worker"
    runtime_health: Health = "ok" if node.kubelet.health == "ok" else "unknown"
    runtime = ComponentState("runtime", "runtime", runtime_health, node.runtime, node=node.name)
    agents = (
        _component(node.kubelet, set(), wide=False)
        + _component(node.kube_proxy, set(), wide=False)
        + _component(runtime, set(), wide=False)
    )
    bg = "#fff7f7" if node.kubelet.health == "down" else "#ffffff"
    return (
        f'<div{cls} data-node="{_a(node.name)}" data-health="{_a(node.kubelet.health)}" '
        f'style="{_BOX};background:{bg};flex:1 1 250px;min-width:230px;max-width:420px">'
        f'<div style="font-weight:700" title="{_a(node.kubelet.why)}">{escape(node.name)}'
        f' <span style="{_SMALL};font-weight:400">{escape(roles)} · {escape(node.kubelet_version)}</span>{badge_html}</div>'
        f'<div style="{_SMALL}">kubelet: {escape(node.kubelet.why)}</div>'
        f'<div style="display:flex;flex-wrap:wrap">{agents}</div>'
        f'<div style="{_SMALL};margin:2px 0">runtime {escape(node.runtime)}</div>'
        + "".join(_bar(u) for u in node.capacity)
        + f'<div style="margin-top:4px">{_chips(node.pods, state.chip_limit, changed_pods)}</div>'
        + _counts(node)
        + "</div>"
    )


def _header(state: DiagramState) -> str:
    info = state.cluster
    bits = [f"<b>{escape(info.context or 'cluster')}</b>"]
    if info.server_version:
        bits.append(f"Kubernetes {escape(info.server_version)}")
    bits.append(escape(info.note))
    if state.filter_text:
        bits.append(f"showing {escape(state.filter_text)}")
    bits.append(f"at {escape(state.at)}")
    warn = ""
    if info.control_plane_hidden:
        warn = (
            '<div data-note="control-plane-hidden" style="background:#eef4ff;border:1px solid #b9cdf5;'
            'border-radius:6px;padding:4px 8px;margin:4px">The control plane of this managed cluster is '
            "hidden: the provider runs the API server, etcd, scheduler and controller manager outside "
            "your nodes, so only the API server's answers are visible.</div>"
        )
    return f'<div data-section="header" style="margin:2px 4px">{" · ".join(bits)}</div>{warn}'


def _legend(state: DiagramState) -> str:
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


def _changes(state: DiagramState) -> str:
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


def _waiting(state: DiagramState, changed: dict[str, str]) -> str:
    if not state.waiting:
        return ""
    reasons: dict[str, int] = {}
    for p in state.waiting:
        reasons[p.reason] = reasons.get(p.reason, 0) + 1
    reason_html = "".join(
        f'<div data-reason style="{_SMALL}">{n} &times; {escape(r)}</div>'
        for r, n in list(reasons.items())[:5]
    )
    return (
        f'<div data-section="waiting" style="{_BOX};border-style:dashed;background:#f7f8fa">'
        f"<b>Waiting for the scheduler</b> ({len(state.waiting)} Pending)"
        f"{reason_html}{_chips(state.waiting, state.chip_limit, changed)}</div>"
    )


def render(state: DiagramState) -> str:
    """The diagram as one HTML fragment (a ``<div class="kubelab-diagram">``)."""
    changed_pods = {c.subject: c.kind for c in state.changes if "/" in c.subject}
    changed_nodes = {c.subject for c in state.changes if c.kind.startswith("node-")}
    changed_components = {c.subject for c in state.changes if c.kind == "component"}
    cp_nodes = [n for n in state.nodes if n.control_plane]
    workers = [n for n in state.nodes if not n.control_plane]
    where = ", ".join(n.name for n in cp_nodes) or (
        "hidden (managed by the provider)" if state.cluster.control_plane_hidden else "not visible"
    )
    components = "".join(_component(c, changed_components) for c in state.control_plane)
    control_plane = (
        f'<div data-section="control-plane" style="{_BOX};background:#f5f8ff;flex:1 1 100%">'
        f'<div style="font-weight:700">Control plane <span style="{_SMALL};font-weight:400">'
        f"on {escape(where)}</span></div>"
        f'<div style="display:flex;flex-wrap:wrap">{components}</div>'
        f'<div style="display:flex;flex-wrap:wrap">'
        + "".join(_node(n, state, changed_pods, changed_nodes) for n in cp_nodes)
        + "</div></div>"
    )
    worker_html = "".join(_node(n, state, changed_pods, changed_nodes) for n in workers)
    return (
        f'<div class="kubelab-diagram" data-at="{_a(state.at)}" data-changes="{len(state.changes)}" '
        f'style="{_FONT};font-size:12px;color:#1f2933;background:#fbfcfd;padding:4px;border-radius:8px">'
        f"{_STYLE}{_header(state)}"
        f'<div style="display:flex;flex-wrap:wrap">{control_plane}</div>'
        f'<div data-section="workers" style="display:flex;flex-wrap:wrap">{worker_html}</div>'
        f"{_waiting(state, changed_pods)}{_changes(state)}{_legend(state)}</div>"
    )


def render_page(state: DiagramState, *, title: str = "Cluster diagram") -> str:
    """A complete standalone HTML document around :func:`render`."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head><body>{render(state)}</body></html>\n"
    )
