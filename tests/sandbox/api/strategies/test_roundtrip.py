"""Every kind, built minimally, defaulted and prepared, is valid and deserializes with the
official client's models: the sandbox emits what the Python client requires."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from kubernetes.client import models

from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.strategies import strategy_for

META = {"name": "web", "namespace": "default", "uid": "u1", "resourceVersion": "1"}
TEMPLATE = {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25",
                                     "ports": [{"containerPort": 80}]}]}}
OBJECTS: dict[tuple[str, str], dict[str, Any]] = {
    ("v1", "Pod"): {"spec": {"containers": [{
        "name": "hello", "image": "nginx", "ports": [{"containerPort": 80}],
        "resources": {"limits": {"cpu": "0.5", "memory": "128Mi"}},
        "readinessProbe": {"httpGet": {"port": 80}},
        "volumeMounts": [{"name": "cfg", "mountPath": "/etc/cfg"}]}],
        "volumes": [{"name": "cfg", "configMap": {"name": "cfg"}}]}},
    ("v1", "Node"): {"metadata": {"name": "node-1"}, "spec": {},
                     "status": {"capacity": {"cpu": "2", "memory": "4Gi", "pods": "110"},
                                "nodeInfo": {"kubeletVersion": "v1.37.0"},
                                "daemonEndpoints": {"kubeletEndpoint": {}}}},
    ("v1", "Namespace"): {"metadata": {"name": "team-a"}},
    ("v1", "Service"): {"spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}},
    ("v1", "Endpoints"): {"subsets": [{"addresses": [{"ip": "10.244.1.5"}],
                                       "ports": [{"port": 80}]}]},
    ("discovery.k8s.io/v1", "EndpointSlice"): {
        "addressType": "IPv4", "endpoints": [{"addresses": ["10.244.1.5"]}],
        "ports": [{"port": 80}]},
    ("v1", "Event"): {"metadata": {"name": "web.1", "namespace": "default"},
                      "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"},
                      "reason": "Scheduled", "message": "ok", "type": "Normal"},
    ("events.k8s.io/v1", "Event"): {
        "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "default-scheduler",
        "reportingInstance": "default-scheduler-cp", "action": "Binding",
        "reason": "Scheduled", "type": "Normal",
        "regarding": {"kind": "Pod", "name": "web", "namespace": "default"}},
    ("v1", "ConfigMap"): {"data": {"app.properties": "x=1"}},
    ("v1", "Secret"): {"stringData": {"password": "s3cret"}},
    ("v1", "ServiceAccount"): {},
    ("apps/v1", "Deployment"): {"spec": {"selector": {"matchLabels": {"app": "web"}},
                                         "template": TEMPLATE}},
    ("apps/v1", "ReplicaSet"): {"spec": {"selector": {"matchLabels": {"app": "web"}},
                                         "template": TEMPLATE}},
    ("apps/v1", "DaemonSet"): {"spec": {"selector": {"matchLabels": {"app": "web"}},
                                        "template": TEMPLATE}},
    ("coordination.k8s.io/v1", "Lease"): {"spec": {"holderIdentity": "node-1",
                                                  "leaseDurationSeconds": 40}},
    ("v1", "ResourceQuota"): {"spec": {"hard": {"pods": "10", "requests.cpu": "2"}}},
    ("batch/v1", "Job"): {"spec": {"template": {
        "spec": {"restartPolicy": "Never",
                 "containers": [{"name": "pi", "image": "perl:5.34.0"}]}}}},
    ("autoscaling/v2", "HorizontalPodAutoscaler"): {"spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "minReplicas": 1, "maxReplicas": 10, "metrics": [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]}},
    ("v1", "ComponentStatus"): {"conditions": [{"type": "Healthy", "status": "True",
                                                "message": "ok"}]},
    ("apiregistration.k8s.io/v1", "APIService"): {
        "metadata": {"name": "v1alpha1.wardle.k8s.io"},
        "spec": {"group": "wardle.k8s.io", "version": "v1alpha1", "groupPriorityMinimum": 1000,
                 "versionPriority": 15, "service": {"namespace": "wardle", "name": "api"}}},
    ("batch/v1", "CronJob"): {"spec": {"schedule": "*/1 * * * *", "jobTemplate": {"spec": {
        "template": {"spec": {"restartPolicy": "OnFailure",
                              "containers": [{"name": "hello", "image": "busybox"}]}}}}}},
    ("networking.k8s.io/v1", "Ingress"): {"spec": {"rules": [{"host": "foo.bar.com", "http": {
        "paths": [{"path": "/", "pathType": "Prefix", "backend": {
            "service": {"name": "web", "port": {"number": 80}}}}]}}]}},
    ("networking.k8s.io/v1", "IngressClass"): {"metadata": {"name": "nginx"},
                                               "spec": {"controller": "k8s.io/ingress-nginx"}},
    ("apps/v1", "StatefulSet"): {"spec": {
        "serviceName": "web", "selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE,
        "volumeClaimTemplates": [{"metadata": {"name": "www"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}},
    ("apps/v1", "ControllerRevision"): {"data": {"spec": {"template": TEMPLATE}},
                                        "revision": 1},
    ("v1", "PersistentVolumeClaim"): {"spec": {"accessModes": ["ReadWriteOnce"],
                                               "resources": {"requests": {"storage": "1Gi"}}}},
    ("v1", "PersistentVolume"): {"metadata": {"name": "pv1"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"},
        "hostPath": {"path": "/mnt/data"}}},
    ("storage.k8s.io/v1", "StorageClass"): {"metadata": {"name": "standard"},
                                            "provisioner": "rancher.io/local-path"},
    ("rbac.authorization.k8s.io/v1", "Role"): {
        "rules": [{"apiGroups": [""], "resources": ["pods", "pods/log"],
                   "verbs": ["get", "list"]}]},
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): {
        "metadata": {"name": "system:pod-reader"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
                  {"nonResourceURLs": ["/healthz"], "verbs": ["get"]}]},
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): {
        "roleRef": {"kind": "Role", "name": "pod-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "default"}]},
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): {
        "roleRef": {"kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "User", "name": "jane"},
                     {"kind": "ServiceAccount", "name": "default", "namespace": "default"}]},
    ("policy/v1", "PodDisruptionBudget"): {"spec": {
        "minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}},
    ("v1", "LimitRange"): {"spec": {"limits": [{"type": "Container",
                                                "default": {"cpu": "500m"}}]}},
    ("v1", "ReplicationController"): {"spec": {"replicas": 2, "selector": {"app": "web"},
                                               "template": TEMPLATE}},
}


def build(api_version: str, kind: str) -> tuple[kinds.KindInfo, dict[str, Any]]:
    info = kinds.by_kind(api_version, kind)
    assert info is not None
    obj = copy.deepcopy(OBJECTS[(api_version, kind)])
    meta = dict(META) if info.namespaced else {k: v for k, v in META.items() if k != "namespace"}
    obj["metadata"] = meta | obj.get("metadata", {})
    obj = {"apiVersion": api_version, "kind": kind} | obj
    strategy = strategy_for(info)
    strategy.default(obj)
    strategy.prepare_for_create(obj)
    return info, obj


@pytest.mark.parametrize(("api_version", "kind"), list(OBJECTS), ids=lambda v: str(v))
def test_minimal_object_is_valid_and_deserializes(api_version: str, kind: str) -> None:
    info, obj = build(api_version, kind)
    causes = strategy_for(info).validate(obj, info)
    assert causes == []
    model = getattr(models, info.model)
    model.model_validate(obj)


def test_every_served_kind_with_a_strategy_is_covered() -> None:
    # Kinds without a client model (read-only CustomResourceDefinitions) build nothing.
    # Create-only kinds (Binding, the access and token reviews) are answered, not stored.
    covered = {(k.api_version, k.kind) for k in kinds.KINDS
               if k.model and k.verbs != ("create",)}
    assert covered == set(OBJECTS)


def test_pod_defaults_match_upstream() -> None:
    _, pod = build("v1", "Pod")
    spec = pod["spec"]
    assert (spec["restartPolicy"], spec["dnsPolicy"], spec["schedulerName"]) == \
        ("Always", "ClusterFirst", "default-scheduler")
    assert spec["terminationGracePeriodSeconds"] == 30
    assert spec["securityContext"] == {}
    assert spec["enableServiceLinks"] is True
    assert (spec["priority"], spec["preemptionPolicy"]) == (0, "PreemptLowerPriority")
    assert spec["serviceAccountName"] == "default"
    assert {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
            "tolerationSeconds": 300} in spec["tolerations"]
    assert {t["key"] for t in spec["tolerations"]} == {"node.kubernetes.io/not-ready",
                                                       "node.kubernetes.io/unreachable"}
    ctr = spec["containers"][0]
    assert ctr["imagePullPolicy"] == "Always"  # no tag means :latest
    assert ctr["terminationMessagePath"] == "/dev/termination-log"
    assert ctr["terminationMessagePolicy"] == "File"
    assert ctr["ports"][0]["protocol"] == "TCP"
    # requests default to limits, quantities are canonical
    assert ctr["resources"] == {"limits": {"cpu": "500m", "memory": "128Mi"},
                                "requests": {"cpu": "500m", "memory": "128Mi"}}
    assert ctr["readinessProbe"] == {"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
                                     "timeoutSeconds": 1, "periodSeconds": 10,
                                     "successThreshold": 1, "failureThreshold": 3}
    assert spec["volumes"][0]["configMap"]["defaultMode"] == 420
    assert pod["status"] == {"phase": "Pending", "qosClass": "Guaranteed"}
    assert pod["metadata"]["generation"] == 1


@pytest.mark.parametrize(("image", "policy"), [
    ("nginx", "Always"), ("nginx:latest", "Always"), ("nginx:1.25", "IfNotPresent"),
    ("registry:5000/app", "Always"), ("registry:5000/app:v2", "IfNotPresent"),
    ("nginx@sha256:abc", "IfNotPresent"),
])
def test_image_pull_policy_by_tag(image: str, policy: str) -> None:
    info = kinds.core("pods")
    pod = {"spec": {"containers": [{"name": "c", "image": image}]}}
    strategy_for(info).default(pod)
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == policy


def test_workload_defaults() -> None:
    _, deploy = build("apps/v1", "Deployment")
    spec = deploy["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "RollingUpdate",
                                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert (spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (10, 600)
    tpl = spec["template"]["spec"]
    assert tpl["restartPolicy"] == "Always" and tpl["containers"][0]["imagePullPolicy"] == \
        "IfNotPresent"
    assert "enableServiceLinks" not in tpl and "tolerations" not in tpl  # Pod-only
    assert deploy["status"] == {}
    _, rs = build("apps/v1", "ReplicaSet")
    assert rs["spec"]["replicas"] == 1 and rs["status"] == {"replicas": 0}
    _, ds = build("apps/v1", "DaemonSet")
    assert ds["spec"]["updateStrategy"] == {"type": "RollingUpdate",
                                            "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}


def test_service_defaults() -> None:
    _, svc = build("v1", "Service")
    spec = svc["spec"]
    assert spec["type"] == "ClusterIP" and spec["sessionAffinity"] == "None"
    assert spec["ipFamilies"] == ["IPv4"] and spec["ipFamilyPolicy"] == "SingleStack"
    assert spec["internalTrafficPolicy"] == "Cluster"
    assert spec["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    assert "externalTrafficPolicy" not in spec and "allocateLoadBalancerNodePorts" not in spec
    assert svc["status"] == {"loadBalancer": {}}
    info = kinds.core("services")
    lb: dict[str, Any] = {"spec": {"type": "LoadBalancer", "ports": [{"port": 80,
                                                                      "targetPort": "http"}]}}
    strategy_for(info).default(lb)
    assert lb["spec"]["externalTrafficPolicy"] == "Cluster"
    assert lb["spec"]["allocateLoadBalancerNodePorts"] is True
    assert lb["spec"]["ports"][0]["targetPort"] == "http"


def test_namespace_secret_node_defaults() -> None:
    _, ns = build("v1", "Namespace")
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team-a"}
    assert ns["spec"] == {"finalizers": ["kubernetes"]}
    assert ns["status"] == {"phase": "Active"}
    _, secret = build("v1", "Secret")
    assert secret["type"] == "Opaque"
    assert secret["data"] == {"password": "czNjcmV0"} and "stringData" not in secret
    _, node = build("v1", "Node")
    assert node["status"]["allocatable"] == {"cpu": "2", "memory": "4Gi", "pods": "110"}
    assert node["status"]["nodeInfo"]["bootID"] == ""
