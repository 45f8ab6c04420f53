"""The ServiceAccount admission's API-access volume, seen with the real kubectl.

Every pod of a real cluster gets a projected ``kube-api-access-xxxxx`` volume mounted
read-only at ``/var/run/secrets/kubernetes.io/serviceaccount`` (token, ``ca.crt``,
``namespace``), unless ``automountServiceAccountToken`` is false on the pod or, when the pod
does not say, on its ServiceAccount.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import yaml
from conformance.support import wait_for
from sandbox_support import SandboxHandle

pytestmark = pytest.mark.slow

TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def _pod(name: str, **spec: Any) -> str:
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "main", "image": "busybox:1.37",
                                 "command": ["sleep", "3600"]}], **spec}})


def _get(sandbox: SandboxHandle, *args: str) -> Any:
    return yaml.safe_load(sandbox.kubectl("get", *args, "-o", "yaml").stdout)


def _running(sandbox: SandboxHandle, name: str, namespace: str = "default") -> None:
    wait_for(lambda: sandbox.kubectl("get", "pod", name, "-n", namespace, "-o",
                                     "jsonpath={.status.phase}").stdout == "Running",
             60, f"{name} Running")


def _claims(token: str) -> dict[str, Any]:
    header, payload, signature = token.split(".")
    assert json.loads(base64.urlsafe_b64decode(header + "==="))["alg"] == "ES256"
    assert signature
    return dict(json.loads(base64.urlsafe_b64decode(payload + "===")))


@pytest.fixture(scope="module")
def sandbox(cluster_sandbox: SandboxHandle) -> SandboxHandle:
    return cluster_sandbox


def test_pod_mounts_token_ca_and_namespace(sandbox: SandboxHandle) -> None:
    sandbox.kubectl("create", "namespace", "team-sa")
    sandbox.kubectl("create", "-n", "team-sa", "-f", "-", input=_pod("reader"))
    _running(sandbox, "reader", "team-sa")
    pod = _get(sandbox, "pod", "reader", "-n", "team-sa")
    volume = pod["spec"]["volumes"][-1]
    assert volume["name"].startswith("kube-api-access-") and len(volume["name"]) == 21
    assert pod["spec"]["containers"][0]["volumeMounts"] == [
        {"mountPath": TOKEN_DIR, "name": volume["name"], "readOnly": True}]

    def cat(path: str) -> str:
        return sandbox.kubectl("exec", "reader", "-n", "team-sa", "--", "cat",
                               f"{TOKEN_DIR}/{path}").stdout

    assert sandbox.kubectl("exec", "reader", "-n", "team-sa", "--", "ls", TOKEN_DIR) \
        .stdout.split() == ["ca.crt", "namespace", "token"]
    assert cat("namespace") == "team-sa"
    wait_for(lambda: "kube-root-ca.crt" in sandbox.kubectl(
        "get", "configmaps", "-n", "team-sa", "-o", "name").stdout, 30, "kube-root-ca.crt")
    root_ca = _get(sandbox, "configmap", "kube-root-ca.crt", "-n", "team-sa")
    assert cat("ca.crt") == root_ca["data"]["ca.crt"]
    assert cat("ca.crt").startswith("-----BEGIN CERTIFICATE-----")

    token = cat("token")
    claims = _claims(token)
    assert claims["sub"] == "system:serviceaccount:team-sa:default"
    assert claims["kubernetes.io"]["namespace"] == "team-sa"
    assert claims["kubernetes.io"]["pod"] == {"name": "reader",
                                              "uid": pod["metadata"]["uid"]}
    assert claims["kubernetes.io"]["node"]["name"] == pod["spec"]["nodeName"]
    assert claims["kubernetes.io"]["warnafter"] == claims["iat"] + 3607
    assert claims["exp"] == claims["iat"] + 365 * 24 * 3600
    assert claims["iss"] == claims["aud"][0] == "https://kubernetes.default.svc.cluster.local"
    # The pod's token authenticates as its ServiceAccount, which RBAC gives nothing.
    status, body = sandbox.request("GET", "/api/v1/namespaces/team-sa/pods", token=token)
    assert status == 403, body
    assert body["message"] == ('pods is forbidden: User "system:serviceaccount:team-sa:default" '
                               'cannot list resource "pods" in API group "" in the namespace '
                               '"team-sa"')


def test_automount_false_on_the_service_account_or_the_pod(sandbox: SandboxHandle) -> None:
    sandbox.kubectl("create", "-f", "-", input=yaml.safe_dump({
        "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "quiet"},
        "automountServiceAccountToken": False}))
    sandbox.kubectl("create", "-f", "-", input=_pod("quiet", serviceAccountName="quiet"))
    sandbox.kubectl("create", "-f", "-", input=_pod(
        "loud", serviceAccountName="quiet", automountServiceAccountToken=True))
    sandbox.kubectl("create", "-f", "-", input=_pod(
        "opted-out", automountServiceAccountToken=False))
    quiet = _get(sandbox, "pod", "quiet")["spec"]
    assert "volumes" not in quiet and "volumeMounts" not in quiet["containers"][0]
    assert quiet["serviceAccountName"] == quiet["serviceAccount"] == "quiet"
    opted_out = _get(sandbox, "pod", "opted-out")["spec"]
    assert "volumes" not in opted_out and opted_out["serviceAccountName"] == "default"
    loud = _get(sandbox, "pod", "loud")["spec"]
    assert [v["name"][:16] for v in loud["volumes"]] == ["kube-api-access-"]
    _running(sandbox, "loud")
    claims = _claims(sandbox.kubectl("exec", "loud", "--", "cat", f"{TOKEN_DIR}/token").stdout)
    quiet_sa = _get(sandbox, "serviceaccount", "quiet")
    assert claims["kubernetes.io"]["serviceaccount"] == {
        "name": "quiet", "uid": quiet_sa["metadata"]["uid"]}


def test_own_mount_at_the_token_path_is_kept(sandbox: SandboxHandle) -> None:
    sandbox.kubectl("create", "configmap", "fake-token", "--from-literal=token=mine")
    manifest = yaml.safe_load(_pod("own-mount", volumes=[
        {"name": "mine", "configMap": {"name": "fake-token"}}]))
    manifest["spec"]["initContainers"] = [{"name": "init", "image": "busybox:1.37",
                                           "command": ["true"]}]
    manifest["spec"]["containers"][0]["volumeMounts"] = [{"name": "mine",
                                                          "mountPath": TOKEN_DIR}]
    sandbox.kubectl("create", "-f", "-", input=yaml.safe_dump(manifest))
    spec = _get(sandbox, "pod", "own-mount")["spec"]
    # The container keeps its own mount; the init container still gets the token volume.
    assert spec["containers"][0]["volumeMounts"] == [{"mountPath": TOKEN_DIR, "name": "mine"}]
    generated = spec["volumes"][-1]["name"]
    assert generated.startswith("kube-api-access-")
    assert spec["initContainers"][0]["volumeMounts"] == [
        {"mountPath": TOKEN_DIR, "name": generated, "readOnly": True}]
    _running(sandbox, "own-mount")
    assert sandbox.kubectl("exec", "own-mount", "--", "cat", f"{TOKEN_DIR}/token") \
        .stdout == "mine"


def test_a_new_namespace_gets_its_default_service_account(sandbox: SandboxHandle) -> None:
    """kube-controller-manager's serviceaccount-controller: ``kubectl get sa`` in a fresh
    namespace lists ``default`` (a moment after the namespace), and a deleted one comes back."""
    sandbox.kubectl("create", "namespace", "fresh-sa")
    listed = lambda: sandbox.kubectl("get", "serviceaccounts", "-n", "fresh-sa",  # noqa: E731
                                     "-o", "name").stdout.split()
    wait_for(lambda: listed() == ["serviceaccount/default"], 30, "default ServiceAccount")
    sandbox.kubectl("delete", "serviceaccount", "default", "-n", "fresh-sa")
    wait_for(lambda: listed() == ["serviceaccount/default"], 30, "default recreated")
    sandbox.kubectl("delete", "namespace", "fresh-sa", "--wait=false")
