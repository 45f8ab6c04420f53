"""The kubelet agent's heartbeat task: renews the Lease on time, reports when it could run."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.fabric import Fabric
from kubelab.sandbox.kubelet import agent as agent_module
from kubelab.sandbox.kubelet.agent import KubeletAgent
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
    agent.heartbeat_tick()
    ticked = clock.now()
    clock.advance(0.5)
    assert agent.could_run_until() == clock.now()  # within one period: on schedule
    clock.advance(100)  # no tick for 100 s: the loop (or the process) was starved
    allowed = agent_module.HEARTBEAT_TICK / clock.speed + agent_module.HEARTBEAT_SLACK
    assert agent.could_run_until() == ticked + timedelta(seconds=allowed)
    agent.heartbeat_tick()
    assert agent.could_run_until() == clock.now()
