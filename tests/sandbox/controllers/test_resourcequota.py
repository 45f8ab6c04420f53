"""The quota controller reports status.used from the namespace's objects."""

from __future__ import annotations

from sandbox.controllers.controller_fakes import Cluster

from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.controllers.resourcequota import ResourceQuotaController
from kubelab.sandbox.reconcile.types import Key, UpdateStatus

QUOTAS = kinds.core("resourcequotas")
PODS = kinds.core("pods")


def test_used_follows_the_pods_of_the_namespace(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    cluster.add(QUOTAS, {"metadata": {"name": "q", "namespace": "team-a"},
                         "spec": {"hard": {"pods": "4", "requests.cpu": "500m"}}})
    for i in range(2):
        cluster.add(PODS, {"metadata": {"name": f"p{i}", "namespace": "team-a"},
                           "spec": {"containers": [{"name": "c", "image": "nginx", "resources": {
                               "requests": {"cpu": "200m"}}}]}})
    cluster.add(PODS, {"metadata": {"name": "elsewhere", "namespace": "other"},
                       "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    result = ResourceQuotaController().reconcile(cluster, Key("resourcequotas", "team-a", "q"),
                                                 clock)
    [action] = result.actions
    assert isinstance(action, UpdateStatus)
    assert action.obj["status"] == {"hard": {"pods": "4", "requests.cpu": "500m"},
                                    "used": {"pods": "2", "requests.cpu": "400m"}}
