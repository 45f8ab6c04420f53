"""Strict field validation: unknown and duplicate fields, reported the way kube-apiserver does."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from kubernetes.client import models
from pydantic import ValidationError

from kubelab.sandbox.api import fieldcheck, kinds
from kubelab.sandbox.api.fieldcheck import (
    duplicate_fields,
    strict_decoding_error,
    strict_error_message,
    unknown_fields,
    warning_texts,
)


def deployment() -> dict[str, Any]:
    """A realistic manifest touching maps, lists, int-or-string, quantities and probes."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web", "namespace": "default", "labels": {"app": "web"},
            "annotations": {"kubernetes.io/change-cause": "v2"},
            "managedFields": [{"manager": "kubectl", "operation": "Update",
                               "fieldsV1": {"f:spec": {"f:replicas": {}, "f:anything": {}}}}],
        },
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{
                        "name": "web", "image": "nginx:1.27",
                        "ports": [{"containerPort": 80, "protocol": "TCP"}],
                        "env": [{"name": "MODE", "value": "prod"}],
                        "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}},
                        "readinessProbe": {"httpGet": {"path": "/", "port": "http"},
                                           "periodSeconds": 5},
                    }],
                    "volumes": [{"name": "data", "emptyDir": {"sizeLimit": "1Gi"}}],
                },
            },
        },
        "status": {"replicas": 3, "conditions": [{"type": "Available", "status": "True"}]},
    }


def _pydantic_extras(model: type, obj: dict[str, Any]) -> list[str]:
    """An independent oracle: the paths pydantic reports as ``extra_forbidden``."""
    try:
        model.model_validate(obj)  # type: ignore[attr-defined]
    except ValidationError as exc:
        out = []
        for err in exc.errors():
            if err["type"] != "extra_forbidden":
                continue
            path = ""
            for part in err["loc"]:
                path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
            out.append(path)
        return out
    return []


def test_valid_manifest_has_no_unknown_fields() -> None:
    assert unknown_fields("apps/v1", "Deployment", deployment()) == []


def test_misspelt_fields_are_reported_with_dotted_paths_and_indexes() -> None:
    obj = deployment()
    obj["spec"]["replcias"] = 2
    obj["spec"]["template"]["spec"]["containers"][0]["imagee"] = "x"
    obj["spec"]["template"]["spec"]["containers"][0]["env"][0]["valeu"] = "y"
    # Document order: ``replcias`` was added after ``template``, ``imagee`` after ``env``.
    assert unknown_fields("apps/v1", "Deployment", obj) == [
        "spec.template.spec.containers[0].env[0].valeu",
        "spec.template.spec.containers[0].imagee",
        "spec.replcias",
    ]


def test_order_follows_the_document() -> None:
    first = {"spec": {"zzz": 1, "selector": {}, "aaa": 2}, "bogus": True}
    assert unknown_fields("apps/v1", "Deployment", first) == ["spec.zzz", "spec.aaa", "bogus"]
    second = {"bogus": True, "spec": {"aaa": 2, "zzz": 1}}
    assert unknown_fields("apps/v1", "Deployment", second) == ["bogus", "spec.aaa", "spec.zzz"]


def test_agrees_with_the_client_models_extra_forbidden() -> None:
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["resources"]["limitz"] = {}
    obj["spec"]["strategy"]["rollingUpdate"]["maxSurg"] = 1
    obj["metadata"]["labelz"] = {}
    obj["spec"]["template"]["spec"]["volumes"][0]["emptyDir"]["medium2"] = ""
    ours = unknown_fields("apps/v1", "Deployment", obj)
    assert len(ours) == 4
    assert sorted(ours) == sorted(_pydantic_extras(models.V1Deployment, obj))


def test_python_attribute_names_are_unknown_on_the_wire() -> None:
    # The client models accept ``min_ready_seconds`` as well; the API server does not.
    obj = {"spec": {"min_ready_seconds": 5, "minReadySeconds": 5}}
    assert unknown_fields("apps/v1", "Deployment", obj) == ["spec.min_ready_seconds"]


def test_field_names_are_case_sensitive() -> None:
    assert unknown_fields("v1", "Pod", {"Spec": {}}) == ["Spec"]


def test_status_is_checked_like_upstream_and_fields_v1_is_opaque() -> None:
    obj = deployment()
    obj["status"]["readyReplicaz"] = 1
    assert unknown_fields("apps/v1", "Deployment", obj) == ["status.readyReplicaz"]


def test_free_form_maps_accept_any_key() -> None:
    obj = {"metadata": {"labels": {"anything": "x"}}, "data": {"any.key": "v"}}
    assert unknown_fields("v1", "ConfigMap", obj) == []


def test_wrong_types_are_not_strict_errors_and_do_not_crash() -> None:
    obj = {"spec": {"replicas": "three", "selector": "app=web", "template": [],
                    "strategy": None}}
    assert unknown_fields("apps/v1", "Deployment", obj) == []
    obj2 = {"spec": {"containers": {"name": "x"}, "volumes": ["x", None]}}
    assert unknown_fields("v1", "Pod", obj2) == []


@pytest.mark.parametrize("info", [k for k in kinds.KINDS if k.model], ids=lambda k: k.kind)
def test_every_served_kind_is_checked(info: kinds.KindInfo) -> None:
    obj = {"apiVersion": info.api_version, "kind": info.kind, "metadata": {"name": "x"},
           "notAField": 1}
    assert unknown_fields(info.api_version, info.kind, obj) == ["notAField"]


def test_subresource_kinds_are_known() -> None:
    assert unknown_fields("autoscaling/v1", "Scale", {"spec": {"replicas": 1, "x": 2}}) == [
        "spec.x"]
    assert unknown_fields("policy/v1", "Eviction", {"deleteOptions": {"dryRun": []},
                                                    "y": 1}) == ["y"]


def test_unknown_kind_raises() -> None:
    with pytest.raises(KeyError):
        unknown_fields("example.com/v1", "Widget", {})


def test_strict_error_message_matches_apiserver_wording() -> None:
    assert strict_error_message("apps/v1", "Deployment", ["spec.replcias"]) == (
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
        'unknown field "spec.replcias"')
    assert strict_error_message("v1", "Pod", ["a", "spec.b"], ["metadata.name"]) == (
        'Pod in version "v1" cannot be handled as a Pod: strict decoding error: '
        'unknown field "a", unknown field "spec.b", duplicate field "metadata.name"')
    assert strict_decoding_error(["x"]) == 'strict decoding error: unknown field "x"'


def test_warning_texts() -> None:
    assert warning_texts(["spec.replcias"], ["spec.replicas"]) == [
        'unknown field "spec.replcias"', 'duplicate field "spec.replicas"']


def test_duplicate_fields_in_json_bodies() -> None:
    body = ('{"metadata": {"name": "a", "name": "b", "labels": {"x": "1", "x": "2"}},'
            ' "spec": {"replicas": 1, "replicas": 2, "typo": 1, "typo": 2,'
            ' "template": {"spec": {"containers": [{"name": "c", "image": "i", "image": "j"}]}}}}')
    assert duplicate_fields("apps/v1", "Deployment", body) == [
        "metadata.name", "metadata.labels.x", "spec.replicas",
        "spec.template.spec.containers[0].image"]
    assert duplicate_fields("apps/v1", "Deployment", b'{"spec": {"replicas": 1}}') == []


def test_duplicate_fields_rejects_non_json() -> None:
    with pytest.raises(ValueError):
        duplicate_fields("v1", "Pod", "spec: {}")


def test_input_is_not_modified() -> None:
    obj = deployment()
    obj["spec"]["oops"] = 1
    before = copy.deepcopy(obj)
    fieldcheck.unknown_fields("apps/v1", "Deployment", obj)
    assert obj == before
