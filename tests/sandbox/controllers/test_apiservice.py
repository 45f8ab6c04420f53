"""kube-aggregator's autoregister and availability controllers on the real registry.

Upstream: ``k8s.io/kube-aggregator/pkg/controllers/autoregister`` (one APIService per served
group-version, labelled ``automanaged: onstart``, put back when deleted) and
``pkg/controllers/status/available_controller.go`` (``Available``: ``Local``, ``Passed``,
``ServiceNotFound``, ``FailedDiscoveryCheck``), plus ``ValidateAPIService``.
"""

from __future__ import annotations

import pytest
from sandbox.controllers.controller_fakes import Cluster

from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.errors import ApiError
from kubelab.sandbox.api.tables import table
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.controllers.apiservice import (
    AUTOMANAGED,
    APIServiceController,
    desired,
)
from kubelab.sandbox.reconcile.types import Key, Obj

APISERVICES = kinds.resource("apiservices.apiregistration.k8s.io")
SERVICES = kinds.core("services")


def settle(cluster: Cluster, controller: APIServiceController, rounds: int = 3) -> None:
    """Run the keys an informer would deliver until nothing changes."""
    for _ in range(rounds):
        keys = set(controller.initial_keys()) | set(cluster.keys(APISERVICES))
        for key in sorted(keys):
            cluster.run(controller, key)


def get(cluster: Cluster, name: str) -> Obj:
    found = cluster.get(APISERVICES, "", name)
    assert found is not None, name
    return found


def available(cluster: Cluster, name: str) -> tuple[str, str, str]:
    [condition] = get(cluster, name)["status"]["conditions"]
    assert condition["type"] == "Available" and condition["lastTransitionTime"]
    return condition["status"], condition["reason"], condition["message"]


def test_one_local_apiservice_per_served_group_version(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    settle(cluster, APIServiceController())
    names = {a["metadata"]["name"] for a in cluster.list(APISERVICES)}
    # Derived from the kinds table, as discovery is: every group-version it serves.
    served = {f"{info.version}.{info.group}" for info in kinds.KINDS}
    assert served <= names
    assert {"v1.", "v1.apps", "v1.batch", "v1.apiregistration.k8s.io"} <= names
    core = get(cluster, "v1.")
    assert core["spec"] == {"version": "v1", "groupPriorityMinimum": 18000,
                            "versionPriority": 1}
    assert core["metadata"]["labels"] == {AUTOMANAGED: "onstart"}
    assert get(cluster, "v1.apps")["spec"] == {
        "group": "apps", "version": "v1", "groupPriorityMinimum": 17800, "versionPriority": 15}
    assert available(cluster, "v1.apps") == ("True", "Local",
                                             "Local APIServices are always available")


def test_the_table_prints_local_and_available(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    settle(cluster, APIServiceController())
    clock.advance(90)
    rows = table(APISERVICES, [get(cluster, "v1.apps")], now=clock.now())["rows"]
    assert [c["name"] for c in table(APISERVICES, [], now=clock.now())["columnDefinitions"]] \
        == ["Name", "Service", "Available", "Age"]
    assert rows[0]["cells"] == ["v1.apps", "Local", "True", "90s"]


def test_a_deleted_automanaged_apiservice_comes_back(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    controller = APIServiceController()
    settle(cluster, controller)
    uid = get(cluster, "v1.batch")["metadata"]["uid"]
    cluster.delete(APISERVICES, "", "v1.batch")
    assert cluster.get(APISERVICES, "", "v1.batch") is None
    cluster.run(controller, Key(APISERVICES.group_resource, "", "v1.batch"))
    assert get(cluster, "v1.batch")["metadata"]["uid"] != uid


def test_a_changed_automanaged_spec_is_put_back(clock: ManualClock) -> None:
    cluster = Cluster(clock)
    controller = APIServiceController()
    settle(cluster, controller)
    edited = get(cluster, "v1.apps")
    edited["spec"]["versionPriority"] = 99
    cluster.update(APISERVICES, edited)
    settle(cluster, controller)
    assert get(cluster, "v1.apps")["spec"]["versionPriority"] == 15


def test_an_extension_apiservice_without_its_service_is_unavailable(
        clock: ManualClock) -> None:
    cluster = Cluster(clock)
    controller = APIServiceController()
    cluster.add(APISERVICES, {
        "metadata": {"name": "v1alpha1.wardle.k8s.io"},
        "spec": {"group": "wardle.k8s.io", "version": "v1alpha1", "insecureSkipTLSVerify": True,
                 "groupPriorityMinimum": 1000, "versionPriority": 15,
                 "service": {"name": "api", "namespace": "wardle"}}})
    stored = get(cluster, "v1alpha1.wardle.k8s.io")
    assert stored["spec"]["service"]["port"] == 443  # SetDefaults_ServiceReference
    settle(cluster, controller)
    assert available(cluster, "v1alpha1.wardle.k8s.io") == (
        "False", "ServiceNotFound", 'service/api in "wardle" is not present')
    # Nothing to write on a second pass: the condition has not changed.
    key = Key(APISERVICES.group_resource, "", "v1alpha1.wardle.k8s.io")
    assert controller.reconcile(cluster.snapshot, key, clock).actions == []

    cluster.add(SERVICES, {"metadata": {"name": "api", "namespace": "wardle"},
                           "spec": {"ports": [{"port": 443}]}})
    service = cluster.get(SERVICES, "wardle", "api")
    assert service is not None
    assert list(controller.keys_for(SERVICES, service, cluster.snapshot)) == [key]
    cluster.run(controller, key)
    status, reason, message = available(cluster, "v1alpha1.wardle.k8s.io")
    assert (status, reason) == ("False", "FailedDiscoveryCheck")
    assert message.startswith("failing or missing response from https://10.")
    rows = table(APISERVICES, [get(cluster, "v1alpha1.wardle.k8s.io")], now=clock.now())
    assert rows["rows"][0]["cells"][1:3] == ["wardle/api", "False (FailedDiscoveryCheck)"]


def test_served_aggregated_apis_are_registered_behind_their_service() -> None:
    aggregated = getattr(kinds, "AGGREGATED", ())
    if not aggregated:
        pytest.skip("no aggregated API is served")
    info = aggregated[0]
    apiservice = desired()[f"{info.version}.{info.group}"]
    assert apiservice["spec"]["service"] == {"name": "metrics-server",
                                             "namespace": "kube-system", "port": 443}


@pytest.mark.parametrize(("name", "spec", "message"), [
    ("v1.wardle.k8s.io", {"group": "wardle.k8s.io", "version": "v2"},
     'metadata.name: Invalid value: "v1.wardle.k8s.io": '
     'must be `spec.version+"."+spec.group`: "v2.wardle.k8s.io"'),
    ("v2.", {"version": "v2"},
     "spec.group: Required value: only v1 may have an empty group and it better be "
     "legacy kube"),
    ("v1.x.io", {"group": "x.io", "version": "v1", "groupPriorityMinimum": 0},
     "spec.groupPriorityMinimum: Invalid value: 0: must be positive and less than 20000"),
    ("v1.x.io", {"group": "x.io", "version": "v1", "insecureSkipTLSVerify": True},
     "spec.insecureSkipTLSVerify: Invalid value: true: local APIServices may not have "
     "insecureSkipTLSVerify"),
    ("v1.x.io", {"group": "x.io", "version": "v1", "service": {"name": "s"}},
     "spec.service.namespace: Required value"),
])
def test_validation_wording(clock: ManualClock, name: str, spec: Obj, message: str) -> None:
    cluster = Cluster(clock)
    body = {"metadata": {"name": name},
            "spec": {"groupPriorityMinimum": 1000, "versionPriority": 15, **spec}}
    with pytest.raises(ApiError) as caught:
        cluster.add(APISERVICES, body)
    assert caught.value.code == 422
    assert message in caught.value.message
