"""The kubelet agent's heartbeat task: renews the Lease on time, reports when it could run."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.fabric import Fabric
from kubelab.sandbox.kubelet import agent as agent_module
from kubelab.sandbox.kubelet.agent import KubeletAgent
from kubelab.sandbox.kubelet.node import LEASE_RENEW_SECONDS
from kubelab.sandbox.kubelet.runtime import NodeRuntime
from kubelab.sandbox.reconcile.types import Key

NODE_KEY = Key("nodes", "", "node-1")


def make_agent() -> tuple[KubeletAgent, ManualClock, list[Key]]:
    clock = ManualClock()
    agent = KubeletAgent(NodeRuntime("node-1", 1), Fabric(), clock)
    synced: list[Key] = []

    def sync(key: Key) -> None:
        synced.append(key)
        agent.runtime.last_lease_renew = clock.now()

    agent.sync_now = sync
    return agent, clock, synced


async def test_the_heartbeat_syncs_the_node_when_its_lease_is_due() -> None:
    agent, clock, synced = make_agent()
    await agent.start(probe_loop=False)
    try:
        await asyncio.sleep(0)
        assert synced == [NODE_KEY]  # no lease yet: at once
        for _ in range(9):
            clock.advance(1.0)
            await asyncio.sleep(0)
        assert synced == [NODE_KEY]  # renewed 9 s ago: not due
        clock.advance(1.0)
        await asyncio.sleep(0)
        assert synced == [NODE_KEY, NODE_KEY]  # 10 s: the Lease's renew interval
    finally:
        await agent.stop()


async def test_a_stopped_kubelet_still_ticks_but_renews_nothing() -> None:
    agent, clock, synced = make_agent()
    await agent.start(probe_loop=False)
    try:
        await asyncio.sleep(0)
        agent.stop_kubelet()
        for _ in range(60):
            clock.advance(1.0)
            await asyncio.sleep(0)
        assert synced == [NODE_KEY]
        assert agent.could_run_until() == clock.now()  # it had every chance
    finally:
        await agent.stop()


def test_could_run_until_freezes_while_the_heartbeat_is_starved() -> None:
    agent, clock, _ = make_agent()
    assert agent.heartbeat_tick() == LEASE_RENEW_SECONDS  # renewed: next due in 10 s
    ticked = clock.now()
    clock.advance(9.5)
    assert agent.could_run_until() == clock.now()  # within one period: on schedule
    clock.advance(100)  # no tick for 100 s: the loop (or the process) was starved
    allowed = LEASE_RENEW_SECONDS / clock.speed + agent_module.HEARTBEAT_SLACK
    assert agent.could_run_until() == ticked + timedelta(seconds=allowed)
    agent.heartbeat_tick()
    assert agent.could_run_until() == clock.now()


async def test_between_renewals_the_heartbeat_wakes_only_when_the_lease_is_due() -> None:
    agent, clock, synced = make_agent()
    ticks: list[float] = []
    tick = agent.heartbeat_tick

    def counted() -> float:
        ticks.append(clock.sim_elapsed(start))
        return tick()

    agent.heartbeat_tick = counted  # type: ignore[method-assign]
    start = clock.now()
    await agent.start(probe_loop=False)
    try:
        await asyncio.sleep(0)
        for _ in range(60):
            clock.advance(0.5)
            await asyncio.sleep(0)
        # As the kubelet's nodelease loop: one wake per renew interval, not one a second.
        assert ticks == [0.0, 10.0, 20.0, 30.0]
        assert synced == [NODE_KEY] * 4
        agent.stop_kubelet()  # no renewal to wait for: short ticks, so it still notes it ran
        for _ in range(40):
            clock.advance(0.5)
            await asyncio.sleep(0)
        # It wakes at 40 s, the renewal it had scheduled, then every HEARTBEAT_TICK.
        assert ticks[4:] == [40.0, 41.0, 42.0, 43.0, 44.0, 45.0, 46.0, 47.0, 48.0, 49.0, 50.0]
        assert agent.could_run_until() == clock.now()
    finally:
        await agent.stop()
