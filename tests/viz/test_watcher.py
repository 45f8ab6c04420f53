"""The watcher against a fake API server: changes arrive fast, 410 relists, stop is clean."""

from __future__ import annotations

import queue
from typing import Any

import pytest

from kubelab.sandbox.clock import ManualClock
from kubelab.viz._clock import SystemClock
from kubelab.viz.model import ClusterSnapshot, project
from kubelab.viz.watcher import ClusterWatcher
from viz.fakeapi import FakeCluster
from viz.support import find, raw_fixture

REAL = SystemClock()


def _pod(name: str, node: str | None = None) -> dict[str, Any]:
    pod = find(raw_fixture("kubeadm"), "pods", "big-1")
    pod["metadata"] = {"name": name, "namespace": "default", "labels": {"app": "new"}}
    if node:
        pod["spec"]["nodeName"] = node
    return pod


def _names(snap: ClusterSnapshot) -> set[str]:
    return {p["metadata"]["name"] for p in snap.pods}


def _next(q: queue.Queue[ClusterSnapshot], pred: Any, timeout: float) -> ClusterSnapshot | None:
    deadline = REAL.monotonic() + timeout
    while (left := deadline - REAL.monotonic()) > 0:
        try:
            snap = q.get(timeout=left)
        except queue.Empty:
            return None
        if pred(snap):
            return snap
    return None


@pytest.fixture
def watcher(fake: tuple[FakeCluster, str]) -> Any:
    cluster, host = fake
    q: queue.Queue[ClusterSnapshot] = queue.Queue()
    clock = ManualClock()
    w = ClusterWatcher(
        cluster.api_client(host), q.put, clock=clock, context="fake", watch_timeout_seconds=5
    )
    w.start()
    yield cluster, w, q, clock
    w.stop()


def test_first_snapshot_holds_the_listed_cluster(watcher: Any) -> None:
    cluster, w, q, clock = watcher
    snap = _next(q, lambda s: True, 5.0)
    assert snap is not None
    assert w.errors == {}
    assert _names(snap) == {n for _, n in cluster.objects["pods"]}
    assert {n["metadata"]["name"] for n in snap.nodes} == {n for _, n in cluster.objects["nodes"]}
    assert snap.readyz == cluster.readyz and snap.livez == "ok"
    assert snap.server_version == "v1.37.0-fake" and snap.context == "fake"
    assert snap.now == clock.now()
    state = project(snap)
    assert {c.key: c.health for c in state.control_plane}["apiserver"] == "ok"


def test_a_change_arrives_within_half_a_second(watcher: Any) -> None:
    cluster, _w, q, _ = watcher
    assert _next(q, lambda s: True, 5.0) is not None
    for attempt in range(3):  # three separate changes, each timed
        name = f"fresh-{attempt}"
        start = REAL.monotonic()
        cluster.put("pods", _pod(name))
        snap = _next(q, lambda s, n=name: n in _names(s), 2.0)
        elapsed = REAL.monotonic() - start
        assert snap is not None, f"{name} never arrived"
        assert elapsed < 0.5, f"{name} took {elapsed:.3f}s"
    cluster.delete("pods", "default", "fresh-0")
    assert _next(q, lambda s: "fresh-0" not in _names(s), 1.0) is not None


def test_a_burst_is_coalesced(watcher: Any) -> None:
    cluster, w, q, _ = watcher
    assert _next(q, lambda s: True, 5.0) is not None
    published = w.published
    for i in range(40):
        cluster.put("pods", _pod(f"burst-{i}", node="worker-1"))
    snap = _next(q, lambda s: {f"burst-{i}" for i in range(40)} <= _names(s), 2.0)
    assert snap is not None
    assert w.published - published < 10


def test_expired_resource_version_relists(watcher: Any) -> None:
    cluster, w, q, _ = watcher
    assert _next(q, lambda s: True, 5.0) is not None
    assert w.wait_synced(2.0)
    before = w.relists["pods"]
    cluster.compact()
    cluster.end_watches()  # every watch reconnects from a version that is now compacted
    cluster.put("pods", _pod("after-compaction"))
    snap = _next(q, lambda s: "after-compaction" in _names(s), 3.0)
    assert snap is not None
    assert w.relists["pods"] > before
    assert "pods" not in w.errors


def test_forbidden_kind_is_reported_and_others_still_work(fake: tuple[FakeCluster, str]) -> None:
    cluster, host = fake
    cluster.forbidden.add("endpointslices")
    q: queue.Queue[ClusterSnapshot] = queue.Queue()
    w = ClusterWatcher(cluster.api_client(host), q.put, backoff_seconds=(0.05, 0.2))
    w.start()
    try:
        snap = _next(q, lambda s: bool(s.pods), 5.0)
        assert snap is not None and snap.endpointslices == ()
        assert w.errors["endpointslices"].startswith("403")
        cluster.put("pods", _pod("still-watching"))
        assert _next(q, lambda s: "still-watching" in _names(s), 1.0) is not None
    finally:
        assert w.stop()


def test_stop_joins_threads_within_two_seconds(fake: tuple[FakeCluster, str]) -> None:
    cluster, host = fake
    w = ClusterWatcher(cluster.api_client(host), lambda s: None, watch_timeout_seconds=60)
    w.start()
    assert w.wait_synced(5.0)
    assert w.running
    start = REAL.monotonic()
    assert w.stop(timeout=2.0) is True
    assert REAL.monotonic() - start < 2.0
    assert not w.running


def test_list_once_needs_no_threads(fake: tuple[FakeCluster, str]) -> None:
    cluster, host = fake
    w = ClusterWatcher(cluster.api_client(host), lambda s: None)
    snap = w.list_once()
    assert not w.running
    assert _names(snap) == {n for _, n in cluster.objects["pods"]}
    assert snap.server_version == "v1.37.0-fake"


def test_unreachable_server_is_reported_in_the_snapshot() -> None:
    cluster = FakeCluster()
    w = ClusterWatcher(
        cluster.api_client("http://127.0.0.1:9"), lambda s: None, kinds=("nodes", "pods")
    )
    snap = w.list_once()
    assert snap.api_error
    assert project(snap).component("apiserver").health == "down"  # type: ignore[union-attr]
