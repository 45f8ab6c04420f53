"""Workload storage with a ``scale`` subresource (Deployments, ReplicaSets,
ReplicationControllers).

Mirrors the ``ScaleREST`` of ``pkg/registry/apps/deployment/storage`` and
``.../replicaset/storage``: an ``autoscaling/v1`` Scale whose ``spec.replicas`` is the
object's and whose ``status.selector`` is its label selector as a string; writing it
changes ``spec.replicas`` only. The server reads and writes the Scale view. A
ReplicationController's selector is a plain label map (``pkg/registry/core/replicationcontroller
/storage``'s ``ScaleREST`` prints it with ``labels.SelectorFromSet``).
"""

from __future__ import annotations

from kubelab.apimachinery.types import Obj
from kubelab.sandbox.store.storage import ScaleSubresource, Storage, Strategy


class ScalableStorage(Storage):
    """A workload's REST with ``/scale``."""

    def __init__(self, strategy: Strategy) -> None:
        super().__init__(strategy)
        self.subresources["scale"] = ScaleSubresource()


class LabelMapScale(ScaleSubresource):
    """``/scale`` of a kind whose ``spec.selector`` is a label map."""

    def selector(self, obj: Obj) -> str:
        labels = (obj.get("spec") or {}).get("selector") or {}
        return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


class ReplicationControllerStorage(Storage):
    """The ReplicationController REST with ``/scale``."""

    def __init__(self, strategy: Strategy) -> None:
        super().__init__(strategy)
        self.subresources["scale"] = LabelMapScale()
