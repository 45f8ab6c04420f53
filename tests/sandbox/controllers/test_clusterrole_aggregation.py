"""The ClusterRole aggregation controller on the real registry with a manual clock.

Upstream: ``pkg/controller/clusterroleaggregation`` — an aggregated ClusterRole's rules are
the rules of the other ClusterRoles its selectors match, in name order, each once; a
labelled role joining, changing or leaving changes them.
"""

from __future__ import annotations

from typing import Any

from sandbox.controllers.controller_fakes import Cluster

from kubelab.sandbox.auth.rbac import CLUSTER_ROLES
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.controllers.clusterrole_aggregation import (
    ClusterRoleAggregationController,
)
from kubelab.sandbox.reconcile.types import Key

LABEL = {"rbac.authorization.k8s.io/aggregate-to-monitoring": "true"}


def rule(resource: str, *verbs: str) -> dict[str, Any]:
    return {"apiGroups": [""], "resources": [resource], "verbs": list(verbs)}


def sync(cluster: Cluster) -> None:
    controller = ClusterRoleAggregationController()
    for obj in cluster.list(CLUSTER_ROLES):
        for key in controller.keys_for(CLUSTER_ROLES, obj, cluster):
            cluster.run(controller, key)


def test_rules_follow_the_matching_roles() -> None:
    cluster = Cluster(ManualClock())
    cluster.add(CLUSTER_ROLES, {"metadata": {"name": "monitoring"}, "aggregationRule": {
        "clusterRoleSelectors": [{"matchLabels": LABEL}]}})
    cluster.add(CLUSTER_ROLES, {"metadata": {"name": "b-pods", "labels": LABEL},
                                "rules": [rule("pods", "get", "list")]})
    cluster.add(CLUSTER_ROLES, {"metadata": {"name": "a-nodes", "labels": LABEL},
                                "rules": [rule("nodes", "get"), rule("pods", "get", "list")]})
    cluster.add(CLUSTER_ROLES, {"metadata": {"name": "unlabelled"},
                                "rules": [rule("secrets", "get")]})
    sync(cluster)
    role = cluster.get(CLUSTER_ROLES, "", "monitoring")
    assert role is not None
    assert role["rules"] == [rule("nodes", "get"), rule("pods", "get", "list")]

    cluster.delete(CLUSTER_ROLES, "", "a-nodes")
    sync(cluster)
    role = cluster.get(CLUSTER_ROLES, "", "monitoring")
    assert role is not None and role["rules"] == [rule("pods", "get", "list")]
    written = role["metadata"]["resourceVersion"]
    result = cluster.run(ClusterRoleAggregationController(),
                         Key("clusterroles.rbac.authorization.k8s.io", "", "monitoring"))
    assert result.actions == []  # nothing to change, nothing written
    role = cluster.get(CLUSTER_ROLES, "", "monitoring")
    assert role is not None and role["metadata"]["resourceVersion"] == written


def test_a_role_without_aggregation_is_left_alone() -> None:
    cluster = Cluster(ManualClock())
    cluster.add(CLUSTER_ROLES, {"metadata": {"name": "plain", "labels": LABEL},
                                "rules": [rule("pods", "get")]})
    controller = ClusterRoleAggregationController()
    role = cluster.get(CLUSTER_ROLES, "", "plain")
    assert role is not None
    assert list(controller.keys_for(CLUSTER_ROLES, role, cluster)) == []
    assert cluster.run(controller, Key("clusterroles.rbac.authorization.k8s.io", "",
                                       "plain")).actions == []
