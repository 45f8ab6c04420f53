"""LimitRanges and the LimitRanger admission plugin, through the real registry.

Upstream: ``SetDefaults_LimitRangeItem``, ``ValidateLimitRange`` and
``plugin/pkg/admission/limitranger`` (defaults applied to containers that lack them, the
``kubernetes.io/limit-ranger`` annotation, min/max/ratio refused with a 403 in upstream's
words, ResourceQuota admission after it).
"""

from __future__ import annotations

from typing import Any

import pytest

from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.errors import ApiError
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.storage import Registry

LIMITRANGES = kinds.core("limitranges")
PODS = kinds.core("pods")
QUOTAS = kinds.core("resourcequotas")
NAMESPACES = kinds.core("namespaces")


@pytest.fixture
def registry() -> Registry:
    reg = Registry(ManualClock())
    reg.create(NAMESPACES, {"metadata": {"name": "default"}})
    return reg


def limits(registry: Registry, *items: dict[str, Any], name: str = "limits") -> dict[str, Any]:
    return registry.create(LIMITRANGES, {"metadata": {"name": name},
                                         "spec": {"limits": list(items)}}, namespace="default")


def pod(name: str = "x", **resources: Any) -> dict[str, Any]:
    return {"metadata": {"name": name},
            "spec": {"containers": [{"name": "app", "image": "nginx",
                                     "resources": resources}]}}


def test_container_items_default_from_max_and_min(registry: Registry) -> None:
    stored = limits(registry, {"type": "Container", "max": {"cpu": "1"},
                               "min": {"memory": "64Mi"}})
    [item] = stored["spec"]["limits"]
    assert item["default"] == {"cpu": "1"}
    assert item["defaultRequest"] == {"cpu": "1", "memory": "64Mi"}


def test_a_pod_without_resources_gets_the_defaults(registry: Registry) -> None:
    limits(registry, {"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"},
                      "defaultRequest": {"cpu": "250m", "memory": "128Mi"}})
    created = registry.create(PODS, pod(), namespace="default")
    resources = created["spec"]["containers"][0]["resources"]
    assert resources == {"limits": {"cpu": "500m", "memory": "256Mi"},
                         "requests": {"cpu": "250m", "memory": "128Mi"}}
    assert created["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu, memory request for container app; "
        "cpu, memory limit for container app")
    assert created["status"]["qosClass"] == "Burstable"
    # What the container states is kept.
    own = registry.create(PODS, pod("y", limits={"cpu": "200m"}), namespace="default")
    assert own["spec"]["containers"][0]["resources"]["limits"] == {"cpu": "200m",
                                                                   "memory": "256Mi"}
    assert own["spec"]["containers"][0]["resources"]["requests"]["cpu"] == "200m"


@pytest.mark.parametrize(("resources", "why"), [
    ({"limits": {"cpu": "1"}}, "maximum cpu usage per Container is 500m, but limit is 1"),
    ({"requests": {"cpu": "50m"}, "limits": {"cpu": "100m"}},
     "minimum cpu usage per Container is 100m, but request is 50m"),
    ({"requests": {"cpu": "100m"}, "limits": {"cpu": "400m"}},
     "cpu max limit to request ratio per Container is 2, but provided ratio is 4.000000"),
])
def test_out_of_range_pods_are_forbidden(registry: Registry, resources: dict[str, Any],
                                         why: str) -> None:
    limits(registry, {"type": "Container", "max": {"cpu": "500m"}, "min": {"cpu": "100m"},
                      "maxLimitRequestRatio": {"cpu": "2"}})
    with pytest.raises(ApiError) as refused:
        registry.create(PODS, pod(**resources), namespace="default")
    assert (refused.value.code, refused.value.reason) == (403, "Forbidden")
    assert refused.value.message == f'pods "x" is forbidden: {why}'
    assert registry.peek(PODS, "default", "x") is None


def test_pod_items_sum_the_containers(registry: Registry) -> None:
    limits(registry, {"type": "Pod", "max": {"memory": "1Gi"}})
    body = pod(limits={"memory": "600Mi"})
    body["spec"]["containers"].append({"name": "side", "image": "nginx",
                                       "resources": {"limits": {"memory": "600Mi"}}})
    with pytest.raises(ApiError) as refused:
        registry.create(PODS, body, namespace="default")
    assert refused.value.message == \
        'pods "x" is forbidden: maximum memory usage per Pod is 1Gi, but limit is 1200Mi'


def test_defaults_satisfy_a_quota_that_requires_limits(registry: Registry) -> None:
    registry.create(QUOTAS, {"metadata": {"name": "q"},
                             "spec": {"hard": {"limits.cpu": "2", "limits.memory": "1Gi"}}},
                    namespace="default")
    with pytest.raises(ApiError) as refused:
        registry.create(PODS, pod(), namespace="default")
    assert "must specify limits.cpu" in refused.value.message
    limits(registry, {"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"}})
    created = registry.create(PODS, pod(), namespace="default")
    assert created["spec"]["containers"][0]["resources"]["limits"]["cpu"] == "500m"


@pytest.mark.parametrize(("item", "message"), [
    ({"type": "Container", "min": {"cpu": "2"}, "max": {"cpu": "1"}},
     'spec.limits[0].min[cpu]: Invalid value: "2": min value 2 is greater than max value 1'),
    ({"type": "Pod", "default": {"cpu": "1"}},
     "spec.limits[0].default: Forbidden: may not be specified when `type` is 'Pod'"),
    ({"type": "Container", "maxLimitRequestRatio": {"cpu": "500m"}},
     'spec.limits[0].maxLimitRequestRatio[cpu]: Invalid value: "500m": ratio 500m is less '
     'than 1'),
])
def test_validation_wording(registry: Registry, item: dict[str, Any], message: str) -> None:
    with pytest.raises(ApiError) as refused:
        limits(registry, item)
    assert refused.value.code == 422
    assert message in refused.value.message
