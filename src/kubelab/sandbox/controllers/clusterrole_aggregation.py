"""The ClusterRole aggregation controller: an aggregated ClusterRole's rules follow the
ClusterRoles its selectors match.

Mirrors kube-controller-manager's ``pkg/controller/clusterroleaggregation``
(``ClusterRoleAggregationController.syncClusterRole``): any ClusterRole change enqueues every
ClusterRole with an ``aggregationRule``; a sync gathers the rules of the other ClusterRoles
whose labels match any of its ``clusterRoleSelectors`` (in name order, each rule once) and
writes them when they differ. This is how ``admin``, ``edit`` and ``view`` get their rules
from ``system:aggregate-to-*`` and from roles a learner labels
``rbac.authorization.k8s.io/aggregate-to-view: "true"``.
"""

from __future__ import annotations

from collections.abc import Iterable

from kubelab.apimachinery.types import deep_copy_json
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.auth.policy import aggregated_rules
from kubelab.sandbox.auth.rbac import CLUSTER_ROLES
from kubelab.sandbox.clock import Clock
from kubelab.sandbox.reconcile.types import Key, Obj, Result, Snapshot, Update

COMPONENT = "clusterrole-aggregation-controller"


class ClusterRoleAggregationController:
    """``clusterrole-aggregation``: aggregated ClusterRoles → their gathered rules."""

    name = COMPONENT
    watches: tuple[KindInfo, ...] = (CLUSTER_ROLES,)

    def keys_for(self, info: KindInfo, obj: Obj, snapshot: Snapshot) -> Iterable[Key]:
        for role in snapshot.list(CLUSTER_ROLES):
            if role.get("aggregationRule") is not None:
                yield Key.of(CLUSTER_ROLES, role)

    def reconcile(self, snapshot: Snapshot, key: Key, clock: Clock) -> Result:
        role = snapshot.get(CLUSTER_ROLES, "", key.name)
        if role is None:
            return Result()
        rules = aggregated_rules(role, snapshot.list(CLUSTER_ROLES))
        if rules is None or rules == (role.get("rules") or []):
            return Result()
        updated = deep_copy_json(role)
        updated["rules"] = rules
        return Result([Update(CLUSTER_ROLES, updated)])
