"""``deep_copy_json``: a copy that shares nothing mutable with the original, as
``copy.deepcopy`` makes it, for the JSON objects the sandbox stores and writes."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field

from kubelab.apimachinery.types import deep_copy_json
from kubelab.sandbox.api.decode import JsonFloat, loads


def _mutables(value: object) -> list[int]:
    """The ids of every dict and list inside ``value``."""
    if isinstance(value, dict):
        return [id(value), *(i for v in value.values() for i in _mutables(v))]
    if isinstance(value, list):
        return [id(value), *(i for v in value for i in _mutables(v))]
    return []


POD = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web", "labels": {"app": "web"}, "ownerReferences": [
        {"kind": "ReplicaSet", "name": "web-1", "controller": True}]},
    "spec": {"containers": [{"name": "web", "image": "nginx", "ports": [{"containerPort": 80}],
                             "resources": {"limits": {"cpu": 0.5}}}],
             "terminationGracePeriodSeconds": 30, "nodeName": None},
    "status": {"conditions": [{"type": "Ready", "status": "True"}] * 2},
}


def test_the_copy_equals_the_original_and_shares_no_dict_or_list() -> None:
    copied = deep_copy_json(POD)
    assert copied == POD == copy.deepcopy(POD)
    assert json.dumps(copied) == json.dumps(POD)
    assert not set(_mutables(copied)) & set(_mutables(POD))
    copied["status"]["conditions"][1]["status"] = "False"  # the original's list aliased one
    copied["spec"]["containers"][0]["ports"].append({"containerPort": 443})
    assert POD["status"]["conditions"][1]["status"] == "True"
    assert POD["spec"]["containers"][0]["ports"] == [{"containerPort": 80}]


def test_values_that_are_not_json_are_still_copied_independently() -> None:
    @dataclass
    class Box:
        items: list[int] = field(default_factory=list)

    body = loads(b'{"spec": {"ratio": 1.50, "set": [1]}}')
    ratio = body["spec"]["ratio"]
    assert isinstance(ratio, JsonFloat)
    value = {"decoded": body, "box": Box([1]), "pair": (1, [2])}
    copied = deep_copy_json(value)
    assert copied == value
    assert str(copied["decoded"]["spec"]["ratio"]) == "1.50"   # the literal is kept
    copied["box"].items.append(2)
    copied["pair"][1].append(3)
    assert value["box"].items == [1] and value["pair"] == (1, [2])
