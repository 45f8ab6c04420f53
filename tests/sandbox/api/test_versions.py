"""A kind served at a version other than its storage one (autoscaling/v1 HPAs)."""

from __future__ import annotations

from kubelab.apimachinery.types import Obj
from kubelab.sandbox.api import kinds, openapi, versions
from kubelab.sandbox.server import discovery

V1 = kinds.by_resource("autoscaling", "v1", "horizontalpodautoscalers")
V2 = kinds.by_resource("autoscaling", "v2", "horizontalpodautoscalers")


def _stored() -> Obj:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "default", "uid": "u",
                         "resourceVersion": "7"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "name": "web"},
                     "minReplicas": 1, "maxReplicas": 5,
                     "metrics": [{"type": "Resource", "resource": {
                         "name": "cpu", "target": {"type": "Utilization",
                                                   "averageUtilization": 50}}}]},
            "status": {"desiredReplicas": 0, "observedGeneration": 1}}


def test_the_v1_row_is_stored_as_v2() -> None:
    assert V1 is not None and V2 is not None
    assert V1.storage_version == "v2" and not V2.storage_version
    assert kinds.storage_info(V1) is V2 and kinds.storage_info(V2) is V2
    assert kinds.by_kind("autoscaling/v1", "HorizontalPodAutoscaler") is V1
    assert V1.group_resource == V2.group_resource
    # kubectl's resource lookup by name still finds the preferred version
    assert kinds.resource("horizontalpodautoscalers.autoscaling") is V2


def test_reads_convert_from_storage_and_writes_to_it() -> None:
    assert V1 is not None and V2 is not None
    stored = _stored()
    shown = versions.from_storage(V1, stored)
    assert shown["apiVersion"] == "autoscaling/v1"
    assert shown["spec"]["targetCPUUtilizationPercentage"] == 50
    assert "metrics" not in shown["spec"]
    # v1's currentReplicas/desiredReplicas have no omitempty; observedGeneration is in v1
    assert shown["status"] == {"currentReplicas": 0, "desiredReplicas": 0,
                               "observedGeneration": 1}
    assert shown["metadata"]["resourceVersion"] == "7"
    assert stored == _stored()  # the stored object is not touched
    back = versions.to_storage(V1, shown)
    assert back["apiVersion"] == "autoscaling/v2"
    assert back["spec"] == stored["spec"]
    # the storage version passes through as the same object
    assert versions.from_storage(V2, stored) is stored
    assert versions.to_storage(V2, stored) is stored


def test_discovery_lists_both_versions_with_v2_preferred() -> None:
    group = discovery.api_group("autoscaling")
    assert group is not None
    assert [v["version"] for v in group["versions"]] == ["v2", "v1"]
    assert group["preferredVersion"]["version"] == "v2"
    listed = discovery.resource_list("autoscaling", "v1")
    assert listed is not None
    assert [r["name"] for r in listed["resources"]] == ["horizontalpodautoscalers",
                                                         "horizontalpodautoscalers/status"]
    aggregated = discovery.aggregated(core=False)
    autoscaling = next(i for i in aggregated["items"]
                       if i["metadata"]["name"] == "autoscaling")
    assert [v["version"] for v in autoscaling["versions"]] == ["v2", "v1"]
    v1_kinds = [r["responseKind"] for r in autoscaling["versions"][1]["resources"]]
    assert v1_kinds == [{"group": "autoscaling", "version": "v1",
                         "kind": "HorizontalPodAutoscaler"}]


def test_openapi_v3_has_the_v1_document() -> None:
    assert "apis/autoscaling/v1" in openapi.served_paths()
    doc = openapi.v3_group_version("apis/autoscaling/v1")
    assert doc is not None
    schema = doc["components"]["schemas"]["io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler"]
    assert schema["x-kubernetes-group-version-kind"] == [
        {"group": "autoscaling", "kind": "HorizontalPodAutoscaler", "version": "v1"}]
    spec = doc["components"]["schemas"]["io.k8s.api.autoscaling.v1.HorizontalPodAutoscalerSpec"]
    assert "targetCPUUtilizationPercentage" in spec["properties"]
    assert "/apis/autoscaling/v1/namespaces/{namespace}/horizontalpodautoscalers/{name}" \
        in doc["paths"]
