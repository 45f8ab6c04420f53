"""Lesson 13 — who may do what: RBAC and ServiceAccounts.

The checks read what kube-apiserver's RBAC authorizer reads (``plugin/pkg/auth/authorizer/
rbac``): a Role's ``rules`` (API groups, resources with their ``/subresource``, verbs; ``*``
matches everything) and a RoleBinding's ``roleRef`` and ``subjects``. Whether the Role grants
what was asked, and *no more* (least privilege), is worked out from the rules themselves, the
way the authorizer matches a request against them, so the verdict is the same on the sandbox
and on any cluster. A token is checked by its claims: a ServiceAccount token from the
TokenRequest API is a JWT whose ``sub`` is ``system:serviceaccount:<namespace>:<name>``.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from autograders import checks as k
from autograders.engine import Check, Context, Outcome, ladder, ok, unanswered, wrong
from autograders.kube import dig
from autograders.lessons import exercise

NAMESPACE = "rbac-lab"
ACCOUNT = "log-reader"
ROLE = "pod-log-reader"
BINDING = "log-reader"
POD = "web"
USER = f"system:serviceaccount:{NAMESPACE}:{ACCOUNT}"
# What the Role must grant, in the words of the exercise: get, list and watch pods, and read
# their logs (the pods/log subresource answers GET only).
WANTED: dict[str, set[str]] = {"pods": {"get", "list", "watch"}, "pods/log": {"get"}}


def grants(rules: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Resource (``pods``, ``pods/log``, ``*``…) → verbs the rules allow in the core group.

    Rules of other API groups are kept under ``<group>/<resource>``, so they show up as
    extra grants; a ``*`` group matches the core group and every other one as well.
    """
    found: dict[str, set[str]] = {}
    for rule in rules:
        groups = rule.get("apiGroups") or []
        verbs = set(rule.get("verbs") or [])
        for group in groups:
            for resource in rule.get("resources") or []:
                keys = ([resource, f"{resource} in every API group"] if group == "*"
                        else [resource if group == "" else f"{group}/{resource}"])
                for key in keys:
                    found.setdefault(key, set()).update(verbs)
        if rule.get("nonResourceURLs"):
            found.setdefault("non-resource URLs", set()).update(verbs)
    return found


def allows(rules: list[dict[str, Any]], resource: str, verb: str) -> bool:
    """Whether some rule matches a core-group request, as RBAC's RuleAllows matches it."""
    for rule in rules:
        if not {"", "*"} & set(rule.get("apiGroups") or []):
            continue
        if not {verb, "*"} & set(rule.get("verbs") or []):
            continue
        sub = resource.partition("/")[2]
        owned = rule.get("resourceNames")
        if owned:
            continue   # a rule limited to some names does not let one list or watch them all
        if any(r in ("*", resource) or (sub and r == f"*/{sub}")
               for r in rule.get("resources") or []):
            return True
    return False


def extra_grants(rules: list[dict[str, Any]]) -> list[str]:
    """What the rules grant beyond :data:`WANTED`, as ``verbs on resource`` phrases."""
    extra = []
    for resource, verbs in sorted(grants(rules).items()):
        more = verbs - WANTED.get(resource, set())
        if more:
            extra.append(f"{', '.join(sorted(more))} on {resource}")
    return extra


def _role(ctx: Context) -> list[dict[str, Any]] | Outcome:
    """The Role's rules, or the outcome saying it is missing."""
    obj = ctx.snapshot.get("role", ROLE, NAMESPACE)
    if obj is None:
        return wrong(f"there is no role {ROLE} in namespace {NAMESPACE}", missing=True)
    return list(obj.get("rules") or [])


def role_allows(resource: str, verbs: set[str]) -> Check:
    def probe(ctx: Context) -> Outcome:
        rules = _role(ctx)
        if isinstance(rules, Outcome):
            return rules
        absent = sorted(v for v in verbs if not allows(rules, resource, v))
        if absent:
            return wrong(f"it does not allow {', '.join(absent)} on {resource}", settled=True)
        return ok()

    return Check(f"role {ROLE} allows {', '.join(sorted(verbs))} on {resource}", probe,
                 hint=ladder(f"kubectl describe role {ROLE} -n {NAMESPACE}: its PolicyRule "
                             "table.",
                             "A rule lists apiGroups (\"\" is the core group of pods), "
                             "resources (a subresource is written pods/<name>) and verbs.",
                             "rules: - {apiGroups: [\"\"], resources: [<resource>], "
                             "verbs: [<verb>, …]}"))


def least_privilege() -> Check:
    def probe(ctx: Context) -> Outcome:
        rules = _role(ctx)
        if isinstance(rules, Outcome):
            return rules
        extra = extra_grants(rules)
        if extra:
            return wrong(f"it also grants {'; '.join(extra)}", settled=True)
        return ok()

    return Check(f"role {ROLE} grants nothing beyond what was asked", probe, points=2,
                 hint=ladder(f"kubectl describe role {ROLE} -n {NAMESPACE}: read each row "
                             "as a permission you hand out.",
                             "Least privilege: only the verbs asked for, on only the "
                             "resources asked for, no '*'. Logs are read with get, nothing "
                             "else.",
                             "two rules: one for pods with its verbs, one for pods/log with "
                             "get; then kubectl apply the Role again"))


def _binding(ctx: Context) -> dict[str, Any] | Outcome:
    """The RoleBinding, or the outcome saying it is missing."""
    obj = ctx.snapshot.get("rolebinding", BINDING, NAMESPACE)
    if obj is None:
        return wrong(f"there is no rolebinding {BINDING} in namespace {NAMESPACE}",
                     missing=True)
    return obj


def binding_role() -> Check:
    def probe(ctx: Context) -> Outcome:
        obj = _binding(ctx)
        if isinstance(obj, Outcome):
            return obj
        ref = (dig(obj, "roleRef.kind"), dig(obj, "roleRef.name"))
        if ref != ("Role", ROLE):
            return wrong(f"its roleRef is {ref[0]} {ref[1]}", settled=True)
        return ok()

    return Check(f"rolebinding {BINDING} grants role {ROLE}", probe,
                 hint=ladder(f"kubectl describe rolebinding {BINDING} -n {NAMESPACE}: Role.",
                             "A binding grants the rules of the one role its roleRef names "
                             "(a roleRef cannot change: delete the binding to point it "
                             "elsewhere).",
                             "kubectl create rolebinding <name> --role=<role> …"))


def binding_subject() -> Check:
    def probe(ctx: Context) -> Outcome:
        obj = _binding(ctx)
        if isinstance(obj, Outcome):
            return obj
        subjects = obj.get("subjects") or []
        for s in subjects:
            if (s.get("kind"), s.get("name"), s.get("namespace")) == (
                    "ServiceAccount", ACCOUNT, NAMESPACE):
                return ok()
        named = ", ".join(f"{s.get('kind')} {s.get('name')}"
                          + (f" in {s['namespace']}" if s.get("namespace") else "")
                          for s in subjects) or "nobody"
        return wrong(f"its subjects are {named}", settled=True)

    return Check(f"rolebinding {BINDING} binds ServiceAccount {ACCOUNT}", probe,
                 hint=ladder(f"kubectl describe rolebinding {BINDING} -n {NAMESPACE}: "
                             "Subjects.",
                             "A ServiceAccount subject names its namespace too; a User "
                             "subject with the account's name is someone else.",
                             "kubectl create rolebinding <name> --role=<role> "
                             "--serviceaccount=<namespace>:<account> -n <namespace>"))


def account_exists() -> Check:
    def probe(ctx: Context) -> Outcome:
        if ctx.snapshot.get("serviceaccount", ACCOUNT, NAMESPACE) is None:
            return wrong(f"there is no serviceaccount {ACCOUNT} in namespace {NAMESPACE}",
                         missing=True)
        return ok()

    return Check(f"serviceaccount {ACCOUNT} exists in namespace {NAMESPACE}", probe,
                 hint=ladder(f"kubectl get serviceaccounts -n {NAMESPACE}",
                             "A ServiceAccount is an identity for programs, and lives in "
                             "one namespace.",
                             "kubectl create serviceaccount <name> -n <namespace>"))


def claims(token: str) -> dict[str, Any] | None:
    """The payload of a JWT (not verified: the API server does that when it is used)."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        return None
    body = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        payload = json.loads(base64.urlsafe_b64decode(body))
    except (binascii.Error, ValueError):
        return None
    return payload if isinstance(payload, dict) else None


def token_for_account() -> Check:
    def probe(ctx: Context) -> Outcome:
        blank = unanswered(ctx.variables, "token")
        if blank is not None:
            return blank
        value = ctx.variables["token"]
        payload = claims(value) if isinstance(value, str) else None
        if payload is None:
            return wrong("token is not a JSON Web Token (three base64 parts joined by dots)",
                         settled=True)
        subject = payload.get("sub")
        if subject != USER:
            return wrong(f"token is for {subject!r}", settled=True)
        return ok()

    return Check(f"token is a token of ServiceAccount {ACCOUNT}", probe,
                 hint=ladder("print(token[:40]): does it look like eyJ…?",
                             "The TokenRequest API hands out a short-lived token for one "
                             "ServiceAccount; kubectl prints it on standard output.",
                             "cluster.kubectl(\"create\", \"token\", <account>, \"-n\", "
                             "<namespace>).stdout.strip()"))


def log_read() -> Check:
    def probe(ctx: Context) -> Outcome:
        blank = unanswered(ctx.variables, "web_log")
        if blank is not None:
            return blank
        value = ctx.variables["web_log"]
        if not isinstance(value, str) or not value.strip():
            return wrong("web_log is empty: did the command as the account answer "
                         "Forbidden?", settled=True)
        log = ctx.snapshot.log(POD, NAMESPACE)
        if log is None:
            return wrong(f"there is no log of pod {POD} in namespace {NAMESPACE} to compare "
                         "with")
        if value.strip() not in log:
            return wrong(f"web_log starts {value.strip()[:60]!r}, which is not pod {POD}'s "
                         "log", settled=True)
        return ok()

    return Check(f"web_log holds pod {POD}'s log, read as the account", probe,
                 hint=ladder("print(web_log): is it the nginx start-up log?",
                             "A kubeconfig user holding the token sends it instead of your "
                             "own credentials; the Role lets it get pods/log.",
                             "kubectl config set-credentials <user> --token=<token>, then "
                             "cluster.kubectl(\"logs\", <pod>, \"-n\", <namespace>, "
                             "\"--user=<user>\").stdout"))


def web_survived() -> Check:
    """Pod web is still there after the learner, as the account, tried to delete it (a Role
    granting delete would have let it go)."""

    def probe(ctx: Context) -> Outcome:
        blank = unanswered(ctx.variables, "token")
        if blank is not None:
            return blank
        obj = ctx.snapshot.get("pod", POD, NAMESPACE)
        if obj is None or dig(obj, "metadata.deletionTimestamp"):
            return wrong(f"pod {POD} was deleted: the account may delete pods", settled=True)
        return ok()

    return Check(f"pod {POD} survived the account's delete", probe,
                 hint=ladder(f"kubectl auth can-i delete pods -n {NAMESPACE} "
                             f"--as={USER}",
                             "A log reader needs no write verb.",
                             "rules: only get, list, watch on pods and get on pods/log"))


@exercise("13.account", "Exercise 1: a ServiceAccount, and a prediction")
def account() -> list[Check]:
    return [
        account_exists(),
        k.variable("may_list", expected=False, points=2,
                   description="may_list is your prediction: may a new account list pods?",
                   hint=ladder("Run the auth can-i cell below your answer: yes or no?",
                               "RBAC denies by default: a new ServiceAccount has no "
                               "permission on pods until something grants it one.",
                               "may_list = True or False")),
    ]


@exercise("13.role", "Exercise 2: a Role from words and its RoleBinding")
def role() -> list[Check]:
    return [
        role_allows("pods", WANTED["pods"]),
        role_allows("pods/log", WANTED["pods/log"]),
        least_privilege(),
        binding_role(),
        binding_subject(),
    ]


@exercise("13.token", "Exercise 3: use the account's token")
def token() -> list[Check]:
    return [
        token_for_account(),
        log_read(),
        k.variable("may_delete", expected=False, points=2,
                   description="may_delete is your prediction: may the token delete the pod?",
                   hint=ladder("Which verbs did your Role grant on pods?",
                               "A token carries exactly its account's permissions: "
                               "reading is not deleting.",
                               "may_delete = True or False")),
        web_survived(),
    ]
