"""JSON bodies byte for byte as kube-apiserver writes them (Go's ``json.Encoder``): compact,
UTF-8, HTML characters escaped, one newline after the object; OpenAPI documents without it."""

from __future__ import annotations

import json

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException
from sandbox_support import SandboxHandle

from kubelab.sandbox.api.errors import wire_json


def test_wire_json_is_go_encoder_output() -> None:
    assert wire_json({"kind": "Status", "code": 404}) == b'{"kind":"Status","code":404}\n'
    # Go escapes <, > and & (SetEscapeHTML defaults to true) and keeps UTF-8 as it is.
    assert wire_json({"m": "a<b>&c é ✓"}) == '{"m":"a\\u003cb\\u003e\\u0026c é ✓"}\n'.encode()
    assert wire_json({"m": "line\u2028sep"}) == b'{"m":"line\\u2028sep"}\n'
    assert json.loads(wire_json({"m": "<&>\n\"q\"", "n": [1, None, True]})) == {
        "m": "<&>\n\"q\"", "n": [1, None, True]}


def test_status_body_is_byte_identical_for_the_official_client(sandbox: SandboxHandle) -> None:
    api = client.CoreV1Api(sandbox.api_client())
    with pytest.raises(ApiException) as info:
        api.read_namespaced_config_map("no-such-map", "default")
    assert info.value.body == (
        '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        '"message":"configmaps \\"no-such-map\\" not found","reason":"NotFound",'
        '"details":{"name":"no-such-map","kind":"configmaps"},"code":404}\n')


def test_objects_lists_and_discovery_end_with_a_newline(sandbox: SandboxHandle) -> None:
    api = client.CoreV1Api(sandbox.api_client())
    api.create_namespaced_config_map("default", client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="wire"), data={"html": "<b>&</b>"}))
    raw = api.read_namespaced_config_map("wire", "default", _preload_content=False).data
    assert raw.endswith(b"}\n") and raw.count(b"\n") == 1
    assert b'"html":"\\u003cb\\u003e\\u0026\\u003c/b\\u003e"' in raw
    listed = api.list_namespaced_config_map("default", _preload_content=False).data
    assert listed.endswith(b"}\n") and listed.count(b"\n") == 1
    for path in ("/api", "/apis", "/api/v1"):
        proc = sandbox.kubectl("get", "--raw", path)
        assert proc.stdout.endswith("}\n") and proc.stdout.count("\n") == 1, path
    openapi = sandbox.kubectl("get", "--raw", "/openapi/v3").stdout
    assert openapi.endswith("}"), "kube-openapi writes json.Marshal output, no newline"
