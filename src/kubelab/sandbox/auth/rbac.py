"""The RBAC authorizer, its rules resolver and privilege-escalation prevention.

Mirrors ``plugin/pkg/auth/authorizer/rbac`` (``RBACAuthorizer.Authorize``, ``RuleAllows``,
``appliesTo``) and ``pkg/registry/rbac/validation`` (``DefaultRuleResolver.VisitRulesFor``,
``ConfirmNoEscalation``, ``Covers``), behind kube-apiserver's privileged-group authorizer
(``system:masters`` may do anything before RBAC is asked):

* a rule allows a resource request when verb, API group, resource (``pods``, ``pods/log``,
  ``*/scale``, ``*``) and name (when the rule lists ``resourceNames``) match; a non-resource
  request when verb and URL (exact, ``*`` or a ``prefix*``) match;
* ClusterRoleBindings grant everywhere, RoleBindings in their namespace; a ServiceAccount
  subject with no namespace means the binding's namespace;
* a binding whose role is missing adds ``RBAC: role.rbac.authorization.k8s.io "x" not
  found`` to the denial's reason, as upstream does.

Bindings are indexed by subject (user, each group, the ServiceAccount), as upstream's
informer indexers would be, so a request costs the bindings that name its user, not every
binding of the cluster; the rules a user holds in a namespace are resolved once and kept
until the next RBAC write.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from kubelab.apimachinery.types import Obj
from kubelab.sandbox.api import errors, kinds
from kubelab.sandbox.api.errors import ApiError
from kubelab.sandbox.api.kinds import KindInfo
from kubelab.sandbox.auth.attributes import Attributes
from kubelab.sandbox.auth.user import SYSTEM_MASTERS, UserInfo, split_service_account
from kubelab.sandbox.store.registry import Registry, WatchEvent

GROUP = "rbac.authorization.k8s.io"
ROLES = kinds.resource(f"roles.{GROUP}")
CLUSTER_ROLES = kinds.resource(f"clusterroles.{GROUP}")
ROLE_BINDINGS = kinds.resource(f"rolebindings.{GROUP}")
CLUSTER_ROLE_BINDINGS = kinds.resource(f"clusterrolebindings.{GROUP}")
RBAC_KINDS: tuple[KindInfo, ...] = (ROLES, CLUSTER_ROLES, ROLE_BINDINGS, CLUSTER_ROLE_BINDINGS)
RESOLVED_CACHE_SIZE = 512


# ------------------------------------------------------------------------------ rules

def _has(values: Iterable[str], wanted: str) -> bool:
    return any(v == "*" or v == wanted for v in values)


def resource_matches(rule: Obj, combined: str, subresource: str) -> bool:
    """``ResourceMatches``: ``*``, the exact ``resource[/subresource]``, or ``*/sub``."""
    for resource in rule.get("resources") or ():
        if resource in ("*", combined):
            return True
        if subresource and resource == f"*/{subresource}":
            return True
    return False


def url_matches(rule: Obj, path: str) -> bool:
    """``NonResourceURLMatches``: ``*``, the exact path, or a prefix ending in ``*``."""
    for url in rule.get("nonResourceURLs") or ():
        if url in ("*", path):
            return True
        if url.endswith("*") and path.startswith(url[:-1]):
            return True
    return False


def rule_allows(attrs: Attributes, rule: Obj) -> bool:
    """``RuleAllows``."""
    if not _has(rule.get("verbs") or (), attrs.verb):
        return False
    if not attrs.resource_request:
        return url_matches(rule, attrs.path)
    combined = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    names = rule.get("resourceNames") or ()
    return (_has(rule.get("apiGroups") or (), attrs.api_group)
            and resource_matches(rule, combined, attrs.subresource)
            and (not names or attrs.name in names))


# --------------------------------------------------------------------------- subjects

def subject_applies(user: UserInfo, subject: Obj, binding_namespace: str) -> bool:
    """``appliesToUser``."""
    kind, name = subject.get("kind"), subject.get("name", "")
    if kind == "User":
        return bool(user.name == name)
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return bool(namespace) and user.name == f"system:serviceaccount:{namespace}:{name}"
    return False


def _subject_keys(subject: Obj, binding_namespace: str) -> tuple[str, ...]:
    kind, name = subject.get("kind"), subject.get("name", "")
    if kind == "ServiceAccount":
        return (f"sa:{subject.get('namespace') or binding_namespace}:{name}",)
    if kind in ("User", "Group"):
        return (f"{kind}:{name}",)
    return ()


def _user_keys(user: UserInfo) -> list[str]:
    keys = [f"User:{user.name}"] + [f"Group:{g}" for g in user.groups]
    sa = split_service_account(user.name)
    if sa is not None:
        keys.append(f"sa:{sa[0]}:{sa[1]}")
    return keys


def describe_subject(subject: Obj, binding_namespace: str) -> str:
    """``describeSubject`` (the "allowed by … to ServiceAccount "sa/ns"" of a reason)."""
    kind, name = subject.get("kind", ""), subject.get("name", "")
    if kind == "ServiceAccount":
        return f'{kind} "{name}/{subject.get("namespace") or binding_namespace}"'
    return f'{kind} "{name}"'


# ------------------------------------------------------------------------------ index

@dataclass
class _Index:
    cluster: dict[str, list[Obj]] = field(default_factory=dict)
    #: namespace -> subject key -> RoleBindings
    namespaced: dict[str, dict[str, list[Obj]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """An authorizer's answer: allowed, why, and what went wrong on the way."""

    allowed: bool
    reason: str = ""
    evaluation_error: str = ""


@dataclass(frozen=True)
class _Grant:
    """One rule with where it came from (a binding's description)."""

    rule: Obj
    source: str


class Authorizer:
    """The privileged-group authorizer, then RBAC, over the registry's RBAC objects."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._index: _Index | None = None
        #: (user, groups, namespace) -> the grants resolved for them; cleared by any RBAC
        #: write, so a user's requests resolve its bindings once, not on every request.
        self._resolved: dict[tuple[str, tuple[str, ...], str], list[_Grant | ApiError]] = {}
        registry.subscribe(self._on_event)

    def _on_event(self, event: WatchEvent) -> None:
        if event.info in RBAC_KINDS:
            self._resolved.clear()
            if event.info in (ROLE_BINDINGS, CLUSTER_ROLE_BINDINGS):
                self._index = None

    def _built(self) -> _Index:
        index = self._index
        if index is not None:
            return index
        index = _Index()
        for crb in sorted(self.registry.iter_objects(CLUSTER_ROLE_BINDINGS),
                          key=lambda o: o["metadata"]["name"]):
            for subject in crb.get("subjects") or ():
                for key in _subject_keys(subject, ""):
                    index.cluster.setdefault(key, []).append(crb)
        for rb in sorted(self.registry.iter_objects(ROLE_BINDINGS),
                         key=lambda o: (o["metadata"]["namespace"], o["metadata"]["name"])):
            namespace = rb["metadata"]["namespace"]
            by_key = index.namespaced.setdefault(namespace, {})
            for subject in rb.get("subjects") or ():
                for key in _subject_keys(subject, namespace):
                    by_key.setdefault(key, []).append(rb)
        self._index = index
        return index

    # -------------------------------------------------------------- role references

    def role_ref_rules(self, ref: Obj, binding_namespace: str) -> list[Obj]:
        """``GetRoleReferenceRules``; a missing role raises its lister's NotFound."""
        name = ref.get("name", "")
        if ref.get("kind") == "Role":
            role = self.registry.peek(ROLES, binding_namespace, name)
            if role is None:
                raise errors.ApiError(404, "NotFound",
                                      f'role.rbac.authorization.k8s.io "{name}" not found',
                                      {"name": name, "group": GROUP, "kind": "role"})
        else:
            role = self.registry.peek(CLUSTER_ROLES, "", name)
            if role is None:
                raise errors.ApiError(404, "NotFound",
                                      f'clusterrole.rbac.authorization.k8s.io "{name}" not found',
                                      {"name": name, "group": GROUP, "kind": "clusterrole"})
        return list(role.get("rules") or ())

    def _bindings(self, user: UserInfo, namespace: str
                  ) -> Iterator[tuple[Obj, str]]:
        """The bindings naming ``user`` that apply in ``namespace`` (cluster ones first),
        each once."""
        index = self._built()
        keys = _user_keys(user)
        seen: set[int] = set()
        for key in keys:
            for crb in index.cluster.get(key, ()):
                if id(crb) not in seen:
                    seen.add(id(crb))
                    yield crb, ""
        if namespace:
            by_key = index.namespaced.get(namespace, {})
            for key in keys:
                for rb in by_key.get(key, ()):
                    if id(rb) not in seen:
                        seen.add(id(rb))
                        yield rb, namespace

    def _grants(self, user: UserInfo, namespace: str) -> list[_Grant | ApiError]:
        """``VisitRulesFor``: every rule the user holds in ``namespace``, or the error
        resolving a binding's role."""
        key = (user.name, user.groups, namespace)
        found = self._resolved.get(key)
        if found is None:
            if len(self._resolved) >= RESOLVED_CACHE_SIZE:
                self._resolved.pop(next(iter(self._resolved)))
            found = self._resolved[key] = list(self._visit(user, namespace))
        return found

    def _visit(self, user: UserInfo, namespace: str) -> Iterator[_Grant | ApiError]:
        for binding, binding_ns in self._bindings(user, namespace):
            subject = next((s for s in binding.get("subjects") or ()
                            if subject_applies(user, s, binding_ns)), None)
            if subject is None:
                continue
            ref = binding.get("roleRef") or {}
            try:
                rules = self.role_ref_rules(ref, binding_ns)
            except ApiError as err:
                yield err
                continue
            name = binding["metadata"]["name"]
            kind = "RoleBinding" if binding_ns else "ClusterRoleBinding"
            shown = f"{name}/{binding_ns}" if binding_ns else name
            source = (f'{kind} "{shown}" of {ref.get("kind", "")} "{ref.get("name", "")}" '
                      f"to {describe_subject(subject, binding_ns)}")
            for rule in rules:
                yield _Grant(rule, source)

    # ------------------------------------------------------------------ decisions

    def authorize(self, attrs: Attributes) -> Decision:
        """The union authorizer: privileged groups, then RBAC."""
        if SYSTEM_MASTERS in attrs.user.groups:
            return Decision(True)
        problems: list[str] = []
        for grant in self._grants(attrs.user, attrs.namespace):
            if isinstance(grant, ApiError):
                problems.append(grant.message)
                continue
            if rule_allows(attrs, grant.rule):
                return Decision(True, f"RBAC: allowed by {grant.source}")
        if not problems:
            return Decision(False)
        shown = problems[0] if len(problems) == 1 else "[" + ", ".join(problems) + "]"
        return Decision(False, f"RBAC: {shown}", shown)

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[Obj], list[str]]:
        """``RulesFor``: the rules ``user`` holds in ``namespace`` and the errors met."""
        rules: list[Obj] = []
        problems: list[str] = []
        for grant in self._grants(user, namespace):
            if isinstance(grant, ApiError):
                problems.append(grant.message)
            else:
                rules.append(grant.rule)
        return rules, problems


# --------------------------------------------------------------------- escalation

def _atoms(rule: Obj) -> Iterator[Obj]:
    """``BreakdownRule``: one verb of one resource (or URL) of one group (or name)."""
    verbs = rule.get("verbs") or []
    for group in rule.get("apiGroups") or []:
        for resource in rule.get("resources") or []:
            names = rule.get("resourceNames") or [None]
            for verb in verbs:
                for name in names:
                    atom: Obj = {"verbs": [verb], "apiGroups": [group], "resources": [resource]}
                    if name is not None:
                        atom["resourceNames"] = [name]
                    yield atom
    for url in rule.get("nonResourceURLs") or []:
        for verb in verbs:
            yield {"verbs": [verb], "nonResourceURLs": [url]}


def _covers_one(owner: Obj, atom: Obj) -> bool:
    """``ruleCovers`` for one broken-down rule."""
    if not _has(owner.get("verbs") or (), atom["verbs"][0]):
        return False
    if "nonResourceURLs" in atom:
        url = atom["nonResourceURLs"][0]
        return any(u in ("*", url) or (u.endswith("*") and url.startswith(u[:-1]))
                   for u in owner.get("nonResourceURLs") or ())
    if not _has(owner.get("apiGroups") or (), atom["apiGroups"][0]):
        return False
    resource = atom["resources"][0]
    owned = owner.get("resources") or ()
    sub = resource.partition("/")[2]
    if not any(r in ("*", resource) or (sub and r == f"*/{sub}") for r in owned):
        return False
    owner_names = owner.get("resourceNames") or ()
    if not owner_names:
        return True
    return "resourceNames" in atom and atom["resourceNames"][0] in owner_names


def _go_strings(values: Iterable[str]) -> str:
    """``%q`` of a Go ``[]string``: ``["a" "b"]``."""
    return "[" + " ".join('"' + v.replace('"', '\\"') + '"' for v in values) + "]"


def compact_string(rule: Obj) -> str:
    """``CompactString`` of a PolicyRule, as the escalation error lists it."""
    parts = []
    for key, label in (("apiGroups", "APIGroups"), ("resources", "Resources"),
                       ("nonResourceURLs", "NonResourceURLs"),
                       ("resourceNames", "ResourceNames"), ("verbs", "Verbs")):
        if rule.get(key):
            parts.append(f"{label}:{_go_strings(rule[key])}")
    return "{" + ", ".join(parts) + "}"


def missing_rules(owned: list[Obj], wanted: Iterable[Obj]) -> list[Obj]:
    """``Covers``: the broken-down rules of ``wanted`` no owned rule covers."""
    return [atom for rule in wanted for atom in _atoms(rule)
            if not any(_covers_one(o, atom) for o in owned)]


def _compact(atoms: list[Obj]) -> list[Obj]:
    """``CompactRules``: single-verb rules for one resource merged into one rule."""
    merged: dict[tuple[Any, ...], Obj] = {}
    out: list[Obj] = []
    for atom in atoms:
        if "nonResourceURLs" in atom or "resourceNames" in atom:
            out.append(atom)
            continue
        key = (atom["apiGroups"][0], atom["resources"][0])
        if key in merged:
            merged[key]["verbs"].append(atom["verbs"][0])
        else:
            merged[key] = {"apiGroups": list(atom["apiGroups"]),
                           "resources": list(atom["resources"]), "verbs": list(atom["verbs"])}
            out.append(merged[key])
    return out


def confirm_no_escalation(authorizer: Authorizer, user: UserInfo, namespace: str,
                          rules: list[Obj], info: KindInfo, name: str) -> None:
    """``ConfirmNoEscalation``: refuse (403) to grant rules ``user`` does not hold."""
    owned, problems = authorizer.rules_for(user, namespace)
    missing = missing_rules(owned, rules)
    if not missing:
        return
    lines = "\n".join(compact_string(r) for r in _compact(missing))
    resolution = f"; resolution errors: {problems}" if problems else ""
    message = (f'{info.group_resource} "{name}" is forbidden: user "{user.name}" '
               f"(groups={_go_strings(user.groups)}) is attempting to grant RBAC permissions "
               f"not currently held:\n{lines}{resolution}")
    raise ApiError(403, "Forbidden", message,
                   {"name": name, "group": info.group, "kind": info.plural})


#: ``fullAuthority``: what cluster-admin holds.
FULL_AUTHORITY: tuple[Obj, ...] = (
    {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
    {"verbs": ["*"], "nonResourceURLs": ["*"]},
)


def check_write(authorizer: Authorizer, user: UserInfo, info: KindInfo, namespace: str,
                obj: Obj) -> None:
    """The policy-based RBAC storages' checks before a Role, ClusterRole or binding is
    written: ``system:masters`` and holders of ``escalate`` (roles) or ``bind`` (the
    referenced role) pass; anyone else may only grant what they hold themselves."""
    if SYSTEM_MASTERS in user.groups or info not in RBAC_KINDS:
        return
    name = (obj.get("metadata") or {}).get("name", "")
    if info in (ROLES, CLUSTER_ROLES):
        escalate = Attributes(user, "escalate", True, namespace=namespace, api_group=GROUP,
                              resource=info.plural, name=name)
        if authorizer.authorize(escalate).allowed:
            return
        confirm_no_escalation(authorizer, user, namespace, list(obj.get("rules") or ()), info,
                              name)
        if info is CLUSTER_ROLES and obj.get("aggregationRule") is not None:
            # An aggregation rule can gather anything: it takes full authority.
            owned, _ = authorizer.rules_for(user, "")
            if missing_rules(owned, FULL_AUTHORITY):
                raise ApiError(403, "Forbidden",
                               f'{info.group_resource} "{name}" is forbidden: must have '
                               "cluster-admin privileges to use the aggregationRule",
                               {"name": name, "group": info.group, "kind": info.plural})
        return
    ref = obj.get("roleRef") or {}
    ref_kind = ref.get("kind", "")
    bind = Attributes(user, "bind", True, namespace=namespace, api_group=GROUP,
                      resource="roles" if ref_kind == "Role" else "clusterroles",
                      name=ref.get("name", ""))
    if authorizer.authorize(bind).allowed:
        return
    rules = authorizer.role_ref_rules(ref, namespace)
    confirm_no_escalation(authorizer, user, namespace, rules, info, name)


# ------------------------------------------------------------------------- denials

def forbidden(attrs: Attributes, reason: str = "") -> ApiError:
    """``responsewriters.Forbidden``: upstream's wording of a denied request."""
    user = attrs.user.name
    if not attrs.resource_request:
        message = f'forbidden: User "{user}" cannot {attrs.verb} path "{attrs.path}"'
        suffix = f": {reason}" if reason else ""
        return ApiError(403, "Forbidden", message + suffix, {})
    resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    where = (f'in the namespace "{attrs.namespace}"' if attrs.namespace
             else "at the cluster scope")
    why = (f'User "{user}" cannot {attrs.verb} resource "{resource}" in API group '
           f'"{attrs.api_group}" {where}' + (f": {reason}" if reason else ""))
    qualified = f"{attrs.resource}.{attrs.api_group}" if attrs.api_group else attrs.resource
    head = f'{qualified} "{attrs.name}"' if attrs.name else qualified
    details: dict[str, Any] = {}
    if attrs.name:
        details["name"] = attrs.name
    if attrs.api_group:
        details["group"] = attrs.api_group
    details["kind"] = attrs.resource
    return ApiError(403, "Forbidden", f"{head} is forbidden: {why}", details)
