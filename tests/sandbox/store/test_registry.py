"""The generic registry: revisions, concurrency, deletion and watch semantics."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kubelab.sandbox.api import kinds
from kubelab.sandbox.api.errors import ApiError
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.storage import Registry
from kubelab.sandbox.store.registry import storage_key

PODS = kinds.core("pods")
CM = kinds.core("configmaps")
NS = kinds.core("namespaces")
DEPLOY = kinds.apps("deployments")


def _registry(path: Path | None = None) -> Registry:
    reg = Registry(ManualClock(), path, seed=1)
    if reg.peek(NS, "", "default") is None:
        reg.create(NS, {"metadata": {"name": "default"}})
    return reg


def _cm(name: str, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
            "data": dict(data)}


def _pod(name: str, node: str = "") -> dict:
    spec: dict = {"containers": [{"name": "c", "image": "nginx"}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def test_every_write_gets_the_next_cluster_wide_revision() -> None:
    reg = _registry()
    a = reg.create(CM, _cm("a"), namespace="default")
    b = reg.create(CM, _cm("b"), namespace="default")
    assert int(b["metadata"]["resourceVersion"]) == int(a["metadata"]["resourceVersion"]) + 1
    assert reg.revision == int(b["metadata"]["resourceVersion"])


def test_keys_follow_the_etcd_layout() -> None:
    assert storage_key(PODS, "default", "web") == "/registry/pods/default/web"
    assert storage_key(DEPLOY, "ns1", "web") == "/registry/deployments/ns1/web"
    assert storage_key(NS, "", "default") == "/registry/namespaces/default"


def test_stale_resource_version_is_a_409_conflict_and_changes_nothing() -> None:
    reg = _registry()
    first = reg.create(CM, _cm("a", k="1"), namespace="default")
    changed = dict(first, data={"k": "2"})
    reg.update(CM, changed, namespace="default")
    stale = dict(first, data={"k": "3"})
    with pytest.raises(ApiError) as err:
        reg.update(CM, stale, namespace="default")
    assert err.value.code == 409
    assert err.value.reason == "Conflict"
    assert "the object has been modified" in err.value.message
    assert reg.get(CM, "default", "a")["data"] == {"k": "2"}


def test_a_no_op_update_does_not_move_the_revision() -> None:
    reg = _registry()
    obj = reg.create(CM, _cm("a", k="1"), namespace="default")
    before = reg.revision
    again = reg.update(CM, obj, namespace="default")
    assert reg.revision == before
    assert again["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]


def test_create_twice_is_already_exists() -> None:
    reg = _registry()
    reg.create(CM, _cm("a"), namespace="default")
    with pytest.raises(ApiError) as err:
        reg.create(CM, _cm("a"), namespace="default")
    assert (err.value.code, err.value.reason) == (409, "AlreadyExists")
    assert err.value.message == 'configmaps "a" already exists'


def test_unknown_namespace_is_not_found() -> None:
    reg = _registry()
    with pytest.raises(ApiError) as err:
        reg.create(CM, _cm("a"), namespace="nope")
    assert err.value.code == 404
    assert err.value.message == 'namespaces "nope" not found'


def test_generate_name_gets_a_five_character_suffix() -> None:
    reg = _registry()
    obj = reg.create(CM, {"metadata": {"generateName": "web-"}}, namespace="default")
    name = obj["metadata"]["name"]
    assert name.startswith("web-") and len(name) == len("web-") + 5
    assert set(name[4:]) <= set("bcdfghjklmnpqrstvwxz2456789")


def test_finalizers_hold_an_object_until_removed() -> None:
    reg = _registry()
    obj = _cm("a")
    obj["metadata"]["finalizers"] = ["example.com/hold"]
    reg.create(CM, obj, namespace="default")
    held, gone = reg.delete(CM, "default", "a")
    assert not gone and held["metadata"]["deletionTimestamp"]
    current = reg.get(CM, "default", "a")
    current["metadata"]["finalizers"] = []
    reg.update(CM, current, namespace="default")
    assert reg.peek(CM, "default", "a") is None


def test_foreground_and_orphan_add_their_finalizers() -> None:
    reg = _registry()
    reg.create(CM, _cm("f"), namespace="default")
    reg.create(CM, _cm("o"), namespace="default")
    f, _ = reg.delete(CM, "default", "f", propagation="Foreground")
    o, _ = reg.delete(CM, "default", "o", propagation="Orphan")
    assert f["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert o["metadata"]["finalizers"] == ["orphan"]


def test_scheduled_pods_terminate_gracefully_unscheduled_go_at_once() -> None:
    reg = _registry()
    reg.create(PODS, _pod("bound", node="n1"), namespace="default")
    reg.create(PODS, _pod("pending"), namespace="default")
    bound, gone = reg.delete(PODS, "default", "bound")
    assert not gone and bound["metadata"]["deletionGracePeriodSeconds"] == 30
    _, gone = reg.delete(PODS, "default", "pending")
    assert gone and reg.peek(PODS, "default", "pending") is None
    _, gone = reg.delete(PODS, "default", "bound", grace_period_seconds=0)
    assert gone and reg.peek(PODS, "default", "bound") is None


def test_binding_sets_node_once() -> None:
    reg = _registry()
    reg.create(PODS, _pod("p"), namespace="default")
    bound = reg.bind("default", "p", "node-1")
    assert bound["spec"]["nodeName"] == "node-1"
    assert {"type": "PodScheduled", "status": "True"}.items() <= \
        bound["status"]["conditions"][-1].items()
    with pytest.raises(ApiError) as err:
        reg.bind("default", "p", "node-2")
    assert err.value.code == 409
    # A caller's copy by default; the stored pod itself for in-process binders (the
    # scheduler), which only read it.
    assert bound is not reg.peek(PODS, "default", "p")
    reg.create(PODS, _pod("q"), namespace="default")
    stored = reg.bind("default", "q", "node-1", copy_result=False)
    assert stored is reg.peek(PODS, "default", "q")
    assert stored["spec"]["nodeName"] == "node-1"


async def test_watch_from_a_revision_replays_later_rows_then_live_events() -> None:
    reg = _registry()
    a = reg.create(CM, _cm("a"), namespace="default")
    since = int(a["metadata"]["resourceVersion"])
    reg.create(CM, _cm("b"), namespace="default")
    watcher, backlog = reg.watch(CM, "default", since=since)
    assert [(e.type, e.obj["metadata"]["name"]) for e in backlog] == [("ADDED", "b")]
    reg.delete(CM, "default", "a")
    event = await asyncio.wait_for(watcher.queue.get(), 1)
    assert event is not None and (event.type, event.obj["metadata"]["name"]) == ("DELETED", "a")
    reg.stop_watch(watcher)


def test_watch_without_revision_starts_with_synthetic_added() -> None:
    reg = _registry()
    reg.create(CM, _cm("a"), namespace="default")
    reg.create(CM, _cm("b"), namespace="default")
    watcher, backlog = reg.watch(CM, None, since=None, label_selector="")
    assert sorted(e.obj["metadata"]["name"] for e in backlog) == ["a", "b"]
    assert {e.type for e in backlog} == {"ADDED"}
    reg.stop_watch(watcher)


def test_watch_from_a_compacted_revision_is_410_gone() -> None:
    reg = _registry()
    first = reg.create(CM, _cm("a", v="0"), namespace="default")
    for i in range(5):
        obj = reg.get(CM, "default", "a")
        obj["data"] = {"v": str(i + 1)}
        reg.update(CM, obj, namespace="default")
    reg.log.compact(reg.revision - 1)
    with pytest.raises(ApiError) as err:
        reg.watch(CM, "default", since=int(first["metadata"]["resourceVersion"]))
    assert err.value.code == 410 and err.value.reason == "Expired"
    assert "too old resource version" in err.value.message


def test_state_survives_reopening_the_datastore(tmp_path: Path) -> None:
    db = tmp_path / "etcd.sqlite"
    reg = _registry(db)
    reg.create(CM, _cm("kept", k="v"), namespace="default")
    revision = reg.revision
    reg.log.close()
    again = Registry(ManualClock(), db)
    assert again.get(CM, "default", "kept")["data"] == {"k": "v"}
    assert again.revision == revision


def test_an_object_over_the_size_limit_is_refused_and_nothing_is_written(
        tmp_path: Path) -> None:
    reg = Registry(ManualClock(), tmp_path / "etcd.sqlite", seed=1, max_object_bytes=2048)
    reg.create(NS, {"metadata": {"name": "default"}})
    reg.create(CM, _cm("small", k="v"), namespace="default")
    revision = reg.revision
    with pytest.raises(ApiError) as err:
        reg.create(CM, _cm("big", k="x" * 4096), namespace="default")
    assert (err.value.code, err.value.reason) == (413, "RequestEntityTooLarge")
    assert err.value.message == "Request entity too large: limit is 2048"
    grown = reg.get(CM, "default", "small")
    grown["data"]["k"] = "x" * 4096
    with pytest.raises(ApiError) as err:
        reg.update(CM, grown, namespace="default")
    assert err.value.code == 413
    assert reg.revision == revision
    assert reg.peek(CM, "default", "big") is None
    kept = reg.get(CM, "default", "small")
    assert kept["data"] == {"k": "v"} and kept["metadata"]["resourceVersion"] == str(revision)
    # Just under the limit is stored, and the stored row is what the datastore holds.
    fits = _cm("fits", k="x" * 1500)
    stored = reg.create(CM, fits, namespace="default")
    reg.log.flush()
    key = storage_key(CM, "default", "fits")
    assert reg.log.value_at(key, int(stored["metadata"]["resourceVersion"])) == stored
    reg.close()
