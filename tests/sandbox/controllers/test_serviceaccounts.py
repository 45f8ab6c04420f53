"""``serviceaccount-controller``: ``default`` in every active namespace, put back when deleted."""

from __future__ import annotations

from sandbox.controllers.controller_fakes import Cluster

from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.controllers import all_controllers
from kubelab.sandbox.controllers.serviceaccounts import ServiceAccountsController
from kubelab.sandbox.reconcile.types import Key

NAMESPACES = kinds.core("namespaces")
SERVICEACCOUNTS = kinds.core("serviceaccounts")


def _cluster(*names: str, phase: str = "Active") -> Cluster:
    cluster = Cluster(ManualClock())
    for name in names:
        cluster.add(NAMESPACES, {"metadata": {"name": name}, "status": {"phase": phase}})
    return cluster


def test_every_active_namespace_gets_default_once() -> None:
    cluster = _cluster("team-a", "team-b")
    controller = ServiceAccountsController()
    for _ in range(2):
        for key in cluster.keys(NAMESPACES):
            cluster.run(controller, key)
    accounts = sorted((sa["metadata"]["namespace"], sa["metadata"]["name"])
                      for sa in cluster.list(SERVICEACCOUNTS))
    assert accounts == [("team-a", "default"), ("team-b", "default")]


def test_a_deleted_default_comes_back_but_not_in_a_terminating_namespace() -> None:
    cluster = _cluster("team-a")
    controller = ServiceAccountsController()
    cluster.run(controller, Key(NAMESPACES.group_resource, "", "team-a"))
    sa = cluster.get(SERVICEACCOUNTS, "team-a", "default")
    assert sa is not None
    cluster.delete(SERVICEACCOUNTS, "team-a", "default")
    [key] = list(controller.keys_for(SERVICEACCOUNTS, sa, cluster))
    cluster.run(controller, key)
    assert cluster.get(SERVICEACCOUNTS, "team-a", "default") is not None
    going = _cluster("old", phase="Terminating")
    going.run(controller, Key(NAMESPACES.group_resource, "", "old"))
    assert going.list(SERVICEACCOUNTS) == []
    # another account is not the controller's business
    other = {"metadata": {"name": "robot", "namespace": "team-a"}}
    assert list(controller.keys_for(SERVICEACCOUNTS, other, cluster)) == []


def test_the_controller_manager_runs_it() -> None:
    assert any(isinstance(c, ServiceAccountsController) for c in all_controllers())
