"""The four PATCH types: the bodies kubectl sends, SMP directives, apply ownership, errors.

Where the real ``kubectl`` binary is installed, ``kubectl patch --local --type strategic``
(which runs upstream's strategic merge client-side) is an oracle for our results.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kubelab.sandbox.api.patch import (
    APPLY,
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC,
    ApplyConflict,
    PatchError,
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
    fields_v1,
    parse_fields_v1,
    patch,
    server_side_apply,
    update_managed_fields,
)
from kubelab.sandbox.api.patch_keys import field_meta, table_for

NOW = "2026-11-25T12:00:00Z"
LATER = "2026-11-25T12:05:00Z"


def deployment(**spec_overrides: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"},
                     "annotations": {"deployment.kubernetes.io/revision": "3"}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{
                    "name": "nginx", "image": "nginx:1.25",
                    "ports": [{"containerPort": 80, "protocol": "TCP"}],
                    "resources": {"requests": {"cpu": "100m"}},
                }]},
            },
        },
    }
    obj["spec"].update(spec_overrides)
    return obj


def smp(obj: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    return apply_strategic_merge_patch(obj, body, api_version=obj["apiVersion"],
                                       kind=obj["kind"])


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj["spec"]["template"]["spec"] if "template" in obj["spec"] else obj["spec"]
    return spec["containers"]  # type: ignore[no-any-return]


def pod(*names: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": n, "image": f"{n}:1"} for n in names], **spec}}


# --- the exact bodies kubectl sends ------------------------------------------------------

LAST_APPLIED = json.dumps({"apiVersion": "apps/v1", "kind": "Deployment"}) + "\n"


def test_kubectl_apply_patch_updates_replicas_image_and_annotation_keeping_the_rest() -> None:
    body = {"metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration":
                                         LAST_APPLIED}},
            "spec": {"replicas": 4, "template": {"spec": {
                "$setElementOrder/containers": [{"name": "nginx"}],
                "containers": [{"image": "nginx:1.26", "name": "nginx"}]}}}}
    out = smp(deployment(), body)
    assert out["spec"]["replicas"] == 4
    assert containers(out) == [{"name": "nginx", "image": "nginx:1.26",
                                "ports": [{"containerPort": 80, "protocol": "TCP"}],
                                "resources": {"requests": {"cpu": "100m"}}}]
    assert out["metadata"]["annotations"] == {
        "deployment.kubernetes.io/revision": "3",
        "kubectl.kubernetes.io/last-applied-configuration": LAST_APPLIED}


def test_kubectl_set_image_changes_only_that_container() -> None:
    live = deployment()
    containers(live).append({"name": "sidecar", "image": "busybox"})
    body = {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "nginx"}, {"name": "sidecar"}],
        "containers": [{"image": "nginx:1.27", "name": "nginx"}]}}}}
    out = smp(live, body)
    assert [(c["name"], c["image"]) for c in containers(out)] == [
        ("nginx", "nginx:1.27"), ("sidecar", "busybox")]
    assert containers(out)[0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]


def test_kubectl_rollout_restart_adds_template_annotation() -> None:
    body = {"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": "2026-11-25T12:34:12Z"}}}}}
    out = smp(deployment(), body)
    assert out["spec"]["template"]["metadata"] == {
        "labels": {"app": "web"},
        "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-25T12:34:12Z"}}


def test_kubectl_rollout_undo_json_patch_replaces_template_and_annotations() -> None:
    live = deployment()
    containers(live)[0]["image"] = "nginx:1.26"
    body = (
        '[{"op":"replace","path":"/spec/template","value":{"metadata":{"creationTimestamp":null,'
        '"labels":{"app":"web"}},"spec":{"containers":[{"name":"nginx","image":"nginx:1.25",'
        '"ports":[{"containerPort":80}],"resources":{"requests":{"cpu":"100m"}}}]}}},'
        '{"op":"replace","path":"/metadata/annotations","value":{'
        '"deployment.kubernetes.io/revision":"4"}}]')
    out = patch(live, JSON_PATCH, body.encode(), api_version="apps/v1", kind="Deployment")
    assert containers(out)[0]["image"] == "nginx:1.25"
    assert containers(out)[0]["ports"] == [{"containerPort": 80}]
    assert out["spec"]["template"]["metadata"] == {"creationTimestamp": None,
                                                   "labels": {"app": "web"}}
    assert out["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "4"}
    assert out["spec"]["replicas"] == 3


@pytest.mark.parametrize(("body", "labels", "annotations"), [
    pytest.param({"metadata": {"labels": {"a": "b"}}}, {"app": "web", "tier": "x", "a": "b"},
                 {"note": "n"}, id="label-add"),
    pytest.param({"metadata": {"labels": {"tier": None}}}, {"app": "web"}, {"note": "n"},
                 id="label-remove-with-null"),
    pytest.param({"metadata": {"annotations": {"kubernetes.io/change-cause": "v3"}}},
                 {"app": "web", "tier": "x"},
                 {"note": "n", "kubernetes.io/change-cause": "v3"}, id="annotate"),
    pytest.param({"metadata": {"annotations": {"note": None, "absent": None}}},
                 {"app": "web", "tier": "x"}, {}, id="annotate-remove-missing-is-noop"),
])
def test_kubectl_label_and_annotate_merge_patch(body: dict[str, Any], labels: dict[str, str],
                                                annotations: dict[str, str]) -> None:
    live = {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "w1", "labels": {"app": "web", "tier": "x"},
                         "annotations": {"note": "n"}}}
    out = patch(live, MERGE_PATCH, json.dumps(body), api_version="v1", kind="Pod")
    assert out["metadata"]["labels"] == labels
    assert out["metadata"]["annotations"] == annotations


def test_kubectl_scale_merge_patch() -> None:
    scale = {"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "web"},
             "spec": {"replicas": 3}, "status": {"replicas": 3, "selector": "app=web"}}
    out = patch(scale, MERGE_PATCH + "; charset=utf-8", b'{"spec":{"replicas":5}}',
                api_version="autoscaling/v1", kind="Scale")
    assert out["spec"] == {"replicas": 5}
    assert out["status"] == scale["status"]


def test_kubectl_cordon_patches_node_spec() -> None:
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-2"},
            "spec": {"podCIDR": "10.244.2.0/24", "podCIDRs": ["10.244.2.0/24"]}}
    out = patch(node, STRATEGIC, b'{"spec":{"unschedulable":true}}', api_version="v1",
                kind="Node")
    assert out["spec"] == {"podCIDR": "10.244.2.0/24", "podCIDRs": ["10.244.2.0/24"],
                           "unschedulable": True}


# --- merge patch vs strategic merge patch ------------------------------------------------


def test_merge_patch_replaces_lists_where_strategic_merges_them() -> None:
    live = pod("a", "b")
    body = {"spec": {"containers": [{"name": "a", "image": "a:2"}]}}
    assert containers(apply_merge_patch(live, body)) == [{"name": "a", "image": "a:2"}]
    assert containers(smp(live, body)) == [{"name": "a", "image": "a:2"},
                                           {"name": "b", "image": "b:1"}]


def test_merge_patch_prunes_nulls_inside_new_objects_and_replaces_scalars() -> None:
    out = apply_merge_patch({"a": 1, "b": {"c": 1}},
                            {"a": {"x": None, "y": 2}, "b": {"c": None, "d": [None]}, "e": None})
    assert out == {"a": {"y": 2}, "b": {"d": [None]}}


# --- strategic merge patch semantics ------------------------------------------------------

SMP_CASES = [
    pytest.param(
        pod("a", "b"),
        {"spec": {"containers": [{"name": "c", "image": "c:1"}]}},
        # upstream's mergeSortedSlice puts a patch item unknown to the live list first
        lambda o: [c["name"] for c in containers(o)] == ["c", "a", "b"],
        id="new-item-merged-by-key-goes-first"),
    pytest.param(
        pod("a", "b", "c"),
        {"spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}]}},
        lambda o: [c["name"] for c in containers(o)] == ["c", "a", "b"],
        id="setElementOrder-reorders-without-patch-items"),
    pytest.param(
        pod("a", "b", "c"),
        {"spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}],
                  "containers": [{"name": "a", "image": "a:2"}]}},
        # b was before c in the live list, so it stays in front of the ordered items
        lambda o: [(c["name"], c["image"]) for c in containers(o)]
        == [("b", "b:1"), ("c", "c:1"), ("a", "a:2")],
        id="setElementOrder-with-server-only-item"),
    pytest.param(
        pod("a", "b"),
        {"spec": {"containers": [{"name": "a", "$patch": "delete"}]}},
        lambda o: [c["name"] for c in containers(o)] == ["b"],
        id="list-item-patch-delete"),
    pytest.param(
        pod("a", "b"),
        {"spec": {"containers": [{"name": "z", "image": "z:1"}, {"$patch": "replace"}]}},
        lambda o: containers(o) == [{"name": "z", "image": "z:1"}],
        id="list-patch-replace"),
    pytest.param(
        pod("a", nodeSelector={"disk": "ssd", "zone": "a"}),
        {"spec": {"nodeSelector": {"$patch": "replace", "gpu": "yes"}}},
        lambda o: o["spec"]["nodeSelector"] == {"gpu": "yes"},
        id="map-patch-replace"),
    pytest.param(
        pod("a", nodeSelector={"disk": "ssd"}),
        {"spec": {"nodeSelector": {"$patch": "delete"}}},
        lambda o: o["spec"]["nodeSelector"] == {},
        id="map-patch-delete-empties-it"),
    pytest.param(
        pod("a", tolerations=[{"key": "a", "operator": "Exists"}]),
        {"spec": {"tolerations": [{"key": "b", "operator": "Exists"}]}},
        lambda o: o["spec"]["tolerations"] == [{"key": "b", "operator": "Exists"}],
        id="tolerations-have-no-merge-key-so-replace"),
    pytest.param(
        {**pod(), "spec": {"containers": [{"name": "a", "env": [
            {"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]}]}},
        {"spec": {"containers": [{"name": "a", "env": [{"name": "Y", "value": "3"},
                                                       {"name": "X", "$patch": "delete"}]}]}},
        lambda o: containers(o)[0]["env"] == [{"name": "Y", "value": "3"}],
        id="env-merged-by-name-inside-container"),
    pytest.param(
        {**pod(), "spec": {"containers": [{"name": "a", "ports": [
            {"containerPort": 80, "protocol": "TCP"}]}]}},
        {"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80, "name": "http"},
                                                         {"containerPort": 443}]}]}},
        lambda o: containers(o)[0]["ports"] == [
            {"containerPort": 80, "protocol": "TCP", "name": "http"}, {"containerPort": 443}],
        id="container-ports-merged-by-containerPort"),
    pytest.param(
        {**pod(), "metadata": {"name": "p", "finalizers": ["a", "b"]}},
        {"metadata": {"finalizers": ["b", "c"]}},
        lambda o: o["metadata"]["finalizers"] == ["a", "b", "c"],
        id="finalizers-unioned"),
    pytest.param(
        {**pod(), "metadata": {"name": "p", "finalizers": ["a", "b", "c"]}},
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b", "zz"]}},
        lambda o: o["metadata"]["finalizers"] == ["a", "c"],
        id="deleteFromPrimitiveList"),
    pytest.param(
        {**pod(), "metadata": {"name": "p", "ownerReferences": [
            {"uid": "1", "name": "rs-a", "kind": "ReplicaSet"}]}},
        {"metadata": {"ownerReferences": [{"uid": "1", "controller": True},
                                          {"uid": "2", "name": "rs-b"}]}},
        lambda o: o["metadata"]["ownerReferences"] == [
            {"uid": "1", "name": "rs-a", "kind": "ReplicaSet", "controller": True},
            {"uid": "2", "name": "rs-b"}],
        id="ownerReferences-merged-by-uid"),
    pytest.param(
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": [
            {"port": 80, "targetPort": 8080}, {"port": 443, "targetPort": 8443}]}},
        {"spec": {"ports": [{"port": 443, "targetPort": 9443}]}},
        lambda o: o["spec"]["ports"] == [{"port": 80, "targetPort": 8080},
                                         {"port": 443, "targetPort": 9443}],
        id="service-ports-merged-by-port"),
    pytest.param(
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}, "status": {
            "conditions": [{"type": "MemoryPressure", "status": "False"},
                           {"type": "Ready", "status": "True"}]}},
        {"status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}},
        lambda o: o["status"]["conditions"] == [{"type": "MemoryPressure", "status": "False"},
                                                {"type": "Ready", "status": "Unknown"}],
        id="node-conditions-merged-by-type"),
    pytest.param(
        deployment(),
        {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}},
        lambda o: o["spec"]["strategy"] == {"type": "Recreate"},
        id="retainKeys-clears-unlisted-fields"),
    pytest.param(
        deployment(),
        {"spec": {"replicas": None, "paused": True, "template": {"metadata": {"labels": None}}}},
        lambda o: "replicas" not in o["spec"] and o["spec"]["paused"] is True
        and o["spec"]["template"]["metadata"] == {},
        id="null-deletes"),
    pytest.param(
        pod("a"),
        {"spec": {"securityContext": {"runAsUser": 1, "fsGroup": None}}},
        lambda o: o["spec"]["securityContext"] == {"runAsUser": 1},
        id="nulls-dropped-from-new-maps"),
]


@pytest.mark.parametrize(("live", "body", "check"), SMP_CASES)
def test_strategic_merge_patch(live: dict[str, Any], body: dict[str, Any], check: Any) -> None:
    before, body_before = copy.deepcopy(live), copy.deepcopy(body)
    out = smp(live, body)
    assert check(out), json.dumps(out)
    assert live == before and body == body_before, "inputs must not be mutated"


SMP_ERRORS = [
    pytest.param({"spec": {"containers": [{"name": "a", "$patch": "merge"}]}}, 500,
                 "merging lists cannot yet be specified in the patch", id="list-patch-merge"),
    pytest.param({"spec": {"nodeSelector": {"$patch": "bogus"}}}, 500,
                 "unknown patch type: bogus in map: map[$patch:bogus]", id="unknown-map-patch"),
    pytest.param({"spec": {"containers": [{"name": "a", "$patch": "bogus"}]}}, 500,
                 "unknown patch type: bogus in map: map[$patch:bogus name:a]",
                 id="unknown-list-patch"),
    pytest.param({"spec": {"containers": [{"image": "x"}]}}, 500,
                 "map: map[image:x] does not contain declared merge key: name",
                 id="item-without-merge-key"),
    pytest.param({"spec": {"$retainKeys": "containers"}}, 400,
                 "invalid patch format of retainKeys", id="retainKeys-not-a-list"),
    pytest.param({"spec": {"$retainKeys": ["containers"], "nodeName": "n"}}, 400,
                 "invalid patch format of retainKeys", id="patch-key-not-retained"),
    pytest.param({"metadata": {"$deleteFromPrimitiveList": ["a"]}}, 400,
                 "invalid patch format of primitive list", id="deleteFromPrimitiveList-no-field"),
    pytest.param({"spec": {"$setElementOrder/containers": [{"name": "a"}],
                           "containers": [{"name": "b", "image": "b:2"}]}}, 500,
                 "The order in patch list:\n[map[image:b:2 name:b]]\n doesn't match "
                 "$setElementOrder list:\n[map[name:a]]\n", id="setElementOrder-mismatch"),
    pytest.param({"metadata": {"finalizers": [["x"]]}}, 500,
                 "list element types are not identical: [[a] [[x]]]", id="mixed-item-types"),
]


@pytest.mark.parametrize(("body", "code", "message"), SMP_ERRORS)
def test_strategic_merge_patch_errors(body: dict[str, Any], code: int, message: str) -> None:
    live = {**pod("a", nodeSelector={"disk": "ssd"}),
            "metadata": {"name": "p", "finalizers": ["a"]}}
    with pytest.raises(PatchError) as err:
        smp(live, body)
    assert (err.value.code, err.value.message) == (code, message)


def test_strategic_merge_patch_rejects_lists_of_lists() -> None:
    live = {**pod("a"), "metadata": {"name": "p", "finalizers": [["a"]]}}
    with pytest.raises(PatchError) as err:
        smp(live, {"metadata": {"finalizers": [["b"]]}})
    assert (err.value.code, err.value.message) == (422, "lists of lists are not supported")


# --- JSON patch -------------------------------------------------------------------------

def test_json_patch_ops() -> None:
    live = deployment()
    out = apply_json_patch(live, [
        {"op": "test", "path": "/spec/replicas", "value": 3},
        {"op": "replace", "path": "/spec/replicas", "value": 5},
        {"op": "add", "path": "/metadata/labels/tier", "value": "web"},
        {"op": "remove", "path": "/metadata/annotations"},
        {"op": "copy", "from": "/metadata/labels", "path": "/spec/template/metadata/labels"},
        {"op": "move", "from": "/spec/strategy", "path": "/spec/oldStrategy"},
    ])
    assert out["spec"]["replicas"] == 5
    assert out["metadata"]["labels"] == {"app": "web", "tier": "web"}
    assert "annotations" not in out["metadata"] and "strategy" not in out["spec"]
    assert out["spec"]["template"]["metadata"]["labels"] == {"app": "web", "tier": "web"}
    assert out["spec"]["oldStrategy"]["type"] == "RollingUpdate"
    assert live == deployment()


JSON_PATCH_ERRORS = [
    pytest.param([{"op": "test", "path": "/spec/replicas", "value": 4}], 422,
                 "testing value /spec/replicas failed: test failed", id="test-op-fails"),
    pytest.param([{"op": "remove", "path": "/metadata/labels/nope"}], 422,
                 "error in remove for path: '/metadata/labels/nope': Unable to remove "
                 "nonexistent key: nope: missing value", id="remove-missing-key"),
    pytest.param([{"op": "replace", "path": "/spec/nope", "value": 1}], 422,
                 "replace operation does not apply: doc is missing key: /spec/nope: "
                 "missing value", id="replace-missing-key"),
    pytest.param([{"op": "add", "path": "/spec/nope/x", "value": 1}], 422,
                 'add operation does not apply: doc is missing path: "/spec/nope/x": '
                 "missing value", id="add-under-missing-parent"),
    pytest.param([{"op": "frobnicate", "path": "/spec"}], 422, "Unexpected kind: frobnicate",
                 id="unknown-op"),
    pytest.param({"op": "add"}, 400,
                 "json: cannot unmarshal object into Go value of type jsonpatch.Patch",
                 id="body-not-a-list"),
]


@pytest.mark.parametrize(("ops", "code", "message"), JSON_PATCH_ERRORS)
def test_json_patch_errors(ops: Any, code: int, message: str) -> None:
    with pytest.raises(PatchError) as err:
        apply_json_patch(deployment(), ops)
    assert (err.value.code, err.value.message) == (code, message)


def test_json_patch_failure_is_reported_as_the_apiserver_does() -> None:
    with pytest.raises(PatchError) as err:
        apply_json_patch(deployment(), [{"op": "test", "path": "/spec/replicas", "value": 9}])
    status = err.value.api_error().status()
    assert (status["code"], status["reason"], status["message"]) == (
        422, "Invalid", "the server rejected our request due to an error in our request")


# --- body parsing and dispatch ----------------------------------------------------------

@pytest.mark.parametrize(("content_type", "body", "code", "message"), [
    pytest.param(STRATEGIC, b'{"spec":', 400, "invalid JSON patch", id="smp-bad-json"),
    pytest.param(MERGE_PATCH, b"{'a': 1}", 400, "invalid JSON patch", id="merge-bad-json"),
    pytest.param(JSON_PATCH, b"\xff", 400, "invalid JSON patch", id="json-patch-not-utf8"),
    pytest.param(STRATEGIC, b"[1]", 400,
                 "json: cannot unmarshal array into Go value of type map[string]interface {}",
                 id="smp-body-not-an-object"),
    pytest.param(MERGE_PATCH, b"null", 400, "Invalid JSON Patch", id="merge-null"),
    pytest.param(APPLY, b"a: [", 400, None, id="apply-bad-yaml"),
    pytest.param("application/json", b"{}", 415,
                 "the body of the request was in an unknown format - accepted media types "
                 "include: application/json-patch+json, application/merge-patch+json, "
                 "application/strategic-merge-patch+json, application/apply-patch+yaml",
                 id="unsupported-content-type"),
])
def test_patch_rejects_malformed_bodies(content_type: str, body: bytes, code: int,
                                        message: str | None) -> None:
    with pytest.raises(PatchError) as err:
        patch(deployment(), content_type, body, api_version="apps/v1", kind="Deployment",
              manager="kubectl", now=NOW)
    assert err.value.code == code
    if message is None:
        assert err.value.message.startswith("error encoding patch: ")
    else:
        assert err.value.message == message


def test_patch_dispatches_strategic_with_the_kinds_merge_keys() -> None:
    out = patch(pod("a", "b"), STRATEGIC, '{"spec":{"containers":[{"name":"b","image":"b:2"}]}}',
                api_version="v1", kind="Pod")
    assert [(c["name"], c["image"]) for c in containers(out)] == [("a", "a:1"), ("b", "b:2")]


# --- server-side apply ---------------------------------------------------------------------

SSA_BODY = ('{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"labels":{"app":"web"},'
            '"name":"web","namespace":"default"},"spec":{"replicas":3,"selector":{"matchLabels":'
            '{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":'
            '[{"image":"nginx:1.25","name":"nginx","ports":[{"containerPort":80}],"resources":'
            '{"requests":{"cpu":"100m"}}}]}}}}')


def ssa(live: dict[str, Any] | None, applied: dict[str, Any], manager: str = "kubectl",
        force: bool = False, now: str = NOW) -> dict[str, Any]:
    return server_side_apply(live, applied, manager=manager, api_version="apps/v1",
                             kind="Deployment", force=force, now=now)


def managers(obj: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(m["manager"], m["operation"]): m for m in obj["metadata"]["managedFields"]}


def test_apply_creates_and_records_managed_fields() -> None:
    out = patch({}, APPLY, SSA_BODY, api_version="apps/v1", kind="Deployment",
                manager="kubectl", now=NOW, exists=False)
    assert out["spec"]["replicas"] == 3 and containers(out)[0]["image"] == "nginx:1.25"
    entry = managers(out)[("kubectl", "Apply")]
    assert {k: v for k, v in entry.items() if k != "fieldsV1"} == {
        "manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1", "time": NOW,
        "fieldsType": "FieldsV1"}
    fields = entry["fieldsV1"]
    assert fields["f:metadata"] == {"f:labels": {"f:app": {}}}
    assert fields["f:spec"]["f:replicas"] == {}
    container = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"nginx"}']
    assert container["."] == {} and container["f:image"] == {}
    assert container["f:ports"] == {'k:{"containerPort":80,"protocol":"TCP"}': {
        ".": {}, "f:containerPort": {}}}


def test_reapply_removes_fields_the_manager_no_longer_applies() -> None:
    first = copy.deepcopy(json.loads(SSA_BODY))
    first["metadata"]["labels"]["tier"] = "front"
    containers(first).append({"name": "sidecar", "image": "busybox"})
    live = ssa(None, first)
    # another writer adds its own label
    labelled = copy.deepcopy(live)
    labelled["metadata"]["labels"]["owner"] = "ops"
    live = update_managed_fields(live, labelled, manager="kubectl-label", api_version="apps/v1",
                                 kind="Deployment", now=NOW)
    out = ssa(live, json.loads(SSA_BODY), now=LATER)
    assert out["metadata"]["labels"] == {"app": "web", "owner": "ops"}
    assert [c["name"] for c in containers(out)] == ["nginx"]
    assert managers(out)[("kubectl", "Apply")]["time"] == LATER
    assert managers(out)[("kubectl-label", "Update")]["fieldsV1"] == {
        "f:metadata": {"f:labels": {"f:owner": {}}}}


def client_side_created() -> dict[str, Any]:
    created = json.loads(SSA_BODY)
    return update_managed_fields(None, created, manager="kubectl-client-side-apply",
                                 api_version="apps/v1", kind="Deployment", now=NOW)


def test_apply_conflicts_with_another_managers_different_value() -> None:
    applied = json.loads(SSA_BODY)
    applied["spec"]["replicas"] = 5
    with pytest.raises(ApplyConflict) as err:
        ssa(client_side_created(), applied)
    assert err.value.conflicts == [(".spec.replicas", "kubectl-client-side-apply")]
    status = err.value.api_error().status()
    assert status["code"] == 409 and status["reason"] == "Conflict"
    assert status["message"] == ('Apply failed with 1 conflict: conflict with '
                                 '"kubectl-client-side-apply" using apps/v1: .spec.replicas')
    assert status["details"]["causes"] == [{
        "reason": "FieldManagerConflict",
        "message": 'conflict with "kubectl-client-side-apply" using apps/v1',
        "field": ".spec.replicas"}]


def test_apply_conflict_paths_name_list_items_by_key() -> None:
    applied = json.loads(SSA_BODY)
    applied["spec"]["replicas"] = 5
    containers(applied)[0]["image"] = "nginx:1.27"
    with pytest.raises(ApplyConflict) as err:
        ssa(client_side_created(), applied)
    assert sorted(err.value.conflicts) == [
        (".spec.replicas", "kubectl-client-side-apply"),
        ('.spec.template.spec.containers[name="nginx"].image', "kubectl-client-side-apply")]
    assert err.value.message.startswith("Apply failed with 2 conflicts: conflicts with "
                                        '"kubectl-client-side-apply" using apps/v1:\n- ')


def test_apply_with_same_value_shares_ownership_without_conflict() -> None:
    out = ssa(client_side_created(), json.loads(SSA_BODY))
    both = managers(out)
    assert both[("kubectl", "Apply")]["fieldsV1"]["f:spec"]["f:replicas"] == {}
    assert both[("kubectl-client-side-apply", "Update")]["fieldsV1"]["f:spec"]["f:replicas"] == {}


def test_forced_apply_takes_ownership() -> None:
    applied = json.loads(SSA_BODY)
    applied["spec"]["replicas"] = 5
    out = ssa(client_side_created(), applied, force=True)
    assert out["spec"]["replicas"] == 5
    other = managers(out)[("kubectl-client-side-apply", "Update")]["fieldsV1"]
    assert "f:replicas" not in other["f:spec"] and "f:selector" in other["f:spec"]


def test_apply_requires_a_field_manager() -> None:
    with pytest.raises(PatchError) as err:
        patch({}, APPLY, SSA_BODY, api_version="apps/v1", kind="Deployment", exists=False)
    assert err.value.code == 422


def test_apply_yaml_keeps_timestamps_as_strings() -> None:
    body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  when: 2024-01-01\n"
    out = patch({}, APPLY, body, api_version="v1", kind="ConfigMap", manager="m", now=NOW,
                exists=False)
    assert out["data"] == {"when": "2024-01-01"}


def test_update_managed_fields_moves_changed_fields_to_the_writer() -> None:
    live = client_side_created()
    scaled = copy.deepcopy(live)
    scaled["spec"]["replicas"] = 7
    out = update_managed_fields(live, scaled, manager="kubectl-scale", api_version="apps/v1",
                                kind="Deployment", now=LATER)
    both = managers(out)
    assert both[("kubectl-scale", "Update")]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in both[("kubectl-client-side-apply", "Update")]["fieldsV1"]["f:spec"]
    assert [m["manager"] for m in out["metadata"]["managedFields"]] == [
        "kubectl-client-side-apply", "kubectl-scale"]


def test_fields_v1_round_trip() -> None:
    tree = {"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {"f:containers": {'k:{"name":"a"}': {".": {}, "f:image": {}}}}}
    assert fields_v1(parse_fields_v1(tree)) == tree


def test_merge_key_table_facts() -> None:
    deploy = table_for("apps/v1", "Deployment")
    assert field_meta(deploy, "spec.template.spec.containers").merge_key == "name"
    assert field_meta(deploy, "spec.template.spec.containers[].volumeMounts").merge_key == (
        "mountPath")
    assert field_meta(deploy, "metadata.finalizers").list_type == "set"
    assert field_meta(deploy, "spec.template.spec.tolerations").list_type == "atomic"
    assert field_meta(table_for("v1", "Service"), "spec.ports").ssa_keys == ("port", "protocol")
    assert field_meta(table_for("v1", "ConfigMap"), "metadata.ownerReferences").merge_key == "uid"


# --- kubectl as an oracle -------------------------------------------------------------------

KUBECTL = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")

ORACLE_CASES = [pytest.param(case.values[0], case.values[1], id=case.id) for case in SMP_CASES] + [
    pytest.param(
        {**pod("a", "b"), "metadata": {"name": "p", "finalizers": ["a", "b"]}},
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "finalizers": ["c"]},
         "spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "c"}, {"name": "a"}],
                  "containers": [{"name": "c", "image": "z"}, {"name": "a", "image": "a:9"}]}},
        id="mixed-directives"),
]


@pytest.mark.skipif(KUBECTL is None, reason="kubectl binary not installed")
@pytest.mark.parametrize(("live", "body"), ORACLE_CASES)
def test_strategic_merge_patch_matches_kubectl(live: dict[str, Any], body: dict[str, Any],
                                               tmp_path: Path) -> None:
    assert KUBECTL is not None
    source = tmp_path / "obj.json"
    source.write_text(json.dumps(live))
    run = subprocess.run(
        [KUBECTL, "patch", "--local", "-f", str(source), "--type", "strategic",
         "-p", json.dumps(body), "-o", "json"],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "KUBECONFIG": os.devnull}, check=False)
    assert run.returncode == 0, run.stderr
    assert smp(live, body) == json.loads(run.stdout)


def test_untyped_strategic_merge_errors_answer_400_not_500() -> None:
    """Upstream passes e.g. an unknown ``$patch`` through as a 500; the sandbox keeps the
    text and answers 400 BadRequest: a bad patch is the client's error, never a crash."""
    live = {**pod("a"), "metadata": {"name": "p"}}
    with pytest.raises(PatchError) as err:
        smp(live, {"spec": {"containers": [{"name": "a", "$patch": "bogus"}]}})
    status = err.value.api_error().status()
    assert (status["code"], status["reason"]) == (400, "BadRequest")
    assert status["message"] == "unknown patch type: bogus in map: map[$patch:bogus name:a]"
