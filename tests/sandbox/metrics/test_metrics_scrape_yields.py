"""metrics-server's scrape loop scrapes one node per turn of the event loop (the API server
shares the loop), and publishes the same metrics as a scrape in one go, only once every node
is done."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.metrics import ContainerFacts, MetricsServer


class Kubelet:
    def __init__(self, node: str, log: list[str], clock: ManualClock) -> None:
        self.node, self.log, self.clock = node, log, clock

    def resource_usage(self, active_only: bool = False) -> list[ContainerFacts]:
        self.log.append(f"scrape {self.node}")
        return self.container_facts()

    def container_facts(self, namespace: str | None = None,
                        name: str | None = None) -> list[ContainerFacts]:
        return [ContainerFacts("default", f"web-{self.node}", f"uid-{self.node}", "web", 0,
                               "nginx", self.clock.now() - timedelta(seconds=30),
                               requests_served=150, cpu_seconds_per_request=0.02)]


def _pods(nodes: list[str]) -> list[dict[str, object]]:
    return [{"metadata": {"name": f"web-{n}", "namespace": "default"}} for n in nodes]


def test_a_scrape_yields_to_the_loop_between_nodes_and_publishes_at_the_end() -> None:
    clock = ManualClock()
    names = ["w1", "w2", "w3"]
    log: list[str] = []
    kubelets = {n: Kubelet(n, log, clock) for n in names}
    server = MetricsServer(clock, kubelets.get,
                           lambda: [{"metadata": {"name": n}} for n in names])

    async def other_work() -> None:
        for _ in range(3):
            log.append("loop")
            assert server.pod_metrics(_pods(names)) == []  # nothing published mid-scrape
            await asyncio.sleep(0)

    async def both() -> None:
        await asyncio.gather(server.scrape_yielding(), other_work())

    asyncio.run(both())
    assert log == ["scrape w1", "loop", "scrape w2", "loop", "scrape w3", "loop"]
    yielded = server.pod_metrics(_pods(names))

    again = MetricsServer(clock, {n: Kubelet(n, [], clock) for n in names}.get,
                          lambda: [{"metadata": {"name": n}} for n in names])
    again.scrape()
    assert yielded == again.pod_metrics(_pods(names)) and len(yielded) == 3
