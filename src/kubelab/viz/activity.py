"""Who changed what: watch events turned into pulses along the diagram's links.

In a real cluster no component talks to another: each one writes to the API server and
watches it (client-go informers), and the API server stores everything in etcd. A
``kubectl scale`` therefore travels kubectl → API server → controller manager (its
Deployment and ReplicaSet controllers watch and write) → API server → scheduler (watches
unscheduled pods, writes a binding) → API server → kubelet (watches the pods bound to its
node, writes their status). This module reads that story back from the changes the
diagram's watcher receives, as a :class:`Pulse` per hop:

* **Who wrote** comes first from the object's ``metadata.managedFields``: the field
  managers whose entry is new or has a newer ``time`` than before wrote this change
  (``kube-controller-manager``, ``kube-scheduler``, ``kubelet``, ``kubectl-scale``…; the
  API server's field manager, ``staging/src/k8s.io/apiserver/pkg/endpoints/handlers/
  fieldmanager``, records one entry per manager, operation and subresource).
* **Fallback rules** when managers are missing (clusters or recordings that strip
  ``managedFields``, as ``kubectl get -o yaml`` does by default, or the same manager
  writing twice within the entry's one-second ``time`` resolution): ``spec.nodeName`` set
  ⇒ the scheduler bound the pod (a binding, ``pods/binding``, which real clusters do not
  record as a managedFields entry, so this rule always wins); a pod's status changed ⇒ the
  kubelet of its node; a new pod owned by a ReplicaSet, Job, StatefulSet or DaemonSet ⇒
  the controller manager; a new or re-sized ReplicaSet ⇒ the controller manager (the
  Deployment controller); a Deployment, Service or pod with no owner ⇒ kubectl or another
  client; a node's status ⇒ its kubelet, except ``Ready=Unknown``, which the node lifecycle
  controller writes when the kubelet fell silent; EndpointSlices ⇒ the controller manager.
* **Who is told** (the watch fan-out, pulses going *down* from the API server) follows
  which informer reacts to the change: a new unscheduled pod ⇒ the scheduler; a pod bound
  or marked for deletion ⇒ the kubelet of its node; a Deployment or ReplicaSet spec ⇒ the
  controller manager; a pod's readiness ⇒ the controller manager (ReplicaSet and
  EndpointSlice controllers); an EndpointSlice ⇒ every node's kube-proxy.

This is an interpretation of the API's changes, not a trace: the components' real
requests are not visible through the API. Purely computational: objects in, pulses out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from kubelab.apimachinery.types import ObjView as Obj
from kubelab.viz._clock import parse_time
from kubelab.viz.model import ClusterSnapshot

EventType = Literal["ADDED", "MODIFIED", "DELETED"]
Direction = Literal["up", "down"]

# Snapshot fields whose changes are read for activity; events and leases are left out on
# purpose: every component writes Events and every kubelet renews its Lease every 10 s,
# which would drown the story a learner should see.
ACTIVITY_KINDS = ("deployments", "replicasets", "pods", "nodes", "services", "endpointslices")
_KIND_NAMES = {
    "deployments": "deployment",
    "replicasets": "replicaset",
    "pods": "pod",
    "nodes": "node",
    "services": "service",
    "endpointslices": "endpointslice",
}
# Owners whose pods are created by a controller of kube-controller-manager.
_CONTROLLED_KINDS = frozenset({"ReplicaSet", "Job", "StatefulSet", "DaemonSet", "ReplicationController"})

# Components a pulse can travel to or from (the diagram draws one link for each).
CLIENT = "kubectl"
COMPONENTS = ("kubectl", "scheduler", "controller-manager", "cloud-controller-manager", "etcd",
              "kubelet", "kube-proxy")
MAX_FANOUT = 64  # kube-proxy pulses per EndpointSlice change (one per node, bounded)


@dataclass(frozen=True)
class WatchEvent:
    """One change the watcher received: ``kind`` is the snapshot field (``"pods"``)."""

    type: EventType
    kind: str
    object: Obj


@dataclass(frozen=True)
class Pulse:
    """One hop along a link: ``up`` is a request to the API server, ``down`` a watch
    notification from it. ``node`` names the node for kubelet and kube-proxy links."""

    component: str
    verb: str
    object: str
    direction: Direction = "up"
    node: str | None = None
    manager: str = ""

    @property
    def link(self) -> str:
        """The diagram's link id: ``scheduler``, ``kubelet/<node>``…"""
        return f"{self.component}/{self.node}" if self.node else self.component

    def text(self) -> str:
        who = f"{self.component} on {self.node}" if self.node else self.component
        if self.direction == "up":
            return f"{who} → API server: {self.verb} {self.object}"
        return f"API server → {who}: {self.verb} {self.object}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"c": self.component, "v": self.verb, "o": self.object,
                               "d": self.direction, "l": self.link, "t": self.text()}
        if self.node:
            out["n"] = self.node
        if self.manager:
            out["m"] = self.manager
        return out


# --------------------------------------------------------------------------- helpers


def _meta(obj: Obj | None) -> Obj:
    return (obj or {}).get("metadata") or {}


def _ref(kind: str, obj: Obj) -> str:
    meta = _meta(obj)
    name = str(meta.get("name") or "")
    ns = meta.get("namespace")
    return f"{_KIND_NAMES.get(kind, kind)} {ns}/{name}" if ns else f"{_KIND_NAMES.get(kind, kind)} {name}"


def _node_of(pod: Obj | None) -> str | None:
    node = ((pod or {}).get("spec") or {}).get("nodeName")
    return str(node) if node else None


def _controller_owner(obj: Obj) -> str | None:
    for ref in _meta(obj).get("ownerReferences") or ():
        if ref.get("controller") or len(_meta(obj).get("ownerReferences") or ()) == 1:
            return str(ref.get("kind") or "")
    return None


def _ready(pod: Obj | None) -> bool:
    for cond in ((pod or {}).get("status") or {}).get("conditions") or ():
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def _node_ready(node: Obj | None) -> str | None:
    for cond in ((node or {}).get("status") or {}).get("conditions") or ():
        if cond.get("type") == "Ready":
            return str(cond.get("status"))
    return None


def component_of_manager(manager: str) -> str | None:
    """The diagram component a field manager name belongs to (None: the API server)."""
    if manager in ("kube-scheduler", "default-scheduler"):
        return "scheduler"
    if manager == "kubelet":
        return "kubelet"
    if manager == "kube-controller-manager" or manager.endswith("-controller"):
        return "controller-manager"
    if manager == "cloud-controller-manager":
        return "cloud-controller-manager"
    if manager == "kube-proxy":
        return "kube-proxy"
    if manager == "kube-apiserver":
        return None
    return CLIENT  # kubectl-create, kubectl-scale, kubectl-client-side-apply, other clients


def _entry_key(entry: Obj) -> tuple[str, str, str]:
    return (str(entry.get("manager") or ""), str(entry.get("operation") or ""),
            str(entry.get("subresource") or ""))


def writers(old: Obj | None, new: Obj) -> list[Obj]:
    """managedFields entries that are new or newer in ``new`` than in ``old``, oldest first."""
    before = {_entry_key(e): e.get("time") for e in _meta(old).get("managedFields") or ()}
    changed = [e for e in _meta(new).get("managedFields") or ()
               if _entry_key(e) not in before or before[_entry_key(e)] != e.get("time")]

    def when(entry: Obj) -> float:
        t = parse_time(entry.get("time"))
        return t.timestamp() if t else 0.0

    return sorted(changed, key=when)


def _verb(event: WatchEvent, entry: Obj | None) -> str:
    if event.type == "ADDED":
        return "create"
    if event.type == "DELETED":
        return "delete"
    if entry is not None:
        sub = entry.get("subresource")
        op = "apply" if entry.get("operation") == "Apply" else "update"
        return f"{op} {sub}" if sub else op
    return "update"


def _status_changed(old: Obj | None, new: Obj) -> bool:
    return old is not None and (old.get("status") or {}) != (new.get("status") or {})


def _spec_changed(old: Obj | None, new: Obj) -> bool:
    return old is None or (old.get("spec") or {}) != (new.get("spec") or {})


# --------------------------------------------------------------------------- the rules


def _writer_pulses(event: WatchEvent, old: Obj | None, nodes: Sequence[str]) -> list[Pulse]:
    """The requests that made this change (pulses going up)."""
    obj, kind = event.object, event.kind
    ref = _ref(kind, obj)
    node = _node_of(obj) if kind == "pods" else (_meta(obj).get("name") if kind == "nodes" else None)
    out: list[Pulse] = []
    bound = kind == "pods" and _node_of(obj) is not None and _node_of(old) is None
    if event.type == "MODIFIED" and bound:
        # A binding: the scheduler's POST pods/binding (no managedFields entry of its own).
        out.append(Pulse("scheduler", f"bind to {_node_of(obj)}", ref, "up"))
    entries = writers(old, obj) if event.type != "DELETED" else []
    placed = False
    for entry in entries:
        manager = str(entry.get("manager") or "")
        comp = component_of_manager(manager)
        if comp is None or (bound and comp == "scheduler"):
            continue
        comp_node = str(node) if comp in ("kubelet", "kube-proxy") and node else None
        if comp in ("kubelet", "kube-proxy") and comp_node is None:
            continue
        out.append(Pulse(comp, _verb(event, entry), ref, "up", comp_node, manager))
        placed = True
    if placed:
        return out
    # Fallback: read the writer from what changed.
    verb = _verb(event, None)
    if kind == "pods":
        owner = _controller_owner(obj)
        if event.type == "ADDED":
            out.append(Pulse("controller-manager" if owner in _CONTROLLED_KINDS else CLIENT,
                             "create", ref))
            if _node_of(obj):  # created and bound before we looked
                out.append(Pulse("scheduler", f"bind to {_node_of(obj)}", ref))
                if (obj.get("status") or {}).get("containerStatuses"):
                    out.append(Pulse("kubelet", "update status", ref, "up", _node_of(obj)))
        elif event.type == "DELETED":
            # The kubelet removes a pod it finished terminating; unbound pods are deleted by
            # whoever asked (the ReplicaSet controller, the garbage collector, kubectl).
            if _node_of(obj):
                out.append(Pulse("kubelet", "delete", ref, "up", _node_of(obj)))
            else:
                out.append(Pulse("controller-manager" if owner else CLIENT, "delete", ref))
        elif not bound:  # a binding's own status change (PodScheduled=True) is the scheduler's
            if _meta(obj).get("deletionTimestamp") and not _meta(old).get("deletionTimestamp"):
                out.append(Pulse("controller-manager" if owner in _CONTROLLED_KINDS else CLIENT,
                                 "delete (graceful)", ref))
            elif _status_changed(old, obj) and _node_of(obj):
                out.append(Pulse("kubelet", "update status", ref, "up", _node_of(obj)))
            elif _status_changed(old, obj):
                out.append(Pulse("scheduler", "update status", ref))  # PodScheduled=False
            else:
                out.append(Pulse(CLIENT, verb, ref))
    elif kind == "replicasets":
        out.append(Pulse("controller-manager", verb if event.type != "MODIFIED" or _spec_changed(old, obj)
                         else "update status", ref))
    elif kind == "deployments":
        if event.type == "MODIFIED" and not _spec_changed(old, obj):
            out.append(Pulse("controller-manager", "update status", ref))
        else:
            out.append(Pulse(CLIENT, verb, ref))
    elif kind == "nodes":
        name = str(_meta(obj).get("name") or "")
        if event.type == "MODIFIED" and _spec_changed(old, obj):
            taints_only = ((old or {}).get("spec") or {}).get("unschedulable") == (
                obj.get("spec") or {}).get("unschedulable")
            out.append(Pulse("controller-manager" if taints_only else CLIENT, "update", ref))
        elif event.type == "MODIFIED" and _node_ready(obj) == "Unknown" != _node_ready(old):
            # The node lifecycle controller marks a silent node: "Kubelet stopped posting
            # node status." (the kubelet cannot report its own absence).
            out.append(Pulse("controller-manager", "update status", ref))
        elif name in nodes or event.type == "ADDED":
            out.append(Pulse("kubelet", "register" if event.type == "ADDED" else "update status",
                             ref, "up", name))
        else:
            out.append(Pulse(CLIENT, verb, ref))
    elif kind == "endpointslices":
        out.append(Pulse("controller-manager", verb, ref))
    elif kind == "services":
        out.append(Pulse(CLIENT, verb, ref))
    return out


def _watch_pulses(event: WatchEvent, old: Obj | None, nodes: Sequence[str]) -> list[Pulse]:
    """Who is told about this change (pulses going down from the API server)."""
    obj, kind = event.object, event.kind
    ref = _ref(kind, obj)
    out: list[Pulse] = []
    if kind == "pods" and event.type != "DELETED":
        node = _node_of(obj)
        if node is None and (old is None or event.type == "ADDED"):
            out.append(Pulse("scheduler", "watch: new pod to schedule", ref, "down"))
        if node and _node_of(old) is None:
            out.append(Pulse("kubelet", "watch: pod bound to this node", ref, "down", node))
        if node and _meta(obj).get("deletionTimestamp") and not _meta(old).get("deletionTimestamp"):
            out.append(Pulse("kubelet", "watch: stop the pod", ref, "down", node))
        if old is not None and _ready(old) != _ready(obj) and _controller_owner(obj):
            out.append(Pulse("controller-manager",
                             "watch: pod " + ("ready" if _ready(obj) else "not ready"), ref, "down"))
    elif kind == "pods" and _controller_owner(obj):
        out.append(Pulse("controller-manager", "watch: pod gone", ref, "down"))
    elif kind in ("deployments", "replicasets") and event.type != "DELETED":
        if _spec_changed(old, obj):
            out.append(Pulse("controller-manager", "watch: spec changed" if old else "watch: new",
                             ref, "down"))
    elif kind in ("endpointslices", "services"):
        for node in list(nodes)[:MAX_FANOUT]:
            out.append(Pulse("kube-proxy", "watch: endpoints", ref, "down", node))
    elif kind == "nodes" and event.type == "MODIFIED" and _node_ready(old) != _node_ready(obj):
        out.append(Pulse("controller-manager", f"watch: node Ready={_node_ready(obj)}", ref, "down"))
        out.append(Pulse("scheduler", f"watch: node Ready={_node_ready(obj)}", ref, "down"))
    return out


def pulses_for(event: WatchEvent, previous: Obj | None,
               nodes: Sequence[str] = ()) -> list[Pulse]:
    """The pulses one change makes: its writer(s) up to the API server, then the
    components whose watches deliver it. ``previous`` is the object before the change
    (None when new); ``nodes`` the node names, for kube-proxy fan-out."""
    if event.kind not in ACTIVITY_KINDS:
        return []
    return _writer_pulses(event, previous, nodes) + _watch_pulses(event, previous, nodes)


# --------------------------------------------------------------------------- snapshots


def _key(obj: Obj) -> tuple[str, str]:
    meta = _meta(obj)
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def _version(obj: Obj) -> object:
    meta = _meta(obj)
    return meta.get("resourceVersion") or meta.get("uid") or id(obj)


def events_between(previous: ClusterSnapshot, snapshot: ClusterSnapshot) -> list[WatchEvent]:
    """The watch events that turn ``previous`` into ``snapshot`` (one per changed object):
    what a relisting reflector would deliver. Objects without a resourceVersion (recorded
    fixtures) are compared by content."""
    out: list[WatchEvent] = []
    for kind in ACTIVITY_KINDS:
        before = {_key(o): o for o in getattr(previous, kind)}
        after = {_key(o): o for o in getattr(snapshot, kind)}
        for key, obj in after.items():
            old = before.get(key)
            if old is None:
                out.append(WatchEvent("ADDED", kind, obj))
            elif old is not obj and (_version(old) != _version(obj) if _meta(obj).get(
                    "resourceVersion") else old != obj):
                out.append(WatchEvent("MODIFIED", kind, obj))
        out += [WatchEvent("DELETED", kind, o) for k, o in before.items() if k not in after]
    return out


def pulses_between(previous: ClusterSnapshot | None, events: Iterable[WatchEvent],
                   nodes: Sequence[str] = ()) -> list[Pulse]:
    """Pulses for a sequence of events applied in order to ``previous``; each event's
    "before" is the object as the earlier events left it. The API server's writes to
    etcd are summed up as one pulse on etcd's link."""
    objects: dict[tuple[str, tuple[str, str]], Obj] = {}
    if previous is not None:
        for kind in ACTIVITY_KINDS:
            for obj in getattr(previous, kind):
                objects[(kind, _key(obj))] = obj
    out: list[Pulse] = []
    writes = 0
    for event in events:
        if event.kind not in ACTIVITY_KINDS:
            continue
        key = (event.kind, _key(event.object))
        out += pulses_for(event, objects.get(key), nodes)
        writes += 1
        if event.type == "DELETED":
            objects.pop(key, None)
        else:
            objects[key] = event.object
    if writes:
        out.append(Pulse("etcd", f"store {writes} change{'s' if writes > 1 else ''}", "", "down"))
    return out


def dedupe(pulses: Iterable[Pulse]) -> Iterator[Pulse]:
    """Pulses without immediate repeats of the same hop for the same object."""
    last: Mapping[str, object] | None = None
    for pulse in pulses:
        key = {"l": pulse.link, "v": pulse.verb, "o": pulse.object, "d": pulse.direction}
        if key != last:
            yield pulse
        last = key


@dataclass(frozen=True)
class Flow:
    """The hops a change made, in order, as a learner reads them under the diagram: what the
    pulses showed, kept as text (a saved notebook or a screen reader gets the same story).

    ``hops`` holds each pulse's :meth:`Pulse.text`; repeats in a row (a kubelet reporting a
    pod's status three times) are folded into one line with a count."""

    hops: tuple[str, ...]

    @classmethod
    def of(cls, texts: Iterable[str]) -> Flow:
        folded: list[tuple[str, int]] = []
        for text in texts:
            if folded and folded[-1][0] == text:
                folded[-1] = (text, folded[-1][1] + 1)
            else:
                folded.append((text, 1))
        return cls(tuple(t if n == 1 else f"{t} ({n} times)" for t, n in folded))

    def components(self) -> list[str]:
        """The components involved, in the order they first acted (``API server`` left out:
        every hop goes through it)."""
        seen: list[str] = []
        for hop in self.hops:
            ends = hop.split(":", 1)[0].split(" → ")
            for end in ends:
                name = end.split(" on ", 1)[0].strip()
                if name != "API server" and name not in seen:
                    seen.append(name)
        return seen

    def __str__(self) -> str:
        if not self.hops:
            return "(no activity recorded)"
        return "\n".join(f"{i:>3}. {hop}" for i, hop in enumerate(self.hops, 1))

    def _repr_html_(self) -> str:
        from html import escape

        if not self.hops:
            return "<p><em>no activity recorded</em></p>"
        items = "".join(f"<li><code>{escape(hop)}</code></li>" for hop in self.hops)
        return f'<ol class="kubelab-flow">{items}</ol>'
