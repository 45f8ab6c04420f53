"""Node liveness measures the kubelet, not the host: starved time never counts against it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sandbox.controllers.controller_fakes import Cluster
from sandbox.controllers.test_node_lifecycle import KEY, NODES, renew
from sandbox.controllers.test_node_lifecycle import cluster as cluster

from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.controllers.node_lifecycle import NodeLifecycleController


def ready_status(cluster: Cluster) -> str:
    node = cluster.get(NODES, "", KEY.name)
    assert node is not None
    return next(c["status"] for c in node["status"]["conditions"] if c["type"] == "Ready")


def test_a_starved_kubelet_is_not_declared_dead(cluster: Cluster,
                                                clock: ManualClock) -> None:
    """The lease is 70 s old, but the kubelet's last chance to renew it was 30 s ago."""
    controller = NodeLifecycleController(grace_period=50)
    last_chance = clock.now() + timedelta(seconds=30)
    controller.liveness = lambda node: last_chance if node == KEY.name else None
    clock.advance(70)
    result = cluster.run(controller, KEY)
    assert result.actions == []
    assert ready_status(cluster) == "True"
    # Staleness counts 30 of the 70 s: the next look is due when 50 would be reached.
    assert result.requeue_after == pytest.approx(20.001)


def test_without_the_liveness_reading_the_same_lease_is_stale(cluster: Cluster,
                                                              clock: ManualClock) -> None:
    controller = NodeLifecycleController(grace_period=50)
    clock.advance(70)
    cluster.run(controller, KEY)
    assert ready_status(cluster) == "Unknown"
    assert "Node worker-1 status is now: NodeNotReady" in cluster.events("NodeNotReady")


def test_a_stopped_kubelet_that_could_run_goes_not_ready_after_the_grace_period(
        cluster: Cluster, clock: ManualClock) -> None:
    """stop-kubelet: the heartbeat task keeps its schedule (could run = now) but renews
    nothing, so the grace period runs out exactly as upstream."""
    controller = NodeLifecycleController(grace_period=50)
    controller.liveness = lambda node: clock.now()
    clock.advance(49)
    cluster.run(controller, KEY)
    assert ready_status(cluster) == "True"
    clock.advance(2)
    cluster.run(controller, KEY)
    assert ready_status(cluster) == "Unknown"


def test_a_renewing_kubelet_stays_ready_through_any_stall(cluster: Cluster,
                                                         clock: ManualClock) -> None:
    controller = NodeLifecycleController(grace_period=50)
    chance: list[datetime] = [clock.now()]
    controller.liveness = lambda node: chance[0]
    for _ in range(20):
        clock.advance(40)  # the loop stalls 40 s at a time …
        cluster.run(controller, KEY)
        chance[0] = clock.now()  # … then the heartbeat task runs and renews
        renew(cluster, clock)
        cluster.run(controller, KEY)
        assert ready_status(cluster) == "True"
