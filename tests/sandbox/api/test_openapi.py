"""OpenAPI v3 documents derived from the client models, and what kubectl does with them."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from kubernetes.client import models

from kubelab.sandbox.api import kinds, openapi
from kubelab.sandbox.api.openapi import definition_name, v3_group_version, v3_hash, v3_root

KUBECTL = Path(sys.executable).parent / "kubectl"


def gv_path(info: kinds.KindInfo) -> str:
    return info.path_prefix().lstrip("/")


def schema(path: str, name: str) -> dict[str, Any]:
    doc = v3_group_version(path)
    assert doc is not None
    return doc["components"]["schemas"][name]


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


@pytest.mark.parametrize(("model", "name"), [
    ("V1Deployment", "io.k8s.api.apps.v1.Deployment"),
    ("V1RollingUpdateDeployment", "io.k8s.api.apps.v1.RollingUpdateDeployment"),
    ("V1Pod", "io.k8s.api.core.v1.Pod"),
    ("V1ScaleIOVolumeSource", "io.k8s.api.core.v1.ScaleIOVolumeSource"),
    ("V1Scale", "io.k8s.api.autoscaling.v1.Scale"),
    ("V1Eviction", "io.k8s.api.policy.v1.Eviction"),
    ("V1ObjectMeta", "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
    ("V1LabelSelector", "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"),
    ("CoreV1Event", "io.k8s.api.core.v1.Event"),
    ("EventsV1Event", "io.k8s.api.events.v1.Event"),
    ("DiscoveryV1EndpointPort", "io.k8s.api.discovery.v1.EndpointPort"),
    ("V1Endpoint", "io.k8s.api.discovery.v1.Endpoint"),
    ("V1EndpointAddress", "io.k8s.api.core.v1.EndpointAddress"),
    ("V1LeaseSpec", "io.k8s.api.coordination.v1.LeaseSpec"),
])
def test_definition_names_follow_upstream(model: str, name: str) -> None:
    assert definition_name(model) == name


def test_root_lists_every_group_version_with_its_hash() -> None:
    root = v3_root()
    expected = {gv_path(k) for k in (*kinds.KINDS, *kinds.ALSO_SERVED) if k.model}
    assert set(root["paths"]) == expected
    for path, entry in root["paths"].items():
        assert entry["serverRelativeURL"] == f"/openapi/v3/{path}?hash={v3_hash(path)}"
    prefixed = v3_root("/proxy/")
    assert prefixed["paths"]["api/v1"]["serverRelativeURL"].startswith(
        "/proxy/openapi/v3/api/v1?hash=")


def test_hash_is_uppercase_sha512_of_the_canonical_document() -> None:
    for path in ("api/v1", "apis/apps/v1"):
        doc = v3_group_version(path)
        blob = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
        assert v3_hash(path) == hashlib.sha512(blob).hexdigest().upper()
        assert re.fullmatch(r"[0-9A-F]{128}", v3_hash(path))
    assert v3_hash("api/v1") != v3_hash("apis/apps/v1")


def test_unknown_group_versions() -> None:
    assert v3_group_version("apis/example.com/v1") is None
    assert v3_group_version("apis/apps") is None
    with pytest.raises(KeyError):
        v3_hash("apis/scheduling.k8s.io/v1")


def test_documents_are_openapi_3_and_self_contained() -> None:
    for path in v3_root()["paths"]:
        doc = v3_group_version(path)
        assert doc is not None
        assert doc["openapi"] == "3.0.0" and doc["info"]["title"] == "Kubernetes"
        names = set(doc["components"]["schemas"])
        prefix = "#/components/schemas/"
        missing = {r for r in refs(doc) if r.removeprefix(prefix) not in names}
        assert not missing, (path, missing)


def _find_patch(doc: dict[str, Any], gvk: dict[str, str]) -> dict[str, Any] | None:
    """What kubectl's query-param verifier does: a PATCH op for the GVK."""
    for item in doc["paths"].values():
        op = item.get("patch")
        if op and op.get("x-kubernetes-group-version-kind") == gvk:
            return op
    return None


@pytest.mark.parametrize("info", [k for k in kinds.KINDS if "patch" in k.verbs],
                         ids=lambda k: f"{k.plural}.{k.group}")
def test_patch_operation_advertises_field_validation(info: kinds.KindInfo) -> None:
    doc = v3_group_version(gv_path(info))
    assert doc is not None
    gvk = {"group": info.group, "kind": info.kind, "version": info.version}
    op = _find_patch(doc, gvk)
    assert op is not None
    assert op["x-kubernetes-action"] == "patch"
    names = {p["name"] for p in op["parameters"]}
    assert {"dryRun", "fieldManager", "fieldValidation", "force"} <= names
    assert set(op["requestBody"]["content"]) == set(openapi.PATCH_MEDIA_TYPES)


@pytest.mark.parametrize("info", [k for k in kinds.KINDS if k.model],
                         ids=lambda k: f"{k.plural}.{k.group}")
def test_resource_paths_and_actions(info: kinds.KindInfo) -> None:
    doc = v3_group_version(gv_path(info))
    assert doc is not None
    ns = "/namespaces/{namespace}" if info.namespaced else ""
    base = f"{info.path_prefix()}{ns}/{info.plural}"
    actions = {
        (path, method): op["x-kubernetes-action"]
        for path, item in doc["paths"].items()
        for method, op in item.items() if method != "parameters"
    }
    if "create" in info.verbs:
        assert actions[(base, "post")] == "post"
    if "list" in info.verbs:
        assert actions[(base, "get")] == "list"
        if info.namespaced:
            assert actions[(f"{info.path_prefix()}/{info.plural}", "get")] == "list"
    if "get" in info.verbs:
        assert actions[(f"{base}/{{name}}", "get")] == "get"
    if "update" in info.verbs:
        assert actions[(f"{base}/{{name}}", "put")] == "put"
    if "delete" in info.verbs:
        assert actions[(f"{base}/{{name}}", "delete")] == "delete"
    for item in doc["paths"].values():
        for method, op in item.items():
            if method != "parameters":
                assert set(op["x-kubernetes-group-version-kind"]) == {"group", "kind", "version"}
                for param in op.get("parameters", []):
                    assert param["in"] in ("query", "path")
    post = doc["paths"].get(base, {}).get("post")
    if post is not None:
        assert {p["name"] for p in post["parameters"]} >= {"dryRun", "fieldManager",
                                                           "fieldValidation"}


def test_scale_subresource_uses_the_autoscaling_kind() -> None:
    doc = v3_group_version("apis/apps/v1")
    assert doc is not None
    item = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]
    assert item["patch"]["x-kubernetes-group-version-kind"] == {
        "group": "autoscaling", "kind": "Scale", "version": "v1"}
    assert "io.k8s.api.autoscaling.v1.Scale" in doc["components"]["schemas"]


def test_top_level_schemas_carry_their_gvk_and_descriptions() -> None:
    dep = schema("apis/apps/v1", "io.k8s.api.apps.v1.Deployment")
    assert dep["x-kubernetes-group-version-kind"] == [
        {"group": "apps", "kind": "Deployment", "version": "v1"}]
    assert dep["description"] == "Deployment enables declarative updates for Pods and ReplicaSets."
    assert dep["properties"]["metadata"]["description"].startswith("Standard object's metadata.")
    spec = schema("apis/apps/v1", "io.k8s.api.apps.v1.DeploymentSpec")
    replicas = models.V1DeploymentSpec.model_fields["replicas"].description
    assert spec["properties"]["replicas"] == {"type": "integer", "description": replicas}
    assert spec["required"] == ["selector", "template"]
    assert spec["properties"]["template"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.api.core.v1.PodTemplateSpec"}]
    lst = schema("apis/apps/v1", "io.k8s.api.apps.v1.DeploymentList")
    assert lst["x-kubernetes-group-version-kind"][0]["kind"] == "DeploymentList"


def test_special_types_map_to_upstream_schemas() -> None:
    s = v3_group_version("api/v1")
    assert s is not None
    schemas = s["components"]["schemas"]
    ios = schemas[openapi.INT_OR_STRING]
    assert ios["format"] == "int-or-string" and "type" not in ios
    assert "type" not in schemas[openapi.QUANTITY]
    assert schemas[openapi.TIME]["format"] == "date-time"
    port = schemas["io.k8s.api.core.v1.HTTPGetAction"]["properties"]["port"]
    assert port["allOf"] == [{"$ref": f"#/components/schemas/{openapi.INT_OR_STRING}"}]
    limits = schemas["io.k8s.api.core.v1.ResourceRequirements"]["properties"]["limits"]
    assert limits["additionalProperties"] == {
        "$ref": f"#/components/schemas/{openapi.QUANTITY}"}
    meta = schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]["properties"]
    assert meta["creationTimestamp"]["allOf"][0]["$ref"].endswith(".meta.v1.Time")
    assert meta["labels"] == {"type": "object", "additionalProperties": {"type": "string"},
                              "description": meta["labels"]["description"]}
    mfe = schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry"]["properties"]
    assert mfe["fieldsV1"]["allOf"][0]["$ref"].endswith(".meta.v1.FieldsV1")
    secret = schemas["io.k8s.api.core.v1.Secret"]["properties"]["data"]
    assert secret["additionalProperties"] == {"type": "string", "format": "byte"}
    lease = schema("apis/coordination.k8s.io/v1", "io.k8s.api.coordination.v1.LeaseSpec")
    assert lease["properties"]["renewTime"]["allOf"][0]["$ref"].endswith(".meta.v1.MicroTime")


def test_patch_merge_keys_come_from_the_patch_tables() -> None:
    pod_spec = schema("api/v1", "io.k8s.api.core.v1.PodSpec")["properties"]
    assert pod_spec["containers"]["x-kubernetes-patch-merge-key"] == "name"
    assert pod_spec["containers"]["x-kubernetes-patch-strategy"] == "merge"
    assert pod_spec["volumes"]["x-kubernetes-patch-strategy"] == "merge,retainKeys"
    assert "x-kubernetes-patch-merge-key" not in pod_spec["tolerations"]
    container = schema("api/v1", "io.k8s.api.core.v1.Container")["properties"]
    assert container["ports"]["x-kubernetes-patch-merge-key"] == "containerPort"
    assert container["ports"]["x-kubernetes-list-map-keys"] == ["containerPort", "protocol"]
    svc = schema("api/v1", "io.k8s.api.core.v1.ServiceSpec")["properties"]
    assert svc["ports"]["x-kubernetes-patch-merge-key"] == "port"
    strategy = schema("apis/apps/v1", "io.k8s.api.apps.v1.DeploymentSpec")["properties"]
    assert strategy["strategy"]["x-kubernetes-patch-strategy"] == "retainKeys"


# ----------------------------------------------------------------------------------------
# The real kubectl against a throwaway server serving discovery and these documents.
# ----------------------------------------------------------------------------------------

def _resource_list(group: str, version: str) -> dict[str, Any]:
    resources = []
    for info in kinds.KINDS:
        if info.group != group or info.version != version:
            continue
        resources.append({"name": info.plural, "singularName": info.singular,
                          "namespaced": info.namespaced, "kind": info.kind,
                          "verbs": list(info.verbs), "shortNames": list(info.short_names),
                          "categories": list(info.categories)})
        for sub in info.subresources:
            resources.append({"name": f"{info.plural}/{sub.name}", "singularName": "",
                              "namespaced": info.namespaced, "kind": sub.kind or info.kind,
                              "verbs": list(sub.verbs)})
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
            "resources": resources}


def _app() -> web.Application:
    groups = sorted({(k.group, k.version) for k in kinds.KINDS if k.group})

    async def version(_: web.Request) -> web.Response:
        return web.json_response({"major": "1", "minor": "37", "gitVersion": "v1.37.0",
                                  "platform": "linux/amd64"})

    async def api(_: web.Request) -> web.Response:
        return web.json_response({"kind": "APIVersions", "versions": ["v1"],
                                  "serverAddressByClientCIDRs": []})

    async def apis(_: web.Request) -> web.Response:
        return web.json_response({"kind": "APIGroupList", "apiVersion": "v1", "groups": [
            {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v}],
             "preferredVersion": {"groupVersion": f"{g}/{v}", "version": v}}
            for g, v in groups]})

    async def core(_: web.Request) -> web.Response:
        return web.json_response(_resource_list("", "v1"))

    async def group(request: web.Request) -> web.Response:
        g, v = request.match_info["group"], request.match_info["version"]
        if (g, v) not in groups:
            raise web.HTTPNotFound()
        return web.json_response(_resource_list(g, v))

    async def root(_: web.Request) -> web.Response:
        return web.json_response(v3_root())

    async def document(request: web.Request) -> web.Response:
        doc = v3_group_version(request.match_info["tail"])
        if doc is None:
            raise web.HTTPNotFound()
        return web.json_response(doc)

    app = web.Application()
    app.router.add_get("/version", version)
    app.router.add_get("/api", api)
    app.router.add_get("/apis", apis)
    app.router.add_get("/api/v1", core)
    app.router.add_get("/apis/{group}/{version}", group)
    app.router.add_get("/openapi/v3", root)
    app.router.add_get("/openapi/v3/{tail:.+}", document)
    return app


@pytest.fixture
async def kubeconfig(tmp_path: Path) -> AsyncIterator[Path]:
    runner = web.AppRunner(_app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    config = tmp_path / "kubeconfig"
    config.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "t",
        "clusters": [{"name": "t", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "t", "user": {}}],
        "contexts": [{"name": "t", "context": {"cluster": "t", "user": "t"}}],
    }))
    yield config
    await runner.cleanup()


async def _kubectl(config: Path, *args: str) -> str:
    env = {**os.environ, "HOME": str(config.parent)}
    proc = await asyncio.create_subprocess_exec(
        str(KUBECTL), f"--kubeconfig={config}", f"--cache-dir={config.parent / 'cache'}",
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()
    return out.decode()


@pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl is not installed beside python")
async def test_kubectl_explain_field(kubeconfig: Path) -> None:
    out = await _kubectl(kubeconfig, "explain", "deployment.spec.replicas")
    lines = out.splitlines()
    assert lines[:3] == ["GROUP:      apps", "KIND:       Deployment", "VERSION:    v1"]
    assert "FIELD: replicas <integer>" in out
    assert "Number of desired pods." in out


@pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl is not installed beside python")
async def test_kubectl_explain_recursive(kubeconfig: Path) -> None:
    out = await _kubectl(kubeconfig, "explain", "pods.spec.containers", "--recursive")
    head = out.splitlines()[:10]
    assert head[0] == "KIND:       Pod"
    assert head[1] == "VERSION:    v1"
    assert "FIELD: containers <[]Container>" in head
    assert re.search(r"^\s+name\s+<string> -required-$", out, re.M)
    assert re.search(r"^\s+limits\s+<map\[string\]Quantity>$", out, re.M)
    assert re.search(r"^\s+port\s+<IntOrString> -required-$", out, re.M)


@pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl is not installed beside python")
async def test_kubectl_explain_time_and_int_or_string(kubeconfig: Path) -> None:
    out = await _kubectl(kubeconfig, "explain", "deployment.spec.strategy.rollingUpdate")
    assert re.search(r"^\s+maxSurge\s+<IntOrString>$", out, re.M)
    out = await _kubectl(kubeconfig, "explain", "pods.metadata.creationTimestamp")
    assert "FIELD: creationTimestamp <string>" in out


# Upstream's wording of three model-typed fields (k8s.io/api apps/v1 and core/v1 types.go),
# which the client models leave without a description.
STRATEGY_TEXT = "The deployment strategy to use to replace existing pods with new ones."
GRPC_TEXT = "GRPC specifies a GRPC HealthCheckRequest."
LIVENESS_TEXT = ("Periodic probe of container liveness. Container will be restarted if the probe "
                 "fails. Cannot be updated. More info: "
                 "https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle#container-probes")


def test_model_typed_fields_carry_upstream_descriptions_beside_the_ref() -> None:
    assert models.V1DeploymentSpec.model_fields["strategy"].description is None
    spec = schema("apis/apps/v1", "io.k8s.api.apps.v1.DeploymentSpec")["properties"]
    assert spec["strategy"]["description"] == STRATEGY_TEXT
    assert spec["strategy"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy"}]
    assert spec["selector"]["description"].startswith("Label selector for pods.")
    assert spec["template"]["description"].startswith("Template describes the pods")
    probe = schema("api/v1", "io.k8s.api.core.v1.Probe")["properties"]
    assert probe["grpc"]["description"] == GRPC_TEXT
    for handler in ("exec", "httpGet", "tcpSocket"):
        assert probe[handler]["description"], handler
    container = schema("api/v1", "io.k8s.api.core.v1.Container")["properties"]
    assert container["livenessProbe"]["description"] == LIVENESS_TEXT


def test_every_served_property_has_a_description() -> None:
    missing = set()
    for path in openapi.served_paths():
        doc = v3_group_version(path)
        assert doc is not None
        for name, body in doc["components"]["schemas"].items():
            for field, prop in body.get("properties", {}).items():
                if not prop.get("description"):
                    missing.add((name, field))
    # Fields newer than the published spec the table was generated from (1.37's workload
    # scheduling fields of the Job spec among them).
    assert missing <= {("io.k8s.api.core.v1.NodeSpec", "podPreemptionPolicy"),
                       ("io.k8s.api.core.v1.PersistentVolumeClaimStatus", "healthStatus"),
                       ("io.k8s.api.batch.v1.JobSpec", "scheduling"),
                       ("io.k8s.api.batch.v1.JobSchedulingConfiguration",
                        "schedulingConstraints"),
                       ("io.k8s.api.batch.v1.JobSchedulingConfiguration", "schedulingPolicy"),
                       ("io.k8s.api.batch.v1.JobSchedulingConfiguration", "disruptionMode"),
                       ("io.k8s.api.core.v1alpha3.WorkloadPodGroupSchedulingPolicy", "gang"),
                       # Upstream has no comment on the inline IngressRuleValue's field.
                       ("io.k8s.api.networking.v1.IngressRule", "http")}


def test_description_table_takes_only_what_the_client_lacks() -> None:
    from kubelab.sandbox.api import openapi_descriptions_gen as gen

    definitions = {"io.k8s.api.apps.v1.DeploymentSpec": {"properties": {
        "strategy": {"description": "upstream strategy text"},
        "replicas": {"description": "upstream replicas text"},
    }}}
    table = gen.missing_descriptions(definitions)
    assert table[("io.k8s.api.apps.v1.DeploymentSpec", "strategy")] == "upstream strategy text"
    # The client's own (newer) description of a scalar wins: it is never in the table.
    assert ("io.k8s.api.apps.v1.DeploymentSpec", "replicas") not in table
    rendered = gen.render(table, "a test spec")
    namespace: dict[str, Any] = {}
    exec(compile(rendered, "generated", "exec"), namespace)
    assert namespace["DESCRIPTIONS"] == table
    assert namespace["SOURCE"] == "a test spec"


@pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl is not installed beside python")
async def test_kubectl_explain_prints_descriptions_of_object_fields(kubeconfig: Path) -> None:
    out = await _kubectl(kubeconfig, "explain", "deployment.spec")
    assert "<no description>" not in out
    assert re.search(r"^  strategy\s+<DeploymentStrategy>\n    The deployment strategy to use",
                     out, re.M)
    out = await _kubectl(kubeconfig, "explain", "deployment.spec.strategy")
    description = out.split("DESCRIPTION:\n", 1)[1].split("FIELDS:", 1)[0]
    assert [line.strip() for line in description.strip().splitlines()] == [
        STRATEGY_TEXT, "DeploymentStrategy describes how to replace existing pods with new ones."]
    out = await _kubectl(kubeconfig, "explain", "pod.spec.containers.livenessProbe")
    assert "<no description>" not in out
    assert re.search(r"^  grpc\s+<GRPCAction>\n    GRPC specifies a GRPC HealthCheckRequest\.",
                     out, re.M)


def test_enum_fields_carry_values_and_the_possible_values_paragraph() -> None:
    strategy = schema("apis/apps/v1", "io.k8s.api.apps.v1.DeploymentStrategy")["properties"]
    assert strategy["type"]["enum"] == ["Recreate", "RollingUpdate"]
    assert strategy["type"]["description"].endswith(
        "Default is RollingUpdate.\n\nPossible enum values:\n"
        " - `\"Recreate\"` Kill all existing pods before creating new ones.\n"
        " - `\"RollingUpdate\"` Replace the old ReplicaSets by new one using rolling update i.e "
        "gradually scale down the old ReplicaSets and scale up the new one.")
    service = schema("api/v1", "io.k8s.api.core.v1.ServiceSpec")["properties"]
    assert service["ipFamilies"]["items"]["enum"] == ["", "IPv4", "IPv6"]
    assert "enum" not in service["ipFamilies"]
    assert service["type"]["enum"] == ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
    pod = schema("api/v1", "io.k8s.api.core.v1.PodSpec")["properties"]
    assert " - `\"ClusterFirst\"` indicates that the pod should use cluster DNS first" in \
        pod["dnsPolicy"]["description"]
    assert "enum" not in pod["nodeName"]


def test_enum_table_reads_go_enum_types_as_kube_openapi_does(tmp_path: Path) -> None:
    from kubelab.sandbox.api import openapi_descriptions_gen as gen

    package = tmp_path / "apps" / "v1"
    package.mkdir(parents=True)
    (package / "types.go").write_text(
        "package v1\n\n"
        "// +enum\n"
        "type FlipPolicy string\n\n"
        "const (\n"
        "\t// Zero flips nothing,\n"
        "\t// ever.\n"
        "\tFlipNone FlipPolicy = \"Zero\"\n"
        "\t// FlipAll flips every coin.\n"
        "\tFlipAll FlipPolicy = \"All\"\n"
        ")\n\n"
        "type Plain string\n\n"
        "const Other Plain = \"Other\"\n\n"
        "type Coin struct {\n"
        "\tPolicy *FlipPolicy `json:\"policy,omitempty\"`\n"
        "\tPolicies []FlipPolicy `json:\"policies\"`\n"
        "\tName Plain `json:\"name\"`\n"
        "}\n")
    assert gen.enum_types(tmp_path, "apps/v1") == {
        "FlipPolicy": [("All", "flips every coin."), ("Zero", "Zero flips nothing, ever.")]}
    fields = gen.enum_fields(tmp_path)
    values = [("All", "flips every coin."), ("Zero", "Zero flips nothing, ever.")]
    assert fields[("io.k8s.api.apps.v1.Coin", "policy")] == (False, values)
    assert fields[("io.k8s.api.apps.v1.Coin", "policies")] == (True, values)
    assert ("io.k8s.api.apps.v1.Coin", "name") not in fields
