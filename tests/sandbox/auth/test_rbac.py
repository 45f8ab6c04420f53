"""The RBAC authorizer, escalation checks, request attributes and the default policy, on
the real registry with a manual clock.

Upstream: ``plugin/pkg/auth/authorizer/rbac`` (``RuleAllows``, ``appliesTo``, the
``RBAC: allowed by …`` reason), ``pkg/registry/rbac/validation`` (``ConfirmNoEscalation``,
``CompactString``), ``k8s.io/apiserver/pkg/endpoints/request`` (``NewRequestInfo``) and
``plugin/pkg/auth/authorizer/rbac/bootstrappolicy``.
"""

from __future__ import annotations

from typing import Any

import pytest

from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.errors import ApiError
from kubelab.sandbox.auth import policy
from kubelab.sandbox.auth.attributes import Attributes, request_attributes
from kubelab.sandbox.auth.rbac import (
    CLUSTER_ROLE_BINDINGS,
    CLUSTER_ROLES,
    ROLE_BINDINGS,
    ROLES,
    Authorizer,
    check_write,
    forbidden,
    rule_allows,
)
from kubelab.sandbox.auth.user import ADMIN, UserInfo, service_account_groups
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.storage import Registry

SA = UserInfo("system:serviceaccount:team:bot",
              groups=(*service_account_groups("team"), "system:authenticated"))
JANE = UserInfo("jane", groups=("system:authenticated", "devs"))


@pytest.fixture
def registry() -> Registry:
    reg = Registry(ManualClock())
    for ns in ("default", "team"):
        reg.create(kinds.core("namespaces"), {"metadata": {"name": ns}})
    policy.seed(reg)
    return reg


def attrs(user: UserInfo, verb: str, resource: str, namespace: str = "team", group: str = "",
          subresource: str = "", name: str = "") -> Attributes:
    return Attributes(user, verb, True, namespace=namespace, api_group=group,
                      resource=resource, subresource=subresource, name=name)


def role(name: str, *rules: dict[str, Any], namespace: str = "team") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace}, "rules": list(rules)}


def binding(name: str, role_kind: str, role_name: str, *subjects: dict[str, Any],
            namespace: str = "team") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace},
            "roleRef": {"kind": role_kind, "name": role_name}, "subjects": list(subjects)}


def sa_subject(name: str = "bot", namespace: str | None = None) -> dict[str, Any]:
    subject = {"kind": "ServiceAccount", "name": name}
    if namespace:
        subject["namespace"] = namespace
    return subject


@pytest.mark.parametrize(("rule", "request_", "allowed"), [
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, ("get", "pods", ""), True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, ("list", "pods", ""), False),
    ({"verbs": ["*"], "apiGroups": [""], "resources": ["pods"]}, ("delete", "pods", ""), True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, ("get", "pods", "log"), False),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods/log"]}, ("get", "pods", "log"),
     True),
    ({"verbs": ["get"], "apiGroups": ["apps"], "resources": ["*/scale"]},
     ("get", "deployments", "scale"), False),  # group differs: "" asked
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["*/log"]}, ("get", "pods", "log"), True),
    ({"verbs": ["get"], "apiGroups": ["*"], "resources": ["*"]}, ("get", "pods", "status"), True),
])
def test_rule_matching(rule: dict[str, Any], request_: tuple[str, str, str],
                       allowed: bool) -> None:
    verb, resource, sub = request_
    assert rule_allows(attrs(SA, verb, resource, subresource=sub), rule) is allowed


def test_resource_names_and_non_resource_urls() -> None:
    named = {"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"],
             "resourceNames": ["app"]}
    assert rule_allows(attrs(SA, "get", "configmaps", name="app"), named)
    assert not rule_allows(attrs(SA, "get", "configmaps", name="other"), named)
    assert not rule_allows(attrs(SA, "list", "configmaps"), {**named, "verbs": ["list"]})
    urls = {"verbs": ["get"], "nonResourceURLs": ["/healthz", "/apis/*"]}
    assert rule_allows(Attributes(SA, "get", False, path="/healthz"), urls)
    assert rule_allows(Attributes(SA, "get", False, path="/apis/apps/v1"), urls)
    assert not rule_allows(Attributes(SA, "get", False, path="/metrics"), urls)
    assert not rule_allows(Attributes(SA, "post", False, path="/healthz"), urls)


def test_a_service_account_is_denied_until_bound(registry: Registry) -> None:
    authz = Authorizer(registry)
    assert not authz.authorize(attrs(SA, "list", "pods")).allowed
    registry.create(ROLES, role("pod-reader", {"apiGroups": [""], "resources": ["pods"],
                                               "verbs": ["get", "list"]}))
    registry.create(ROLE_BINDINGS, binding("read", "Role", "pod-reader", sa_subject()))
    decision = authz.authorize(attrs(SA, "list", "pods"))
    assert decision.allowed
    assert decision.reason == ('RBAC: allowed by RoleBinding "read/team" of Role "pod-reader" '
                               'to ServiceAccount "bot/team"')
    assert not authz.authorize(attrs(SA, "list", "pods", namespace="default")).allowed
    assert not authz.authorize(attrs(SA, "delete", "pods")).allowed
    registry.delete(ROLE_BINDINGS, "team", "read")
    assert not authz.authorize(attrs(SA, "list", "pods")).allowed


def test_cluster_roles_through_both_kinds_of_binding(registry: Registry) -> None:
    authz = Authorizer(registry)
    registry.create(ROLE_BINDINGS, binding("view", "ClusterRole", "view",
                                           {"kind": "Group", "name": "devs"}))
    assert authz.authorize(attrs(JANE, "list", "deployments", group="apps")).allowed
    assert not authz.authorize(attrs(JANE, "list", "secrets")).allowed  # view has no secrets
    assert not authz.authorize(attrs(JANE, "list", "deployments", "default", "apps")).allowed
    registry.create(CLUSTER_ROLE_BINDINGS, {
        "metadata": {"name": "jane-edit"}, "roleRef": {"kind": "ClusterRole", "name": "edit"},
        "subjects": [{"kind": "User", "name": "jane"}]})
    assert authz.authorize(attrs(JANE, "delete", "secrets", "default")).allowed
    assert authz.authorize(attrs(JANE, "create", "pods", "default", subresource="exec")).allowed


def test_a_missing_role_is_named_in_the_denial(registry: Registry) -> None:
    authz = Authorizer(registry)
    registry.create(ROLE_BINDINGS, binding("dangling", "Role", "gone", sa_subject()))
    request = attrs(SA, "list", "pods")
    decision = authz.authorize(request)
    assert not decision.allowed
    assert decision.reason == 'RBAC: role.rbac.authorization.k8s.io "gone" not found'
    err = forbidden(request, decision.reason)
    assert err.code == 403
    assert err.message == (
        'pods is forbidden: User "system:serviceaccount:team:bot" cannot list resource "pods" '
        'in API group "" in the namespace "team": RBAC: role.rbac.authorization.k8s.io "gone" '
        "not found")


def test_forbidden_wording() -> None:
    named = forbidden(attrs(SA, "get", "deployments", "team", "apps", "scale", "web"))
    assert named.message == (
        'deployments.apps "web" is forbidden: User "system:serviceaccount:team:bot" cannot get '
        'resource "deployments/scale" in API group "apps" in the namespace "team"')
    assert named.details == {"name": "web", "group": "apps", "kind": "deployments"}
    cluster = forbidden(attrs(SA, "list", "nodes", namespace=""))
    assert cluster.message.endswith('cannot list resource "nodes" in API group "" at the '
                                    "cluster scope")
    path = forbidden(Attributes(SA, "get", False, path="/metrics"))
    assert path.message == ('forbidden: User "system:serviceaccount:team:bot" cannot get '
                            'path "/metrics"')


def test_every_user_may_ask_about_itself(registry: Registry) -> None:
    authz = Authorizer(registry)
    review = attrs(SA, "create", "selfsubjectaccessreviews", "", "authorization.k8s.io")
    assert authz.authorize(review).allowed
    assert authz.authorize(Attributes(SA, "get", False, path="/api/v1")).allowed
    assert authz.authorize(ADMIN and attrs(ADMIN, "delete", "nodes", "")).allowed


def test_default_roles_are_aggregated(registry: Registry) -> None:
    view = registry.get(CLUSTER_ROLES, "", "view")
    edit = registry.get(CLUSTER_ROLES, "", "edit")
    admin = registry.get(CLUSTER_ROLES, "", "admin")
    assert view["rules"] and all(r in edit["rules"] for r in view["rules"])
    assert all(r in admin["rules"] for r in edit["rules"])
    assert {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings", "roles"],
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch",
                      "update", "watch"]} in admin["rules"]
    assert not any("secrets" in r.get("resources", []) for r in view["rules"])
    assert view["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-edit"] == "true"
    crb = registry.get(CLUSTER_ROLE_BINDINGS, "", "cluster-admin")
    assert crb["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                                "name": "system:masters"}]


def test_escalation_is_refused_unless_the_rules_are_held(registry: Registry) -> None:
    authz = Authorizer(registry)
    registry.create(ROLES, role("manager",
                                {"apiGroups": ["rbac.authorization.k8s.io"],
                                 "resources": ["roles", "rolebindings"], "verbs": ["create"]},
                                {"apiGroups": [""], "resources": ["pods"],
                                 "verbs": ["get", "list"]}))
    registry.create(ROLE_BINDINGS, binding("manager", "Role", "manager", sa_subject()))
    asked = role("wider", {"apiGroups": [""], "resources": ["pods", "secrets"],
                           "verbs": ["get", "delete"]})
    with pytest.raises(ApiError) as caught:
        check_write(authz, SA, ROLES, "team", asked)
    assert caught.value.code == 403
    assert caught.value.message == (
        'roles.rbac.authorization.k8s.io "wider" is forbidden: user '
        '"system:serviceaccount:team:bot" (groups=["system:serviceaccounts" '
        '"system:serviceaccounts:team" "system:authenticated"]) is attempting to grant RBAC '
        "permissions not currently held:\n"
        '{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}\n'
        '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "delete"]}')
    check_write(authz, SA, ROLES, "team", role("narrower", {"apiGroups": [""],
                                                           "resources": ["pods"],
                                                           "verbs": ["get"]}))
    check_write(authz, ADMIN, ROLES, "team", asked)  # system:masters may
    with pytest.raises(ApiError):  # binding a role with more than it holds
        check_write(authz, SA, ROLE_BINDINGS, "team",
                    binding("b", "ClusterRole", "edit", sa_subject()))
    check_write(authz, SA, ROLE_BINDINGS, "team",
                binding("b", "Role", "manager", sa_subject("other")))


def test_request_attributes() -> None:
    def info(method: str, path: str, **query: str) -> tuple[Any, ...]:
        a = request_attributes(SA, method, path, query)
        return (a.verb, a.resource_request, a.namespace, a.api_group, a.resource,
                a.subresource, a.name)

    assert info("GET", "/api/v1/namespaces/team/pods") == \
        ("list", True, "team", "", "pods", "", "")
    assert info("GET", "/api/v1/namespaces/team/pods", watch="true") == \
        ("watch", True, "team", "", "pods", "", "")
    assert info("GET", "/api/v1/namespaces/team/pods", fieldSelector="metadata.name=web") == \
        ("list", True, "team", "", "pods", "", "web")
    assert info("GET", "/api/v1/namespaces/team/pods/web/log") == \
        ("get", True, "team", "", "pods", "log", "web")
    assert info("DELETE", "/apis/apps/v1/namespaces/team/deployments") == \
        ("deletecollection", True, "team", "apps", "deployments", "", "")
    assert info("PATCH", "/apis/apps/v1/namespaces/team/deployments/web/scale") == \
        ("patch", True, "team", "apps", "deployments", "scale", "web")
    assert info("GET", "/api/v1/namespaces/team") == \
        ("get", True, "team", "", "namespaces", "", "team")
    assert info("PUT", "/api/v1/namespaces/team/finalize") == \
        ("update", True, "team", "", "namespaces", "finalize", "team")
    assert info("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews") == \
        ("create", True, "", "authorization.k8s.io", "selfsubjectaccessreviews", "", "")
    assert info("GET", "/apis/apps/v1")[:2] == ("get", False)
    assert info("GET", "/version")[:2] == ("get", False)


def test_an_aggregation_rule_takes_cluster_admin(registry: Registry) -> None:
    authz = Authorizer(registry)
    registry.create(CLUSTER_ROLE_BINDINGS, {
        "metadata": {"name": "jane-roles"},
        "roleRef": {"kind": "ClusterRole", "name": "admin"},
        "subjects": [{"kind": "User", "name": "jane"}]})
    aggregated = {"metadata": {"name": "monitoring"}, "rules": [], "aggregationRule": {
        "clusterRoleSelectors": [{"matchLabels": {"team": "monitoring"}}]}}
    with pytest.raises(ApiError) as caught:
        check_write(authz, JANE, CLUSTER_ROLES, "", aggregated)
    assert caught.value.message == (
        'clusterroles.rbac.authorization.k8s.io "monitoring" is forbidden: must have '
        "cluster-admin privileges to use the aggregationRule")
    check_write(authz, ADMIN, CLUSTER_ROLES, "", aggregated)
