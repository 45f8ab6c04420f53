"""Defaults and stored forms that ``kubectl get -o yaml`` and ``kubectl describe`` rely on
(the end-to-end goldens are in tests/conformance/golden/defaults)."""

from __future__ import annotations

import copy
from typing import Any

from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.strategies import strategy_for


def _info(api_version: str, kind: str) -> kinds.KindInfo:
    info = kinds.by_kind(api_version, kind)
    assert info is not None
    return info


def test_every_probe_handler_gets_upstream_defaults() -> None:
    pod: dict[str, Any] = {"metadata": {"name": "p", "namespace": "default"}, "spec": {
        "containers": [{"name": "c", "image": "nginx:1.27",
                        "livenessProbe": {"grpc": {"port": 9000}},
                        "readinessProbe": {"grpc": {"port": 9000, "service": "health"}},
                        "startupProbe": {"httpGet": {"port": 80}, "periodSeconds": 3}}]}}
    strategy_for(_info("v1", "Pod")).default(pod)
    container = pod["spec"]["containers"][0]
    assert container["livenessProbe"] == {
        "grpc": {"port": 9000, "service": ""}, "timeoutSeconds": 1, "periodSeconds": 10,
        "successThreshold": 1, "failureThreshold": 3}
    assert container["readinessProbe"]["grpc"]["service"] == "health"
    startup = container["startupProbe"]
    assert startup["httpGet"] == {"port": 80, "path": "/", "scheme": "HTTP"}
    assert startup["periodSeconds"] == 3


def _daemonset() -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "ds", "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": "ds"}}, "template": {
                "metadata": {"labels": {"app": "ds"}},
                "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}}


def test_daemonset_template_generation_annotation() -> None:
    strategy = strategy_for(_info("apps/v1", "DaemonSet"))
    key = "deprecated.daemonset.template.generation"
    created = _daemonset()
    strategy.prepare_for_create(created)
    assert created["metadata"]["annotations"] == {key: "1"}

    same_template = copy.deepcopy(created)
    same_template["spec"]["minReadySeconds"] = 5
    strategy.prepare_for_update(same_template, created)
    assert same_template["metadata"]["annotations"][key] == "1"

    dropped = copy.deepcopy(created)
    del dropped["metadata"]["annotations"]
    strategy.prepare_for_update(dropped, created)
    assert dropped["metadata"]["annotations"][key] == "1"

    new_image = copy.deepcopy(created)
    new_image["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"
    strategy.prepare_for_update(new_image, created)
    assert new_image["metadata"]["annotations"][key] == "2"


def test_endpointslice_empty_lists_are_stored_as_null() -> None:
    strategy = strategy_for(_info("discovery.k8s.io/v1", "EndpointSlice"))
    placeholder: dict[str, Any] = {"addressType": "IPv4", "endpoints": [], "ports": []}
    strategy.default(placeholder)
    assert placeholder["endpoints"] is None and placeholder["ports"] is None
    full: dict[str, Any] = {"addressType": "IPv4", "endpoints": [{"addresses": ["10.244.1.5"]}],
                            "ports": [{"port": 80}]}
    strategy.default(full)
    assert full["endpoints"] == [{"addresses": ["10.244.1.5"]}]
    assert full["ports"] == [{"port": 80, "name": "", "protocol": "TCP"}]


def test_volume_sources_get_upstream_defaults() -> None:
    pod: dict[str, Any] = {"metadata": {"name": "p", "namespace": "default"}, "spec": {
        "containers": [{"name": "c", "image": "busybox"}],
        "volumes": [
            {"name": "scratch"},
            {"name": "info", "downwardAPI": {"items": [
                {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
            {"name": "token", "projected": {"sources": [
                {"serviceAccountToken": {"path": "token"}},
                {"downwardAPI": {"items": [
                    {"path": "ns", "fieldRef": {"fieldPath": "metadata.namespace"}}]}}]}},
            {"name": "host", "hostPath": {"path": "/var/log"}}]}}
    strategy_for(_info("v1", "Pod")).default(pod)
    scratch, info, token, host = pod["spec"]["volumes"]
    assert scratch == {"name": "scratch", "emptyDir": {}}
    assert info["downwardAPI"] == {"defaultMode": 420, "items": [
        {"path": "labels", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels"}}]}
    sources = token["projected"]["sources"]
    assert token["projected"]["defaultMode"] == 420
    assert sources[0]["serviceAccountToken"] == {"path": "token", "expirationSeconds": 3600}
    assert sources[1]["downwardAPI"]["items"][0]["fieldRef"]["apiVersion"] == "v1"
    assert host["hostPath"] == {"path": "/var/log", "type": ""}
