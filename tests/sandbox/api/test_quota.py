"""ResourceQuota evaluation and admission: usage per object, exceeded and must-specify."""

from __future__ import annotations

from fractions import Fraction

import pytest

from kubelab.sandbox.api import kinds, quota
from kubelab.sandbox.api.errors import ApiError
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.storage import Registry

PODS = kinds.core("pods")
SVC = kinds.core("services")
QUOTAS = kinds.core("resourcequotas")


def _pod(name: str, cpu: str | None = "200m", limit: str | None = None) -> dict:
    resources: dict = {}
    if cpu:
        resources["requests"] = {"cpu": cpu}
    if limit:
        resources["limits"] = {"cpu": limit}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "nginx", "resources": resources}]}}


def test_a_pod_costs_one_pod_and_its_requests() -> None:
    used = quota.usage_of(PODS, _pod("a", "250m"))
    assert used["pods"] == 1
    assert used["requests.cpu"] == used["cpu"] == Fraction(1, 4)
    assert used["count/pods"] == 1


def test_limits_stand_in_for_missing_requests() -> None:
    used = quota.usage_of(PODS, _pod("a", None, "1"))
    assert used["requests.cpu"] == used["limits.cpu"] == 1


def test_finished_pods_cost_nothing() -> None:
    pod = _pod("a")
    pod["status"] = {"phase": "Succeeded"}
    assert quota.usage_of(PODS, pod) == {}


def test_load_balancer_services_count_node_ports() -> None:
    svc = {"metadata": {"name": "s"}, "spec": {"type": "LoadBalancer",
                                               "ports": [{"port": 80}, {"port": 443}]}}
    used = quota.usage_of(SVC, svc)
    assert (used["services"], used["services.loadbalancers"], used["services.nodeports"]) \
        == (1, 1, 2)


def _registry() -> Registry:
    reg = Registry(ManualClock(), None, seed=1)
    reg.create(kinds.core("namespaces"), {"metadata": {"name": "team-a"}})
    reg.create(QUOTAS, {"metadata": {"name": "team-quota"},
                        "spec": {"hard": {"requests.cpu": "500m", "pods": "4"}}},
               namespace="team-a")
    return reg


def test_admission_refuses_what_exceeds_the_quota_with_upstream_wording() -> None:
    reg = _registry()
    reg.create(PODS, _pod("p1"), namespace="team-a")
    reg.create(PODS, _pod("p2"), namespace="team-a")
    with pytest.raises(ApiError) as err:
        reg.create(PODS, _pod("p3"), namespace="team-a")
    assert (err.value.code, err.value.reason) == (403, "Forbidden")
    assert err.value.message == (
        'pods "p3" is forbidden: exceeded quota: team-quota, requested: requests.cpu=200m, '
        "used: requests.cpu=400m, limited: requests.cpu=500m")
    assert reg.peek(PODS, "team-a", "p3") is None


def test_admission_requires_tracked_requests() -> None:
    reg = _registry()
    with pytest.raises(ApiError) as err:
        reg.create(PODS, _pod("bare", None), namespace="team-a")
    assert err.value.message == ('pods "bare" is forbidden: failed quota: team-quota: '
                                 "must specify requests.cpu for: c")


def test_other_namespaces_are_not_limited() -> None:
    reg = _registry()
    reg.create(kinds.core("namespaces"), {"metadata": {"name": "free"}})
    for i in range(6):
        reg.create(PODS, _pod(f"p{i}", "300m"), namespace="free")
    assert len(list(reg.iter_objects(PODS, "free"))) == 6


def _bare_pod(name: str, *containers: dict) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": list(containers)}}


def test_a_compute_only_quota_makes_unstated_resources_forbidden() -> None:
    """A quota on compute resources alone (no ``pods``) still obliges every container,
    init containers too, to state them; names and containers come sorted."""
    reg = Registry(ManualClock(), None, seed=1)
    reg.create(kinds.core("namespaces"), {"metadata": {"name": "default"}})
    reg.create(QUOTAS, {"metadata": {"name": "q"},
                        "spec": {"hard": {"limits.memory": "1Gi", "limits.cpu": "2",
                                          "requests.cpu": "1", "requests.storage": "5Gi"}}},
               namespace="default")
    pod = _bare_pod("p", {"name": "web", "image": "nginx"},
                    {"name": "app", "image": "busybox",
                     "resources": {"limits": {"cpu": "100m"}}})
    pod["spec"]["initContainers"] = [{"name": "init", "image": "busybox",
                                      "resources": {"requests": {"cpu": "10m"}}}]
    with pytest.raises(ApiError) as err:
        reg.create(PODS, pod, namespace="default")
    assert (err.value.code, err.value.reason) == (403, "Forbidden")
    assert err.value.message == (
        'pods "p" is forbidden: failed quota: q: must specify limits.cpu for: init,web; '
        "limits.memory for: app,init,web; requests.cpu for: web")
    stated = {"limits": {"cpu": "100m", "memory": "64Mi"}}
    reg.create(PODS, _bare_pod("ok", {"name": "app", "image": "nginx", "resources": stated}),
               namespace="default")


def test_must_specify_covers_cpu_and_memory_only() -> None:
    hard = {"requests.ephemeral-storage": "1Gi", "limits.nvidia.com/gpu": "1", "pods": "3"}
    assert quota.missing_resources(PODS, _bare_pod("p", {"name": "c"}), hard) == []
    assert quota.missing_resources(PODS, _bare_pod("p", {"name": "c"}), {"memory": "1Gi"}) == [
        "memory for: c"]
    assert quota.missing_resources(SVC, {"spec": {}}, {"cpu": "1"}) == []


def test_constraints_of_every_quota_come_before_usage() -> None:
    """Upstream checks every quota's constraints before comparing any usage: a full quota
    named first does not hide another quota's "must specify"."""
    reg = Registry(ManualClock(), None, seed=1)
    reg.create(kinds.core("namespaces"), {"metadata": {"name": "default"}})
    reg.create(QUOTAS, {"metadata": {"name": "a-pods"}, "spec": {"hard": {"pods": "0"}}},
               namespace="default")
    reg.create(QUOTAS, {"metadata": {"name": "b-memory"},
                        "spec": {"hard": {"limits.memory": "1Gi"}}}, namespace="default")
    with pytest.raises(ApiError) as err:
        reg.create(PODS, _bare_pod("p", {"name": "c", "image": "nginx"}), namespace="default")
    assert err.value.message == ('pods "p" is forbidden: failed quota: b-memory: '
                                 "must specify limits.memory for: c")
