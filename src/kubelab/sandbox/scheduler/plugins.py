"""Filter and score plugins, and the ``FitError`` message: the scheduler's decisions, pure.

Mirrors kube-scheduler's framework (``pkg/scheduler/framework``) with the default plugins a
course meets, in upstream's filter order — the first failing filter decides a node's reason:

* ``NodeUnschedulable`` (``plugins/nodeunschedulable``): ``node(s) were unschedulable``;
* ``NodeName`` (``plugins/nodename``): ``node(s) didn't match the requested node name``;
* ``TaintToleration`` (``plugins/tainttoleration``): ``node(s) had untolerated taint {k: v}``;
* ``NodeAffinity`` (``plugins/nodeaffinity``, incl. ``nodeSelector``):
  ``node(s) didn't match Pod's node affinity/selector``;
* ``NodeResourcesFit`` (``plugins/noderesources/fit.go``): ``Insufficient cpu``,
  ``Insufficient memory``, ``Too many pods`` (one node may give several).

The first four are *UnschedulableAndUnresolvable* (preemption cannot help); a resource
shortage is *Unschedulable*, and with no lower-priority pods to evict the default preemption
plugin reports ``No preemption victims found for incoming pod``. :func:`fit_error` builds the
message like ``FitError.Error()`` in ``framework/types.go``: ``0/N nodes are available:``,
the ``count reason`` histogram sorted as strings, then the PostFilter (preemption) message.

Scores are ``NodeResourcesFit`` LeastAllocated plus ``NodeResourcesBalancedAllocation`` over
cpu and memory, using the non-zero request defaults; ties go to the first node by name
(upstream picks among ties at random; the sandbox stays deterministic).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from kubelab.sandbox.scheduler.resources import (
    FIT_RESOURCES,
    parse_quantity,
    pod_requests_milli,
    to_milli,
)

Obj = dict[str, Any]

UNSCHEDULABLE = "node(s) were unschedulable"
NODE_NAME = "node(s) didn't match the requested node name"
NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
TOO_MANY_PODS = "Too many pods"
NO_VICTIMS = "No preemption victims found for incoming pod"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_NODES = "no nodes available to schedule pods"


@dataclass(frozen=True)
class NodeVerdict:
    """Why a node can or cannot take the pod.

    Attributes:
        node: the node's name.
        plugin: the filter that rejected it ("" when it fits).
        reasons: the rejection reasons (FitError histogram entries).
        unresolvable: True when preemption could not help (UnschedulableAndUnresolvable).
        score: the total score when the node fits (0 otherwise).
    """

    node: str
    plugin: str = ""
    reasons: tuple[str, ...] = ()
    unresolvable: bool = False
    score: int = 0

    @property
    def fits(self) -> bool:
        return not self.reasons


#: Allocatable per node version: it changes only when the kubelet reports a new status.
_ALLOCATABLE: dict[tuple[str, str], dict[str, int]] = {}


@dataclass
class NodeInfo:
    """A node with the pods counted against it (``framework.NodeInfo``)."""

    node: Obj
    pods: list[Obj] = field(default_factory=list)
    _memo: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return str(self.node.get("metadata", {}).get("name", ""))

    def requested(self, *, non_zero: bool = False) -> dict[str, int]:
        """Requests of the node's pods, in integer milli-units (memoised per NodeInfo)."""
        memo_key = f"requested:{non_zero}:{len(self.pods)}"
        if memo_key in self._memo:
            return self._memo[memo_key]
        total: dict[str, int] = {}
        for pod in self.pods:
            for name, value in pod_requests_milli(pod, non_zero=non_zero).items():
                total[name] = total.get(name, 0) + value
        self._memo[memo_key] = total
        return total

    def allocatable(self) -> dict[str, int]:
        """``status.allocatable`` in integer milli-units."""
        meta = self.node.get("metadata") or {}
        key = (str(meta.get("uid", "")), str(meta.get("resourceVersion", "")))
        cached = _ALLOCATABLE.get(key)
        if cached is None:
            cached = {k: to_milli(v) for k, v in self._allocatable().items()}
            if key[0] and key[1]:
                if len(_ALLOCATABLE) > 10_000:
                    _ALLOCATABLE.clear()
                _ALLOCATABLE[key] = cached
        return cached

    def _allocatable(self) -> dict[str, Fraction]:
        out: dict[str, Fraction] = {}
        for name, value in ((self.node.get("status") or {}).get("allocatable") or {}).items():
            try:
                out[name] = parse_quantity(value)
            except ValueError:
                continue
        return out


# ----------------------------------------------------------------------------- tolerations


def tolerates(toleration: Obj, taint: Obj) -> bool:
    """``Toleration.ToleratesTaint`` from ``k8s.io/api/core/v1/toleration.go``."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    if operator == "Equal":
        return bool(key) and (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def untolerated_taint(pod: Obj, node: Obj, effects: Iterable[str]) -> Obj | None:
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") not in effects:
            continue
        if not any(tolerates(t, taint) for t in tolerations):
            return dict(taint)
    return None


# ----------------------------------------------------------------------------- node affinity


def _match_expression(expr: Obj, labels: dict[str, str]) -> bool:
    key = expr.get("key", "")
    op = expr.get("operator", "")
    values = expr.get("values") or []
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    if op in ("Gt", "Lt") and key in labels and len(values) == 1:
        try:
            have, want = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def _match_term(term: Obj, node: Obj) -> bool:
    exprs = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not exprs and not fields:
        return False  # an empty term matches no objects
    labels = (node.get("metadata") or {}).get("labels") or {}
    name = {"metadata.name": (node.get("metadata") or {}).get("name", "")}
    return (all(_match_expression(e, labels) for e in exprs)
            and all(_match_expression(f, name) for f in fields))


def matches_node_affinity(pod: Obj, node: Obj) -> bool:
    """nodeSelector (every label) and required node affinity (any term, all expressions)."""
    spec = pod.get("spec") or {}
    labels = (node.get("metadata") or {}).get("labels") or {}
    for key, value in (spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if required is not None:
        terms = required.get("nodeSelectorTerms") or []
        return any(_match_term(term, node) for term in terms)
    return True


# ----------------------------------------------------------------------------- filters


def filter_node(pod: Obj, info: NodeInfo) -> NodeVerdict:
    """Run the filters in upstream order; the first failure is the node's verdict."""
    node = info.node
    spec = pod.get("spec") or {}
    if (node.get("spec") or {}).get("unschedulable") and not any(
            tolerates(t, {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"})
            for t in spec.get("tolerations") or []):
        return NodeVerdict(info.name, "NodeUnschedulable", (UNSCHEDULABLE,), True)
    if spec.get("nodeName") and spec["nodeName"] != info.name:
        return NodeVerdict(info.name, "NodeName", (NODE_NAME,), True)
    taint = untolerated_taint(pod, node, ("NoSchedule", "NoExecute"))
    if taint is not None:
        reason = (f"node(s) had untolerated taint {{{taint.get('key', '')}: "
                  f"{taint.get('value', '') or ''}}}")
        return NodeVerdict(info.name, "TaintToleration", (reason,), True)
    if not matches_node_affinity(pod, node):
        return NodeVerdict(info.name, "NodeAffinity", (NODE_AFFINITY,), True)
    reasons = insufficient_resources(pod, info)
    if reasons:
        return NodeVerdict(info.name, "NodeResourcesFit", tuple(reasons), False)
    return NodeVerdict(info.name)


def insufficient_resources(pod: Obj, info: NodeInfo) -> list[str]:
    """``fitsRequest``: pod count first, then each requested resource against what is left."""
    reasons: list[str] = []
    allocatable = info.allocatable()
    max_pods = allocatable.get("pods")
    if max_pods is not None and (len(info.pods) + 1) * 1000 > max_pods:
        reasons.append(TOO_MANY_PODS)
    requests = pod_requests_milli(pod)
    used = info.requested()
    for name in FIT_RESOURCES:
        want = requests.get(name, 0)
        if want <= 0:
            continue
        left = allocatable.get(name, 0) - used.get(name, 0)
        if want > left:
            reasons.append(f"Insufficient {name}")
    return reasons


# ----------------------------------------------------------------------------- scores


def score_node(pod: Obj, info: NodeInfo) -> int:
    """LeastAllocated + BalancedAllocation, each 0-100, over cpu and memory."""
    allocatable = info.allocatable()
    requested = info.requested(non_zero=True)
    incoming = pod_requests_milli(pod, non_zero=True)
    fractions: list[float] = []
    least = 0
    for name in ("cpu", "memory"):
        capacity = allocatable.get(name, 0)
        want = requested.get(name, 0) + incoming.get(name, 0)
        if capacity <= 0:
            fractions.append(1.0)
            continue
        least += max(0, (capacity - want) * 100 // capacity)
        fractions.append(min(1.0, want / capacity))
    least_score = least // 2
    mean = sum(fractions) / len(fractions)
    variance = sum((f - mean) ** 2 for f in fractions) / len(fractions)
    balanced = int((1 - variance ** 0.5) * 100)
    return least_score + balanced


# ----------------------------------------------------------------------------- FitError


def _histogram(reasons: Iterable[str]) -> str:
    counts = Counter(reasons)
    return ", ".join(sorted(f"{count} {reason}" for reason, count in counts.items()))


def fit_error(pod: Obj, verdicts: list[NodeVerdict]) -> str:
    """The ``FailedScheduling`` message for a pod no node can take."""
    if not verdicts:
        return NO_NODES
    total = len(verdicts)
    message = f"0/{total} nodes are available: " + _histogram(
        reason for v in verdicts for reason in v.reasons) + "."
    if (pod.get("spec") or {}).get("preemptionPolicy") == "Never":
        return message + " preemption: not eligible due to preemptionPolicy=Never."
    preemption = _histogram(NOT_HELPFUL if v.unresolvable else NO_VICTIMS for v in verdicts)
    return f"{message} preemption: 0/{total} nodes are available: {preemption}."


def is_terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def node_infos(nodes: list[Obj], pods: Iterable[Obj]) -> list[NodeInfo]:
    """Group the non-terminal bound pods by node (the scheduler cache's NodeInfo list)."""
    infos = {n.get("metadata", {}).get("name", ""): NodeInfo(n) for n in nodes}
    for pod in pods:
        node = (pod.get("spec") or {}).get("nodeName")
        if node in infos and not is_terminal(pod):
            infos[node].pods.append(pod)
    return [infos[name] for name in sorted(infos)]


def evaluate(pod: Obj, infos: list[NodeInfo]) -> list[NodeVerdict]:
    """Filter every node and score the feasible ones."""
    verdicts: list[NodeVerdict] = []
    for info in infos:
        verdict = filter_node(pod, info)
        if verdict.fits:
            verdict = NodeVerdict(info.name, score=score_node(pod, info))
        verdicts.append(verdict)
    return verdicts


def select_host(verdicts: list[NodeVerdict]) -> str | None:
    """The feasible node with the highest score; ties go to the first by name."""
    best: NodeVerdict | None = None
    for verdict in verdicts:
        if verdict.fits and (best is None or verdict.score > best.score):
            best = verdict
    return best.node if best else None
