"""The replication controller: keep ``spec.replicas`` pods of a ReplicationController.

Mirrors kube-controller-manager's ``pkg/controller/replication``: upstream does not keep a
second copy of the logic; ``NewReplicationManager`` runs the ReplicaSet controller over
ReplicationControllers converted to ReplicaSets, with the component name
``replication-controller``. Here the same :class:`ReplicaSetController` runs with the
ReplicationController kind, whose ``spec.selector`` is a plain label map (equality only);
pods, ownership (``kind: ReplicationController``), ranking, events and status
(``replicas``, ``fullyLabeledReplicas``, ``readyReplicas``, ``availableReplicas``,
``observedGeneration``, ``ReplicaFailure``) are the ReplicaSet's.
"""

from __future__ import annotations

from kubelab.apimachinery.selectors import LabelSelector, selector_from_match_labels
from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.controllers.replicaset import PODS, ReplicaSetController
from kubelab.sandbox.reconcile.types import Obj

REPLICATIONCONTROLLERS = kinds.core("replicationcontrollers")


class ReplicationControllerController(ReplicaSetController):
    """``replication-controller``: ReplicationControllers → Pods."""

    name = "replication-controller"
    resource: KindInfo = REPLICATIONCONTROLLERS
    watches: tuple[KindInfo, ...] = (REPLICATIONCONTROLLERS, PODS)

    def selector(self, rs: Obj) -> LabelSelector:
        return selector_from_match_labels((rs.get("spec") or {}).get("selector") or {})

    def selector_empty(self, rs: Obj) -> bool:
        return not (rs.get("spec") or {}).get("selector")
