"""The default RBAC policy a fresh cluster holds.

Mirrors ``plugin/pkg/auth/authorizer/rbac/bootstrappolicy`` (``ClusterRoles``,
``ClusterRoleBindings``) as kube-apiserver's ``rbac/bootstrap-roles`` post-start hook
creates them: the user-facing roles ``cluster-admin``, ``admin``, ``edit`` and ``view``
(the last three aggregated from the ``system:aggregate-to-*`` roles by their labels, so a
CRD's roles can join them), and the ``system:basic-user``, ``system:discovery`` and
``system:public-info-viewer`` roles every authenticated user is bound to. Each carries the
``kubernetes.io/bootstrapping: rbac-defaults`` label and the
``rbac.authorization.kubernetes.io/autoupdate`` annotation. The sandbox seeds only these
(the controllers' and nodes' own ``system:*`` roles are not needed: the sandbox's
components write through the store, not through the API).
"""

from __future__ import annotations

from kubelab.apimachinery.selectors import selector_matches
from kubelab.apimachinery.types import Obj, deep_copy_json
from kubelab.sandbox.auth.user import AUTHENTICATED, SYSTEM_MASTERS, UNAUTHENTICATED
from kubelab.sandbox.store.registry import Registry

GROUP = "rbac.authorization.k8s.io"
API_VERSION = f"{GROUP}/v1"
READ = ["get", "list", "watch"]
WRITE = ["create", "delete", "deletecollection", "patch", "update"]
READ_WRITE = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def _rule(groups: list[str], resources: list[str], verbs: list[str]) -> Obj:
    return {"apiGroups": groups, "resources": resources, "verbs": verbs}


def _meta(name: str, labels: dict[str, str] | None = None) -> Obj:
    return {"name": name,
            "labels": {"kubernetes.io/bootstrapping": "rbac-defaults", **(labels or {})},
            "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}}


def _aggregate(label: str) -> Obj:
    return {"clusterRoleSelectors": [
        {"matchLabels": {f"rbac.authorization.k8s.io/aggregate-to-{label}": "true"}}]}


def _to(label: str) -> dict[str, str]:
    return {f"rbac.authorization.k8s.io/aggregate-to-{label}": "true"}


def _cluster_role(name: str, rules: list[Obj] | None, labels: dict[str, str] | None = None,
                  aggregation: Obj | None = None) -> Obj:
    role: Obj = {"apiVersion": API_VERSION, "kind": "ClusterRole",
                 "metadata": _meta(name, labels), "rules": rules}
    if aggregation is not None:
        role["aggregationRule"] = aggregation
    return role


_AGGREGATE_TO_VIEW = [
    _rule([""], ["configmaps", "endpoints", "persistentvolumeclaims",
                 "persistentvolumeclaims/status", "pods", "replicationcontrollers",
                 "replicationcontrollers/scale", "serviceaccounts", "services",
                 "services/status"], READ),
    _rule([""], ["bindings", "events", "limitranges", "namespaces/status", "pods/log",
                 "pods/status", "replicationcontrollers/status", "resourcequotas",
                 "resourcequotas/status"], READ),
    _rule([""], ["namespaces"], READ),
    _rule(["discovery.k8s.io"], ["endpointslices"], READ),
    _rule(["apps"], ["controllerrevisions", "daemonsets", "daemonsets/status", "deployments",
                     "deployments/scale", "deployments/status", "replicasets",
                     "replicasets/scale", "replicasets/status", "statefulsets",
                     "statefulsets/scale", "statefulsets/status"], READ),
    _rule(["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"],
          READ),
    _rule(["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"], READ),
    _rule(["extensions"], ["daemonsets", "daemonsets/status", "deployments",
                           "deployments/scale", "deployments/status", "ingresses",
                           "ingresses/status", "networkpolicies", "replicasets",
                           "replicasets/scale", "replicasets/status",
                           "replicationcontrollers/scale"], READ),
    _rule(["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"], READ),
    _rule(["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"], READ),
]

_AGGREGATE_TO_EDIT = [
    _rule([""], ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets",
                 "services/proxy"], READ),
    _rule([""], ["serviceaccounts"], ["impersonate"]),
    _rule([""], ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"], WRITE),
    _rule([""], ["pods/eviction"], ["create"]),
    _rule([""], ["configmaps", "events", "persistentvolumeclaims", "replicationcontrollers",
                 "replicationcontrollers/scale", "secrets", "serviceaccounts", "services",
                 "services/proxy"], WRITE),
    _rule([""], ["serviceaccounts/token"], ["create"]),
    _rule(["apps"], ["daemonsets", "deployments", "deployments/rollback", "deployments/scale",
                     "replicasets", "replicasets/scale", "statefulsets",
                     "statefulsets/scale"], WRITE),
    _rule(["autoscaling"], ["horizontalpodautoscalers"], WRITE),
    _rule(["batch"], ["cronjobs", "jobs"], WRITE),
    _rule(["extensions"], ["daemonsets", "deployments", "deployments/rollback",
                           "deployments/scale", "ingresses", "networkpolicies", "replicasets",
                           "replicasets/scale", "replicationcontrollers/scale"], WRITE),
    _rule(["policy"], ["poddisruptionbudgets"], WRITE),
    _rule(["networking.k8s.io"], ["ingresses", "networkpolicies"], WRITE),
    _rule(["coordination.k8s.io"], ["leases"], READ_WRITE),
]

_AGGREGATE_TO_ADMIN = [
    _rule(["authorization.k8s.io"], ["localsubjectaccessreviews"], ["create"]),
    _rule([GROUP], ["rolebindings", "roles"], READ_WRITE),
]


def cluster_roles() -> list[Obj]:
    """The default ClusterRoles (aggregated ones with no rules yet: the aggregation
    controller fills them in)."""
    return [
        _cluster_role("admin", None, aggregation=_aggregate("admin")),
        _cluster_role("cluster-admin", [
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
            {"nonResourceURLs": ["*"], "verbs": ["*"]}]),
        _cluster_role("edit", None, _to("admin"), _aggregate("edit")),
        _cluster_role("system:aggregate-to-admin", _AGGREGATE_TO_ADMIN, _to("admin")),
        _cluster_role("system:aggregate-to-edit", _AGGREGATE_TO_EDIT, _to("edit")),
        _cluster_role("system:aggregate-to-view", _AGGREGATE_TO_VIEW, _to("view")),
        _cluster_role("system:auth-delegator", [
            _rule(["authentication.k8s.io"], ["tokenreviews"], ["create"]),
            _rule(["authorization.k8s.io"], ["subjectaccessreviews"], ["create"])]),
        _cluster_role("system:basic-user", [
            _rule(["authorization.k8s.io"],
                  ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], ["create"]),
            _rule(["authentication.k8s.io"], ["selfsubjectreviews"], ["create"])]),
        _cluster_role("system:discovery", [
            {"nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez",
                                 "/openapi", "/openapi/*", "/readyz", "/version", "/version/"],
             "verbs": ["get"]}]),
        _cluster_role("system:public-info-viewer", [
            {"nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"],
             "verbs": ["get"]}]),
        _cluster_role("view", None, _to("edit"), _aggregate("view")),
    ]


def _binding(name: str, role: str, groups: list[str]) -> Obj:
    return {"apiVersion": API_VERSION, "kind": "ClusterRoleBinding", "metadata": _meta(name),
            "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": GROUP, "kind": "Group", "name": g} for g in groups]}


def cluster_role_bindings() -> list[Obj]:
    """``ClusterRoleBindings()``: admins, and what every user may ask about itself."""
    return [
        _binding("cluster-admin", "cluster-admin", [SYSTEM_MASTERS]),
        _binding("system:basic-user", "system:basic-user", [AUTHENTICATED]),
        _binding("system:discovery", "system:discovery", [AUTHENTICATED]),
        _binding("system:public-info-viewer", "system:public-info-viewer",
                 [AUTHENTICATED, UNAUTHENTICATED]),
    ]


def aggregated_rules(role: Obj, roles: list[Obj]) -> list[Obj] | None:
    """The rules an aggregated ClusterRole should hold, as the ClusterRole aggregation
    controller (``pkg/controller/clusterroleaggregation``) computes them: the rules of every
    other ClusterRole a selector matches, in name order, each rule once. None when ``role``
    has no aggregation rule."""
    aggregation = role.get("aggregationRule")
    if aggregation is None:
        return None
    name = role["metadata"]["name"]
    rules: list[Obj] = []
    for other in sorted(roles, key=lambda r: r["metadata"]["name"]):
        if other["metadata"]["name"] == name:
            continue
        labels = other["metadata"].get("labels") or {}
        if not any(selector_matches(selector, labels)
                   for selector in aggregation.get("clusterRoleSelectors") or ()):
            continue
        for rule in other.get("rules") or ():
            if rule not in rules:
                rules.append(rule)
    return rules


def seed(registry: Registry) -> None:
    """``rbac/bootstrap-roles``: create what is missing, aggregated roles filled in."""
    from kubelab.sandbox.auth.rbac import CLUSTER_ROLE_BINDINGS, CLUSTER_ROLES

    for role in cluster_roles():
        if registry.peek(CLUSTER_ROLES, "", role["metadata"]["name"]) is None:
            registry.create(CLUSTER_ROLES, role)
    # Aggregate in dependency order (view before edit before admin), as the controller
    # converges to over a few passes.
    for _ in range(3):
        stored = list(registry.iter_objects(CLUSTER_ROLES))
        for role in stored:
            rules = aggregated_rules(role, stored)
            if rules is not None and rules != (role.get("rules") or []):
                updated = deep_copy_json(role)
                updated["rules"] = rules
                registry.update(CLUSTER_ROLES, updated)
    for binding in cluster_role_bindings():
        if registry.peek(CLUSTER_ROLE_BINDINGS, "", binding["metadata"]["name"]) is None:
            registry.create(CLUSTER_ROLE_BINDINGS, binding)
