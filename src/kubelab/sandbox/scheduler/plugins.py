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
cpu and memory, using the non-zero request defaults, plus twice ``PodTopologySpread``
(``plugins/podtopologyspread/scoring.go``): the pod's own ``ScheduleAnyway`` constraints, or
the system defaults (hostname maxSkew 3, zone maxSkew 5) over the selectors of the pod's
Services and controlling ReplicaSet, so a Deployment's replicas spread over nodes even when
other pods load them unevenly. ``DoNotSchedule`` constraints (a filter) are not simulated.
Ties go to the first node by name (upstream picks among ties at random; the sandbox stays
deterministic).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from kubelab.apimachinery.resources import FIT_RESOURCES, parse_quantity, pod_requests, to_milli
from kubelab.apimachinery.selectors import (
    LabelSelector,
    Requirement,
    label_selector_from_spec,
    required_node_affinity_matches,
    selector_from_match_labels,
)
from kubelab.apimachinery.types import Obj

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


#: Every change of any NodeInfo takes a new number: a verdict computed at a generation holds
#: until the node or its pods change.
_GENERATIONS = itertools.count(1)


class NodeInfo:
    """A node with the pods counted against it (``framework.NodeInfo``).

    Requested resources (and the non-zero requests scoring uses) are summed as pods are
    added and removed, as upstream's ``NodeInfo.AddPod``/``RemovePod`` do, so a decision
    reads totals instead of re-parsing every pod. Pods are also counted by (namespace,
    labels), excluding terminating ones, for topology spreading. ``node`` is None for a
    node the cache has not seen yet but pods are bound to.
    """

    def __init__(self, node: Obj | None, pods: Iterable[Obj] = ()) -> None:
        self._node: Obj | None = None
        self._name = ""
        self.node = node
        self._pods: dict[str, Obj] = {}
        self._contrib: dict[str, tuple[dict[str, int], dict[str, int],
                                       tuple[str, frozenset[tuple[str, str]]] | None]] = {}
        self._requested: dict[str, int] = {}
        self._non_zero: dict[str, int] = {}
        self._groups: dict[tuple[str, frozenset[tuple[str, str]]], int] = {}
        self._allocatable_of: Obj | None = None
        self._allocatable_milli: dict[str, int] = {}
        for i, pod in enumerate(pods):
            meta = pod.get("metadata") or {}
            self.add_pod(str(meta.get("uid") or f"pod-{i}"), pod)

    @property
    def node(self) -> Obj | None:
        return self._node

    @node.setter
    def node(self, node: Obj | None) -> None:
        self._node = node
        self.generation = next(_GENERATIONS)
        self._name = str(((node or {}).get("metadata") or {}).get("name", ""))

    @property
    def name(self) -> str:
        return self._name

    @property
    def pods(self) -> list[Obj]:
        return list(self._pods.values())

    @property
    def pod_count(self) -> int:
        return len(self._pods)

    def add_pod(self, uid: str, pod: Obj) -> None:
        if uid in self._pods:
            self.remove_pod(uid)
        requested = pod_requests(pod)
        non_zero = pod_requests(pod, non_zero=True)
        meta = pod.get("metadata") or {}
        group = None if meta.get("deletionTimestamp") else (
            str(meta.get("namespace", "")), frozenset((meta.get("labels") or {}).items()))
        _add(self._requested, requested, 1)
        _add(self._non_zero, non_zero, 1)
        self.generation = next(_GENERATIONS)
        if group is not None:
            self._groups[group] = self._groups.get(group, 0) + 1
        self._pods[uid] = pod
        self._contrib[uid] = (requested, non_zero, group)

    def remove_pod(self, uid: str) -> None:
        if self._pods.pop(uid, None) is None:
            return
        requested, non_zero, group = self._contrib.pop(uid)
        _add(self._requested, requested, -1)
        _add(self._non_zero, non_zero, -1)
        self.generation = next(_GENERATIONS)
        if group is not None:
            left = self._groups[group] - 1
            if left:
                self._groups[group] = left
            else:
                del self._groups[group]

    def requested(self, *, non_zero: bool = False) -> dict[str, int]:
        """Requests of the node's pods, in integer milli-units (do not mutate)."""
        return self._non_zero if non_zero else self._requested

    def count_matching(self, namespace: str, selector: LabelSelector) -> int:
        """``countPodsMatchSelector``: non-terminating pods of ``namespace`` it selects."""
        return sum(count for (ns, labels), count in self._groups.items()
                   if ns == namespace and selector.matches(dict(labels)))

    def allocatable(self) -> dict[str, int]:
        """``status.allocatable`` in integer milli-units, parsed once per node version."""
        if self._allocatable_of is not self.node:
            self._allocatable_of = self.node
            self._allocatable_milli = {k: to_milli(v) for k, v in self._allocatable().items()}
        return self._allocatable_milli

    def _allocatable(self) -> dict[str, Fraction]:
        out: dict[str, Fraction] = {}
        status = (self.node or {}).get("status") or {}
        for name, value in (status.get("allocatable") or {}).items():
            try:
                out[name] = parse_quantity(value)
            except ValueError:
                continue
        return out


def _add(total: dict[str, int], more: dict[str, int], sign: int) -> None:
    for name, value in more.items():
        left = total.get(name, 0) + sign * value
        if left or sign > 0:
            total[name] = left
        else:
            total.pop(name, None)


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


def matches_node_affinity(pod: Obj, node: Obj) -> bool:
    """nodeSelector (every label) and required node affinity (any term, all expressions)."""
    return required_node_affinity_matches(pod.get("spec") or {}, node)


# ----------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class PodFacts:
    """What the filters and scores read from the incoming pod, read once per decision (the
    framework's PreFilter state) instead of once per node."""

    requests: dict[str, int]
    non_zero: dict[str, int]
    tolerations: list[Obj]
    node_name: str
    tolerates_unschedulable: bool
    constrained: bool  # a nodeSelector or required node affinity
    #: Pods with equal signatures get equal verdicts on the same node state (a Deployment's
    #: replicas): the key of the verdict memo.
    signature: str


def pod_facts(pod: Obj) -> PodFacts:
    spec = pod.get("spec") or {}
    tolerations = list(spec.get("tolerations") or [])
    affinity = (spec.get("affinity") or {}).get("nodeAffinity") or {}
    requests, non_zero = pod_requests(pod), pod_requests(pod, non_zero=True)
    signature = repr((sorted(requests.items()), sorted(non_zero.items()), tolerations,
                      spec.get("nodeName"), spec.get("nodeSelector"), affinity))
    return PodFacts(
        requests, non_zero, tolerations, str(spec.get("nodeName") or ""),
        any(tolerates(t, {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"})
            for t in tolerations),
        bool(spec.get("nodeSelector"))
        or affinity.get("requiredDuringSchedulingIgnoredDuringExecution") is not None,
        signature)


def filter_node(pod: Obj, info: NodeInfo, facts: PodFacts | None = None) -> NodeVerdict:
    """Run the filters in upstream order; the first failure is the node's verdict."""
    facts = facts or pod_facts(pod)
    node = info.node or {}
    node_spec = node.get("spec") or {}
    if node_spec.get("unschedulable") and not facts.tolerates_unschedulable:
        return NodeVerdict(info.name, "NodeUnschedulable", (UNSCHEDULABLE,), True)
    if facts.node_name and facts.node_name != info.name:
        return NodeVerdict(info.name, "NodeName", (NODE_NAME,), True)
    if node_spec.get("taints"):
        taint = untolerated_taint(pod, node, ("NoSchedule", "NoExecute"))
        if taint is not None:
            reason = (f"node(s) had untolerated taint {{{taint.get('key', '')}: "
                      f"{taint.get('value', '') or ''}}}")
            return NodeVerdict(info.name, "TaintToleration", (reason,), True)
    if facts.constrained and not matches_node_affinity(pod, node):
        return NodeVerdict(info.name, "NodeAffinity", (NODE_AFFINITY,), True)
    reasons = insufficient_resources(pod, info, facts.requests)
    if reasons:
        return NodeVerdict(info.name, "NodeResourcesFit", tuple(reasons), False)
    return NodeVerdict(info.name)


def insufficient_resources(pod: Obj, info: NodeInfo,
                           requests: dict[str, int] | None = None) -> list[str]:
    """``fitsRequest``: pod count first, then each requested resource against what is left."""
    reasons: list[str] = []
    allocatable = info.allocatable()
    max_pods = allocatable.get("pods")
    if max_pods is not None and (info.pod_count + 1) * 1000 > max_pods:
        reasons.append(TOO_MANY_PODS)
    if requests is None:
        requests = pod_requests(pod)
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


def score_node(pod: Obj, info: NodeInfo, incoming: dict[str, int] | None = None) -> int:
    """LeastAllocated + BalancedAllocation, each 0-100, over cpu and memory."""
    allocatable = info.allocatable()
    requested = info.requested(non_zero=True)
    if incoming is None:
        incoming = pod_requests(pod, non_zero=True)
    fractions = [1.0, 1.0]
    least = 0
    for i, name in enumerate(("cpu", "memory")):
        capacity = allocatable.get(name, 0)
        if capacity <= 0:
            continue
        want = requested.get(name, 0) + incoming.get(name, 0)
        least += max(0, (capacity - want) * 100 // capacity)
        fractions[i] = min(1.0, want / capacity)
    mean = (fractions[0] + fractions[1]) / 2
    variance = ((fractions[0] - mean) ** 2 + (fractions[1] - mean) ** 2) / 2
    return least // 2 + int((1 - variance ** 0.5) * 100)


# ----------------------------------------------------------------------------- spreading

HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
#: The default profile's weight of PodTopologySpread scores (NodeResourcesFit and
#: NodeResourcesBalancedAllocation weigh 1).
SPREAD_WEIGHT = 2
MAX_NODE_SCORE = 100
#: ``systemDefaultConstraints`` of ``plugins/podtopologyspread``: spread a workload's pods
#: over nodes (maxSkew 3) and zones (maxSkew 5), both ScheduleAnyway (scoring only).
SYSTEM_DEFAULT_CONSTRAINTS: tuple[tuple[str, int], ...] = ((HOSTNAME, 3), (ZONE, 5))


@dataclass(frozen=True)
class SpreadConstraint:
    """One soft (``ScheduleAnyway``) topology spread constraint with its pod selector."""

    topology_key: str
    max_skew: int
    selector: LabelSelector


@dataclass(frozen=True)
class Spread:
    """The incoming pod's soft spread constraints (PodTopologySpread's PreScore state).

    ``system_defaulted``: the constraints are the cluster defaults, under which nodes
    lacking a topology label are still scored (upstream's ``requireAllTopologies`` is
    false only then).
    """

    constraints: tuple[SpreadConstraint, ...]
    system_defaulted: bool = False

    def scores(self, pod: Obj, feasible: list[NodeInfo], every: list[NodeInfo]
               ) -> dict[str, int]:
        """Normalised 0-100 scores of the feasible nodes (fewer siblings score higher)."""
        if not self.constraints or not feasible:
            return {}
        namespace = str((pod.get("metadata") or {}).get("namespace", ""))
        keys = [c.topology_key for c in self.constraints]

        def labels_of(info: NodeInfo) -> dict[str, str]:
            return ((info.node or {}).get("metadata") or {}).get("labels") or {}

        def has_all(info: NodeInfo) -> bool:
            return all(k in labels_of(info) for k in keys)

        require_all = not self.system_defaulted
        ignored = {info.name for info in feasible if require_all and not has_all(info)}
        domains: dict[tuple[str, str], int] = {}
        sizes = [0] * len(self.constraints)
        for info in feasible:
            if info.name in ignored:
                continue
            for i, c in enumerate(self.constraints):
                value = labels_of(info).get(c.topology_key)
                if c.topology_key == HOSTNAME or value is None:
                    continue
                if (c.topology_key, value) not in domains:
                    domains[(c.topology_key, value)] = 0
                    sizes[i] += 1
        if domains:
            for info in every:
                if not matches_node_affinity(pod, info.node or {}) or (
                        require_all and not has_all(info)):
                    continue
                for c in self.constraints:
                    pair = (c.topology_key, labels_of(info).get(c.topology_key, ""))
                    if pair in domains and c.topology_key != HOSTNAME:
                        domains[pair] += info.count_matching(namespace, c.selector)
        weights = []
        for i, c in enumerate(self.constraints):
            size = len(feasible) - len(ignored) if c.topology_key == HOSTNAME else sizes[i]
            weights.append(math.log(size + 2))
        raw: dict[str, int] = {}
        for info in feasible:
            if info.name in ignored:
                continue
            score = 0.0
            for i, c in enumerate(self.constraints):
                value = labels_of(info).get(c.topology_key)
                if value is None:
                    continue
                count = (info.count_matching(namespace, c.selector)
                         if c.topology_key == HOSTNAME else domains[(c.topology_key, value)])
                score += count * weights[i] + (c.max_skew - 1)  # scoreForCount
            raw[info.name] = round(score)
        # NormalizeScore: fewer matching pods → higher score.
        low, high = min(raw.values(), default=0), max(raw.values(), default=0)
        out = {name: 0 for name in ignored}
        for name, score in raw.items():
            out[name] = MAX_NODE_SCORE if high == 0 else (
                MAX_NODE_SCORE * (high + low - score) // high)
        return out


def spread_for(pod: Obj, services: Iterable[Obj], owner: Obj | None) -> Spread:
    """The pod's soft constraints: its own ``ScheduleAnyway`` ones, else the system defaults
    over ``DefaultSelector`` (the selectors of the Services selecting the pod and of its
    controlling ReplicaSet ``owner``); no selector, no default spreading."""
    spec = pod.get("spec") or {}
    own = spec.get("topologySpreadConstraints") or []
    if own:
        return Spread(tuple(
            SpreadConstraint(str(c.get("topologyKey", "")), int(c.get("maxSkew") or 1),
                             label_selector_from_spec(c["labelSelector"]))
            for c in own if c.get("whenUnsatisfiable") == "ScheduleAnyway"
            and c.get("labelSelector") is not None))
    labels = (pod.get("metadata") or {}).get("labels") or {}
    requirements: list[Requirement] = []
    merged: dict[str, str] = {}
    for svc in services:
        selector = (svc.get("spec") or {}).get("selector")
        if selector and selector_from_match_labels(selector).matches(labels):
            merged.update(selector)
    requirements.extend(selector_from_match_labels(merged).requirements)
    if owner is not None:
        requirements.extend(label_selector_from_spec(
            (owner.get("spec") or {}).get("selector")).requirements)
    if not requirements:
        return Spread(())
    selector = LabelSelector(tuple(requirements))
    return Spread(tuple(SpreadConstraint(key, skew, selector)
                        for key, skew in SYSTEM_DEFAULT_CONSTRAINTS), system_defaulted=True)


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
    for i, pod in enumerate(pods):
        node = (pod.get("spec") or {}).get("nodeName")
        if node in infos and not is_terminal(pod):
            meta = pod.get("metadata") or {}
            infos[node].add_pod(str(meta.get("uid") or f"pod-{i}"), pod)
    return [infos[name] for name in sorted(infos)]


#: (pod signature, node name) -> (node generation, verdict with the resource score).
VerdictMemo = dict[tuple[str, str], tuple[int, NodeVerdict]]


def evaluate(pod: Obj, infos: list[NodeInfo], spread: Spread | None = None,
             memo: VerdictMemo | None = None) -> list[NodeVerdict]:
    """Filter every node and score the feasible ones (with topology spreading when
    ``spread`` says which pods count as the incoming pod's siblings).

    ``memo`` keeps each node's filter verdict and resource score per pod signature until
    the node or its pods change, so a Deployment's next replica re-evaluates only the node
    its previous one went to (the result is the same as without it).
    """
    facts = pod_facts(pod)
    if memo is not None and len(memo) > 100_000:
        memo.clear()
    filtered: list[tuple[NodeInfo, NodeVerdict]] = []
    for info in infos:
        key = (facts.signature, info.name)
        known = memo.get(key) if memo is not None else None
        if known is not None and known[0] == info.generation:
            verdict = known[1]
        else:
            verdict = filter_node(pod, info, facts)
            if verdict.fits:
                verdict = NodeVerdict(info.name, score=score_node(pod, info, facts.non_zero))
            if memo is not None:
                memo[key] = (info.generation, verdict)
        filtered.append((info, verdict))
    if spread is None or not spread.constraints:
        return [verdict for _, verdict in filtered]
    feasible = [info for info, verdict in filtered if verdict.fits]
    spread_scores = spread.scores(pod, feasible, infos)
    return [NodeVerdict(info.name, score=verdict.score
                        + SPREAD_WEIGHT * spread_scores.get(info.name, 0))
            if verdict.fits else verdict for info, verdict in filtered]


def select_host(verdicts: list[NodeVerdict]) -> str | None:
    """The feasible node with the highest score; ties go to the first by name."""
    best: NodeVerdict | None = None
    for verdict in verdicts:
        if verdict.fits and (best is None or verdict.score > best.score):
            best = verdict
    return best.node if best else None
