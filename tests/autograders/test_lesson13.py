"""Lesson 13 probes against a fake cluster: rules read as RBAC reads them, least privilege,
bindings, tokens by their claims."""

from __future__ import annotations

import base64
import json
from typing import Any

from autograders.engine import Check, Context, Outcome
from autograders.lessons import lesson13

from .fakes import context

NS = "rbac-lab"
EXACT = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
         {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]}]
# What `kubectl create role --verb=get,list,watch --resource=pods,pods/log` writes.
SHORTCUT = [{"apiGroups": [""], "resources": ["pods", "pods/log"],
             "verbs": ["get", "list", "watch"]}]


def run(check: Check, ctx: Context) -> Outcome:
    return check.probe(ctx)


def role(rules: list[dict[str, Any]]) -> dict[tuple[str, Any, str], Any]:
    return {("role", NS, "pod-log-reader"): {"metadata": {"name": "pod-log-reader"},
                                             "rules": rules}}


def jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl"


def test_rules_are_matched_as_rbac_matches_them() -> None:
    assert lesson13.allows(EXACT, "pods", "watch")
    assert lesson13.allows(EXACT, "pods/log", "get")
    assert not lesson13.allows(EXACT, "pods/log", "list")
    assert not lesson13.allows(EXACT, "pods", "delete")
    assert not lesson13.allows(EXACT, "pods/exec", "get")
    star = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
    assert lesson13.allows(star, "pods/log", "get")
    sub = [{"apiGroups": [""], "resources": ["*/log"], "verbs": ["get"]}]
    assert lesson13.allows(sub, "pods/log", "get") and not lesson13.allows(sub, "pods", "get")
    apps = [{"apiGroups": ["apps"], "resources": ["pods"], "verbs": ["get"]}]
    assert not lesson13.allows(apps, "pods", "get")
    named = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"],
              "resourceNames": ["web"]}]
    assert not lesson13.allows(named, "pods", "list")


def test_least_privilege_names_what_is_granted_beyond_the_words() -> None:
    assert lesson13.extra_grants(EXACT) == []
    assert lesson13.extra_grants(SHORTCUT) == ["list, watch on pods/log"]
    wild = [{"apiGroups": ["*"], "resources": ["pods"], "verbs": ["*"]},
            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]}]
    assert lesson13.extra_grants(wild) == ["get on apps/deployments", "* on pods",
                                           "* on pods in every API group"]
    assert run(lesson13.least_privilege(), context(role(EXACT))).passed
    out = run(lesson13.least_privilege(), context(role(SHORTCUT)))
    assert not out.passed and out.settled
    assert out.found == "it also grants list, watch on pods/log"
    missing = run(lesson13.least_privilege(), context({}))
    assert not missing.passed and missing.missing


def test_the_role_must_grant_what_was_asked() -> None:
    pods_only = [EXACT[0]]
    ctx = context(role(pods_only))
    assert run(lesson13.role_allows("pods", {"get", "list", "watch"}), ctx).passed
    out = run(lesson13.role_allows("pods/log", {"get"}), ctx)
    assert out.found == "it does not allow get on pods/log"


def binding(kind: str, name: str, subject: dict[str, str]) -> dict[tuple[str, Any, str], Any]:
    return {("rolebinding", NS, "log-reader"): {
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name},
        "subjects": [subject]}}


def test_the_binding_gives_the_role_to_the_service_account() -> None:
    account = {"kind": "ServiceAccount", "name": "log-reader", "namespace": NS}
    ctx = context(binding("Role", "pod-log-reader", account))
    assert run(lesson13.binding_role(), ctx).passed
    assert run(lesson13.binding_subject(), ctx).passed
    user = {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "log-reader"}
    out = run(lesson13.binding_subject(), context(binding("Role", "pod-log-reader", user)))
    assert out.found == "its subjects are User log-reader"
    out = run(lesson13.binding_role(), context(binding("ClusterRole", "view", account)))
    assert out.found == "its roleRef is ClusterRole view"


def test_a_token_is_checked_by_its_subject() -> None:
    good = jwt({"sub": "system:serviceaccount:rbac-lab:log-reader"})
    assert lesson13.claims(good) == {"sub": "system:serviceaccount:rbac-lab:log-reader"}
    assert run(lesson13.token_for_account(), context({}, {"token": good})).passed
    other = jwt({"sub": "system:serviceaccount:rbac-lab:default"})
    out = run(lesson13.token_for_account(), context({}, {"token": other}))
    assert out.found == "token is for 'system:serviceaccount:rbac-lab:default'"
    out = run(lesson13.token_for_account(), context({}, {"token": "yes"}))
    assert not out.passed and "not a JSON Web Token" in out.found
    assert run(lesson13.token_for_account(), context({}, {"token": ...})).missing


def test_the_log_must_be_the_pods_own() -> None:
    pods = {("pod", NS, "web"): {"metadata": {"name": "web"}}}
    log = "/docker-entrypoint.sh: Configuration complete; ready for start up\n"
    ctx = context(pods, {"web_log": log}, logs={"web": log})
    assert run(lesson13.log_read(), ctx).passed
    out = run(lesson13.log_read(), context(pods, {"web_log": ""}, logs={"web": log}))
    assert "web_log is empty" in out.found
    out = run(lesson13.log_read(), context(pods, {"web_log": "hello"}, logs={"web": log}))
    assert not out.passed and out.settled


def test_the_pod_must_survive_the_delete() -> None:
    pods = {("pod", NS, "web"): {"metadata": {"name": "web"}}}
    assert run(lesson13.web_survived(), context(pods, {"token": "t"})).passed
    assert run(lesson13.web_survived(), context(pods, {})).missing
    out = run(lesson13.web_survived(), context({}, {"token": "t"}))
    assert out.found == "pod web was deleted: the account may delete pods"
