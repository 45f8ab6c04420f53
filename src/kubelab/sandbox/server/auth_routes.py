"""The HTTP side of authentication and authorisation: the filters and the review APIs.

Mirrors kube-apiserver's ``WithAuthentication``, ``WithImpersonation`` and
``WithAuthorization`` filters (``k8s.io/apiserver/pkg/endpoints/filters``) and the REST
storages of the review kinds, which are created, answered and never stored:

* ``authorization.k8s.io/v1`` SelfSubjectAccessReview (``kubectl auth can-i``),
  SubjectAccessReview, LocalSubjectAccessReview (``pkg/registry/authorization/*``) and
  SelfSubjectRulesReview (``kubectl auth can-i --list``);
* ``authentication.k8s.io/v1`` SelfSubjectReview (``kubectl auth whoami``) and TokenReview.

The decisions themselves are pure functions in :mod:`kubelab.sandbox.auth`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from kubelab.apimachinery.types import Obj, deep_copy_json
from kubelab.sandbox.api import errors
from kubelab.sandbox.api.validation import invalid, required
from kubelab.sandbox.auth import rbac
from kubelab.sandbox.auth.attributes import Attributes, request_attributes
from kubelab.sandbox.auth.authenticate import Authenticator, bearer_token
from kubelab.sandbox.auth.impersonate import GROUP_HEADER, impersonate, wants_impersonation
from kubelab.sandbox.auth.user import SYSTEM_MASTERS, UserInfo

if TYPE_CHECKING:
    from kubelab.sandbox.server.app import KubeApi, Target

#: Where the filters leave the request's user for the handlers.
USER_KEY: Any = (web.RequestKey("kubelab.user", UserInfo) if hasattr(web, "RequestKey")
                 else "kubelab.user")
REVIEW_GROUPS = ("authorization.k8s.io", "authentication.k8s.io")


def admit(authenticator: Authenticator, authorizer: rbac.Authorizer,
          request: web.Request) -> UserInfo:
    """Authenticate (401), impersonate (403) and authorise (403) one request."""
    token = bearer_token(request.headers.get("Authorization", ""))
    user = authenticator.authenticate(token) if token else None
    if user is None:
        raise errors.unauthorized()
    if wants_impersonation(request.headers):
        user = impersonate(user, request.headers, request.headers.getall(GROUP_HEADER, []),
                           authorizer)
    if SYSTEM_MASTERS in user.groups:
        return user  # the privileged-group authorizer: no attributes needed
    attrs = request_attributes(user, request.method, request.path, request.query)
    decision = authorizer.authorize(attrs)
    if not decision.allowed:
        raise rbac.forbidden(attrs, decision.reason)
    return user


def user_of(request: web.Request) -> UserInfo:
    found = request.get(USER_KEY)
    return found if isinstance(found, UserInfo) else UserInfo("system:anonymous")


# ------------------------------------------------------------------------ reviews

def _attributes_from_spec(user: UserInfo, spec: Obj) -> Attributes:
    """``ResourceAttributesFrom``/``NonResourceAttributesFrom``."""
    resource = spec.get("resourceAttributes")
    if resource is not None:
        return Attributes(user, resource.get("verb", ""), True,
                          namespace=resource.get("namespace", ""),
                          api_group=resource.get("group", ""),
                          api_version=resource.get("version", ""),
                          resource=resource.get("resource", ""),
                          subresource=resource.get("subresource", ""),
                          name=resource.get("name", ""))
    non_resource = spec.get("nonResourceAttributes") or {}
    return Attributes(user, non_resource.get("verb", ""), False,
                      path=non_resource.get("path", ""))


def _check_spec(kind: str, spec: Obj, causes: list[errors.Cause]) -> None:
    """``ValidateSubjectAccessReviewSpec`` (the resource/non-resource exclusivity)."""
    has_resource = spec.get("resourceAttributes") is not None
    has_non_resource = spec.get("nonResourceAttributes") is not None
    if has_resource and has_non_resource:
        causes.append(invalid("spec.nonResourceAttributes", spec["nonResourceAttributes"],
                              "cannot be specified in combination with resourceAttributes"))
    elif not has_resource and not has_non_resource:
        causes.append(invalid("spec.resourceAttributes", None,
                              "exactly one of nonResourceAttributes or resourceAttributes "
                              "must be specified"))


def _status(decision: rbac.Decision) -> Obj:
    status: Obj = {"allowed": decision.allowed}
    if decision.reason:
        status["reason"] = decision.reason
    if decision.evaluation_error:
        status["evaluationError"] = decision.evaluation_error
    return status


def _rules_status(rules: list[Obj], problems: list[str]) -> Obj:
    """``SubjectRulesReviewStatus`` from RBAC rules (``getResourceRules``)."""
    resource_rules: list[Obj] = []
    non_resource_rules: list[Obj] = []
    for rule in rules:
        if rule.get("nonResourceURLs"):
            non_resource_rules.append({"verbs": list(rule.get("verbs") or []),
                                       "nonResourceURLs": list(rule["nonResourceURLs"])})
            continue
        entry: Obj = {"verbs": list(rule.get("verbs") or [])}
        for key in ("apiGroups", "resources", "resourceNames"):
            if rule.get(key):
                entry[key] = list(rule[key])
        resource_rules.append(entry)
    status: Obj = {"resourceRules": resource_rules, "nonResourceRules": non_resource_rules,
                   "incomplete": bool(problems)}
    if problems:
        status["evaluationError"] = problems[0] if len(problems) == 1 else \
            "[" + ", ".join(problems) + "]"
    return status


def answer(api: KubeApi, t: Target, body: Obj, user: UserInfo) -> Obj:
    """The created review: the request echoed with its ``status``."""
    info = t.info
    out: Obj = {"kind": info.kind, "apiVersion": info.api_version,
                "metadata": {**deep_copy_json(body.get("metadata") or {}),
                             "creationTimestamp": None}}
    spec: Any = deep_copy_json(body.get("spec") or {})
    causes: list[errors.Cause] = []
    kind = info.kind
    if kind == "SelfSubjectReview":
        out["status"] = {"userInfo": user.to_api()}
        return out
    if kind == "TokenReview":
        token = spec.get("token") or ""
        audiences = tuple(spec.get("audiences") or ())
        found = api.authenticator.authenticate(token, audiences) if token else None
        if found is None:
            out["status"] = {"user": {}, "error": "invalid bearer token"}
        else:
            out["status"] = {"authenticated": True, "user": found.to_api(),
                             "audiences": list(audiences or (
                                 "https://kubernetes.default.svc.cluster.local",))}
        out["spec"] = spec
        return out
    if kind == "SelfSubjectRulesReview":
        namespace = spec.get("namespace") or ""
        if not namespace:
            raise errors.invalid(info, "", [required("spec.namespace")])
        rules, problems = api.authorizer.rules_for(user, namespace)
        out["spec"] = spec
        out["status"] = _rules_status(rules, problems)
        return out
    _check_spec(kind, spec, causes)
    subject = user
    if kind in ("SubjectAccessReview", "LocalSubjectAccessReview"):
        if not spec.get("user") and not spec.get("groups"):
            causes.append(invalid("spec.user", spec.get("user", ""),
                                  "at least one of user or group must be specified"))
        extra = {k: tuple(v or ()) for k, v in (spec.get("extra") or {}).items()}
        subject = UserInfo(spec.get("user", ""), uid=spec.get("uid", ""),
                           groups=tuple(spec.get("groups") or ()), extra=extra)
    if kind == "LocalSubjectAccessReview":
        namespace = t.namespace or ""
        resource = spec.get("resourceAttributes")
        if resource is not None:
            if not resource.get("namespace"):
                resource["namespace"] = namespace
            elif resource["namespace"] != namespace:
                causes.append(invalid("spec.resourceAttributes.namespace",
                                      resource["namespace"], "must match metadata.namespace"))
        out["metadata"]["namespace"] = namespace
    if causes:
        raise errors.invalid(info, "", causes)
    decision = api.authorizer.authorize(_attributes_from_spec(subject, spec))
    out["spec"] = spec
    out["status"] = _status(decision)
    return out


async def review(api: KubeApi, request: web.Request, t: Target) -> web.Response:
    """``POST`` of a review kind: 201 with the answer (nothing is stored)."""
    if request.method != "POST" or t.name is not None:
        raise errors.method_not_allowed() if t.name is None else errors.not_found(t.info, t.name)
    body = await api.read_body(request, t.info)
    api.check_kind(t.info, body)
    api.check_types(t.info, body)
    return api.respond_object(request, t.info, answer(api, t, body, user_of(request)), 201)


def check_rbac_write(api: KubeApi, request: web.Request, t: Target, obj: Obj) -> None:
    """Privilege-escalation prevention for writes of Roles, ClusterRoles and bindings."""
    if t.info not in rbac.RBAC_KINDS:
        return
    namespace = (t.namespace or "default") if t.info.namespaced else ""
    rbac.check_write(api.authorizer, user_of(request), t.info, namespace, obj)
