"""Validation causes carry upstream's field paths and wording; update rules hold."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.errors import ApiError, invalid
from kubelab.sandbox.api.strategies import strategy_for

Obj = dict[str, Any]


def pod(**spec: Any) -> Obj:
    base: Obj = {"containers": [{"name": "web", "image": "nginx:1.25"}]}
    return {"metadata": {"name": "web", "namespace": "default"}, "spec": base | spec}


def deployment(**spec: Any) -> Obj:
    base: Obj = {"selector": {"matchLabels": {"app": "x"}},
                 "template": {"metadata": {"labels": {"app": "x"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}
    return {"metadata": {"name": "web", "namespace": "default"}, "spec": base | spec}


def service(**spec: Any) -> Obj:
    base: Obj = {"selector": {"app": "x"}, "ports": [{"port": 80}]}
    return {"metadata": {"name": "web", "namespace": "default"}, "spec": base | spec}


def messages(plural: str, obj: Obj, group: str = "") -> list[str]:
    info = kinds.resource(f"{plural}.{group}" if group else plural)
    strategy = strategy_for(info)
    strategy.default(obj)
    return [f"{c.field}: {c.message}" for c in strategy.validate(obj, info)]


def with_containers(*containers: Obj) -> Obj:
    return pod(containers=list(containers))


CASES: list[tuple[str, Callable[[], tuple[str, Obj, str]], str]] = [
    ("no containers", lambda: ("pods", pod(containers=[]), ""), "spec.containers: Required value"),
    ("no image", lambda: ("pods", with_containers({"name": "web"}), ""),
     "spec.containers[0].image: Required value"),
    ("no name", lambda: ("pods", with_containers({"image": "nginx"}), ""),
     "spec.containers[0].name: Required value"),
    ("duplicate name", lambda: ("pods", with_containers({"name": "a", "image": "x"},
                                                        {"name": "a", "image": "y"}), ""),
     'spec.containers[1].name: Duplicate value: "a"'),
    ("port range", lambda: ("pods", with_containers(
        {"name": "a", "image": "x", "ports": [{"containerPort": 70000}]}), ""),
     "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and "
     "65535, inclusive"),
    ("restart policy", lambda: ("pods", pod(restartPolicy="Sometimes"), ""),
     'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", '
     '"OnFailure", "Never"'),
    ("requests over limits", lambda: ("pods", with_containers(
        {"name": "a", "image": "x", "resources": {"requests": {"cpu": "2"},
                                                   "limits": {"cpu": "1"}}}), ""),
     'spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal '
     "to cpu limit of 1"),
    ("bad container name", lambda: ("pods", with_containers({"name": "Web", "image": "x"}), ""),
     'spec.containers[0].name: Invalid value: "Web": a lowercase RFC 1123 label must consist '
     "of lower case alphanumeric characters or '-', and must start and end with an "
     "alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
     "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"),
    ("replicas negative", lambda: ("deployments", deployment(replicas=-1), "apps"),
     "spec.replicas: Invalid value: -1: must be greater than or equal to 0"),
    ("selector mismatch", lambda: ("deployments", deployment(
        selector={"matchLabels": {"app": "y"}}), "apps"),
     'spec.template.metadata.labels: Invalid value: map[string]string{"app":"x"}: '
     "`selector` does not match template `labels`"),
    ("both zero", lambda: ("deployments", deployment(strategy={
        "type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}), "apps"),
     "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when "
     "`maxSurge` is 0"),
    ("strategy type", lambda: ("deployments", deployment(strategy={"type": "Blue"}), "apps"),
     'spec.strategy.type: Unsupported value: "Blue": supported values: "Recreate", '
     '"RollingUpdate"'),
    ("template restartPolicy", lambda: ("replicasets", {
        **deployment(), "spec": deployment()["spec"] | {"template": {
            "metadata": {"labels": {"app": "x"}},
            "spec": {"restartPolicy": "Never",
                     "containers": [{"name": "a", "image": "x"}]}}}}, "apps"),
     'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'),
    ("service ports", lambda: ("services", service(ports=[]), ""), "spec.ports: Required value"),
    ("service port range", lambda: ("services", service(ports=[{"port": 0}]), ""),
     "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"),
    ("service type", lambda: ("services", service(type="Public"), ""),
     'spec.type: Unsupported value: "Public": supported values: "ClusterIP", "ExternalName", '
     '"LoadBalancer", "NodePort"'),
    ("node port range", lambda: ("services", service(
        type="NodePort", ports=[{"port": 80, "nodePort": 80}]), ""),
     "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. "
     "The range of valid ports is 30000-32767"),
    ("node port on ClusterIP", lambda: ("services", service(
        ports=[{"port": 80, "nodePort": 30080}]), ""),
     "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"),
    ("service name", lambda: ("services", {**service(), "metadata": {
        "name": "1web", "namespace": "default"}}, ""),
     'metadata.name: Invalid value: "1web": a DNS-1035 label must consist of lower case '
     "alphanumeric characters or '-', start with an alphabetic character, and end with an "
     "alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is "
     "'[a-z]([-a-z0-9]*[a-z0-9])?')"),
    ("configmap key", lambda: ("configmaps", {"metadata": {"name": "c", "namespace": "d"},
                                              "data": {"a b": "1"}}, ""),
     'data[a b]: Invalid value: "a b": a valid config key must consist of alphanumeric '
     "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex "
     "used for validation is '[-._a-zA-Z0-9]+')"),
    ("secret too large", lambda: ("secrets", {"metadata": {"name": "s", "namespace": "d"},
                                              "stringData": {"k": "x" * (1024 * 1024 + 1)}}, ""),
     "data: Too long: may not be more than 1048576 bytes"),
    ("tls secret", lambda: ("secrets", {"metadata": {"name": "s", "namespace": "d"},
                                        "type": "kubernetes.io/tls", "data": {}}, ""),
     "data[tls.crt]: Required value"),
]


@pytest.mark.parametrize(("build", "expected"), [(c[1], c[2]) for c in CASES],
                         ids=[c[0] for c in CASES])
def test_messages(build: Callable[[], tuple[str, Obj, str]], expected: str) -> None:
    plural, obj, group = build()
    assert expected in messages(plural, obj, group)


def test_missing_selector_reports_both_causes_like_upstream() -> None:
    obj = deployment()
    del obj["spec"]["selector"]
    info = kinds.apps("deployments")
    strategy_for(info).default(obj)
    err = invalid(info, "web", strategy_for(info).validate(obj, info))
    assert err.message == (
        'Deployment.apps "web" is invalid: [spec.selector: Required value, '
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"x"}: '
        "`selector` does not match template `labels`]")


def test_valid_objects_have_no_causes() -> None:
    assert messages("pods", pod()) == []
    assert messages("deployments", deployment(), "apps") == []
    assert messages("services", service()) == []


def prepared(plural: str, obj: Obj, group: str = "") -> tuple[kinds.KindInfo, Obj]:
    info = kinds.resource(f"{plural}.{group}" if group else plural)
    strategy = strategy_for(info)
    strategy.default(obj)
    strategy.prepare_for_create(obj)
    return info, obj


def update(info: kinds.KindInfo, old: Obj, change: Callable[[Obj], None]) -> tuple[Obj, list[str]]:
    new = copy.deepcopy(old)
    change(new)
    strategy = strategy_for(info)
    strategy.default(new)
    strategy.prepare_for_update(new, old)
    return new, [f"{c.field}: {c.message}" for c in strategy.validate_update(new, old, info)]


def test_pod_update_may_change_image_only() -> None:
    info, old = prepared("pods", pod())
    new, errs = update(info, old, lambda p: p["spec"]["containers"][0].update(image="nginx:1.26"))
    assert errs == [] and new["metadata"]["generation"] == 2
    new, errs = update(info, old, lambda p: p["spec"].update(restartPolicy="Never"))
    assert len(errs) == 1
    assert errs[0].startswith(
        "spec: Forbidden: pod updates may not change fields other than "
        "`spec.containers[*].image`,`spec.initContainers[*].image`,"
        "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing "
        "tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it "
        "was previously negative)\n")
    assert '+ \tRestartPolicy: "Never"' in errs[0]


def test_pod_update_keeps_status_and_allows_added_tolerations() -> None:
    info, old = prepared("pods", pod())
    old["status"] = {"phase": "Running", "qosClass": "BestEffort"}
    new, errs = update(info, old, lambda p: (p["spec"]["tolerations"].append(
        {"key": "x", "operator": "Exists", "effect": "NoSchedule"}), p.pop("status")))
    assert errs == [] and new["status"]["phase"] == "Running"
    _, errs = update(info, old, lambda p: p["spec"].update(tolerations=[]))
    assert "spec.tolerations[0]: Forbidden: existing toleration can not be modified except " \
        "its tolerationSeconds" in errs


def test_deployment_selector_is_immutable_and_generation_tracks_spec() -> None:
    info, old = prepared("deployments", deployment(), "apps")
    assert old["metadata"]["generation"] == 1
    new, errs = update(info, old, lambda d: d["spec"].update(replicas=3))
    assert errs == [] and new["metadata"]["generation"] == 2
    new, errs = update(info, old, lambda d: d["metadata"].update(labels={"a": "b"}))
    assert new["metadata"]["generation"] == 1
    new, errs = update(info, old, lambda d: d["metadata"].update(annotations={"a": "b"}))
    assert new["metadata"]["generation"] == 2  # annotations are copied to ReplicaSets

    def relabel(d: Obj) -> None:
        d["spec"]["selector"] = {"matchLabels": {"app": "y"}}
        d["spec"]["template"]["metadata"]["labels"] = {"app": "y"}

    _, errs = update(info, old, relabel)
    assert errs == ['spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]'
                    'string{"app":"y"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: '
                    "field is immutable"]


def test_service_keeps_cluster_ip_and_rejects_changes() -> None:
    info, old = prepared("services", service())
    old["spec"].update(clusterIP="10.96.0.10", clusterIPs=["10.96.0.10"])
    new, errs = update(info, old, lambda s: s["spec"].pop("clusterIP"))
    assert errs == [] and new["spec"]["clusterIP"] == "10.96.0.10"
    _, errs = update(info, old, lambda s: s["spec"].update(clusterIP="10.96.0.11"))
    assert errs == ['spec.clusterIPs[0]: Invalid value: []string{"10.96.0.11"}: '
                    "may not change once set"]


def test_namespace_finalizers_kept_on_update() -> None:
    info, old = prepared("namespaces", {"metadata": {"name": "team"}})
    new, errs = update(info, old, lambda n: n.update(spec={"finalizers": []}))
    assert errs == [] and new["spec"]["finalizers"] == ["kubernetes"]


def test_secret_invalid_base64_is_a_400_with_go_offset() -> None:
    info = kinds.core("secrets")
    for value, offset in (("My-pass-123", 2), ("abc", 0), ("abcde", 4), ("YQ==", None)):
        obj: Obj = {"metadata": {"name": "s", "namespace": "d"}, "data": {"k": value}}
        if offset is None:
            strategy_for(info).default(obj)
            continue
        with pytest.raises(ApiError) as caught:
            strategy_for(info).default(obj)
        assert caught.value.code == 400
        assert caught.value.message == ('Secret in version "v1" cannot be handled as a Secret: '
                                        f"illegal base64 data at input byte {offset}")


def test_bad_quantity_is_a_400() -> None:
    info = kinds.core("pods")
    obj = with_containers({"name": "a", "image": "x", "resources": {"limits": {"cpu": "lots"}}})
    with pytest.raises(ApiError) as caught:
        strategy_for(info).default(obj)
    assert caught.value.code == 400
    assert caught.value.message.startswith(
        'Pod in version "v1" cannot be handled as a Pod: quantities must match')


def test_returns_deleted_object_and_selectable_fields() -> None:
    assert strategy_for(kinds.core("pods")).returns_deleted_object
    assert strategy_for(kinds.core("services")).returns_deleted_object
    assert not strategy_for(kinds.apps("deployments")).returns_deleted_object
    info, p = prepared("pods", pod(nodeName="node-2"))
    fields = strategy_for(info).selectable_fields(p)
    assert fields["spec.nodeName"] == "node-2" and fields["status.phase"] == "Pending"
    assert fields["metadata.namespace"] == "default"
    node = strategy_for(kinds.core("nodes")).selectable_fields(
        {"metadata": {"name": "n"}, "spec": {"unschedulable": True}})
    assert node["spec.unschedulable"] == "true"
    event = strategy_for(kinds.core("events")).selectable_fields(
        {"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "uid": "u"},
         "type": "Warning", "source": {"component": "kubelet"}})
    assert (event["involvedObject.kind"], event["involvedObject.uid"], event["type"],
            event["source"]) == ("Pod", "u", "Warning", "kubelet")
    rs = strategy_for(kinds.apps("replicasets")).selectable_fields(
        {"metadata": {"name": "r"}, "status": {"replicas": 3}})
    assert rs["status.replicas"] == "3"


@pytest.mark.parametrize(("containers", "qos"), [
    ([{"name": "a", "image": "x"}], "BestEffort"),
    ([{"name": "a", "image": "x", "resources": {"requests": {"cpu": "100m"}}}], "Burstable"),
    ([{"name": "a", "image": "x", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}],
     "Guaranteed"),
])
def test_qos_class(containers: list[Obj], qos: str) -> None:
    _, p = prepared("pods", pod(containers=containers))
    assert p["status"]["qosClass"] == qos
