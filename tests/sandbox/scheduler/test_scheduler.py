"""The scheduler reconciler: bind, events, Unschedulable condition, back-off and requeue."""

from __future__ import annotations

from sandbox.scheduler.scheduler_fakes import FakeSnapshot, control_plane, node, pod

from kubelab.sandbox.api import kinds
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.reconcile.types import Bind, Key, RecordEvent, UpdateStatus
from kubelab.sandbox.scheduler import backoff_seconds, scheduler

NODES = kinds.core("nodes")
PODS = kinds.core("pods")


def key(name: str) -> Key:
    return Key("pods", "default", name)


def bind_all(snap: FakeSnapshot, names: list[str], clock: ManualClock) -> list[str]:
    sched = scheduler()
    placed = []
    for name in names:
        result = sched.reconcile(snap, key(name), clock)
        binds = [a for a in result.actions if isinstance(a, Bind)]
        assert len(binds) == 1
        placed.append(binds[0].node)
    return placed


def test_success_binds_and_records_scheduled() -> None:
    snap = FakeSnapshot((NODES, control_plane()), (NODES, node("node-1")),
                        (NODES, node("node-2", cpu="2")), (PODS, pod("hello", cpu="100m")))
    result = scheduler().reconcile(snap, key("hello"), ManualClock())
    bind, event = result.actions
    assert isinstance(bind, Bind) and bind.node == "node-2" and bind.uid
    assert isinstance(event, RecordEvent)
    assert (event.type, event.reason, event.component) == ("Normal", "Scheduled",
                                                           "default-scheduler")
    assert event.message == "Successfully assigned default/hello to node-2"


def test_scoring_spreads_equal_pods_over_equal_nodes() -> None:
    snap = FakeSnapshot(*[(NODES, node(f"node-{i}")) for i in (1, 2, 3)])
    names = [f"hello-{i}" for i in range(6)]
    for name in names:
        snap.put(PODS, pod(name, cpu="100m", memory="100Mi"))
    placed = bind_all(snap, names, ManualClock())
    assert sorted(placed) == ["node-1", "node-1", "node-2", "node-2", "node-3", "node-3"]
    assert placed[:3] == ["node-1", "node-2", "node-3"]


def test_assumed_pods_prevent_overcommit() -> None:
    snap = FakeSnapshot((NODES, node("node-1", cpu="250m")))
    for name in ("a", "b", "c"):
        snap.put(PODS, pod(name, cpu="100m"))
    sched = scheduler()
    clock = ManualClock()
    assert isinstance(sched.reconcile(snap, key("a"), clock).actions[0], Bind)
    assert isinstance(sched.reconcile(snap, key("b"), clock).actions[0], Bind)
    result = sched.reconcile(snap, key("c"), clock)
    assert not any(isinstance(a, Bind) for a in result.actions)


def test_failure_sets_condition_event_and_backs_off() -> None:
    snap = FakeSnapshot((NODES, control_plane()), (NODES, node("node-1", cpu="100m")),
                        (NODES, node("node-2", cpu="100m")), (PODS, pod("big", cpu="500m")))
    sched = scheduler()
    clock = ManualClock()
    result = sched.reconcile(snap, key("big"), clock)
    status, event = result.actions
    assert isinstance(status, UpdateStatus)
    cond = status.obj["status"]["conditions"][-1]
    message = ("0/3 nodes are available: 1 node(s) had untolerated taint "
               "{node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. preemption: 0/3 "
               "nodes are available: 1 Preemption is not helpful for scheduling, 2 No "
               "preemption victims found for incoming pod.")
    assert (cond["type"], cond["status"], cond["reason"], cond["message"]) == (
        "PodScheduled", "False", "Unschedulable", message)
    assert isinstance(event, RecordEvent)
    assert (event.type, event.reason, event.message) == ("Warning", "FailedScheduling", message)
    assert result.requeue_after == 1.0
    # Within the back-off nothing is tried, whatever requeues the pod.
    snap.put(PODS, status.obj)
    clock.advance(0.5)
    early = sched.reconcile(snap, key("big"), clock)
    assert early.actions == [] and early.requeue_after == 0.5
    clock.advance(0.5)
    again = sched.reconcile(snap, key("big"), clock)
    # Same message: no status write, but the event is recorded again; back-off doubles.
    assert [type(a) for a in again.actions] == [RecordEvent]
    assert again.requeue_after == 2.0


def test_backoff_sequence() -> None:
    assert [backoff_seconds(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_cluster_changes_requeue_unschedulable_pods() -> None:
    snap = FakeSnapshot((NODES, node("node-1", cpu="100m")), (PODS, pod("big", cpu="500m")),
                        (PODS, pod("running", cpu="50m", node_name="node-1")))
    sched = scheduler()
    assert list(sched.keys_for(NODES, snap.get(NODES, "", "node-1") or {}, snap)) == [key("big")]
    running = snap.get(PODS, "default", "running") or {}
    # A bound pod's status change does not requeue anything; its deletion does.
    assert list(sched.keys_for(PODS, running, snap)) == []
    snap.remove(PODS, "default", "running")
    assert list(sched.keys_for(PODS, running, snap)) == [key("big")]
    # A node with room appears: after the back-off the pod binds there.
    clock = ManualClock()
    sched.reconcile(snap, key("big"), clock)
    snap.put(NODES, node("node-2", cpu="1"))
    clock.advance(1)
    result = sched.reconcile(snap, key("big"), clock)
    assert isinstance(result.actions[0], Bind) and result.actions[0].node == "node-2"


def test_ignores_other_schedulers_bound_and_deleting_pods() -> None:
    other = pod("other", schedulerName="my-scheduler")
    bound = pod("bound", node_name="node-1")
    deleting = pod("deleting")
    deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    snap = FakeSnapshot((NODES, node("node-1")), (PODS, other), (PODS, bound),
                        (PODS, deleting))
    sched = scheduler()
    for name in ("other", "bound", "deleting", "missing"):
        assert sched.reconcile(snap, key(name), ManualClock()).actions == []
