"""Pod storage: graceful deletion and the pod subresources.

Mirrors ``pkg/registry/core/pod/storage/storage.go`` and ``pkg/registry/core/pod/rest``:

* ``CheckGracefulDelete`` (``podStrategy``): a pod on a node terminates gracefully
  (``spec.terminationGracePeriodSeconds``, 30 s by default, or the DELETE's
  ``gracePeriodSeconds``); an unscheduled or finished pod goes at once;
* ``BindingREST`` (``pods/binding`` and the top-level ``bindings`` resource): sets
  ``spec.nodeName`` once and ``PodScheduled=True`` (``setPodHostAndAnnotations``); a pod
  already bound or being deleted is a 409;
* ``EvictionREST`` (``pods/eviction``): the delete an Eviction asks for (this sandbox has no
  PodDisruptionBudgets, so an eviction is always allowed);
* ``EphemeralContainersREST``: only ``spec.ephemeralContainers`` of the write counts;
* ``log``, ``exec``, ``attach``, ``portforward``, ``proxy``: connect subresources that the
  server streams itself (upstream proxies them to the kubelet).
"""

from __future__ import annotations

from kubelab.apimachinery.types import Obj
from kubelab.sandbox.api import errors, kinds, params
from kubelab.sandbox.api.errors import ApiError, Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import pod as pod_strategy
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
            registry.guaranteed_update(PODS, namespace, name, assign)
        return None


class EvictionSubresource(CreateSubresource):
    """``pods/<name>/eviction``: delete the pod as the Eviction's ``deleteOptions`` say."""

    body_kind = EVICTION

    def create(self, registry: Registry, namespace: str, name: str, body: Obj, *,
               dry_run: bool = False) -> Obj | None:
        named = (body.get("metadata") or {}).get("name")
        if named and named != name:
            raise errors.bad_request("name in URL does not match name in Eviction object")
        options = body.get("deleteOptions") or {}
        params.check_propagation(options.get("propagationPolicy"))
        registry.delete(PODS, namespace, name,
                        grace_period_seconds=options.get("gracePeriodSeconds"),
                        dry_run=dry_run)
        return None


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

    def before_create(self, registry: Registry, obj: Obj) -> list[Cause]:
        """The ServiceAccount admission plugin's token volume, which needs the pod's
        ServiceAccount (:mod:`~kubelab.sandbox.api.strategies.serviceaccount_admission`)."""
        spec = obj.get("spec") or {}
        namespace = (obj.get("metadata") or {}).get("namespace", "")
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


class BindingStorage(Storage):
    """The top-level ``bindings`` resource: a POST binds the pod the body names, through
    the pod storage's ``binding`` subresource (upstream registers the same ``BindingREST``
    under both paths)."""

    creates_through = (PODS, "binding")

