"""Bad input gets the real HTTP code and Status reason, and the server keeps serving."""

from __future__ import annotations

import pytest
from sandbox_support import SandboxHandle

CM_PATH = "/api/v1/namespaces/default/configmaps"


def _assert_status(result: tuple[int, object], code: int, reason: str) -> dict:
    status, body = result
    assert status == code, body
    assert isinstance(body, dict), body
    assert body["kind"] == "Status" and body["status"] == "Failure"
    assert body["code"] == code and body["reason"] == reason
    return body


def test_missing_or_wrong_token_is_401(sandbox: SandboxHandle) -> None:
    _assert_status(sandbox.request("GET", "/api/v1/pods", token=""), 401, "Unauthorized")
    _assert_status(sandbox.request("GET", "/api/v1/pods", token="wrong"), 401, "Unauthorized")
    # /version and health stay public, as on kubeadm clusters.
    assert sandbox.request("GET", "/version", token="")[0] == 200


@pytest.mark.parametrize("body,content_type", [
    ("{not json", "application/json"),
    ("kind: [unclosed", "application/yaml"),
    (b"k8s\x00\x0a\x05garbage", "application/vnd.kubernetes.protobuf"),
    (b"\x01\x02\x03", "application/vnd.kubernetes.protobuf"),
], ids=["json", "yaml", "protobuf-truncated", "protobuf-no-magic"])
def test_malformed_bodies_are_400_bad_request(sandbox: SandboxHandle, body: str | bytes,
                                              content_type: str) -> None:
    _assert_status(sandbox.request("POST", CM_PATH, body, content_type=content_type),
                   400, "BadRequest")
    assert sandbox.request("GET", CM_PATH)[0] == 200


def test_unknown_field_under_strict_is_400_and_names_the_field(sandbox: SandboxHandle) -> None:
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": "strict"},
              "spec": {"replcias": 2, "selector": {"matchLabels": {"a": "b"}},
                       "template": {"metadata": {"labels": {"a": "b"}},
                                    "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}
    body = _assert_status(sandbox.request(
        "POST", "/apis/apps/v1/namespaces/default/deployments?fieldValidation=Strict", deploy),
        400, "BadRequest")
    assert 'unknown field "spec.replcias"' in body["message"]
    assert sandbox.request("GET", "/apis/apps/v1/namespaces/default/deployments/strict")[0] == 404


def test_invalid_name_is_422_with_field_path(sandbox: SandboxHandle) -> None:
    body = _assert_status(sandbox.request(
        "POST", CM_PATH, {"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": "Bad_Name"}}), 422, "Invalid")
    assert body["message"].startswith('ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value')
    assert body["details"]["causes"][0]["field"] == "metadata.name"


def test_missing_required_field_is_422(sandbox: SandboxHandle) -> None:
    body = _assert_status(sandbox.request(
        "POST", "/api/v1/namespaces/default/pods",
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nocontainers"},
         "spec": {"containers": []}}), 422, "Invalid")
    assert "spec.containers: Required value" in body["message"]


def test_stale_resource_version_is_409(sandbox: SandboxHandle) -> None:
    status, created = sandbox.request("POST", CM_PATH, {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "rv"}, "data": {"a": "1"}})
    assert status == 201
    created["data"] = {"a": "2"}
    assert sandbox.request("PUT", f"{CM_PATH}/rv", created)[0] == 200
    created["data"] = {"a": "3"}
    body = _assert_status(sandbox.request("PUT", f"{CM_PATH}/rv", created), 409, "Conflict")
    assert body["message"] == ('Operation cannot be fulfilled on configmaps "rv": the object has '
                               "been modified; please apply your changes to the latest version "
                               "and try again")


def test_unknown_kind_and_namespace_are_404(sandbox: SandboxHandle) -> None:
    body = _assert_status(sandbox.request("GET", "/api/v1/namespaces/default/widgets"),
                          404, "NotFound")
    assert body["message"] == "the server could not find the requested resource"
    body = _assert_status(sandbox.request(
        "POST", "/api/v1/namespaces/nowhere/configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}), 404, "NotFound")
    assert body["message"] == 'namespaces "nowhere" not found'


def test_oversized_body_is_413(sandbox: SandboxHandle) -> None:
    huge = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "huge"},
            "data": {"blob": "x" * (4 * 1024 * 1024)}}
    _assert_status(sandbox.request("POST", CM_PATH, huge), 413, "RequestEntityTooLarge")
    assert sandbox.request("GET", "/readyz")[0] == 200
