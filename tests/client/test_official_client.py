"""The official ``kubernetes`` Python client against a live sandbox, unchanged.

Lessons, the diagram and the graders talk to the cluster only through this client, so every
call they make must deserialise cleanly (no missing required fields) and print no warning:
pytest runs with warnings as errors. Covers typed CRUD and list, ``watch.Watch().stream``,
the dynamic client, the scale subresource, pod logs and ``utils.create_from_yaml``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, dynamic, utils, watch
from kubernetes.client.rest import ApiException
from sandbox_support import SandboxHandle

NS = "default"


@pytest.fixture
def api(sandbox: SandboxHandle) -> Iterator[client.ApiClient]:
    with sandbox.api_client() as api_client:
        yield api_client


def _configmap(name: str, **labels: str) -> client.V1ConfigMap:
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels or None),
                              data={"colour": "blue"})


def _deployment(name: str, replicas: int = 2, image: str = "nginx:1.25") -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "web", "image": image}]}}}}


def _core(api: client.ApiClient) -> Any:
    """The typed API, typed loosely here: every model field is Optional for mypy, and these
    tests assert the runtime values anyway."""
    return client.CoreV1Api(api)


def _apps(api: client.ApiClient) -> Any:
    return client.AppsV1Api(api)


def test_typed_crud_round_trip(api: client.ApiClient) -> None:
    core = _core(api)
    created = core.create_namespaced_config_map(NS, _configmap("crud", app="crud"))
    assert created.metadata.uid and created.metadata.resource_version
    assert created.metadata.creation_timestamp is not None

    read = core.read_namespaced_config_map("crud", NS)
    assert read.data == {"colour": "blue"}

    read.data["colour"] = "green"
    replaced = core.replace_namespaced_config_map("crud", NS, read)
    assert int(replaced.metadata.resource_version) > int(created.metadata.resource_version)

    patched = core.patch_namespaced_config_map("crud", NS, {"data": {"size": "L"}})
    assert patched.data == {"colour": "green", "size": "L"}

    # A replace carrying the old resourceVersion is a 409 Conflict, as on a real server.
    stale = core.read_namespaced_config_map("crud", NS)
    stale.metadata.resource_version = created.metadata.resource_version
    with pytest.raises(ApiException) as conflict:
        core.replace_namespaced_config_map("crud", NS, stale)
    assert conflict.value.status == 409

    # The client types this answer as a plain object: a Status naming what was deleted.
    status = core.delete_namespaced_config_map("crud", NS)
    assert status["status"] == "Success"
    assert status["details"] == {"name": "crud", "kind": "configmaps",
                                 "uid": created.metadata.uid}
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_config_map("crud", NS)
    assert missing.value.status == 404
    assert json.loads(missing.value.body or "{}")["reason"] == "NotFound"


def test_list_with_label_selector(api: client.ApiClient) -> None:
    core = _core(api)
    for i in range(3):
        core.create_namespaced_config_map(NS, _configmap(f"listed-{i}", group="a" if i else "b"))
    try:
        listed = core.list_namespaced_config_map(NS, label_selector="group=a")
        assert sorted(item.metadata.name for item in listed.items) == ["listed-1", "listed-2"]
        assert listed.metadata.resource_version
        everywhere = core.list_config_map_for_all_namespaces(label_selector="group")
        assert len(everywhere.items) == 3
        page = core.list_namespaced_config_map(NS, label_selector="group", limit=2)
        assert len(page.items) == 2 and page.metadata._continue
        rest = core.list_namespaced_config_map(NS, label_selector="group", limit=2,
                                               _continue=page.metadata._continue)
        assert len(rest.items) == 1
    finally:
        core.delete_collection_namespaced_config_map(NS, label_selector="group")


def test_watch_stream_is_bounded_and_ordered(api: client.ApiClient) -> None:
    core = _core(api)
    start_rv = core.list_namespaced_config_map(NS).metadata.resource_version
    seen: list[tuple[str, str, str]] = []
    w = watch.Watch()

    def consume() -> None:
        for event in w.stream(core.list_namespaced_config_map, NS, label_selector="watched=yes",
                              resource_version=start_rv, timeout_seconds=10):
            obj = event["object"]
            seen.append((event["type"], obj.metadata.name, obj.data.get("step", "")))
            if event["type"] == "DELETED":
                w.stop()

    thread = threading.Thread(target=consume)
    thread.start()
    cm = _configmap("watched", watched="yes")
    cm.data = {"step": "1"}
    core.create_namespaced_config_map(NS, cm)
    core.patch_namespaced_config_map("watched", NS, {"data": {"step": "2"}})
    core.delete_namespaced_config_map("watched", NS)
    thread.join(timeout=20)
    assert not thread.is_alive(), "the watch did not end"
    assert seen == [("ADDED", "watched", "1"), ("MODIFIED", "watched", "2"),
                    ("DELETED", "watched", "2")]


def test_dynamic_client(api: client.ApiClient) -> None:
    dyn = dynamic.DynamicClient(api)
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    assert deployments.namespaced and deployments.name == "deployments"
    created = deployments.create(body=_deployment("dyn"), namespace=NS)
    assert created.metadata.name == "dyn"
    assert created.spec.template.spec.containers[0].image == "nginx:1.25"
    patched = deployments.patch(name="dyn", namespace=NS,
                                body={"metadata": {"labels": {"tier": "web"}}},
                                content_type="application/merge-patch+json")
    assert patched.metadata.labels["tier"] == "web"
    listed = deployments.get(namespace=NS, label_selector="tier=web")
    assert [item.metadata.name for item in listed.items] == ["dyn"]
    deployments.delete(name="dyn", namespace=NS)
    with pytest.raises(dynamic.exceptions.NotFoundError):
        deployments.get(name="dyn", namespace=NS)


def test_patch_deployment_scale(api: client.ApiClient) -> None:
    apps = _apps(api)
    apps.create_namespaced_deployment(NS, _deployment("scaled"))
    try:
        scale = apps.patch_namespaced_deployment_scale("scaled", NS, {"spec": {"replicas": 4}})
        assert type(scale).__name__ == "V1Scale" and scale.spec.replicas == 4
        assert apps.read_namespaced_deployment("scaled", NS).spec.replicas == 4
        assert apps.read_namespaced_deployment_scale("scaled", NS).status.selector == "app=scaled"
    finally:
        apps.delete_namespaced_deployment("scaled", NS)


def test_create_from_yaml(api: client.ApiClient, tmp_path: Path) -> None:
    manifest = tmp_path / "app.yaml"
    manifest.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: from-yaml\nspec:\n"
        "  replicas: 1\n  selector:\n    matchLabels: {app: from-yaml}\n  template:\n"
        "    metadata:\n      labels: {app: from-yaml}\n    spec:\n      containers:\n"
        "      - {name: web, image: nginx}\n---\napiVersion: v1\nkind: Service\nmetadata:\n"
        "  name: from-yaml\nspec:\n  selector: {app: from-yaml}\n  ports:\n  - port: 80\n")
    created = utils.create_from_yaml(api, str(manifest), namespace=NS)
    kinds = sorted(type(obj).__name__ for group in created for obj in group)
    assert kinds == ["V1Deployment", "V1Service"]
    svc = _core(api).read_namespaced_service("from-yaml", NS)
    assert svc.spec.cluster_ip and svc.spec.ports[0].target_port == 80
    with pytest.raises(utils.FailToCreateError):
        utils.create_from_yaml(api, str(manifest), namespace=NS)
    client.AppsV1Api(api).delete_namespaced_deployment("from-yaml", NS)
    client.CoreV1Api(api).delete_namespaced_service("from-yaml", NS)


def test_read_namespaced_pod_log(api: client.ApiClient) -> None:
    core = _core(api)
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name="printer"),
        spec=client.V1PodSpec(restart_policy="Never", containers=[client.V1Container(
            name="printer", image="busybox",
            command=["sh", "-c", "echo first; echo second; echo third"])]))
    core.create_namespaced_pod(NS, pod)
    try:
        deadline = time.monotonic() + 60
        phase = ""
        while time.monotonic() < deadline:
            phase = core.read_namespaced_pod("printer", NS).status.phase
            if phase == "Succeeded":
                break
            time.sleep(0.2)
        assert phase == "Succeeded"
        assert core.read_namespaced_pod_log("printer", NS) == "first\nsecond\nthird\n"
        assert core.read_namespaced_pod_log("printer", NS, tail_lines=1) == "third\n"
        with pytest.raises(ApiException) as bad:
            core.read_namespaced_pod_log("printer", NS, container="nope")
        assert bad.value.status == 400
    finally:
        core.delete_namespaced_pod("printer", NS, grace_period_seconds=0)


def test_every_listed_object_deserialises(api: client.ApiClient) -> None:
    """Lists of every kind the course touches go through the client's models unharmed."""
    core, apps = _core(api), _apps(api)
    assert core.list_namespace().items
    assert core.list_node().items
    core.list_pod_for_all_namespaces()
    assert core.list_service_for_all_namespaces().items
    core.list_endpoints_for_all_namespaces()
    core.list_event_for_all_namespaces()
    apps.list_deployment_for_all_namespaces()
    apps.list_replica_set_for_all_namespaces()
    apps.list_daemon_set_for_all_namespaces()
    client.CoordinationV1Api(api).list_lease_for_all_namespaces()
    client.DiscoveryV1Api(api).list_endpoint_slice_for_all_namespaces()
    version = client.VersionApi(api).get_code()
    assert version.major == "1" and version.git_version.startswith("v1.")
