"""The DaemonSet controller: one pod per eligible node (kube-proxy is the classic one).

Mirrors kube-controller-manager's ``pkg/controller/daemon/daemon_controller.go``
(``manage``, ``podsShouldBeOnNode``, ``NodeShouldRunDaemonPod``, ``updateDaemonSetStatus``),
``update.go`` (rolling update, one unavailable pod at a time by default) and
``pkg/controller/daemon/util`` (``AddOrUpdateDaemonPodTolerations``,
``ReplaceDaemonSetPodNodeNameNodeAffinity``).

Daemon pods are not bound by the controller: each gets a required node affinity on
``metadata.name`` so the ordinary scheduler places it on its node, plus the tolerations
that keep it there when the node is NotReady or under pressure. The
``controller-revision-hash`` label is the template hash (upstream takes it from a
ControllerRevision object, which the sandbox does not serve). The reconcile is pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kubelab.apimachinery.selectors import required_node_affinity_matches
from kubelab.apimachinery.types import deep_copy_json
from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.clock import Clock
from kubelab.sandbox.controllers import common
from kubelab.sandbox.controllers import deployment_util as du
from kubelab.sandbox.reconcile.types import Key, Obj, Result, Snapshot

DAEMONSETS = kinds.apps("daemonsets")
PODS = kinds.core("pods")
NODES = kinds.core("nodes")
COMPONENT = "daemonset-controller"
REVISION_LABEL = "controller-revision-hash"
GENERATION_LABEL = "pod-template-generation"

_DAEMON_TOLERATIONS = (
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
)


def daemon_tolerations(spec: Obj) -> list[dict[str, Any]]:
    tolerations = list(spec.get("tolerations") or [])
    extra = list(_DAEMON_TOLERATIONS)
    if spec.get("hostNetwork"):
        extra.append(("node.kubernetes.io/network-unavailable", "NoSchedule"))
    for key, effect in extra:
        if not any(t.get("key") == key and t.get("effect") == effect
                   and t.get("operator") == "Exists" for t in tolerations):
            tolerations.append({"key": key, "operator": "Exists", "effect": effect})
    return tolerations


def _tolerated(taint: dict[str, Any], tolerations: list[dict[str, Any]]) -> bool:
    for t in tolerations:
        if t.get("effect") and t.get("effect") != taint.get("effect"):
            continue
        if (t.get("operator") or "Equal") == "Exists":
            if not t.get("key") or t.get("key") == taint.get("key"):
                return True
        elif t.get("key") == taint.get("key") and t.get("value", "") == taint.get("value", ""):
            return True
    return False


def node_matches_pod(node: Obj, spec: Obj) -> bool:
    """``nodeSelector`` and required node affinity (one term must match all its parts)."""
    return required_node_affinity_matches(spec, node)


def should_run(ds: Obj, node: Obj) -> bool:
    """``NodeShouldRunDaemonPod``: selector, affinity and NoSchedule/NoExecute taints."""
    if common.is_deleting(node):
        return False
    spec = ds.get("spec", {}).get("template", {}).get("spec") or {}
    if not node_matches_pod(node, spec):
        return False
    tolerations = daemon_tolerations(spec)
    return all(_tolerated(t, tolerations) for t in node.get("spec", {}).get("taints") or []
               if t.get("effect") in ("NoSchedule", "NoExecute"))


def target_node(pod: Obj) -> str:
    """Where a daemon pod is or will be: ``nodeName``, else its ``metadata.name`` affinity."""
    spec = pod.get("spec", {})
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    required = (spec.get("affinity", {}).get("nodeAffinity", {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    for term in required.get("nodeSelectorTerms") or []:
        for expr in term.get("matchFields") or []:
            if expr.get("key") == "metadata.name" and expr.get("values"):
                return str(expr["values"][0])
    return ""


def daemon_pod(ds: Obj, node_name: str, pod_hash: str, name: str) -> Obj:
    template = deep_copy_json(ds.get("spec", {}).get("template") or {})
    tmeta = template.get("metadata") or {}
    labels = dict(tmeta.get("labels") or {})
    labels[REVISION_LABEL] = pod_hash
    labels[GENERATION_LABEL] = str(ds.get("metadata", {}).get("generation") or 1)
    metadata: Obj = {"generateName": f"{common.name_of(ds)}-", "name": name,
                     "namespace": common.namespace_of(ds), "labels": labels,
                     "ownerReferences": [common.new_controller_ref(ds, DAEMONSETS)]}
    if tmeta.get("annotations"):
        metadata["annotations"] = dict(tmeta["annotations"])
    spec = template.get("spec") or {}
    affinity = spec.setdefault("affinity", {})
    affinity.setdefault("nodeAffinity", {})["requiredDuringSchedulingIgnoredDuringExecution"] = {
        "nodeSelectorTerms": [{"matchFields": [
            {"key": "metadata.name", "operator": "In", "values": [node_name]}]}]}
    spec["tolerations"] = daemon_tolerations(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


class DaemonSetController:
    """``daemonset-controller``."""

    name = COMPONENT
    watches: tuple[KindInfo, ...] = (DAEMONSETS, PODS, NODES)

    def keys_for(self, info: KindInfo, obj: Obj, snapshot: Snapshot) -> Iterable[Key]:
        if info == DAEMONSETS:
            yield Key.of(info, obj)
        elif info == PODS:
            ref = common.controller_ref(obj)
            if ref is not None and ref.get("kind") == "DaemonSet":
                yield Key(DAEMONSETS.group_resource, common.namespace_of(obj),
                          ref.get("name", ""))
        elif info == NODES:
            for ds in snapshot.list(DAEMONSETS):
                yield Key.of(DAEMONSETS, ds)

    def reconcile(self, snapshot: Snapshot, key: Key, clock: Clock) -> Result:
        """Pure: create missing daemon pods, delete misplaced ones, roll updates, status."""
        ds = snapshot.get(DAEMONSETS, key.namespace, key.name)
        if ds is None:
            return Result()
        writes = common.Writes()
        uid = common.uid_of(ds)
        pod_hash = du.compute_hash(ds.get("spec", {}).get("template") or {})
        mrs = int(ds.get("spec", {}).get("minReadySeconds") or 0)
        pods = [p for p in snapshot.list(PODS, key.namespace)
                if (common.controller_ref(p) or {}).get("uid") == uid
                and common.is_pod_active(p)]
        by_node: dict[str, list[Obj]] = {}
        for pod in common.by_creation(pods):
            by_node.setdefault(target_node(pod), []).append(pod)
        nodes = sorted(snapshot.list(NODES), key=common.name_of)
        eligible = {common.name_of(n) for n in nodes if should_run(ds, n)}
        taken = {common.name_of(p) for p in snapshot.list(PODS, key.namespace)}
        ds_alive = not common.is_deleting(ds)
        for node_name in sorted(eligible):
            if by_node.get(node_name) or not ds_alive:
                continue
            seed = f"{uid}/{node_name}/{common.now_str(clock)}"
            name = common.generated_name(f"{common.name_of(ds)}-", seed, taken)
            taken.add(name)
            writes.create(PODS, daemon_pod(ds, node_name, pod_hash, name))
            writes.event(ds, "Normal", "SuccessfulCreate", f"Created pod: {name}", COMPONENT)
        doomed: list[Obj] = []
        for node_name, node_pods in by_node.items():
            doomed.extend(node_pods if node_name not in eligible else node_pods[1:])
        # Rolling update: replace one outdated pod at a time, only while all are available.
        strategy = ds.get("spec", {}).get("updateStrategy", {}).get("type", "RollingUpdate")
        current = [ps[0] for n, ps in by_node.items() if n in eligible and ps]
        outdated = [p for p in current
                    if common.labels_of(p).get(REVISION_LABEL) != pod_hash]
        unavailable = sum(1 for p in current
                          if common.available_in(p, mrs, clock) != 0.0)
        if strategy == "RollingUpdate" and outdated and unavailable == 0 and ds_alive:
            doomed.append(common.by_creation(outdated)[0])
        for pod in doomed:
            writes.delete(PODS, pod)
            writes.event(ds, "Normal", "SuccessfulDelete",
                         f"Deleted pod: {common.name_of(pod)}", COMPONENT)
        status, requeue = daemon_status(ds, eligible, by_node, pod_hash, mrs, clock)
        if status != ds.get("status"):
            updated = deep_copy_json(ds)
            updated["status"] = status
            writes.update_status(DAEMONSETS, updated)
        return Result(writes.actions(), requeue)


def daemon_status(ds: Obj, eligible: set[str], by_node: dict[str, list[Obj]], pod_hash: str,
                  mrs: int, clock: Clock) -> tuple[Obj, float | None]:
    """``updateDaemonSetStatus``: the counts ``kubectl get ds`` prints."""
    scheduled = misscheduled = ready = available = updated = 0
    soonest: float | None = None
    for node_name, pods in by_node.items():
        if not pods:
            continue
        if node_name not in eligible:
            misscheduled += 1
            continue
        scheduled += 1
        pod = pods[0]
        if common.labels_of(pod).get(REVISION_LABEL) == pod_hash:
            updated += 1
        wait = common.available_in(pod, mrs, clock)
        if wait is not None:
            ready += 1
            if wait == 0:
                available += 1
            else:
                soonest = wait if soonest is None else min(soonest, wait)
    desired = len(eligible)
    status: Obj = {"currentNumberScheduled": scheduled, "numberMisscheduled": misscheduled,
                   "desiredNumberScheduled": desired, "numberReady": ready}
    for field, value in (("observedGeneration",
                          int(ds.get("metadata", {}).get("generation") or 0)),
                         ("updatedNumberScheduled", updated), ("numberAvailable", available),
                         ("numberUnavailable", max(0, desired - available))):
        if value:
            status[field] = value
    return status, soonest
