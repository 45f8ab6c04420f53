"""``pods/<name>/ephemeralcontainers``: only that list changes, validated as upstream's
``ValidatePodEphemeralContainersUpdate`` (messages as kube-apiserver words them)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.errors import ApiError
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.storage import Registry

PODS = kinds.core("pods")
DEBUGGER = {"name": "debugger", "image": "busybox", "stdin": True, "tty": True,
            "resources": {}, "terminationMessagePolicy": "File"}


def _registry() -> Registry:
    reg = Registry(ManualClock(), None, seed=1)
    reg.create(kinds.core("namespaces"), {"metadata": {"name": "default"}})
    reg.create(PODS, {"metadata": {"name": "web", "labels": {"app": "web"}},
                      "spec": {"containers": [{"name": "web", "image": "nginx"}],
                               "initContainers": [{"name": "setup", "image": "busybox"}]}},
               namespace="default")
    return reg


def _with(reg: Registry, *containers: dict[str, Any], **changes: Any) -> dict[str, Any]:
    pod = copy.deepcopy(reg.peek(PODS, "default", "web"))
    assert pod is not None
    pod["spec"]["ephemeralContainers"] = [copy.deepcopy(c) for c in containers]
    pod.update(changes)
    return pod


def _refused(reg: Registry, pod: dict[str, Any]) -> str:
    with pytest.raises(ApiError) as err:
        reg.update(PODS, pod, namespace="default", subresource="ephemeralcontainers")
    assert (err.value.code, err.value.reason) == (422, "Invalid")
    return err.value.message


def test_only_the_ephemeral_containers_change_and_they_are_defaulted() -> None:
    reg = _registry()
    before = reg.peek(PODS, "default", "web")
    assert before is not None
    pod = _with(reg, DEBUGGER, metadata={**before["metadata"], "labels": {"app": "other"}})
    pod["spec"]["containers"][0]["image"] = "nginx:1.27"
    after = reg.update(PODS, pod, namespace="default", subresource="ephemeralcontainers")
    assert after["metadata"]["labels"] == {"app": "web"}
    assert after["spec"]["containers"] == before["spec"]["containers"]
    assert after["metadata"]["generation"] == before["metadata"].get("generation", 1) + 1
    assert after["spec"]["ephemeralContainers"] == [{
        **DEBUGGER, "imagePullPolicy": "Always", "terminationMessagePath": "/dev/termination-log"}]
    # Nothing to change: the same object, same resourceVersion.
    again = reg.update(PODS, after, namespace="default", subresource="ephemeralcontainers")
    assert again["metadata"]["resourceVersion"] == after["metadata"]["resourceVersion"]


def test_existing_ephemeral_containers_cannot_change_or_go() -> None:
    reg = _registry()
    reg.update(PODS, _with(reg, DEBUGGER), namespace="default", subresource="ephemeralcontainers")
    assert _refused(reg, _with(reg, {**DEBUGGER, "image": "alpine"})) == (
        'Pod "web" is invalid: spec.ephemeralContainers: Forbidden: existing ephemeral '
        'containers "debugger" may not be changed\n')
    assert _refused(reg, _with(reg)) == (
        'Pod "web" is invalid: spec.ephemeralContainers: Forbidden: existing ephemeral '
        'containers "debugger" may not be removed\n')


def test_new_ephemeral_containers_are_validated() -> None:
    reg = _registry()
    bad = {"name": "web", "image": "busybox", "targetContainerName": "nope",
           "ports": [{"containerPort": 80}], "readinessProbe": {"exec": {"command": ["true"]}}}
    message = _refused(reg, _with(reg, bad))
    assert message.startswith('Pod "web" is invalid: [')
    for cause in ('spec.ephemeralContainers[0].name: Invalid value: "web": must be unique '
                  "among all containers, init containers and ephemeral containers",
                  'spec.ephemeralContainers[0].targetContainerName: Not found: "nope"',
                  "spec.ephemeralContainers[0].ports: Forbidden: cannot be set for an "
                  "Ephemeral Container",
                  "spec.ephemeralContainers[0].readinessProbe: Forbidden: cannot be set for an "
                  "Ephemeral Container"):
        assert cause in message
    assert "setup" in _refused(reg, _with(reg, {**DEBUGGER, "name": "setup"}))
    assert "Duplicate value" in _refused(reg, _with(reg, DEBUGGER, DEBUGGER))
    resources = {**DEBUGGER, "resources": {"limits": {"cpu": "1"}}}
    assert "resources: Forbidden" in _refused(reg, _with(reg, resources))
    target = reg.update(PODS, _with(reg, {**DEBUGGER, "targetContainerName": "web"}),
                        namespace="default", subresource="ephemeralcontainers")
    assert target["spec"]["ephemeralContainers"][0]["targetContainerName"] == "web"


def test_the_main_resource_cannot_add_ephemeral_containers() -> None:
    reg = _registry()
    with pytest.raises(ApiError) as err:
        reg.update(PODS, _with(reg, DEBUGGER), namespace="default")
    assert err.value.code == 422
    assert "pod updates may not change fields other than" in err.value.message
