"""User impersonation: ``Impersonate-User``, ``-Group``, ``-Uid`` and ``-Extra-*`` headers
(``kubectl --as``, ``--as-group``, ``--as-uid``).

Mirrors ``k8s.io/apiserver/pkg/endpoints/filters/impersonation.go``
(``WithImpersonation``): the authenticated caller must be allowed the ``impersonate`` verb
on each thing it asks for — ``users`` (or ``serviceaccounts`` in the account's namespace
for ``system:serviceaccount:<ns>:<name>``), ``groups``, ``uids``,
``userextras/<key>`` in ``authentication.k8s.io`` — otherwise 403 with upstream's wording
(``users "bob" is forbidden: User "x" cannot impersonate resource "users" in API group ""
at the cluster scope``). The impersonated user gets the groups asked for (a ServiceAccount
without ``--as-group``: its fixed groups) plus ``system:authenticated``.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import unquote

from kubelab.sandbox.api import errors
from kubelab.sandbox.auth.attributes import Attributes
from kubelab.sandbox.auth.rbac import Authorizer, forbidden
from kubelab.sandbox.auth.user import (
    ANONYMOUS_NAME,
    AUTHENTICATED,
    UNAUTHENTICATED,
    UserInfo,
    service_account_groups,
    split_service_account,
)

USER_HEADER = "Impersonate-User"
GROUP_HEADER = "Impersonate-Group"
UID_HEADER = "Impersonate-Uid"
EXTRA_PREFIX = "Impersonate-Extra-"


def wants_impersonation(headers: Mapping[str, str]) -> bool:
    return any(k.lower().startswith("impersonate-") for k in headers)


def impersonate(requester: UserInfo, headers: Mapping[str, str],
                groups_asked: list[str], authorizer: Authorizer) -> UserInfo:
    """The user to act as; raises 403 (or 400 for a malformed request)."""
    name = headers.get(USER_HEADER, "")
    uid = headers.get(UID_HEADER, "")
    extra: dict[str, tuple[str, ...]] = {}
    for key, value in headers.items():
        if key.lower().startswith(EXTRA_PREFIX.lower()):
            extra_key = unquote(key[len(EXTRA_PREFIX):]).lower()
            extra[extra_key] = (*extra.get(extra_key, ()), value)
    if not name:
        raise errors.bad_request(
            "requested " + ("group impersonation" if groups_asked else "impersonation")
            + " without impersonating a user")

    def check(resource: str, target: str, namespace: str = "", group: str = "",
              subresource: str = "") -> None:
        attrs = Attributes(requester, "impersonate", True, namespace=namespace,
                           api_group=group, resource=resource, subresource=subresource,
                           name=target)
        decision = authorizer.authorize(attrs)
        if not decision.allowed:
            raise forbidden(attrs, decision.reason)

    groups = list(groups_asked)
    sa = split_service_account(name)
    if sa is not None:
        check("serviceaccounts", sa[1], namespace=sa[0])
        if not groups:
            groups = list(service_account_groups(sa[0]))
    else:
        check("users", name)
    for group in groups_asked:
        check("groups", group)
    for key, values in extra.items():
        for value in values:
            check("userextras", value, group="authentication.k8s.io", subresource=key)
    if uid:
        check("uids", uid, group="authentication.k8s.io")
    if name == ANONYMOUS_NAME:
        if UNAUTHENTICATED not in groups:
            groups.append(UNAUTHENTICATED)
    elif AUTHENTICATED not in groups:
        groups.append(AUTHENTICATED)
    return UserInfo(name, uid=uid, groups=tuple(groups), extra=extra)
