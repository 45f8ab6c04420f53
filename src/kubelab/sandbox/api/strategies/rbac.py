"""rbac.authorization.k8s.io/v1: Roles, ClusterRoles and their bindings.

Mirrors ``pkg/registry/rbac/{role,clusterrole,rolebinding,clusterrolebinding}/strategy.go``,
the defaulting of ``pkg/apis/rbac/v1/defaults.go`` (a binding's ``roleRef.apiGroup`` and a
User or Group subject's ``apiGroup`` default to ``rbac.authorization.k8s.io``) and the
validation of ``pkg/apis/rbac/validation/validation.go``, wording included: names are path
segments (``system:aggregate-to-view`` is a valid name), every rule needs verbs, resource
rules need API groups and resources, non-resource URLs only in ClusterRoles, a binding's
``roleRef`` cannot change.

Privilege-escalation prevention (``pkg/registry/rbac/*/policybased``) needs the requesting
user, which the store never sees: the HTTP layer applies it (:mod:`kubelab.sandbox.auth`).
"""

from __future__ import annotations

from typing import Any

from kubelab.sandbox.api.errors import Cause
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.api.strategies import Obj, Strategy, register
from kubelab.sandbox.api.validation import (
    invalid,
    not_supported,
    required,
    validate_label_selector,
    validate_object_meta,
)

GROUP = "rbac.authorization.k8s.io"
API_VERSION = f"{GROUP}/v1"
SUBJECT_KINDS = ("ServiceAccount", "User", "Group")


def path_segment_errors(name: str) -> list[str]:
    """``path.IsValidPathSegmentName``: RBAC names may hold anything a URL segment can."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{ch}'" for ch in ("/", "%") if ch in name]


def _meta_causes(obj: Obj, info: KindInfo) -> list[Cause]:
    """``ValidateObjectMeta`` with ``ValidateRBACName`` as the name rule."""
    causes = [c for c in validate_object_meta(obj, info)
              if not (c.field == "metadata.name" and c.reason == "FieldValueInvalid")]
    name = (obj.get("metadata") or {}).get("name") or ""
    return [invalid("metadata.name", name, e) for e in path_segment_errors(name)] + causes


def validate_rule(rule: Any, namespaced: bool, path: str) -> list[Cause]:
    """``ValidatePolicyRule``."""
    rule = rule if isinstance(rule, dict) else {}
    causes: list[Cause] = []
    if not rule.get("verbs"):
        causes.append(required(f"{path}.verbs", "verbs must contain at least one value"))
    urls = rule.get("nonResourceURLs") or []
    if urls:
        if namespaced:
            causes.append(invalid(f"{path}.nonResourceURLs", urls,
                                  "namespaced rules cannot apply to non-resource URLs"))
        if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
            causes.append(invalid(
                f"{path}.nonResourceURLs", urls,
                "rules cannot apply to both regular resources and non-resource URLs"))
        return causes
    if not rule.get("apiGroups"):
        causes.append(required(f"{path}.apiGroups",
                               "resource rules must supply at least one api group"))
    if not rule.get("resources"):
        causes.append(required(f"{path}.resources",
                               "resource rules must supply at least one resource"))
    return causes


def _validate_rules(obj: Obj, namespaced: bool) -> list[Cause]:
    causes: list[Cause] = []
    for i, rule in enumerate(obj.get("rules") or []):
        causes += validate_rule(rule, namespaced, f"rules[{i}]")
    return causes


def default_binding(obj: Obj) -> None:
    """``SetDefaults_RoleBinding``/``ClusterRoleBinding`` and ``SetDefaults_Subject``."""
    ref = obj.get("roleRef")
    if isinstance(ref, dict) and not ref.get("apiGroup"):
        ref["apiGroup"] = GROUP
    for subject in obj.get("subjects") or []:
        if isinstance(subject, dict) and not subject.get("apiGroup") and \
                subject.get("kind") in ("User", "Group"):
            subject["apiGroup"] = GROUP


def validate_subject(subject: Any, namespaced: bool, path: str) -> list[Cause]:
    """``ValidateRoleBindingSubject``."""
    subject = subject if isinstance(subject, dict) else {}
    causes: list[Cause] = []
    name = subject.get("name") or ""
    if not name:
        causes.append(required(f"{path}.name"))
    kind = subject.get("kind") or ""
    group = subject.get("apiGroup") or ""
    if kind == "ServiceAccount":
        if name:
            from kubelab.sandbox.api.validation import dns1123_subdomain_errors

            causes += [invalid(f"{path}.name", name, e) for e in dns1123_subdomain_errors(name)]
        if group:
            causes.append(not_supported(f"{path}.apiGroup", group, [""]))
        if not namespaced and not subject.get("namespace"):
            causes.append(required(f"{path}.namespace"))
    elif kind in ("User", "Group"):
        if group != GROUP:
            causes.append(not_supported(f"{path}.apiGroup", group, [GROUP]))
    else:
        causes.append(not_supported(f"{path}.kind", kind, list(SUBJECT_KINDS)))
    return causes


def validate_binding(obj: Obj, info: KindInfo, kinds_allowed: tuple[str, ...]) -> list[Cause]:
    """``ValidateRoleBinding``/``ValidateClusterRoleBinding``."""
    causes = _meta_causes(obj, info)
    ref = obj.get("roleRef") if isinstance(obj.get("roleRef"), dict) else {}
    assert isinstance(ref, dict)
    if ref.get("apiGroup", "") != GROUP:
        causes.append(not_supported("roleRef.apiGroup", ref.get("apiGroup", ""), [GROUP]))
    if ref.get("kind", "") not in kinds_allowed:
        causes.append(not_supported("roleRef.kind", ref.get("kind", ""), list(kinds_allowed)))
    role_name = ref.get("name") or ""
    if not role_name:
        causes.append(required("roleRef.name"))
    else:
        causes += [invalid("roleRef.name", role_name, e) for e in path_segment_errors(role_name)]
    for i, subject in enumerate(obj.get("subjects") or []):
        causes += validate_subject(subject, info.namespaced, f"subjects[{i}]")
    return causes


class RoleStrategy(Strategy):
    """``pkg/registry/rbac/role``: namespaced rules, no non-resource URLs."""

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        return _meta_causes(obj, info) + _validate_rules(obj, namespaced=True)


class ClusterRoleStrategy(Strategy):
    """``pkg/registry/rbac/clusterrole``: rules, and an aggregation rule whose selectors
    the ClusterRole aggregation controller follows."""

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        causes = _meta_causes(obj, info) + _validate_rules(obj, namespaced=False)
        aggregation = obj.get("aggregationRule")
        if aggregation is not None:
            selectors = (aggregation or {}).get("clusterRoleSelectors") or []
            if not selectors:
                causes.append(required(
                    "aggregationRule.clusterRoleSelectors",
                    "at least one clusterRoleSelector required if aggregationRule is non-nil"))
            for i, selector in enumerate(selectors):
                causes += validate_label_selector(
                    selector, f"aggregationRule.clusterRoleSelectors[{i}]")
        return causes


class _BindingStrategy(Strategy):
    kinds_allowed: tuple[str, ...] = ()

    def default(self, obj: Obj) -> None:
        default_binding(obj)

    def validate(self, obj: Obj, info: KindInfo) -> list[Cause]:
        return validate_binding(obj, info, self.kinds_allowed)

    def validate_update(self, obj: Obj, old: Obj, info: KindInfo) -> list[Cause]:
        causes = self.validate(obj, info)
        if obj.get("roleRef") != old.get("roleRef"):
            causes.append(invalid("roleRef", obj.get("roleRef"), "cannot change roleRef"))
        return causes


class RoleBindingStrategy(_BindingStrategy):
    """``pkg/registry/rbac/rolebinding``: a Role of its namespace or a ClusterRole."""

    kinds_allowed = ("Role", "ClusterRole")


class ClusterRoleBindingStrategy(_BindingStrategy):
    """``pkg/registry/rbac/clusterrolebinding``: a ClusterRole only."""

    kinds_allowed = ("ClusterRole",)


register(API_VERSION, "Role", RoleStrategy())
register(API_VERSION, "ClusterRole", ClusterRoleStrategy())
register(API_VERSION, "RoleBinding", RoleBindingStrategy())
register(API_VERSION, "ClusterRoleBinding", ClusterRoleBindingStrategy())
