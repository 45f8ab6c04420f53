"""``/openapi/v2``: the Swagger 2.0 document converted from the v3 documents, and its gnostic
``openapi.v2.Document`` protobuf encoding (what client-go unmarshals for kubectl)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from kubelab.sandbox.api import kinds, openapi, openapi_v2


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return json.loads(openapi_v2.body(openapi_v2.JSON)[0])


def _walk(node: Any) -> Any:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_every_served_kind_has_a_definition_with_its_gvk(doc: dict[str, Any]) -> None:
    gvks = set()
    for schema in doc["definitions"].values():
        for gvk in schema.get("x-kubernetes-group-version-kind", []):
            gvks.add((gvk["group"], gvk["version"], gvk["kind"]))
    served = {(k.group, k.version, k.kind) for k in kinds.KINDS
              if k.model and openapi.has_model(k.model)}
    assert served <= gvks
    assert ("batch", "v1", "Job") in gvks and ("", "v1", "Pod") in gvks


def test_references_are_swagger_2(doc: dict[str, Any]) -> None:
    refs = [v for k, v in _walk(doc) if k == "$ref"]
    assert refs and all(r.startswith("#/definitions/") for r in refs)
    assert all(r[len("#/definitions/"):] in doc["definitions"] for r in refs)
    assert not any(k in ("oneOf", "nullable", "requestBody", "components") for k, _ in _walk(doc))
    assert doc["swagger"] == "2.0"


def test_a_model_typed_property_is_a_ref_with_its_description(doc: dict[str, Any]) -> None:
    strategy = doc["definitions"]["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["strategy"]
    assert strategy["$ref"] == "#/definitions/io.k8s.api.apps.v1.DeploymentStrategy"
    assert strategy["description"].startswith("The deployment strategy to use")
    containers = doc["definitions"]["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["items"] == {"$ref": "#/definitions/io.k8s.api.core.v1.Container"}
    int_or_string = doc["definitions"]["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]
    assert (int_or_string["type"], int_or_string["format"]) == ("string", "int-or-string")


def test_operations_carry_body_parameters_and_field_validation(doc: dict[str, Any]) -> None:
    post = doc["paths"]["/apis/batch/v1/namespaces/{namespace}/jobs"]["post"]
    body, *query = post["parameters"]
    assert body == {"in": "body", "name": "body", "required": True,
                    "schema": {"$ref": "#/definitions/io.k8s.api.batch.v1.Job"}}
    assert "fieldValidation" in {p["name"] for p in query}
    assert all(p["in"] == "query" and p["type"] == "string" for p in query)
    assert post["consumes"] == ["*/*"] and "application/json" in post["produces"]
    assert post["responses"]["201"]["schema"] == {
        "$ref": "#/definitions/io.k8s.api.batch.v1.Job"}
    assert post["x-kubernetes-group-version-kind"] == {
        "group": "batch", "kind": "Job", "version": "v1"}
    patch = doc["paths"]["/apis/batch/v1/namespaces/{namespace}/jobs/{name}"]["patch"]
    assert "application/strategic-merge-patch+json" in patch["consumes"]


def test_protobuf_round_trip(doc: dict[str, Any]) -> None:
    data, etag = openapi_v2.body(openapi_v2.PROTOBUF)
    assert openapi_v2.from_protobuf(data) == doc
    assert etag == openapi_v2.etag_of(data) and len(etag) == 128


def test_protobuf_field_numbers_are_gnostics() -> None:
    """Read the bytes without our descriptor: Document.swagger is field 1 (a string),
    Document.info field 2 with Info.title field 1, as in gnostic's OpenAPIv2.proto."""
    data, _ = openapi_v2.body(openapi_v2.PROTOBUF)
    assert data[:5] == b"\x0a\x032.0"
    assert data[5] == 0x12  # field 2, length-delimited: info
    info = data[7:7 + data[6]]
    assert info.startswith(b"\x0a\x0aKubernetes")


def test_vendor_extensions_are_yaml_in_any() -> None:
    """gnostic keeps ``x-`` values as YAML text in ``Any.yaml``: kubectl yaml-decodes it."""
    message = openapi_v2.message_class("Document")()
    message.ParseFromString(openapi_v2.body(openapi_v2.PROTOBUF)[0])
    job = next(n.value for n in message.definitions.additional_properties
               if n.name == "io.k8s.api.batch.v1.Job")
    [extension] = [e for e in job.vendor_extension
                   if e.name == "x-kubernetes-group-version-kind"]
    assert yaml.safe_load(extension.value.yaml) == [
        {"group": "batch", "kind": "Job", "version": "v1"}]
    assert "- group: batch\n" in extension.value.yaml
    spec = next(n.value for n in job.properties.additional_properties if n.name == "spec")
    assert spec._ref == "#/definitions/io.k8s.api.batch.v1.JobSpec"


@pytest.mark.parametrize(("accept", "media"), [
    ("application/com.github.proto-openapi.spec.v2@v1.0+protobuf", openapi_v2.PROTOBUF),
    ("application/json", openapi_v2.JSON),
    ("", openapi_v2.JSON),
    ("*/*", openapi_v2.JSON),
    ("application/json;q=0.5, application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
     openapi_v2.PROTOBUF),
    ("text/html", None),
    ("application/yaml", None),
])
def test_content_negotiation(accept: str, media: str | None) -> None:
    assert openapi_v2.negotiate(accept) == media
