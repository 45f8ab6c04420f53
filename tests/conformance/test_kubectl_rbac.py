"""RBAC with the real kubectl: ``auth can-i``, ``--as``, ``--list``, ``auth whoami``,
``create role|rolebinding|clusterrole|clusterrolebinding``, ``create token`` and a
ServiceAccount's token meeting Forbidden.

Upstream: kube-apiserver's RBAC authorizer (``plugin/pkg/auth/authorizer/rbac``) behind the
``system:masters`` privileged group; kubectl's ``pkg/cmd/auth`` (``cani.go``, ``whoami.go``)
and ``pkg/cmd/create`` (``create_role.go``, ``create_rolebinding.go``, ``create_token.go``).
The wording of a denial is ``responsewriters.Forbidden``'s.
"""

from __future__ import annotations

import json

import pytest
from sandbox_support import SandboxHandle

pytestmark = pytest.mark.slow

SA_USER = "system:serviceaccount:rbac-demo:reader"


@pytest.fixture(scope="module")
def demo(api_sandbox: SandboxHandle) -> SandboxHandle:
    sb = api_sandbox
    sb.kubectl("create", "namespace", "rbac-demo")
    sb.kubectl("create", "serviceaccount", "reader", "-n", "rbac-demo")
    return sb


def test_the_admin_can_and_whoami(demo: SandboxHandle) -> None:
    sb = demo
    yes = sb.kubectl("auth", "can-i", "create", "pods")
    assert yes.stdout == "yes\n"
    assert sb.kubectl("auth", "can-i", "*", "*").stdout == "yes\n"
    whoami = sb.kubectl("auth", "whoami").stdout.splitlines()
    assert whoami[0].split() == ["ATTRIBUTE", "VALUE"]
    assert whoami[1].split() == ["Username", "kubernetes-admin"]
    assert whoami[2].split() == ["Groups", "[system:masters", "system:authenticated]"]


def test_a_service_account_no_then_yes(demo: SandboxHandle) -> None:
    sb = demo
    args = ("auth", "can-i", "list", "pods", "-n", "rbac-demo", f"--as={SA_USER}")
    no = sb.kubectl(*args, check=False)
    assert (no.returncode, no.stdout) == (1, "no\n"), no.stderr
    out = sb.kubectl("create", "role", "pod-reader", "--verb=get,list,watch",
                     "--resource=pods,pods/log", "-n", "rbac-demo").stdout
    assert out == "role.rbac.authorization.k8s.io/pod-reader created\n"
    out = sb.kubectl("create", "rolebinding", "read-pods", "--role=pod-reader",
                     "--serviceaccount=rbac-demo:reader", "-n", "rbac-demo").stdout
    assert out == "rolebinding.rbac.authorization.k8s.io/read-pods created\n"
    assert sb.kubectl(*args).stdout == "yes\n"
    # Only in its namespace, only those verbs and resources.
    other = sb.kubectl("auth", "can-i", "list", "pods", "-n", "default", f"--as={SA_USER}",
                       check=False)
    assert other.stdout == "no\n"
    delete = sb.kubectl("auth", "can-i", "delete", "pods", "-n", "rbac-demo",
                        f"--as={SA_USER}", check=False)
    assert delete.stdout == "no\n"
    logs = sb.kubectl("auth", "can-i", "get", "pods", "--subresource=log", "-n", "rbac-demo",
                      f"--as={SA_USER}")
    assert logs.stdout == "yes\n"

    roles = sb.kubectl("get", "roles", "-n", "rbac-demo").stdout.splitlines()
    assert roles[0].split() == ["NAME", "CREATED", "AT"]
    assert roles[1].split()[0] == "pod-reader" and roles[1].split()[1].endswith("Z")
    bindings = sb.kubectl("get", "rolebindings", "-n", "rbac-demo", "-o", "wide")
    lines = bindings.stdout.splitlines()
    assert lines[0].split() == ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"]
    assert lines[1].split()[:2] == ["read-pods", "Role/pod-reader"]
    assert lines[1].split()[-1] == "rbac-demo/reader"
    described = sb.kubectl("describe", "rolebinding", "read-pods", "-n", "rbac-demo").stdout
    assert "Role:\n  Kind:  Role\n  Name:  pod-reader\n" in described
    assert ["ServiceAccount", "reader", "rbac-demo"] in [line.split() for line in
                                                         described.splitlines()]
    rules = sb.kubectl("describe", "role", "pod-reader", "-n", "rbac-demo").stdout
    assert ["pods/log", "[]", "[]", "[get", "list", "watch]"] in [line.split() for line in
                                                                  rules.splitlines()]


def test_a_service_account_token_is_authorised_by_rbac(demo: SandboxHandle) -> None:
    sb = demo
    sb.kubectl("create", "role", "pod-lister", "--verb=list", "--resource=pods",
               "-n", "rbac-demo", check=False)
    sb.kubectl("create", "rolebinding", "list-pods", "--role=pod-lister",
               "--serviceaccount=rbac-demo:reader", "-n", "rbac-demo", check=False)
    token = sb.kubectl("create", "token", "reader", "-n", "rbac-demo").stdout.strip()
    assert token.count(".") == 2
    pods = sb.kubectl("--token", token, "get", "pods", "-n", "rbac-demo")
    assert pods.returncode == 0
    assert "No resources found in rbac-demo namespace." in pods.stderr
    secrets = sb.kubectl("--token", token, "get", "secrets", "-n", "rbac-demo", check=False)
    assert secrets.returncode == 1
    assert secrets.stderr.strip() == (
        'Error from server (Forbidden): secrets is forbidden: User '
        f'"{SA_USER}" cannot list resource "secrets" in API group "" in the namespace '
        '"rbac-demo"')
    who = sb.kubectl("--token", token, "auth", "whoami", "-o", "json")
    info = json.loads(who.stdout)["status"]["userInfo"]
    assert info["username"] == SA_USER
    assert info["groups"] == ["system:serviceaccounts", "system:serviceaccounts:rbac-demo",
                              "system:authenticated"]
    bad = sb.kubectl("--token", token[:-4] + "AAAA", "get", "pods", "-n", "rbac-demo",
                     check=False)
    assert bad.returncode == 1
    assert "error: You must be logged in to the server (Unauthorized)" in bad.stderr


def test_can_i_list(demo: SandboxHandle) -> None:
    sb = demo
    out = sb.kubectl("auth", "can-i", "--list", "-n", "rbac-demo", f"--as={SA_USER}").stdout
    lines = out.splitlines()
    assert lines[0].split() == ["Resources", "Non-Resource", "URLs", "Resource", "Names",
                                "Verbs"]
    rows = {line.split()[0]: line.split("[")[-1].rstrip("] ").split() for line in lines[1:]}
    assert sorted(rows["pods"]) == ["get", "list", "watch"]
    assert sorted(rows["pods/log"]) == ["get", "list", "watch"]
    assert rows["selfsubjectaccessreviews.authorization.k8s.io"] == ["create"]
    assert "secrets" not in rows
    assert any(line.split()[0] == "[/api/*]" for line in lines[1:])
    admin = sb.kubectl("auth", "can-i", "--list").stdout.splitlines()
    assert admin[1].split() == ["*.*", "[]", "[]", "[*]"]


def test_impersonation_needs_the_impersonate_verb(demo: SandboxHandle) -> None:
    sb = demo
    token = sb.kubectl("create", "token", "reader", "-n", "rbac-demo").stdout.strip()
    denied = sb.kubectl("--token", token, "get", "pods", "-n", "rbac-demo", "--as=bob",
                        check=False)
    assert denied.returncode == 1
    # (discovery is refused too: kubectl first logs that it could not read the groups)
    assert denied.stderr.strip().splitlines()[-1] == (
        'Error from server (Forbidden): users "bob" is forbidden: User '
        f'"{SA_USER}" cannot impersonate resource "users" in API group "" at the cluster '
        "scope")
    # The admin may impersonate: as the account it gets only the account's rights, with
    # the groups it asks for, those groups' rights too.
    secrets = sb.kubectl("get", "secrets", "-n", "rbac-demo", f"--as={SA_USER}", check=False)
    assert 'cannot list resource "secrets"' in secrets.stderr
    masters = sb.kubectl("get", "secrets", "-n", "rbac-demo", f"--as={SA_USER}",
                         "--as-group=system:masters")
    assert masters.returncode == 0


def test_cluster_roles_and_escalation(demo: SandboxHandle) -> None:
    sb = demo
    view = json.loads(sb.kubectl("get", "clusterrole", "view", "-o", "json").stdout)
    assert view["aggregationRule"]["clusterRoleSelectors"] == [
        {"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}}]
    assert any("pods" in r.get("resources", []) for r in view["rules"])
    names = sb.kubectl("get", "clusterroles", "-o", "name").stdout.split()
    for name in ("admin", "cluster-admin", "edit", "view"):
        assert f"clusterrole.rbac.authorization.k8s.io/{name}" in names
    out = sb.kubectl("create", "clusterrole", "secret-reader", "--verb=get",
                     "--resource=secrets").stdout
    assert out == "clusterrole.rbac.authorization.k8s.io/secret-reader created\n"
    out = sb.kubectl("create", "clusterrolebinding", "readers-view", "--clusterrole=view",
                     "--group=readers").stdout
    assert out == "clusterrolebinding.rbac.authorization.k8s.io/readers-view created\n"
    # The ServiceAccount may manage roles in its namespace only if it holds their rules.
    sb.kubectl("create", "role", "role-admin", "--verb=create",
               "--resource=roles.rbac.authorization.k8s.io", "-n", "rbac-demo")
    sb.kubectl("create", "rolebinding", "role-admin", "--role=role-admin",
               "--serviceaccount=rbac-demo:reader", "-n", "rbac-demo")
    escalate = sb.kubectl("create", "role", "too-much", "--verb=delete", "--resource=pods",
                          "-n", "rbac-demo", f"--as={SA_USER}", check=False)
    assert escalate.returncode == 1
    assert ('roles.rbac.authorization.k8s.io "too-much" is forbidden: user '
            f'"{SA_USER}" (groups=["system:serviceaccounts" '
            '"system:serviceaccounts:rbac-demo" "system:authenticated"]) is attempting to '
            'grant RBAC permissions not currently held:\n'
            '{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}') in escalate.stderr
    held = sb.kubectl("create", "role", "just-enough", "--verb=get", "--resource=pods",
                      "-n", "rbac-demo", f"--as={SA_USER}")
    assert held.stdout == "role.rbac.authorization.k8s.io/just-enough created\n"
