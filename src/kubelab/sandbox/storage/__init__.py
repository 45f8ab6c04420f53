"""Per-kind storage: one object per kind, the only place kind rules live.

Mirrors kube-apiserver's ``pkg/registry/<group>/<kind>/storage`` packages and the REST
storage providers that wire them into the server (``pkg/controlplane``). Each kind's storage
(a :class:`~kubelab.sandbox.store.storage.Storage`) owns:

* its strategy (:mod:`kubelab.sandbox.api.strategies`: defaulting, validation, prepare for
  create/update, selectable fields);
* its hooks around the generic registry's writes: allocation before a create (Service
  ClusterIPs and NodePorts, :mod:`.service`), graceful deletion (Pod grace periods,
  :mod:`.pod`), finalisation (Namespace ``spec.finalizers`` and phase, :mod:`.namespace`),
  the Event TTL and quota exemption (:mod:`.event`);
* its subresources (``status``, ``scale``, ``binding``, ``eviction``,
  ``ephemeralcontainers``, ``log``, ``exec``, ``attach``, ``portforward``, ``proxy``,
  ``finalize``) as a table the HTTP layer dispatches on.

Layers (an import-linter contract): :mod:`kubelab.apimachinery` at the bottom, then the
generic store (:mod:`kubelab.sandbox.store`, which names no kind), then the strategies and
this package, then the server and the components. HTTP requests and in-process writes
(controllers, scheduler, kubelet) both go through :class:`Registry`, so they follow the
same rules.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from kubelab.apimachinery.types import Obj
from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import strategy_for
from kubelab.sandbox.clock import Clock
from kubelab.sandbox.storage import batch, event, namespace, pod, service, volumes, workloads
from kubelab.sandbox.storage.networking import IngressStorage
from kubelab.sandbox.storage.serviceaccount import ServiceAccountStorage
from kubelab.sandbox.store import registry as generic
from kubelab.sandbox.store.storage import Storage

#: Kinds whose storage is more than the generic one, by (group, kind).
_STORAGES: dict[tuple[str, str], type[Storage]] = {
    ("", "Event"): event.EventStorage,
    ("events.k8s.io", "Event"): event.EventStorage,
    ("", "Namespace"): namespace.NamespaceStorage,
    ("", "Node"): service.NodeStorage,
    ("", "Pod"): pod.PodStorage,
    ("", "Binding"): pod.BindingStorage,
    ("", "Service"): service.ServiceStorage,
    ("", "ServiceAccount"): ServiceAccountStorage,
    ("apps", "Deployment"): workloads.ScalableStorage,
    ("apps", "ReplicaSet"): workloads.ScalableStorage,
    ("", "ReplicationController"): workloads.ReplicationControllerStorage,
    ("apps", "StatefulSet"): volumes.StatefulSetStorage,
    ("", "PersistentVolumeClaim"): volumes.ClaimStorage,
    ("batch", "Job"): batch.JobStorage,
    ("networking.k8s.io", "Ingress"): IngressStorage,
}


@cache
def storage_for(info: KindInfo) -> Storage:
    """The storage of a kind (one instance per kind, built on first use)."""
    factory = _STORAGES.get((info.group, info.kind), Storage)
    return factory(strategy_for(info))


class Registry(generic.Registry):
    """The sandbox's registry: the generic store wired with every kind's storage."""

    def __init__(self, clock: Clock, path: Path | None = None, *, seed: int | None = None,
                 max_object_bytes: int = 3 * 1024 * 1024,
                 event_ttl: float = generic.EVENT_TTL_SECONDS,
                 max_pods: int | None = None) -> None:
        super().__init__(clock, path, storages=storage_for, seed=seed,
                         max_object_bytes=max_object_bytes, event_ttl=event_ttl,
                         object_limits={"pods": max_pods} if max_pods is not None else None)

    def bind(self, namespace: str, name: str, node: str, uid: str | None = None, *,
             copy_result: bool = True) -> Obj:
        """POST ``pods/<name>/binding`` (what the scheduler writes), returning the pod
        (``copy_result=False``: the stored pod itself, for callers that only read it)."""
        binding: Obj = {"apiVersion": "v1", "kind": "Binding",
                        "metadata": {"name": name, "namespace": namespace,
                                     **({"uid": uid} if uid else {})},
                        "target": {"kind": "Node", "name": node}}
        self.create_subresource(kinds.core("pods"), namespace, name, "binding", binding)
        if copy_result:
            return self.get(kinds.core("pods"), namespace, name)
        stored = self.peek(kinds.core("pods"), namespace, name)
        assert stored is not None
        return stored


RegistrySnapshot = generic.RegistrySnapshot

__all__ = ["Registry", "RegistrySnapshot", "storage_for"]
