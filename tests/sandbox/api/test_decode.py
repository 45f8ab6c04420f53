"""Typed decoding of bodies (Go's JSON decoder) and typed query parameters."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import pytest

from kubelab.apimachinery import quantity
from kubelab.sandbox.api import decode, params
from kubelab.sandbox.api.errors import ApiError

DEPLOY_SPEC = "Go struct field DeploymentSpec.spec.replicas of type int32"


@pytest.mark.parametrize(("body", "error"), [
    ('{"spec":{"replicas":"three"}}', f"json: cannot unmarshal string into {DEPLOY_SPEC}"),
    ('{"spec":{"replicas":2.5}}', f"json: cannot unmarshal number 2.5 into {DEPLOY_SPEC}"),
    ('{"spec":{"replicas":2.0}}', f"json: cannot unmarshal number 2.0 into {DEPLOY_SPEC}"),
    ('{"spec":{"replicas":1e400}}', f"json: cannot unmarshal number 1e400 into {DEPLOY_SPEC}"),
    ('{"spec":{"replicas":2147483648}}',
     f"json: cannot unmarshal number 2147483648 into {DEPLOY_SPEC}"),
    ('{"spec":{"replicas":-2147483649}}',
     f"json: cannot unmarshal number -2147483649 into {DEPLOY_SPEC}"),
    ('{"spec":{"replicas":' + "9" * 40 + "}}",
     f"json: cannot unmarshal number {'9' * 40} into {DEPLOY_SPEC}"),
    ('{"spec":{"replicas":true}}', f"json: cannot unmarshal bool into {DEPLOY_SPEC}"),
    ('{"spec":"x"}', "json: cannot unmarshal string into Go struct field Deployment.spec of "
                     "type v1.DeploymentSpec"),
    ('{"metadata":{"name":5}}', "json: cannot unmarshal number into Go struct field "
                                "ObjectMeta.metadata.name of type string"),
    ('{"metadata":{"labels":["a"]}}', "json: cannot unmarshal array into Go struct field "
                                      "ObjectMeta.metadata.labels of type map[string]string"),
    ('{"spec":{"template":{"spec":{"containers":{"name":"a"}}}}}',
     "json: cannot unmarshal object into Go struct field PodSpec.spec.template.spec.containers "
     "of type []v1.Container"),
    ('{"spec":{"template":{"spec":{"containers":[{"name":"a","ports":[{"containerPort":"80"}]}]'
     '}}}}', "json: cannot unmarshal string into Go struct field "
             "ContainerPort.spec.template.spec.containers.ports.containerPort of type int32"),
])
def test_type_errors_use_go_decoder_wording(body: str, error: str) -> None:
    assert decode.type_error("V1Deployment", decode.loads(body)) == error


def test_int64_fields_take_int64_values() -> None:
    pod = {"spec": {"terminationGracePeriodSeconds": 2**40, "containers": []}}
    assert decode.type_error("V1Pod", pod) is None
    pod["spec"]["terminationGracePeriodSeconds"] = 2**63
    assert decode.type_error("V1Pod", pod) == (
        f"json: cannot unmarshal number {2**63} into Go struct field "
        "PodSpec.spec.terminationGracePeriodSeconds of type int64")


def test_a_valid_object_has_no_type_error() -> None:
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": "web", "labels": {"app": "web"}},
              "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                       "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                           "containers": [{"name": "c", "image": "nginx",
                                           "resources": {"limits": {"cpu": 1, "memory": "1Gi"}},
                                           "ports": [{"containerPort": 80}],
                                           "livenessProbe": {"httpGet": {"port": "http"}}}]}}}}
    assert decode.type_error("V1Deployment", deploy) is None


def test_quantities_and_int_or_string() -> None:
    quota = {"spec": {"hard": {"pods": "lots"}}}
    assert decode.type_error("V1ResourceQuota", quota) == quantity.FORMAT_ERROR
    quota = {"spec": {"hard": {"pods": ["1"]}}}
    assert decode.type_error("V1ResourceQuota", quota) == quantity.FORMAT_ERROR
    probe = {"spec": {"containers": [{"name": "c", "livenessProbe": {"httpGet": {"port": 8.5}}}]}}
    assert decode.type_error("V1Pod", decode.loads(json.dumps(probe))) == (
        "json: cannot unmarshal number 8.5 into Go value of type int32")


def test_huge_quantities_are_capped_at_int64_like_upstream_and_fast() -> None:
    start = time.monotonic()
    assert quantity.canonicalize("1e999999") == str(2**63 - 1)
    assert quantity.canonicalize("-1e999999") == str(-(2**63 - 1))
    assert quantity.canonicalize("1" * 200_000) == str(2**63 - 1)
    assert quantity.canonicalize("1e-999999") == "1e-9"
    assert quantity.canonicalize("16Ei") == str(2**63 - 1)
    assert quantity.canonicalize("7Ei") == "7Ei"
    assert time.monotonic() - start < 1.0


@pytest.mark.parametrize("text", ['{"a":NaN}', '{"a":Infinity}', '{"a":-Infinity}'])
def test_json_constants_are_syntax_errors(text: str) -> None:
    with pytest.raises(decode.DecodeError, match="invalid character"):
        decode.loads(text)


@pytest.mark.parametrize("depth", [decode.MAX_DEPTH + 1, 5_000, 200_000])
def test_deep_nesting_is_a_decode_error_not_a_recursion_error(depth: int) -> None:
    with pytest.raises(decode.DecodeError, match="exceeded max depth"):
        decode.loads("[" * depth + "]" * depth)
    nested: Any = {}
    for _ in range(depth):
        nested = {"a": nested}
    with pytest.raises(decode.DecodeError):
        decode.check_depth(nested)


def test_number_literals_survive_copy_and_serialisation() -> None:
    value = decode.loads('{"a":[1.5,2.0,1e400]}')
    copied = copy.deepcopy(value)
    assert [repr(v) for v in copied["a"]] == ["1.5", "2.0", "1e400"]
    assert json.loads(json.dumps(value)) == {"a": [1.5, 2.0, 0.0]}


@pytest.mark.parametrize(("text", "message"), [
    ("abc", 'strconv.ParseInt: parsing "abc": invalid syntax'),
    ("nan", 'strconv.ParseInt: parsing "nan": invalid syntax'),
    ("1.5", 'strconv.ParseInt: parsing "1.5": invalid syntax'),
    ("", 'strconv.ParseInt: parsing "": invalid syntax'),
    ("9" * 30, f'strconv.ParseInt: parsing "{"9" * 30}": value out of range'),
])
def test_integer_query_parameters_use_strconv_wording(text: str, message: str) -> None:
    with pytest.raises(ApiError) as err:
        params.int_param({"limit": text}, "limit")
    assert (err.value.code, err.value.reason, err.value.message) == (400, "BadRequest", message)
    assert params.int_param({"limit": "-7"}, "limit") == -7
    assert params.int_param({}, "limit") is None


def test_booleans_are_true_unless_0_or_false() -> None:
    assert [params.bool_param({"w": v}, "w") for v in ("true", "1", "yes", "0", "FALSE")] == \
        [True, True, True, False, False]


def test_dry_run_and_propagation_are_validated_on_the_options_kind() -> None:
    with pytest.raises(ApiError) as err:
        params.check_write_options("POST", ["Bogus"], None)
    assert err.value.code == 422
    assert err.value.message == ('CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported '
                                 'value: []string{"Bogus"}: supported values: "All"')
    with pytest.raises(ApiError) as err:
        params.check_propagation("Sideways")
    assert err.value.message.startswith(
        'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: '
        '"Sideways"')
    params.check_write_options("PATCH", ["All"], "Strict")
    params.check_propagation("Foreground")
