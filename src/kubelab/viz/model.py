"""The live diagram's view-model: a pure projection from API objects to what is drawn.

The workshop explained Kubernetes with one block diagram: a control plane (API server,
etcd, scheduler, controller manager) and workers (kubelet, kube-proxy, container runtime,
pods). This module computes that picture from nothing but standard API objects, the way an
operator reads a cluster with ``kubectl``:

* control-plane health comes from ``/livez`` and ``/readyz?verbose`` (the API server's
  own checks, including its ``etcd`` check), from the static pods kubeadm and kind run in
  ``kube-system`` (``kube-apiserver-<node>``, ``etcd-<node>``, ...) and from the leader
  leases the scheduler and controller manager renew in ``kube-system`` (client-go's
  ``tools/leaderelection``);
* kubelet health comes from the node's ``Ready`` condition and its heartbeat lease in
  ``kube-node-lease`` (what kube-controller-manager's node lifecycle controller,
  ``pkg/controller/nodelifecycle``, watches);
* pod colours follow the phase/readiness logic of kubectl's STATUS column
  (``printPod`` in ``pkg/printers/internalversion/printers.go``);
* requests vs allocatable are summed the way kube-scheduler's ``NodeResourcesFit`` plugin
  does (the larger of the containers' sum and any init container, plus overhead).

Everything here is purely computational: :func:`project` turns a :class:`ClusterSnapshot`
into a frozen, JSON-able :class:`DiagramState`, and :func:`diff` explains what changed
between two states so the view can highlight it. No I/O, no clock: "now" is part of the
snapshot.
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from kubelab.apimachinery import podstatus, resources, selectors
from kubelab.apimachinery.duration import human_duration
from kubelab.apimachinery.types import ObjView as Obj
from kubelab.viz._clock import parse_time, rfc3339

Health = Literal["ok", "degraded", "down", "unknown", "hidden"]

# Pod colour classes, in the order the legend lists them.
UNSCHEDULED = "unscheduled"
CREATING = "creating"
NOT_READY = "not-ready"
READY = "ready"
TERMINATING = "terminating"
FAILED = "failed"
SUCCEEDED = "succeeded"
UNKNOWN = "unknown"

CONTROL_PLANE_ROLE_LABELS = (
    "node-role.kubernetes.io/control-plane",
    "node-role.kubernetes.io/master",
)
NODE_LEASE_NAMESPACE = "kube-node-lease"
SYSTEM_NAMESPACE = "kube-system"
DEFAULT_NODE_LEASE_SECONDS = 40  # kubelet's nodeLeaseDurationSeconds default
DEFAULT_CHIP_LIMIT = 48

# Waiting/terminated reasons kubectl shows for a pod that is broken rather than starting.
ERROR_REASONS = frozenset(
    {
        "CrashLoopBackOff",
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
        "PreCreateHookError",
        "PostStartHookError",
        "OOMKilled",
        "Error",
        "ContainerStatusUnknown",
    }
)


@dataclass(frozen=True)
class LegendEntry:
    status: str
    label: str
    colour: str
    meaning: str


LEGEND: tuple[LegendEntry, ...] = (
    LegendEntry(
        UNSCHEDULED, "Pending (unscheduled)", "#b8c0cc", "waiting for the scheduler to pick a node"
    ),
    LegendEntry(
        CREATING, "ContainerCreating", "#7fb3f5", "on a node; image pull and container start"
    ),
    LegendEntry(
        NOT_READY,
        "Running, not ready",
        "#f4c542",
        "running, but its readiness probe has not passed",
    ),
    LegendEntry(READY, "Ready", "#3aa866", "running and ready: receives Service traffic"),
    LegendEntry(TERMINATING, "Terminating", "#a08fe0", "being deleted; graceful shutdown"),
    LegendEntry(
        FAILED, "Failed / CrashLoopBackOff", "#e0524f", "crashed, failed, or cannot pull its image"
    ),
    LegendEntry(SUCCEEDED, "Succeeded", "#d5dde6", "ran to completion"),
    LegendEntry(UNKNOWN, "Unknown", "#6b7280", "its node stopped reporting"),
)
STATUS_COLOURS: dict[str, str] = {e.status: e.colour for e in LEGEND}
HEALTH_COLOURS: dict[str, str] = {
    "ok": "#3aa866",
    "degraded": "#f4c542",
    "down": "#e0524f",
    "unknown": "#9aa3af",
    "hidden": "#d5dde6",
}
_HEALTH_RANK = {"ok": 0, "hidden": 0, "unknown": 1, "degraded": 2, "down": 3}


# --------------------------------------------------------------------------- snapshot


@dataclass(frozen=True)
class ClusterSnapshot:
    """Plain API objects (camelCase dicts, as ``kubectl get -o json`` prints them) at ``now``.

    ``livez``/``readyz`` hold the bodies of ``GET /livez`` and ``GET /readyz?verbose``
    (``None`` when they could not be read, for example when RBAC forbids them);
    ``api_error`` is the last error met while talking to the API server, if any.
    """

    now: datetime
    nodes: tuple[Obj, ...] = ()
    pods: tuple[Obj, ...] = ()
    leases: tuple[Obj, ...] = ()
    services: tuple[Obj, ...] = ()
    endpointslices: tuple[Obj, ...] = ()
    events: tuple[Obj, ...] = ()
    replicasets: tuple[Obj, ...] = ()
    deployments: tuple[Obj, ...] = ()
    livez: str | None = None
    readyz: str | None = None
    context: str = ""
    server_version: str = ""
    api_error: str | None = None

    LIST_FIELDS = (
        "nodes",
        "pods",
        "leases",
        "services",
        "endpointslices",
        "events",
        "replicasets",
        "deployments",
    )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClusterSnapshot:
        """Build a snapshot from a recorded fixture (``now`` as RFC 3339 text)."""
        now = data["now"]
        when = now if isinstance(now, datetime) else parse_time(str(now))
        if when is None:
            raise ValueError(f"snapshot 'now' is not an RFC 3339 time: {now!r}")
        lists = {name: tuple(data.get(name) or ()) for name in cls.LIST_FIELDS}
        return cls(
            now=when,
            livez=data.get("livez"),
            readyz=data.get("readyz"),
            context=str(data.get("context") or ""),
            server_version=str(data.get("server_version") or ""),
            api_error=data.get("api_error"),
            **lists,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"now": rfc3339(self.now)}
        for name in self.LIST_FIELDS:
            out[name] = [dict(o) for o in getattr(self, name)]
        out.update(
            livez=self.livez,
            readyz=self.readyz,
            context=self.context,
            server_version=self.server_version,
            api_error=self.api_error,
        )
        return out


# --------------------------------------------------------------------------- state


@dataclass(frozen=True)
class ComponentState:
    """One box of the diagram: a control-plane component, a kubelet, a kube-proxy."""

    key: str
    label: str
    health: Health
    why: str
    pod: str | None = None
    node: str | None = None


@dataclass(frozen=True)
class PodChip:
    namespace: str
    name: str
    node: str | None
    status: str
    reason: str
    ready: str
    restarts: int = 0
    owner: str = ""
    probe_failures: int = 0
    probe_message: str = ""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class ResourceUse:
    """Requests of the pods bound to a node against the node's allocatable amount."""

    resource: str
    requested: float
    allocatable: float
    text: str

    @property
    def fraction(self) -> float:
        return self.requested / self.allocatable if self.allocatable > 0 else 0.0


@dataclass(frozen=True)
class NodeState:
    name: str
    roles: tuple[str, ...]
    control_plane: bool
    kubelet: ComponentState
    kube_proxy: ComponentState
    runtime: str
    kubelet_version: str
    capacity: tuple[ResourceUse, ...]
    pods: tuple[PodChip, ...]
    chip_limit: int = DEFAULT_CHIP_LIMIT
    unschedulable: bool = False
    taints: tuple[str, ...] = ()

    @property
    def visible_pods(self) -> tuple[PodChip, ...]:
        return self.pods[: self.chip_limit]

    @property
    def more_pods(self) -> int:
        return max(0, len(self.pods) - self.chip_limit)

    @property
    def status_counts(self) -> tuple[tuple[str, int], ...]:
        counts: dict[str, int] = defaultdict(int)
        for pod in self.pods:
            counts[pod.status] += 1
        return tuple((e.status, counts[e.status]) for e in LEGEND if counts.get(e.status))


@dataclass(frozen=True)
class Change:
    """Something that just happened, for the view to highlight and list."""

    kind: str
    subject: str
    message: str
    node: str | None = None


@dataclass(frozen=True)
class ClusterInfo:
    context: str
    server_version: str
    control_plane_hidden: bool
    note: str


@dataclass(frozen=True)
class DiagramState:
    at: str
    cluster: ClusterInfo
    control_plane: tuple[ComponentState, ...]
    nodes: tuple[NodeState, ...]
    waiting: tuple[PodChip, ...]
    legend: tuple[LegendEntry, ...] = LEGEND
    changes: tuple[Change, ...] = ()
    filter_text: str = ""
    chip_limit: int = DEFAULT_CHIP_LIMIT

    @property
    def pods(self) -> tuple[PodChip, ...]:
        """Every pod drawn: those on nodes, then those waiting for the scheduler (and those
        bound to a node the snapshot does not list)."""
        return tuple(p for n in self.nodes for p in n.pods) + self.waiting

    @property
    def visible_waiting(self) -> tuple[PodChip, ...]:
        return self.waiting[: self.chip_limit]

    @property
    def more_waiting(self) -> int:
        return max(0, len(self.waiting) - self.chip_limit)

    def component(self, key: str) -> ComponentState | None:
        return next((c for c in self.control_plane if c.key == key), None)

    def node(self, name: str) -> NodeState | None:
        return next((n for n in self.nodes if n.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (tuples become lists), e.g. for a widget trait or a golden file."""
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------- helpers


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _name(obj: Obj) -> str:
    return str(_meta(obj).get("name") or "")


def _namespace(obj: Obj) -> str:
    return str(_meta(obj).get("namespace") or "")


def _labels(obj: Obj) -> Mapping[str, str]:
    return _meta(obj).get("labels") or {}


def _age_seconds(now: datetime, value: object) -> float | None:
    when = parse_time(value)
    return None if when is None else max(0.0, (now - when).total_seconds())


_DIGIT_RUNS = re.compile(r"(\d+)")


def _natural_key(text: str) -> tuple[Any, ...]:
    return tuple(int(t) if t.isdigit() else t for t in _DIGIT_RUNS.split(text))


def _quantity(value: object) -> Decimal:
    if value is None:
        return Decimal(0)
    try:
        exact = resources.parse_quantity(value)
    except ValueError:
        return Decimal(0)
    return Decimal(exact.numerator) / Decimal(exact.denominator)


def _condition(obj: Obj, ctype: str) -> Obj | None:
    for cond in (obj.get("status") or {}).get("conditions") or ():
        if cond.get("type") == ctype:
            return cond
    return None


# --------------------------------------------------------------------------- pods


def kubectl_pod_status(pod: Obj) -> str:
    """The STATUS column ``kubectl get pods`` prints (kubectl's ``printPod``, shared with the
    sandbox's table printer); ``Unknown`` for a pod that reports no phase yet."""
    return podstatus.pod_status_column(pod) or "Unknown"


def classify_pod(pod: Obj) -> str:
    """The legend class of a pod (see :data:`LEGEND`)."""
    status = pod.get("status") or {}
    phase = status.get("phase") or "Pending"
    if _meta(pod).get("deletionTimestamp"):
        return UNKNOWN if status.get("reason") == "NodeLost" else TERMINATING
    if phase == "Succeeded":
        return SUCCEEDED
    if phase == "Failed":
        return FAILED
    if phase == "Unknown":
        return UNKNOWN
    for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        state = cs.get("state") or {}
        waiting = (state.get("waiting") or {}).get("reason")
        if waiting in ERROR_REASONS:
            return FAILED
    if phase == "Pending":
        return CREATING if (pod.get("spec") or {}).get("nodeName") else UNSCHEDULED
    ready = _condition(pod, "Ready")
    return READY if ready and ready.get("status") == "True" else NOT_READY


def pod_requests(pod: Obj) -> dict[str, Decimal]:
    """cpu (cores) and memory (bytes) requested, counted as kube-scheduler counts them
    (sidecars included), so the capacity bars agree with the scheduler's decisions."""
    milli = resources.pod_requests(pod)
    return {r: resources.milli_to_units(milli.get(r, 0)) for r in ("cpu", "memory")}


def _ready_text(pod: Obj) -> str:
    summary = podstatus.summarize_pod(pod)
    return f"{summary.ready}/{summary.total}"


def _restarts(pod: Obj) -> int:
    return podstatus.summarize_pod(pod).restarts


def _owner(pod: Obj) -> str:
    for ref in _meta(pod).get("ownerReferences") or ():
        if ref.get("controller"):
            return f"{ref.get('kind')}/{ref.get('name')}"
    return ""


class _EventIndex:
    """Events grouped by the object they are about (core/v1 and events.k8s.io/v1 shapes)."""

    def __init__(self, events: Iterable[Obj]) -> None:
        self._by: dict[tuple[str, str, str], list[Obj]] = defaultdict(list)
        for ev in events:
            ref = ev.get("involvedObject") or ev.get("regarding") or {}
            key = (
                str(ref.get("kind") or ""),
                str(ref.get("namespace") or ""),
                str(ref.get("name") or ""),
            )
            self._by[key].append(ev)

    @staticmethod
    def when(ev: Obj) -> str:
        series = ev.get("series") or {}
        return str(
            ev.get("lastTimestamp")
            or series.get("lastObservedTime")
            or ev.get("eventTime")
            or ev.get("deprecatedLastTimestamp")
            or _meta(ev).get("creationTimestamp")
            or ""
        )

    @staticmethod
    def count(ev: Obj) -> int:
        series = ev.get("series") or {}
        return int(ev.get("count") or series.get("count") or ev.get("deprecatedCount") or 1)

    @staticmethod
    def message(ev: Obj) -> str:
        return str(ev.get("message") or ev.get("note") or "").strip()

    def for_object(self, kind: str, namespace: str, name: str) -> list[Obj]:
        return self._by.get((kind, namespace, name), [])

    def about(self, kind: str, namespace: str, name: str, reason: str) -> list[Obj]:
        found = [e for e in self._by.get((kind, namespace, name), ()) if e.get("reason") == reason]
        return sorted(found, key=self.when)


def _scheduling_reason(pod: Obj, events: _EventIndex) -> str:
    cond = _condition(pod, "PodScheduled")
    if cond and cond.get("status") == "False" and cond.get("message"):
        return str(cond["message"])
    failed = events.about("Pod", _namespace(pod), _name(pod), "FailedScheduling")
    if failed:
        return events.message(failed[-1])
    return "waiting for the scheduler"


def _pod_chip(pod: Obj, events: _EventIndex) -> PodChip:
    status = classify_pod(pod)
    ns, name = _namespace(pod), _name(pod)
    summary = podstatus.summarize_pod(pod)  # once: kubectl's STATUS, READY and RESTARTS
    reason = _scheduling_reason(pod, events) if status == UNSCHEDULED else (
        summary.status or "Unknown")
    unhealthy = events.about("Pod", ns, name, "Unhealthy") if events.for_object(
        "Pod", ns, name) else []
    return PodChip(
        namespace=ns,
        name=name,
        node=(pod.get("spec") or {}).get("nodeName") or None,
        status=status,
        reason=reason,
        ready=f"{summary.ready}/{summary.total}",
        restarts=summary.restarts,
        owner=_owner(pod),
        probe_failures=sum(events.count(e) for e in unhealthy),
        probe_message=events.message(unhealthy[-1]) if unhealthy else "",
    )


# --------------------------------------------------------------------------- components

_CP_COMPONENTS: tuple[tuple[str, str, str], ...] = (
    # key, label, static pod component / lease name
    ("apiserver", "API server", "kube-apiserver"),
    ("etcd", "etcd", "etcd"),
    ("scheduler", "scheduler", "kube-scheduler"),
    ("controller-manager", "controller manager", "kube-controller-manager"),
    ("cloud-controller-manager", "cloud controller manager", "cloud-controller-manager"),
)
_HIDDEN_WHY = "run by the cloud provider; not visible through the Kubernetes API"


def _component_of(pod: Obj) -> str | None:
    if _namespace(pod) != SYSTEM_NAMESPACE:
        return None
    label = _labels(pod).get("component") or _labels(pod).get("k8s-app")
    name = _name(pod)
    for _key, _label, comp in _CP_COMPONENTS:
        if label == comp or name.startswith(comp + "-") or name == comp:
            return comp
    return None


def _is_kube_proxy(pod: Obj) -> bool:
    return _namespace(pod) == SYSTEM_NAMESPACE and (
        _labels(pod).get("k8s-app") == "kube-proxy" or _name(pod).startswith("kube-proxy-")
    )


def _pod_health(pod: Obj) -> tuple[Health, str]:
    cls = classify_pod(pod)
    where = f"pod {_name(pod)}"
    if cls == READY:
        return "ok", f"{where} Running, ready"
    if cls in (NOT_READY, CREATING, TERMINATING):
        return "degraded", f"{where} {kubectl_pod_status(pod)}, not ready"
    if cls == UNKNOWN:
        return "unknown", f"{where} status Unknown"
    return "down", f"{where} {kubectl_pod_status(pod)}"


def _worst(*parts: tuple[Health, str]) -> tuple[Health, str]:
    known = [p for p in parts if p[1]]
    if not known:
        return "unknown", "no information"
    health = max((p[0] for p in known), key=lambda h: _HEALTH_RANK[h])
    return health, "; ".join(p[1] for p in known)


def parse_health_checks(text: str | None) -> dict[str, bool]:
    """``[+]etcd ok`` / ``[-]etcd failed: reason withheld`` lines → {check: passed}."""
    checks: dict[str, bool] = {}
    for line in (text or "").splitlines():
        m = re.match(r"^\[([+-])\](\S+)", line.strip())
        if m:
            checks[m.group(2)] = m.group(1) == "+"
    return checks


def _health_passed(text: str | None, endpoint: str) -> bool | None:
    if text is None:
        return None
    body = text.strip()
    if body == "ok" or f"{endpoint} check passed" in body:
        return True
    if f"{endpoint} check failed" in body or "[-]" in body:
        return False
    return None


def _lease_health(lease: Obj, now: datetime, what: str) -> tuple[Health, str]:
    spec = lease.get("spec") or {}
    holder = str(spec.get("holderIdentity") or "")
    duration = int(spec.get("leaseDurationSeconds") or 15)
    age = _age_seconds(now, spec.get("renewTime") or spec.get("acquireTime"))
    if not holder:
        return "down", f"{what} lease has no holder: no active leader"
    if age is None:
        return "unknown", f"{what} lease held by {holder}, never renewed"
    if age > duration:
        return "down", (
            f"leader lease stale: not renewed for {human_duration(age)} "
            f"(lease duration {duration}s, holder {holder})"
        )
    return "ok", f"leader {holder}, lease renewed {human_duration(age)} ago"


def _control_plane(
    snap: ClusterSnapshot,
    hidden: bool,
    leases: Mapping[tuple[str, str], Obj],
    pods_by_comp: Mapping[str, list[Obj]] | None = None,
) -> tuple[ComponentState, ...]:
    if pods_by_comp is None:
        pods_by_comp = defaultdict(list)
        for pod in snap.pods:
            comp = _component_of(pod)
            if comp:
                pods_by_comp[comp].append(pod)
    livez_ok = _health_passed(snap.livez, "livez")
    readyz_ok = _health_passed(snap.readyz, "readyz")
    ready_checks = parse_health_checks(snap.readyz)
    have_data = bool(snap.nodes or snap.pods)
    out: list[ComponentState] = []
    for key, label, comp in _CP_COMPONENTS:
        pods = sorted(pods_by_comp.get(comp, ()), key=_name)
        lease = leases.get((SYSTEM_NAMESPACE, comp))
        parts: list[tuple[Health, str]] = []
        if lease is not None and key in (
            "scheduler",
            "controller-manager",
            "cloud-controller-manager",
        ):
            parts.append(_lease_health(lease, snap.now, label))
        parts += [_pod_health(p) for p in pods]
        if key == "apiserver":
            if snap.api_error and not have_data:
                parts.append(("down", f"cannot reach the API server: {snap.api_error}"))
            elif livez_ok is False:
                parts.append(("down", "/livez failing"))
            elif readyz_ok is False:
                failing = [c for c, ok in ready_checks.items() if not ok]
                parts.append(
                    ("degraded", "/readyz failing: " + (", ".join(failing) or "not ready"))
                )
            elif readyz_ok or livez_ok:
                parts.append(
                    (
                        "ok",
                        "/livez and /readyz pass"
                        if readyz_ok and livez_ok
                        else "/readyz passes"
                        if readyz_ok
                        else "/livez passes",
                    )
                )
            elif have_data:
                parts.append(("ok", "answering API requests"))
            if hidden:
                parts.append(("ok", "run by the cloud provider"))
        elif key == "etcd" and "etcd" in ready_checks:
            parts.append(
                ("ok", "API server's etcd check passes")
                if ready_checks["etcd"]
                else ("down", "API server's etcd check failing")
            )
        if not parts:
            if key == "cloud-controller-manager":
                continue  # only drawn when the cluster has one
            if hidden:
                out.append(ComponentState(key, label, "hidden", _HIDDEN_WHY))
            else:
                out.append(ComponentState(key, label, "unknown", f"no {comp} pod or lease found"))
            continue
        health, why = _worst(*parts)
        node = (pods[0].get("spec") or {}).get("nodeName") if pods else None
        out.append(ComponentState(key, label, health, why, _name(pods[0]) if pods else None, node))
    return tuple(out)


# --------------------------------------------------------------------------- nodes


def _format_cpu(cores: Decimal) -> str:
    milli = int(cores * 1000)
    return f"{milli}m" if milli % 1000 else str(milli // 1000)


def _format_bytes(n: Decimal) -> str:
    value = float(n)
    for unit, size in (("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
        if value >= size:
            scaled = value / size
            return f"{scaled:.1f}{unit}".replace(".0" + unit, unit)
    return str(int(value))


def _kubelet(node: Obj, lease: Obj | None, now: datetime) -> ComponentState:
    name = _name(node)
    ready = _condition(node, "Ready")
    lease_age: float | None = None
    duration = DEFAULT_NODE_LEASE_SECONDS
    if lease is not None:
        spec = lease.get("spec") or {}
        lease_age = _age_seconds(now, spec.get("renewTime"))
        duration = int(spec.get("leaseDurationSeconds") or duration)
    if lease_age is None and ready is not None:
        lease_age = _age_seconds(now, ready.get("lastHeartbeatTime"))
    beat = (
        f"heartbeat {human_duration(lease_age)} ago"
        if lease_age is not None
        else "no heartbeat seen"
    )
    if ready is None:
        return ComponentState(
            "kubelet", "kubelet", "unknown", f"no Ready condition yet; {beat}", node=name
        )
    status = ready.get("status")
    if status == "True":
        if lease_age is not None and lease_age > duration:
            return ComponentState(
                "kubelet",
                "kubelet",
                "degraded",
                f"Ready, but no heartbeat for {human_duration(lease_age)} (lease {duration}s)",
                node=name,
            )
        return ComponentState("kubelet", "kubelet", "ok", f"Ready, {beat}", node=name)
    message = str(ready.get("message") or ready.get("reason") or "not ready").rstrip(".")
    return ComponentState("kubelet", "kubelet", "down", f"NotReady: {message}; {beat}", node=name)


def _node_state(
    node: Obj,
    *,
    pods: Sequence[Obj],
    chips: Sequence[PodChip],
    lease: Obj | None,
    proxy: Obj | None,
    now: datetime,
    chip_limit: int,
    requests_of: Callable[[Obj], dict[str, Decimal]] = pod_requests,
) -> NodeState:
    name = _name(node)
    labels = _labels(node)
    roles = tuple(
        sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))
    )
    status = node.get("status") or {}
    info = status.get("nodeInfo") or {}
    kubelet = _kubelet(node, lease, now)
    if proxy is not None:
        health, why = _pod_health(proxy)
        kube_proxy = ComponentState("kube-proxy", "kube-proxy", health, why, _name(proxy), name)
    else:
        kube_proxy = ComponentState(
            "kube-proxy",
            "kube-proxy",
            "unknown",
            "no kube-proxy pod on this node (the network plugin may replace it)",
            node=name,
        )
    allocatable = status.get("allocatable") or status.get("capacity") or {}
    active = [
        p for p in pods if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
    ]
    req = {"cpu": Decimal(0), "memory": Decimal(0)}
    for p in active:
        for r, q in requests_of(p).items():
            req[r] += q
    alloc_cpu = _quantity(allocatable.get("cpu"))
    alloc_mem = _quantity(allocatable.get("memory"))
    alloc_pods = _quantity(allocatable.get("pods"))
    capacity = (
        ResourceUse(
            "cpu",
            float(req["cpu"]),
            float(alloc_cpu),
            f"{_format_cpu(req['cpu'])} / {_format_cpu(alloc_cpu)}",
        ),
        ResourceUse(
            "memory",
            float(req["memory"]),
            float(alloc_mem),
            f"{_format_bytes(req['memory'])} / {_format_bytes(alloc_mem)}",
        ),
        ResourceUse(
            "pods", float(len(active)), float(alloc_pods), f"{len(active)} / {int(alloc_pods)}"
        ),
    )
    taints = tuple(
        f"{t.get('key')}{'=' + t['value'] if t.get('value') else ''}:{t.get('effect')}"
        for t in (node.get("spec") or {}).get("taints") or ()
    )
    return NodeState(
        name=name,
        roles=roles,
        control_plane=any(k in labels for k in CONTROL_PLANE_ROLE_LABELS),
        kubelet=kubelet,
        kube_proxy=kube_proxy,
        runtime=str(info.get("containerRuntimeVersion") or "unknown"),
        kubelet_version=str(info.get("kubeletVersion") or ""),
        capacity=capacity,
        pods=tuple(chips),
        chip_limit=chip_limit,
        unschedulable=bool((node.get("spec") or {}).get("unschedulable")),
        taints=taints,
    )


# --------------------------------------------------------------------------- project


@dataclass
class _PodFacts:
    """What :func:`project` learns from one pod object, kept while it is the same object."""

    pod: Obj
    namespace: str
    name: str
    sort_key: tuple[Any, ...]
    node: str | None
    proxy: bool
    component: str | None
    version: object = None
    requests: dict[str, Decimal] | None = None
    chip: PodChip | None = None
    chip_events: tuple[Obj, ...] = ()


class ProjectionCache:
    """Per-pod work of :func:`project` (its chip, its requests, its sort key) reused between
    calls while the pod is the very same object with the same ``resourceVersion``. Like an
    informer's store, the diagram's watcher replaces an object on every change and never
    mutates one, so identity means "unchanged"; the version check guards callers that edit
    objects in place, and objects without a version (hand-made, recorded) are never reused.
    A chip is also recomputed when the pod's events are no longer the same objects (its
    scheduling verdict and probe failures come from them). Holding the objects keeps their
    ids from being reused."""

    def __init__(self) -> None:
        self._pods: dict[int, _PodFacts] = {}

    def refresh(self, pods: Iterable[Obj]) -> list[_PodFacts]:
        """Facts for ``pods``, sorted as the diagram lists them; forgets pods now gone."""
        kept: dict[int, _PodFacts] = {}
        for pod in pods:
            fact = self._pods.get(id(pod))
            version = _meta(pod).get("resourceVersion")
            if fact is None or fact.pod is not pod or not version or fact.version != version:
                meta = _meta(pod)
                ns, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
                node = (pod.get("spec") or {}).get("nodeName")
                system = ns == SYSTEM_NAMESPACE  # only kube-system pods are components
                fact = _PodFacts(pod, ns, name, (ns, _natural_key(name)),
                                 str(node) if node else None,
                                 system and _is_kube_proxy(pod),
                                 _component_of(pod) if system else None, version)
            kept[id(pod)] = fact
        self._pods = kept
        return sorted(kept.values(), key=lambda f: f.sort_key)

    def chip(self, fact: _PodFacts, events: _EventIndex) -> PodChip:
        about = tuple(events.for_object("Pod", fact.namespace, fact.name))
        if fact.chip is not None and not about and not fact.chip_events:
            return fact.chip
        if (fact.chip is None or len(about) != len(fact.chip_events)
                or any(a is not b for a, b in zip(about, fact.chip_events, strict=True))):
            fact.chip, fact.chip_events = _pod_chip(fact.pod, events), about
        return fact.chip

    def requests(self, pod: Obj) -> dict[str, Decimal]:
        fact = self._pods.get(id(pod))
        if fact is None or fact.pod is not pod:
            return pod_requests(pod)
        if fact.requests is None:
            fact.requests = pod_requests(pod)
        return fact.requests


def project(
    snap: ClusterSnapshot,
    *,
    namespace: str | None = None,
    label_selector: str | None = None,
    chip_limit: int = DEFAULT_CHIP_LIMIT,
    previous: DiagramState | None = None,
    cache: ProjectionCache | None = None,
) -> DiagramState:
    """Compute the diagram for ``snap``; purely computational, no side effects.

    Args:
        snap: the cluster's objects and health texts at ``snap.now``.
        namespace: draw only pods of this namespace (None: all namespaces). The
            control plane, kubelets, kube-proxies and node capacity always reflect the
            whole cluster, since that is what the nodes really carry.
        label_selector: draw only pods matching this kubectl-style selector.
        chip_limit: pods drawn per node (and in the waiting lane) before "+N more".
        previous: the state drawn before, to compute :attr:`DiagramState.changes`.
        cache: per-pod results of the previous call, reused for pods that are the very
            same objects (see :class:`ProjectionCache`); updated in place.

    Raises:
        ValueError: ``label_selector`` is malformed.
    """
    pod_selector = selectors.parse_label_selector(label_selector)
    events = _EventIndex(snap.events)
    leases = {(_namespace(le), _name(le)): le for le in snap.leases}
    node_names = {_name(n) for n in snap.nodes}

    memo = cache if cache is not None else ProjectionCache()
    facts = memo.refresh(snap.pods)
    pods_by_node: dict[str, list[Obj]] = defaultdict(list)
    proxies: dict[str, Obj] = {}
    chips_by_node: dict[str, list[PodChip]] = defaultdict(list)
    waiting: list[PodChip] = []
    pods_by_comp: dict[str, list[Obj]] = defaultdict(list)
    for fact in facts:
        pod, node = fact.pod, fact.node
        if fact.component:
            pods_by_comp[fact.component].append(pod)
        if node:
            pods_by_node[node].append(pod)
        if fact.proxy:
            if node and classify_pod(pod) != TERMINATING:
                proxies.setdefault(node, pod)
            continue
        if fact.component:
            continue  # drawn as its control-plane box, not as a chip
        if namespace and fact.namespace != namespace:
            continue
        if not pod_selector.matches(_labels(pod)):
            continue
        chip = memo.chip(fact, events)
        if chip.status == UNSCHEDULED or node not in node_names:
            waiting.append(chip)
        else:
            chips_by_node[str(node)].append(chip)

    has_cp_node = any(any(k in _labels(n) for k in CONTROL_PLANE_ROLE_LABELS) for n in snap.nodes)
    has_cp_pods = bool(pods_by_comp.get("kube-apiserver"))
    hidden = bool(snap.nodes) and not has_cp_node and not has_cp_pods
    nodes = tuple(
        sorted(
            (
                _node_state(
                    n,
                    pods=pods_by_node.get(_name(n), ()),
                    chips=chips_by_node.get(_name(n), ()),
                    lease=leases.get((NODE_LEASE_NAMESPACE, _name(n))),
                    proxy=proxies.get(_name(n)),
                    now=snap.now,
                    chip_limit=chip_limit,
                    requests_of=memo.requests,
                )
                for n in snap.nodes
            ),
            key=lambda ns: (not ns.control_plane, _natural_key(ns.name)),
        )
    )
    if hidden:
        note = "managed cluster: the control plane is hidden (run by the provider)"
    elif has_cp_pods:
        note = "control plane runs as static pods in kube-system"
    elif not snap.nodes:
        note = "no nodes visible"
    else:
        note = "control-plane node found; its components are not visible as pods"
    filters = []
    if namespace:
        filters.append(f"namespace={namespace}")
    if label_selector:
        filters.append(f"selector={label_selector}")
    state = DiagramState(
        at=rfc3339(snap.now),
        cluster=ClusterInfo(snap.context, snap.server_version, hidden, note),
        control_plane=_control_plane(snap, hidden, leases, pods_by_comp),
        nodes=nodes,
        waiting=tuple(waiting),
        filter_text=", ".join(filters),
        chip_limit=chip_limit,
    )
    if previous is not None:
        state = dataclasses.replace(state, changes=diff(previous, state))
    return state


# --------------------------------------------------------------------------- diff


def diff(previous: DiagramState | None, state: DiagramState) -> tuple[Change, ...]:
    """What happened between two drawn states, for highlighting; purely computational.

    Reports pods scheduled onto a node, pods becoming ready / not ready, new probe
    failures, pods failing, terminating, appearing unscheduled or disappearing, nodes
    going NotReady or Ready again, and control-plane components changing health.
    """
    if previous is None:
        return ()
    changes: list[Change] = []
    before = {p.key: p for p in previous.pods}
    after = {p.key: p for p in state.pods}
    for key, pod in after.items():
        old = before.get(key)
        if old is pod:
            continue  # the very same chip (a projection cache hit): nothing happened to it
        if pod.node and (old is None or old.node is None):
            changes.append(Change("scheduled", key, f"{key} scheduled onto {pod.node}", pod.node))
        elif old is None and pod.status == UNSCHEDULED:
            changes.append(Change("pending", key, f"{key} waiting for the scheduler: {pod.reason}"))
        if pod.status == READY and (old is None or old.status != READY):
            changes.append(Change("ready", key, f"{key} became ready", pod.node))
        elif pod.status == NOT_READY and old is not None and old.status == READY:
            changes.append(Change("not-ready", key, f"{key} is no longer ready", pod.node))
        if pod.probe_failures > (old.probe_failures if old else 0):
            changes.append(Change("probe-failing", key, f"{key}: {pod.probe_message}", pod.node))
        if pod.status == FAILED and (old is None or old.status != FAILED):
            changes.append(Change("failed", key, f"{key} {pod.reason}", pod.node))
        if pod.status == TERMINATING and (old is None or old.status != TERMINATING):
            changes.append(Change("terminating", key, f"{key} terminating", pod.node))
    for key, old in before.items():
        if key not in after:
            changes.append(Change("deleted", key, f"{key} deleted", old.node))
    old_nodes = {n.name: n for n in previous.nodes}
    for node in state.nodes:
        was = old_nodes.get(node.name)
        if was is None:
            changes.append(Change("node-added", node.name, f"node {node.name} joined", node.name))
            continue
        if node.kubelet.health == "down" and was.kubelet.health != "down":
            changes.append(
                Change(
                    "node-not-ready", node.name, f"node {node.name} {node.kubelet.why}", node.name
                )
            )
        elif node.kubelet.health == "ok" and was.kubelet.health != "ok":
            changes.append(Change("node-ready", node.name, f"node {node.name} Ready", node.name))
    for name in old_nodes.keys() - {n.name for n in state.nodes}:
        changes.append(Change("node-removed", name, f"node {name} removed", name))
    old_cp = {c.key: c for c in previous.control_plane}
    for comp in state.control_plane:
        was_c = old_cp.get(comp.key)
        if was_c is not None and was_c.health != comp.health:
            changes.append(
                Change(
                    "component",
                    comp.key,
                    f"{comp.label}: {was_c.health} → {comp.health} ({comp.why})",
                    comp.node,
                )
            )
    return tuple(changes)
