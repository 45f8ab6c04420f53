"""The kubelet's resource metrics for metrics-server: a scrape asks only for the active
containers (a program's, a server's that has served a request); every running container's
facts can still be read, without moving the scrape's state."""

from __future__ import annotations

import aiohttp
from sandbox.kubelet.kubelet_sim import Sim
from sandbox.kubelet.test_agent import settle, started


def _names(facts: object) -> list[str]:
    return sorted(f.pod for f in facts)  # type: ignore[attr-defined]


async def test_a_scrape_skips_quiet_containers_and_reads_keep_every_one() -> None:
    sim = Sim()
    agent, fabric = await started(sim)
    try:
        sim.pod("idle", [{"name": "web", "image": "nginx:1.27"}])
        sim.pod("served", [{"name": "web", "image": "nginx:1.27"}])
        sim.pod("loop", [{"name": "sh", "image": "busybox:1.36",
                          "command": ["sh", "-c", "while true; do :; done"]}])
        sim.run_for(5)
        ip = sim.get("served")["status"]["podIP"]  # type: ignore[index]
        host, port = await settle(fabric, ip, 80)
        await settle(fabric, sim.get("idle")["status"]["podIP"], 80)  # type: ignore[index]
        assert _names(agent.resource_usage(active_only=True)) == ["loop"]
        async with aiohttp.ClientSession() as session, session.get(
                f"http://{host}:{port}/") as response:
            assert response.status == 200
        active = agent.resource_usage(active_only=True)
        assert _names(active) == ["loop", "served"]
        assert _names(agent.resource_usage()) == ["idle", "loop", "served"]
        assert [f.requests_served for f in active or [] if f.pod == "served"] == [1.0]
        # Reads: one pod, a namespace, the node; every running container.
        assert _names(agent.container_facts("default", "idle")) == ["idle"]
        assert _names(agent.container_facts("other")) == []
        assert _names(agent.container_facts()) == ["idle", "loop", "served"]
        sim.kubelet.runtime.running = False  # a stopped kubelet answers no scrape
        assert agent.resource_usage(active_only=True) is None
    finally:
        sim.kubelet.runtime.running = True
        await agent.stop()
