"""The scheduler on the real registry: bind, events, Unschedulable condition, back-off,
requeue, the incremental cache and default topology spreading."""

from __future__ import annotations

import copy
from collections import Counter

import pytest
from sandbox.scheduler.driver import Driver
from sandbox.scheduler.scheduler_fakes import control_plane, node, pod

from kubelab.sandbox.api import errors, kinds
from kubelab.sandbox.api.selectors import selector_from_match_labels
from kubelab.sandbox.reconcile.types import Bind, Key, RecordEvent, UpdateStatus
from kubelab.sandbox.scheduler import backoff_seconds, scheduler
from kubelab.sandbox.scheduler.cache import build
from kubelab.sandbox.scheduler.scheduler import Scheduler

NODES = kinds.core("nodes")
PODS = kinds.core("pods")
EVENTS = kinds.core("events")
REPLICASETS = kinds.apps("replicasets")

UNSCHEDULABLE_MESSAGE = (
    "0/3 nodes are available: 1 node(s) had untolerated taint "
    "{node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. preemption: 0/3 "
    "nodes are available: 1 Preemption is not helpful for scheduling, 2 No "
    "preemption victims found for incoming pod.")


def key(name: str) -> Key:
    return Key("pods", "default", name)


@pytest.fixture
async def drv() -> object:
    driver = Driver(scheduler())
    yield driver
    await driver.stop()


def sched(driver: Driver) -> Scheduler:
    assert isinstance(driver.component, Scheduler)
    return driver.component


def events(driver: Driver, reason: str) -> list[str]:
    return [e["message"] for e in driver.registry.iter_objects(EVENTS)
            if e.get("reason") == reason]


async def test_success_binds_and_records_scheduled(drv: Driver) -> None:
    for n in (control_plane(), node("node-1"), node("node-2", cpu="2")):
        drv.add_node(n)
    drv.start()
    drv.add_pod(pod("hello", cpu="100m"))
    await drv.drain()
    assert drv.node_of("hello") == "node-2"
    conditions = drv.pod("hello")["status"]["conditions"]
    assert [(c["type"], c["status"]) for c in conditions] == [("PodScheduled", "True")]
    assert events(drv, "Scheduled") == ["Successfully assigned default/hello to node-2"]


async def test_scoring_spreads_equal_pods_over_equal_nodes(drv: Driver) -> None:
    for i in (1, 2, 3):
        drv.add_node(node(f"node-{i}"))
    drv.start()
    names = [f"hello-{i}" for i in range(6)]
    placed = []
    for name in names:  # one at a time, so the order of decisions is the creation order
        drv.add_pod(pod(name, cpu="100m", memory="100Mi"))
        await drv.drain()
        placed.append(drv.node_of(name))
    assert sorted(placed) == ["node-1", "node-1", "node-2", "node-2", "node-3", "node-3"]
    assert placed[:3] == ["node-1", "node-2", "node-3"]


async def test_assumed_pods_prevent_overcommit(drv: Driver) -> None:
    drv.add_node(node("node-1", cpu="250m"))
    drv.start()
    for name in ("a", "b", "c"):
        drv.add_pod(pod(name, cpu="100m"))
    await drv.drain()
    assert [drv.node_of(n) for n in ("a", "b", "c")] == ["node-1", "node-1", ""]
    cond = drv.pod("c")["status"]["conditions"][-1]
    assert (cond["reason"], cond["message"]) == (
        "Unschedulable", "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes "
                         "are available: 1 No preemption victims found for incoming pod.")


async def test_a_pod_is_assumed_only_once_its_bind_is_written(drv: Driver) -> None:
    drv.add_node(node("node-1", cpu="250m"))
    drv.start()
    # The decision alone assumes nothing: the pod does not count until its bind is applied.
    drv.add_pod(pod("b", cpu="200m"))
    result = sched(drv).reconcile(drv.runner.snapshot, key("b"), drv.clock)
    bind = result.actions[0]
    assert isinstance(bind, Bind) and bind.node == "node-1"
    assert sched(drv).cache.node_of(bind.uid) is None
    # The store refuses the bind (the pod went meanwhile): still nothing assumed.
    drv.registry.delete(PODS, "default", "b")
    with pytest.raises(errors.ApiError):
        drv.runner.apply(bind)
    assert sched(drv).cache.node_of(bind.uid) is None
    assert sched(drv).cache.node_infos()[0].requested() == {}


async def test_a_written_bind_is_assumed_even_before_its_event(drv: Driver) -> None:
    drv.add_node(node("node-1", cpu="250m"))
    drv.add_pod(pod("a", cpu="200m"))
    drv.add_pod(pod("b", cpu="200m"))
    # No subscription: the scheduler sees no events, only its own binds (as when the
    # informer lags behind the write).
    cache = sched(drv).cache
    cache.update_node(drv.registry.get(NODES, "", "node-1"))
    result = sched(drv).reconcile(drv.runner.snapshot, key("a"), drv.clock)
    drv.runner.apply(result.actions[0])
    assert cache.node_of(drv.pod("a")["metadata"]["uid"]) == "node-1"
    second = sched(drv).reconcile(drv.runner.snapshot, key("b"), drv.clock)
    assert not any(isinstance(a, Bind) for a in second.actions)
    # The bound pod's event then confirms the assumed pod: it is counted once.
    cache.update_pod(drv.pod("a"))
    assert cache.node_infos()[0].requested()["cpu"] == 200
    assert not cache.is_assumed(drv.pod("a")["metadata"]["uid"])


async def test_cache_follows_pod_add_update_delete(drv: Driver) -> None:
    for i in (1, 2):
        drv.add_node(node(f"node-{i}"))
    drv.start()
    cache = sched(drv).cache
    registry = drv.registry

    async def check() -> None:
        await drv.drain()  # the handlers run off the commit path, as informers' do
        fresh = build(registry.iter_objects(NODES), registry.iter_objects(PODS))
        web = selector_from_match_labels({"app": "web"})
        assert [i.name for i in cache.node_infos()] == [i.name for i in fresh.node_infos()]
        for have, want in zip(cache.node_infos(), fresh.node_infos(), strict=True):
            assert have.requested() == want.requested()
            assert have.requested(non_zero=True) == want.requested(non_zero=True)
            assert have.pod_count == want.pod_count
            assert have.count_matching("default", web) == want.count_matching("default", web)

    for i in range(4):
        body = pod(f"p{i}", cpu=f"{(i + 1) * 100}m", memory="64Mi")
        body["metadata"]["labels"] = {"app": "web"}
        drv.add_pod(body)
        await check()
    await drv.drain()
    await check()
    assert sum(i.pod_count for i in cache.node_infos()) == 4
    relabelled = drv.pod("p0")
    relabelled["metadata"]["labels"] = {"app": "other"}
    registry.update(PODS, relabelled)
    await check()
    done = drv.pod("p1")
    done["status"]["phase"] = "Succeeded"
    registry.update(PODS, done, subresource="status")
    await check()
    registry.delete(PODS, "default", "p2")  # graceful: terminating, still counted
    assert registry.peek(PODS, "default", "p2") is not None
    await check()
    registry.delete(PODS, "default", "p2", grace_period_seconds=0)
    await check()
    registry.delete(NODES, "", "node-2")
    await check()
    assert sum(i.pod_count for i in cache.node_infos()) == sum(
        i.pod_count for i in build(registry.iter_objects(NODES),
                                   registry.iter_objects(PODS)).node_infos())


def _replicaset(driver: Driver, name: str, replicas: int) -> list[str]:
    rs = driver.registry.create(REPLICASETS, {
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}}, "spec": {
                     "containers": [{"name": "app", "image": "nginx"}]}}}},
        namespace="default")
    names = []
    for i in range(replicas):
        body = pod(f"{name}-{i}", cpu="100m", memory="128Mi")
        body["metadata"]["labels"] = {"app": name}
        body["metadata"]["ownerReferences"] = [{
            "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": name, "controller": True,
            "uid": rs["metadata"]["uid"]}]
        driver.add_pod(body)
        names.append(body["metadata"]["name"])
    return names


async def _placement(driver: Driver, owned: bool) -> Counter[str]:
    for i in (1, 2, 3):
        driver.add_node(node(f"node-{i}"))
    # Something else already runs on node-1 and node-2 (a DaemonSet-like system pod each).
    driver.add_pod(pod("agent-1", cpu="300m", memory="600Mi", node_name="node-1"))
    driver.add_pod(pod("agent-2", cpu="300m", memory="600Mi", node_name="node-2"))
    driver.start()
    names = _replicaset(driver, "web", 5)
    if not owned:
        for name in names:
            body = driver.pod(name)
            body["metadata"].pop("ownerReferences")
            driver.registry.update(PODS, body)
    await driver.drain()
    return Counter(driver.node_of(n) for n in names)


async def test_five_replicas_on_three_workers_land_two_two_one(drv: Driver) -> None:
    spread = await _placement(drv, owned=True)
    assert sorted(spread.values()) == [1, 2, 2], spread
    # Without an owner (no default constraints) resource scores alone pile onto node-3.
    other = Driver(scheduler())
    try:
        unspread = await _placement(other, owned=False)
    finally:
        await other.stop()
    assert sorted(unspread.values()) != [1, 2, 2], unspread


async def test_failure_sets_condition_event_and_backs_off(drv: Driver) -> None:
    for n in (control_plane(), node("node-1", cpu="100m"), node("node-2", cpu="100m")):
        drv.add_node(n)
    drv.start()
    drv.add_pod(pod("big", cpu="500m"))
    await drv.drain()
    cond = drv.pod("big")["status"]["conditions"][-1]
    assert (cond["type"], cond["status"], cond["reason"], cond["message"]) == (
        "PodScheduled", "False", "Unschedulable", UNSCHEDULABLE_MESSAGE)
    assert events(drv, "FailedScheduling") == [UNSCHEDULABLE_MESSAGE]
    s = sched(drv)
    # Within the back-off nothing is tried, whatever requeues the pod.
    drv.clock.advance(0.5)
    early = s.reconcile(drv.runner.snapshot, key("big"), drv.clock)
    assert early.actions == [] and early.requeue_after == 0.5
    drv.clock.advance(0.5)
    again = s.reconcile(drv.runner.snapshot, key("big"), drv.clock)
    # Same message: no status write, but the event is recorded again. Without a cluster
    # event the pod waits for the 5-minute flush; the back-off doubles.
    assert [type(a) for a in again.actions] == [RecordEvent]
    assert again.requeue_after == 300.0
    drv.clock.advance(1.0)
    assert s.reconcile(drv.runner.snapshot, key("big"), drv.clock).requeue_after == 1.0
    assert not any(isinstance(a, UpdateStatus) for a in again.actions)


def test_backoff_sequence() -> None:
    assert [backoff_seconds(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


async def test_cluster_changes_requeue_unschedulable_pods(drv: Driver) -> None:
    drv.add_node(node("node-1", cpu="100m"))
    drv.add_pod(pod("running", cpu="50m", node_name="node-1"))
    drv.start()
    drv.add_pod(pod("big", cpu="500m"))
    await drv.drain()
    assert drv.node_of("big") == ""
    # A bound pod's status change does not requeue anything; its deletion does.
    s = sched(drv)
    running = drv.pod("running")
    assert list(s.keys_for(PODS, running, drv.runner.snapshot)) == []
    before = drv.runner.reconciles
    drv.registry.delete(PODS, "default", "running", grace_period_seconds=0)
    await drv.drain()
    assert drv.runner.reconciles > before  # "big" was looked at again
    # A heartbeat of node-1 (new condition times only) moves nothing.
    s = sched(drv)
    before = drv.runner.reconciles
    beat = drv.registry.get(NODES, "", "node-1")
    beat["status"]["conditions"] = [{"type": "Ready", "status": "True",
                                     "lastHeartbeatTime": "2026-01-01T00:00:10Z"}]
    drv.registry.update(NODES, beat, subresource="status")
    await drv.drain()
    beat = drv.registry.get(NODES, "", "node-1")
    beat["status"]["conditions"][0]["lastHeartbeatTime"] = "2026-01-01T00:00:20Z"
    drv.registry.update(NODES, beat, subresource="status")
    await drv.drain()
    assert drv.runner.reconciles == before + 1  # only the first (conditions changed)
    # A node with room appears: after the back-off the pod binds there.
    drv.clock.advance(2)
    drv.add_node(node("node-2", cpu="1"))
    await drv.drain()
    assert drv.node_of("big") == "node-2"


async def test_ignores_other_schedulers_bound_and_deleting_pods(drv: Driver) -> None:
    drv.add_node(node("node-1"))
    drv.add_pod(pod("other", schedulerName="my-scheduler"))
    drv.add_pod(pod("bound", node_name="node-1"))
    deleting = copy.deepcopy(pod("deleting"))
    deleting["metadata"]["finalizers"] = ["example.com/hold"]
    drv.add_pod(deleting)
    drv.registry.delete(PODS, "default", "deleting")
    drv.start()
    await drv.drain()
    s = sched(drv)
    for name in ("other", "bound", "deleting", "missing"):
        assert s.reconcile(drv.runner.snapshot, key(name), drv.clock).actions == []
    assert drv.node_of("other") == "" and drv.node_of("deleting") == ""
