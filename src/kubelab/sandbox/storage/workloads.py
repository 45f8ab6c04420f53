"""Workload storage with a ``scale`` subresource (Deployments, ReplicaSets).

Mirrors the ``ScaleREST`` of ``pkg/registry/apps/deployment/storage`` and
``.../replicaset/storage``: an ``autoscaling/v1`` Scale whose ``spec.replicas`` is the
object's and whose ``status.selector`` is its label selector as a string; writing it
changes ``spec.replicas`` only. The server reads and writes the Scale view.
"""

from __future__ import annotations

from kubelab.sandbox.store.storage import ScaleSubresource, Storage, Strategy


class ScalableStorage(Storage):
    """A workload's REST with ``/scale``."""

    def __init__(self, strategy: Strategy) -> None:
        super().__init__(strategy)
        self.subresources["scale"] = ScaleSubresource()
