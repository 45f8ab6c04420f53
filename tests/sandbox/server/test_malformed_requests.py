"""Every malformed request gets a 4xx Status shaped as kube-apiserver shapes it, nothing
malformed is stored, and the sandbox stays healthy after each one."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sandbox_support import SandboxHandle

NS = "/api/v1/namespaces/default"
DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"


def deployment(name: str, replicas: Any = 1) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}


def expect(result: tuple[int, Any], code: int, reason: str, message: str | None = None,
           sandbox: SandboxHandle | None = None) -> dict[str, Any]:
    status, body = result
    assert status == code, body
    assert isinstance(body, dict) and body["kind"] == "Status", body
    assert (body["status"], body["code"], body["reason"]) == ("Failure", code, reason), body
    if message is not None:
        assert body["message"] == message, body["message"]
    if sandbox is not None:
        assert sandbox.request("GET", "/readyz") == (200, "ok")
    return body


def cannot_handle(value: str, field: str, gotype: str) -> str:
    return ('Deployment in version "v1" cannot be handled as a Deployment: json: cannot '
            f"unmarshal {value} into Go struct field {field} of type {gotype}")


REPLICAS = "DeploymentSpec.spec.replicas"


@pytest.mark.parametrize(("raw", "message"), [
    (json.dumps(deployment("d1", "three")), cannot_handle("string", REPLICAS, "int32")),
    (json.dumps(deployment("d1", 2**31)), cannot_handle("number 2147483648", REPLICAS, "int32")),
    (json.dumps(deployment("d1", 10**30)), cannot_handle(f"number {10**30}", REPLICAS, "int32")),
    (json.dumps(deployment("d1", 2.5)), cannot_handle("number 2.5", REPLICAS, "int32")),
    (json.dumps(deployment("d1", 1)).replace('"replicas": 1', '"replicas": 1e400'),
     cannot_handle("number 1e400", REPLICAS, "int32")),
    (json.dumps({**deployment("d1"), "spec": "x"}),
     cannot_handle("string", "Deployment.spec", "v1.DeploymentSpec")),
    (json.dumps({**deployment("d1"), "metadata": {"name": 5}}),
     cannot_handle("number", "ObjectMeta.metadata.name", "string")),
], ids=["three", "2^31", "10^30", "2.5", "1e400", "spec-string", "name-number"])
def test_wrongly_typed_bodies_are_400_and_nothing_is_stored(sandbox: SandboxHandle, raw: str,
                                                            message: str) -> None:
    expect(sandbox.request("POST", DEPLOYS, raw), 400, "BadRequest", message, sandbox)
    assert sandbox.request("GET", f"{DEPLOYS}/d1")[0] == 404


def test_nan_is_a_json_syntax_error(sandbox: SandboxHandle) -> None:
    raw = json.dumps(deployment("d1")).replace('"replicas": 1', '"replicas": NaN')
    body = expect(sandbox.request("POST", DEPLOYS, raw), 400, "BadRequest", sandbox=sandbox)
    assert "invalid character 'N' looking for beginning of value" in body["message"]


def test_yaml_replicas_as_string_is_400(sandbox: SandboxHandle) -> None:
    raw = json.dumps(deployment("d1", "x"))
    expect(sandbox.request("POST", DEPLOYS, raw, content_type="application/yaml"), 400,
           "BadRequest", cannot_handle("string", REPLICAS, "int32"), sandbox)


def test_pod_with_list_labels_is_rejected(sandbox: SandboxHandle) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": ["a"]},
           "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    body = expect(sandbox.request("POST", f"{NS}/pods", pod), 400, "BadRequest",
                  sandbox=sandbox)
    assert "ObjectMeta.metadata.labels of type map[string]string" in body["message"]


@pytest.mark.parametrize("depth", [300, 20_000])
def test_deep_nesting_is_400(sandbox: SandboxHandle, depth: int) -> None:
    raw = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"data":' \
          + '{"a":' * depth + "1" + "}" * depth + "}"
    body = expect(sandbox.request("POST", f"{NS}/configmaps", raw), 400, "BadRequest",
                  sandbox=sandbox)
    assert "exceeded max depth" in body["message"]
    sandbox.request("POST", f"{NS}/configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                                 "metadata": {"name": "shallow"}})
    patch = '{"metadata":' + '{"a":' * depth + "1" + "}" * depth + "}"
    expect(sandbox.request("PATCH", f"{NS}/configmaps/shallow", patch,
                           content_type="application/merge-patch+json"), 400, "BadRequest",
           sandbox=sandbox)


def test_quota_with_a_huge_quantity_is_capped_like_upstream(sandbox: SandboxHandle) -> None:
    quota = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "huge"},
             "spec": {"hard": {"pods": "1e999999", "cpu": "1" * 100_000}}}
    status, body = sandbox.request("POST", f"{NS}/resourcequotas", quota)
    assert status == 201, body
    assert body["spec"]["hard"] == {"pods": str(2**63 - 1), "cpu": str(2**63 - 1)}
    assert sandbox.request("GET", "/readyz") == (200, "ok")
    assert sandbox.request("DELETE", f"{NS}/resourcequotas/huge")[0] == 200
    bad = {**quota, "spec": {"hard": {"pods": "lots"}}}
    body = expect(sandbox.request("POST", f"{NS}/resourcequotas", bad), 400, "BadRequest",
                  sandbox=sandbox)
    assert body["message"].startswith('ResourceQuota in version "v1" cannot be handled as a '
                                      "ResourceQuota: quantities must match the regular")


@pytest.mark.parametrize(("path", "message"), [
    (f"{NS}/pods?limit=abc", 'strconv.ParseInt: parsing "abc": invalid syntax'),
    (f"{NS}/pods?timeoutSeconds=1.5", 'strconv.ParseInt: parsing "1.5": invalid syntax'),
    (f"{NS}/pods?watch=true&timeoutSeconds=nan",
     'strconv.ParseInt: parsing "nan": invalid syntax'),
    (f"{NS}/pods?fieldSelector=spec.bogus=x", "field label not supported: spec.bogus"),
    (f"{DEPLOYS}?fieldSelector=spec.bogus=x",
     '"spec.bogus" is not a known field selector: only "metadata.name", "metadata.namespace"'),
    (f"{NS}/pods?watch=1&fieldSelector=spec.bogus=x", "field label not supported: spec.bogus"),
], ids=["limit", "timeoutSeconds", "watch-timeout-nan", "pod-field", "deploy-field",
        "watch-field"])
def test_bad_list_and_watch_parameters_are_400(sandbox: SandboxHandle, path: str,
                                               message: str) -> None:
    # (That a failed watch registers nothing is checked in-process: test_watch_params.py.)
    expect(sandbox.request("GET", path), 400, "BadRequest", message, sandbox)


def test_bad_write_options_are_422_on_the_options_kind(sandbox: SandboxHandle) -> None:
    expect(sandbox.request("POST", f"{NS}/configmaps?dryRun=Bogus",
                           {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
           422, "Invalid", 'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: '
                           '[]string{"Bogus"}: supported values: "All"', sandbox)
    assert sandbox.request("GET", f"{NS}/configmaps/c")[0] == 404
    expect(sandbox.request("DELETE", f"{NS}/configmaps/c?gracePeriodSeconds=soon"), 400,
           "BadRequest", 'strconv.ParseInt: parsing "soon": invalid syntax', sandbox)
    expect(sandbox.request("DELETE", f"{NS}/configmaps/c", {"gracePeriodSeconds": "soon"}),
           400, "BadRequest", sandbox=sandbox)
    expect(sandbox.request("DELETE", f"{NS}/configmaps/c?propagationPolicy=Sideways"), 422,
           "Invalid", sandbox=sandbox)


@pytest.fixture(scope="module")
def running_pod(sandbox: SandboxHandle) -> str:
    sandbox.kubectl("run", "target", "--image=nginx")
    sandbox.kubectl("wait", "--for=condition=Ready", "pod/target", "--timeout=60s")
    return "target"


@pytest.mark.parametrize(("query", "code", "message"), [
    ("tailLines=ten", 400, 'strconv.ParseInt: parsing "ten": invalid syntax'),
    ("sinceSeconds=1e3", 400, 'strconv.ParseInt: parsing "1e3": invalid syntax'),
    ("tailLines=-1", 422, 'PodLogOptions "target" is invalid: tailLines: Invalid value: -1: '
                          "must be greater than or equal to 0"),
    ("sinceSeconds=0", 422, 'PodLogOptions "target" is invalid: sinceSeconds: Invalid value: '
                            "0: must be greater than 0"),
])
def test_bad_log_options(sandbox: SandboxHandle, running_pod: str, query: str, code: int,
                         message: str) -> None:
    expect(sandbox.request("GET", f"{NS}/pods/{running_pod}/log?{query}"), code,
           "BadRequest" if code == 400 else "Invalid", message, sandbox)


@pytest.mark.parametrize("body", [
    {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "target"}, "target": "node"},
    {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "target"},
     "target": {"name": 7}},
    {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "target"}, "target": {}},
    ["not", "an", "object"],
], ids=["target-string", "name-number", "no-target-name", "array"])
def test_bad_binding_bodies_are_4xx(sandbox: SandboxHandle, running_pod: str,
                                    body: Any) -> None:
    status, _ = sandbox.request("POST", f"{NS}/pods/{running_pod}/binding", json.dumps(body))
    assert status in (400, 422)
    status, _ = sandbox.request("POST", f"{NS}/bindings", json.dumps(body))
    assert status in (400, 422)
    assert sandbox.request("GET", "/readyz") == (200, "ok")


@pytest.mark.parametrize("body", [
    {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "target"},
     "deleteOptions": "now"},
    {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "target"},
     "deleteOptions": {"gracePeriodSeconds": "x"}},
    {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "target"},
     "deleteOptions": {"propagationPolicy": "Sideways"}},
    "just a string",
], ids=["options-string", "grace-string", "bad-policy", "string"])
def test_bad_eviction_bodies_are_4xx(sandbox: SandboxHandle, running_pod: str,
                                     body: Any) -> None:
    status, _ = sandbox.request("POST", f"{NS}/pods/{running_pod}/eviction", json.dumps(body))
    assert status in (400, 422)
    assert sandbox.request("GET", f"{NS}/pods/{running_pod}")[0] == 200
    assert sandbox.request("GET", "/readyz") == (200, "ok")


@pytest.mark.parametrize("patch", [
    {"spec": {"template": {"spec": {"containers": [{"name": "c", "$patch": "bogus"}]}}}},
    {"spec": {"template": {"metadata": {"labels": {"$patch": "bogus"}}}}},
    {"spec": {"template": {"spec": {"containers": [{"name": "c", "$patch": "merge"}]}}}},
    {"spec": {"template": {"spec": {"containers": [{"image": "no-merge-key"}]}}}},
    {"spec": {"$retainKeys": "replicas"}},
], ids=["list-bogus", "map-bogus", "list-merge", "no-merge-key", "retainKeys"])
def test_bad_patch_directives_are_400(sandbox: SandboxHandle, patch: dict[str, Any]) -> None:
    sandbox.request("POST", DEPLOYS, deployment("patched"))
    expect(sandbox.request("PATCH", f"{DEPLOYS}/patched", patch,
                           content_type="application/strategic-merge-patch+json"),
           400, "BadRequest", sandbox=sandbox)


def test_patch_making_a_wrong_type_is_422_on_patch(sandbox: SandboxHandle) -> None:
    sandbox.request("POST", DEPLOYS, deployment("patched"))
    body = expect(sandbox.request("PATCH", f"{DEPLOYS}/patched", {"spec": {"replicas": "x"}},
                                  content_type="application/merge-patch+json"),
                  422, "Invalid", sandbox=sandbox)
    assert body["details"]["causes"][0]["field"] == "patch"
    assert body["message"].startswith(' "" is invalid: patch: Invalid value: ')
    assert body["message"].endswith(cannot_handle("string", REPLICAS, "int32").split(": ", 1)[1])
    live = sandbox.request("GET", f"{DEPLOYS}/patched")[1]
    assert live["spec"]["replicas"] == 1


SCALE_REPLICAS = "json: cannot unmarshal {} into Go struct field ScaleSpec.spec.replicas of type int32"


@pytest.mark.parametrize(("patch", "content_type", "value"), [
    ({"spec": {"replicas": 10**11}}, "application/merge-patch+json", f"number {10**11}"),
    ({"spec": {"replicas": 2**31}}, "application/strategic-merge-patch+json",
     f"number {2**31}"),
    ([{"op": "replace", "path": "/spec/replicas", "value": 2.5}], "application/json-patch+json",
     "number 2.5"),
    ({"spec": {"replicas": "x"}}, "application/merge-patch+json", "string"),
], ids=["1e11-merge", "2^31-strategic", "2.5-json", "string-merge"])
def test_a_scale_patch_making_a_wrong_type_is_422_on_patch_and_scales_nothing(
        sandbox: SandboxHandle, patch: Any, content_type: str, value: str) -> None:
    """The scale subresource decodes the patched Scale as the object's own patch decodes the
    patched object: a replica count beyond int32 never reaches the ReplicaSet controller."""
    sandbox.request("POST", DEPLOYS, deployment("scaled"))
    body = expect(sandbox.request("PATCH", f"{DEPLOYS}/scaled/scale", json.dumps(patch),
                                  content_type=content_type), 422, "Invalid", sandbox=sandbox)
    assert body["details"]["causes"][0]["field"] == "patch"
    assert body["message"].startswith(' "" is invalid: patch: Invalid value: ')
    assert body["message"].endswith(SCALE_REPLICAS.format(value))
    assert sandbox.request("GET", f"{DEPLOYS}/scaled")[1]["spec"]["replicas"] == 1


def test_kubectl_scale_to_an_absurd_count_fails_and_the_deployment_keeps_its_replicas(
        sandbox: SandboxHandle) -> None:
    sandbox.request("POST", DEPLOYS, deployment("absurd"))
    proc = sandbox.kubectl("scale", "deployment", "absurd", "--replicas=100000000000",
                           check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("The request is invalid: patch: Invalid value: ")
    assert proc.stderr.strip().endswith(SCALE_REPLICAS.format(f"number {10**11}"))
    put = {"apiVersion": "autoscaling/v1", "kind": "Scale",
           "metadata": {"name": "absurd", "namespace": "default"},
           "spec": {"replicas": 10**11}}
    expect(sandbox.request("PUT", f"{DEPLOYS}/absurd/scale", put), 400, "BadRequest",
           'Scale in version "v1" cannot be handled as a Scale: '
           + SCALE_REPLICAS.format(f"number {10**11}"), sandbox)
    sandbox.kubectl("scale", "deployment", "absurd", "--replicas=2")
    assert sandbox.request("GET", f"{DEPLOYS}/absurd")[1]["spec"]["replicas"] == 2


def test_oversized_bodies_are_413_with_upstream_status(sandbox: SandboxHandle) -> None:
    big = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"},
           "data": {"k": "x" * (3 * 1024 * 1024 + 10)}}
    for method, path in (("POST", f"{NS}/configmaps"), ("PUT", f"{NS}/configmaps/big"),
                         ("PATCH", f"{NS}/configmaps/big")):
        expect(sandbox.request(method, path, big, content_type="application/merge-patch+json"
                               if method == "PATCH" else "application/json"),
               413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728",
               sandbox)


def test_kubectl_apply_of_a_string_replicas_fails_as_on_a_cluster(
        sandbox: SandboxHandle) -> None:
    manifest = json.dumps(deployment("three", "three"))
    proc = sandbox.kubectl("apply", "-f", "-", input=manifest, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        'Error from server (BadRequest): error when creating "STDIN": '
        + cannot_handle("string", REPLICAS, "int32"))
    assert sandbox.kubectl("get", "deployment", "three", check=False).returncode == 1
    assert sandbox.request("GET", "/readyz") == (200, "ok")
