"""Pod storage: graceful deletion and the pod subresources.

Mirrors ``pkg/registry/core/pod/storage/storage.go`` and ``pkg/registry/core/pod/rest``:

* ``CheckGracefulDelete`` (``podStrategy``): a pod on a node terminates gracefully
  (``spec.terminationGracePeriodSeconds``, 30 s by default, or the DELETE's
  ``gracePeriodSeconds``); an unscheduled or finished pod goes at once;
* ``BindingREST`` (``pods/binding`` and the top-level ``bindings`` resource): sets
  ``spec.nodeName`` once and ``PodScheduled=True`` (``setPodHostAndAnnotations``); a pod
  already bound or being deleted is a 409;
* ``EvictionREST`` (``pods/eviction``, ``eviction.go``): the delete an Eviction asks for,
  when the PodDisruptionBudget covering the pod allows it: a terminal, pending or
  terminating pod goes at once; otherwise the budget's ``disruptionsAllowed`` is checked
  and decremented (the pod noted in ``status.disruptedPods`` for the disruption
  controller), or the answer is 429 ``Cannot evict pod as it would violate the pod's
  disruption budget.`` with a ``DisruptionBudget`` cause, which ``kubectl drain`` retries.
  An unready pod of a healthy budget (or any unready pod under ``AlwaysAllow``) is deleted
  without touching the budget. The pod gets ``DisruptionTarget=True`` before its delete;
* ``EphemeralContainersREST``: only ``spec.ephemeralContainers`` of the write counts;
* ``log``, ``exec``, ``attach``, ``portforward``, ``proxy``: connect subresources that the
  server streams itself (upstream proxies them to the kubelet).
"""

from __future__ import annotations

from kubelab.apimachinery.selectors import selector_is_empty
from kubelab.apimachinery.types import Obj, deep_copy_json
from kubelab.sandbox.api import errors, kinds, limitranger, params
from kubelab.sandbox.api.errors import ApiError, Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import pod as pod_strategy
from kubelab.sandbox.api.strategies import poddisruptionbudget as pdb_strategy
from kubelab.sandbox.api.strategies import serviceaccount_admission
from kubelab.sandbox.api.validation import not_supported, required
from kubelab.sandbox.clock import rfc3339
from kubelab.sandbox.store.registry import Registry
from kubelab.sandbox.store.storage import (
    ConnectSubresource,
    CreateSubresource,
    ProxySubresource,
    Storage,
    Strategy,
    UpdateSubresource,
)

PODS = kinds.core("pods")
SERVICEACCOUNTS = kinds.core("serviceaccounts")
BINDING = kinds.core("bindings")
EVICTION = KindInfo("policy", "v1", "Eviction", "evictions", "eviction", True,
                    model="V1Eviction")
PDBS = kinds.resource("poddisruptionbudgets.policy")
LIMITRANGES = kinds.core("limitranges")
#: ``MaxDisruptedPodSize``: evictions the disruption controller has not yet seen.
MAX_DISRUPTED_POD_SIZE = 2000
#: ``DefaultTerminationGracePeriodSeconds``.
DEFAULT_GRACE_SECONDS = 30


def binding_target(body: Obj) -> str:
    """``ValidatePodBinding``: the target is a Node and names one."""
    target = body.get("target") or {}
    causes: list[Cause] = []
    if target.get("kind") not in (None, "", "Node"):
        causes.append(not_supported("target.kind", target.get("kind"), ["Node"]))
    if not target.get("name"):
        causes.append(required("target.name"))
    if causes:
        raise errors.invalid(BINDING, (body.get("metadata") or {}).get("name", ""), causes)
    return str(target["name"])


class BindingSubresource(CreateSubresource):
    """``pods/<name>/binding``: assign the pod to a node, once."""

    body_kind = BINDING

    def create(self, registry: Registry, namespace: str, name: str, body: Obj, *,
               dry_run: bool = False) -> Obj | None:
        node = binding_target(body)
        uid = (body.get("metadata") or {}).get("uid")
        now = rfc3339(registry.clock.now())

        def assign(old: Obj) -> Obj:
            if uid and old["metadata"]["uid"] != uid:
                raise errors.conflict(PODS, name,
                                      "the UID in the binding does not match the pod")
            if old["spec"].get("nodeName"):
                raise errors.conflict(
                    PODS, name, f"pod {name} is already assigned to node "
                                f'"{old["spec"]["nodeName"]}"')
            if old["metadata"].get("deletionTimestamp"):
                raise errors.conflict(PODS, name, "pod is being deleted")
            # A new version sharing the unchanged parts with the stored one (stored objects
            # are never mutated): copies of the levels the binding writes only.
            status = dict(old.get("status") or {})
            conditions = [c for c in status.get("conditions", [])
                          if c.get("type") != "PodScheduled"]
            conditions.append({"type": "PodScheduled", "status": "True",
                               "lastProbeTime": None, "lastTransitionTime": now})
            status["conditions"] = conditions
            return {**old, "metadata": dict(old["metadata"]),
                    "spec": {**old["spec"], "nodeName": node}, "status": status}

        if not dry_run:
            registry.guaranteed_update(PODS, namespace, name, assign, copy_result=False)
        return None


def _too_many_requests(message: str, retry_after: int = 0) -> ApiError:
    """``errors.NewTooManyRequests`` with the eviction handler's ``DisruptionBudget`` cause."""
    return ApiError(429, "TooManyRequests",
                    "Cannot evict pod as it would violate the pod's disruption budget.",
                    {"retryAfterSeconds": retry_after} if retry_after else {},
                    [Cause("DisruptionBudget", message)],
                    {"Retry-After": str(retry_after)} if retry_after else {})


def _pdb_forbidden(name: str, why: str) -> ApiError:
    return ApiError(403, "Forbidden", f'poddisruptionbudget.policy "{name}" is forbidden: {why}',
                    {"name": name, "group": "policy", "kind": "poddisruptionbudget"})


class EvictionSubresource(CreateSubresource):
    """``pods/<name>/eviction``: delete the pod as the Eviction's ``deleteOptions`` say, if
    the pod's disruption budget allows it."""

    body_kind = EVICTION

    def create(self, registry: Registry, namespace: str, name: str, body: Obj, *,
               dry_run: bool = False) -> Obj | None:
        named = (body.get("metadata") or {}).get("name")
        if named and named != name:
            raise errors.bad_request("name in URL does not match name in Eviction object")
        options = body.get("deleteOptions") or {}
        params.check_propagation(options.get("propagationPolicy"))
        dry_run = dry_run or bool(options.get("dryRun"))
        grace = options.get("gracePeriodSeconds")
        precondition = (options.get("preconditions") or {}).get("resourceVersion")
        pod = registry.get(PODS, namespace, name)
        if _can_ignore_pdb(pod):
            registry.delete(PODS, namespace, name, grace_period_seconds=grace,
                            resource_version=precondition, dry_run=dry_run)
            return None
        budgets = [b for b in registry.iter_objects(PDBS, namespace)
                   if not selector_is_empty((b.get("spec") or {}).get("selector"))
                   and pdb_strategy.selects(b, pod)]
        if len(budgets) > 1:
            raise ApiError(500, "", "This pod has more than one PodDisruptionBudget, which the "
                                    "eviction subresource does not support.")
        if budgets:
            budget = budgets[0]
            status = budget.get("status") or {}
            spec = budget.get("spec") or {}
            unready = not _pod_ready(pod)
            if (unready and spec.get("unhealthyPodEvictionPolicy") == "AlwaysAllow") or (
                    unready and int(status.get("currentHealthy") or 0)
                    >= int(status.get("desiredHealthy") or 0)
                    and int(status.get("desiredHealthy") or 0) > 0):
                # Deleted only if it has not become ready meanwhile.
                precondition = precondition or pod["metadata"]["resourceVersion"]
            else:
                self._check_and_decrement(registry, budget, name, dry_run)
        if not dry_run:
            pod = self._mark_disruption_target(registry, namespace, name, precondition)
            if precondition:
                precondition = pod["metadata"]["resourceVersion"]
        registry.delete(PODS, namespace, name, grace_period_seconds=grace,
                        resource_version=precondition, dry_run=dry_run)
        return None

    @staticmethod
    def _check_and_decrement(registry: Registry, budget: Obj, pod_name: str,
                             dry_run: bool) -> None:
        """``checkAndDecrement``: refuse unless a disruption is allowed, then take one."""
        meta, status = budget["metadata"], budget.get("status") or {}
        name = meta["name"]
        if int(status.get("observedGeneration") or 0) < int(meta.get("generation") or 0):
            raise _too_many_requests(f"The disruption budget {name} is still being processed "
                                     "by the server.", 10)
        allowed = int(status.get("disruptionsAllowed") or 0)
        if allowed < 0:
            raise _pdb_forbidden(name, "pdb disruptions allowed is negative")
        if len(status.get("disruptedPods") or {}) > MAX_DISRUPTED_POD_SIZE:
            raise _pdb_forbidden(name, "DisruptedPods map too big - too many evictions not "
                                       "confirmed by PDB controller")
        if allowed == 0:
            raise _too_many_requests(
                f"The disruption budget {name} needs {int(status.get('desiredHealthy') or 0)} "
                f"healthy pods and has {int(status.get('currentHealthy') or 0)} currently")
        if dry_run:
            return
        now = rfc3339(registry.clock.now())

        def decrement(old: Obj) -> Obj:
            if old["metadata"]["resourceVersion"] != meta["resourceVersion"]:
                raise errors.stale_write(PDBS, name)
            new_status = deep_copy_json(old.get("status") or {})
            new_status["disruptionsAllowed"] = allowed - 1
            if allowed - 1 == 0:
                pdb_strategy.update_disruption_allowed_condition(new_status, now)
            new_status["disruptedPods"] = {**(new_status.get("disruptedPods") or {}),
                                           pod_name: now}
            return {**old, "status": new_status}

        registry.guaranteed_update(PDBS, meta["namespace"], name, decrement,
                                   copy_result=False)

    @staticmethod
    def _mark_disruption_target(registry: Registry, namespace: str, name: str,
                                precondition: str | None) -> Obj:
        """``addConditionAndDeletePod``: ``DisruptionTarget=True`` (EvictionByEvictionAPI)."""
        now = rfc3339(registry.clock.now())

        def add_condition(old: Obj) -> Obj:
            if precondition and old["metadata"]["resourceVersion"] != precondition:
                raise errors.conflict(
                    PODS, name, "the object has been modified; please apply your changes to "
                                "the latest version and try again")
            status = dict(old.get("status") or {})
            conditions = [c for c in status.get("conditions") or []
                          if c.get("type") != "DisruptionTarget"]
            previous = next((c for c in status.get("conditions") or []
                             if c.get("type") == "DisruptionTarget"), None)
            conditions.append({
                "type": "DisruptionTarget", "status": "True", "lastProbeTime": None,
                "lastTransitionTime": (previous["lastTransitionTime"]
                                       if previous and previous.get("status") == "True"
                                       else now),
                "reason": "EvictionByEvictionAPI", "message": "Eviction API: evicting"})
            status["conditions"] = conditions
            return {**old, "status": status}

        return registry.guaranteed_update(PODS, namespace, name, add_condition)


def _can_ignore_pdb(pod: Obj) -> bool:
    """``canIgnorePDB``: a finished, pending or terminating pod disrupts nothing more."""
    return ((pod.get("status") or {}).get("phase") in ("Succeeded", "Failed", "Pending")
            or bool(pod["metadata"].get("deletionTimestamp")))


def _pod_ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


class EphemeralContainersSubresource(UpdateSubresource):
    """``pods/<name>/ephemeralcontainers`` (``podEphemeralContainersStrategy``)."""

    def prepare(self, obj: Obj, old: Obj) -> Obj:
        return pod_strategy.prepare_ephemeral_update(obj, old)

    def validate(self, obj: Obj, old: Obj, info: KindInfo) -> list[Cause]:
        return pod_strategy.validate_ephemeral_update(obj, old)


class PodProxy(ProxySubresource):
    """``pods/<name>[:port]/proxy``: the pod's IP, at the port named (a number or a
    container port's name; the first declared port, or 80, when none is named)."""

    def location(self, registry: Registry, namespace: str, name: str,
                 port: str) -> tuple[str, int]:
        pod = registry.get(PODS, namespace, name)
        ip = (pod.get("status") or {}).get("podIP")
        if not ip:
            raise ApiError(503, "ServiceUnavailable", f'pod "{name}" has no IP address yet',
                           {})
        if port.isdigit():
            return str(ip), int(port)
        declared = [p for c in pod["spec"].get("containers") or [] for p in c.get("ports") or []]
        number = next((p["containerPort"] for p in declared
                       if p.get("name") == port or not port), 80)
        return str(ip), int(number)


class PodStorage(Storage):
    """``PodStorage``: the pod REST and its subresources."""

    def __init__(self, strategy: Strategy) -> None:
        super().__init__(strategy)
        self.subresources.update({
            "binding": BindingSubresource(),
            "eviction": EvictionSubresource(),
            "ephemeralcontainers": EphemeralContainersSubresource(),
            "log": ConnectSubresource(("GET",)),
            "exec": ConnectSubresource(),
            "attach": ConnectSubresource(),
            "portforward": ConnectSubresource(),
            "proxy": PodProxy(),
        })

    def admit(self, registry: Registry, obj: Obj) -> None:
        """The LimitRanger plugin's defaults (:mod:`~kubelab.sandbox.api.limitranger`)."""
        namespace = (obj.get("metadata") or {}).get("namespace", "")
        limitranger.admit_pod(obj, _limit_ranges(registry, namespace))

    def before_create(self, registry: Registry, obj: Obj) -> list[Cause]:
        """The LimitRanger plugin's checks (a 403 naming the first violation), then the
        ServiceAccount admission plugin's token volume, which needs the pod's
        ServiceAccount (:mod:`~kubelab.sandbox.api.strategies.serviceaccount_admission`)."""
        spec = obj.get("spec") or {}
        namespace = (obj.get("metadata") or {}).get("namespace", "")
        why = limitranger.validate_pod(obj, _limit_ranges(registry, namespace))
        if why is not None:
            name = (obj.get("metadata") or {}).get("name", "")
            raise ApiError(403, "Forbidden", f'pods "{name}" is forbidden: {why}',
                           {"name": name, "kind": "pods"})
        account = registry.peek(SERVICEACCOUNTS, namespace,
                                spec.get("serviceAccountName") or "default")
        serviceaccount_admission.admit(obj, account, registry.names.suffix)
        return []

    def deletion_grace(self, obj: Obj, requested: int | None) -> int:
        spec = obj.get("spec") or {}
        if not spec.get("nodeName"):
            return 0
        if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return 0
        if requested is not None:
            return max(0, requested)
        return int(spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE_SECONDS))


def _limit_ranges(registry: Registry, namespace: str) -> list[Obj]:
    """The namespace's LimitRanges, in name order (the plugin's lister)."""
    return sorted(registry.iter_objects(LIMITRANGES, namespace),
                  key=lambda o: o["metadata"]["name"])


class BindingStorage(Storage):
    """The top-level ``bindings`` resource: a POST binds the pod the body names, through
    the pod storage's ``binding`` subresource (upstream registers the same ``BindingREST``
    under both paths)."""

    creates_through = (PODS, "binding")

