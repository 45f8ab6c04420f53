"""The VolumeBinding plugin: a pod's claims decide where it may run, and when.

Mirrors kube-scheduler's ``pkg/scheduler/framework/plugins/volumebinding``
(``PreFilter``, ``Filter``, ``PreBind``) with the wording of its errors:

* PreFilter: a claim that does not exist (``persistentvolumeclaim "x" not found``), is being
  deleted (``… is being deleted``), or is unbound while its class binds ``Immediate``
  (``pod has unbound immediate PersistentVolumeClaims``) stops the pod before any node is
  looked at; the FitError then has that one message and no per-node histogram, and
  preemption cannot help.
* Filter: a bound claim's volume whose node affinity excludes the node gives
  ``node(s) had volume node affinity conflict``; an unbound ``WaitForFirstConsumer`` claim
  with no volume to bind and no provisioner that could make one gives ``node(s) didn't find
  available persistent volumes to bind``. Both are unresolvable. The filter runs after the
  resource filters, as in upstream's default plugin order.
* PreBind: for unbound ``WaitForFirstConsumer`` claims the chosen node is written to each
  claim as ``volume.kubernetes.io/selected-node``, and the pod is bound only once every claim
  is ``Bound`` (the PV controller or the provisioner binds them; see
  :mod:`kubelab.sandbox.controllers.persistentvolume`).

Pure functions of the objects the scheduler reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kubelab.apimachinery.selectors import required_node_affinity_matches
from kubelab.apimachinery.types import Obj, deep_copy_json
from kubelab.sandbox.scheduler.plugins import NodeVerdict

SELECTED_NODE = "volume.kubernetes.io/selected-node"
NO_PROVISIONER = "kubernetes.io/no-provisioner"
UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
NODE_CONFLICT = "node(s) had volume node affinity conflict"
BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind"


@dataclass
class PodVolumes:
    """What the plugin learned about one pod's claims (its PreFilter state)."""

    #: The PreFilter rejection, or "".
    error: str = ""
    #: Volumes of the pod's bound claims (their node affinity filters nodes).
    bound: list[Obj] = field(default_factory=list)
    #: Unbound claims of WaitForFirstConsumer classes, with whether a provisioner can make
    #: a volume for them.
    delayed: list[tuple[Obj, bool]] = field(default_factory=list)
    #: Available volumes (candidates for the delayed claims).
    candidates: list[Obj] = field(default_factory=list)


def claim_names(pod: Obj) -> list[str]:
    return [str(v["persistentVolumeClaim"].get("claimName", ""))
            for v in (pod.get("spec") or {}).get("volumes") or []
            if isinstance(v, dict) and isinstance(v.get("persistentVolumeClaim"), dict)]


def _class_name(claim: Obj) -> str:
    return str((claim.get("spec") or {}).get("storageClassName") or "")


def pod_volumes(pod: Obj, claims: dict[str, Obj | None], classes: dict[str, Obj],
                volumes: dict[str, Obj]) -> PodVolumes | None:
    """PreFilter over the pod's claims (``None`` when it has none). ``claims`` maps each
    claim name to the claim or None; ``classes`` and ``volumes`` are by name."""
    names = claim_names(pod)
    if not names:
        return None
    state = PodVolumes()
    for name in names:
        claim = claims.get(name)
        if claim is None:
            state.error = f'persistentvolumeclaim "{name}" not found'
            return state
        if (claim.get("metadata") or {}).get("deletionTimestamp"):
            state.error = f'persistentvolumeclaim "{name}" is being deleted'
            return state
        volume_name = (claim.get("spec") or {}).get("volumeName")
        if volume_name:
            volume = volumes.get(str(volume_name))
            if volume is not None:
                state.bound.append(volume)
            continue
        sc = classes.get(_class_name(claim))
        if sc is None or sc.get("volumeBindingMode") != "WaitForFirstConsumer":
            state.error = UNBOUND_IMMEDIATE
            return state
        state.delayed.append((claim, str(sc.get("provisioner") or "") != NO_PROVISIONER))
    if state.delayed:
        state.candidates = [v for v in volumes.values()
                            if not (v.get("spec") or {}).get("claimRef")
                            and (v.get("status") or {}).get("phase") == "Available"]
    return state


def admits(volume: Obj, node: Obj) -> bool:
    """``CheckNodeAffinity``: the volume's required node affinity matches the node."""
    required = ((volume.get("spec") or {}).get("nodeAffinity") or {}).get("required")
    if not required:
        return True
    return bool(required_node_affinity_matches(
        {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
                                       required}}}, node))


def _static_match(claim: Obj, candidates: list[Obj], node: Obj) -> bool:
    klass = _class_name(claim)
    modes = set((claim.get("spec") or {}).get("accessModes") or [])
    return any((v.get("spec") or {}).get("storageClassName", "") == klass
               and modes <= set((v.get("spec") or {}).get("accessModes") or [])
               and admits(v, node) for v in candidates)


def filter_verdicts(state: PodVolumes, verdicts: list[NodeVerdict],
                    nodes: dict[str, Obj]) -> list[NodeVerdict]:
    """The Filter step over the nodes that passed the earlier filters."""
    out = []
    for verdict in verdicts:
        node = nodes.get(verdict.node)
        if not verdict.fits or node is None:
            out.append(verdict)
            continue
        if any(not admits(v, node) for v in state.bound):
            out.append(NodeVerdict(verdict.node, "VolumeBinding", (NODE_CONFLICT,), True))
            continue
        if any(not can_provision and not _static_match(claim, state.candidates, node)
               for claim, can_provision in state.delayed):
            out.append(NodeVerdict(verdict.node, "VolumeBinding", (BIND_CONFLICT,), True))
            continue
        out.append(verdict)
    return out


def prefilter_message(error: str, node_count: int) -> str:
    """``FitError.Error`` for a PreFilter rejection: its message, then preemption's."""
    if node_count == 0:
        return f"0/0 nodes are available: {error}."
    return (f"0/{node_count} nodes are available: {error}. preemption: 0/{node_count} nodes "
            f"are available: {node_count} Preemption is not helpful for scheduling.")


def claims_to_select(state: PodVolumes, host: str) -> list[Obj]:
    """PreBind: the delayed claims with ``selected-node`` set to ``host`` (only those that
    do not already name it)."""
    out = []
    for claim, _ in state.delayed:
        annotations = (claim.get("metadata") or {}).get("annotations") or {}
        if annotations.get(SELECTED_NODE) == host:
            continue
        updated = deep_copy_json(claim)
        meta = updated.setdefault("metadata", {})
        meta["annotations"] = {**(meta.get("annotations") or {}), SELECTED_NODE: host}
        out.append(updated)
    return out
