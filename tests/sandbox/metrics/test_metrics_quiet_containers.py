"""Quiet containers (no program, a server that never served a request) are not sampled by
each scrape: their points are worked out when read. metrics-server's observable output —
PodMetrics and NodeMetrics usage, ``timestamp`` and ``window``, and what the HPA controller
reads — must be what sampling every container gives, across scrapes, containers starting
between scrapes, a quiet container that starts serving, a window past the rate span, and
a kubelet that stops and comes back."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.metrics import ContainerFacts, MetricsServer

NGINX = "docker.io/library/nginx"


class Kubelet:
    """A node's ``/metrics/resource``; ``split``: quiet containers are left out of a
    scrape, as the sandbox's kubelet leaves them."""

    def __init__(self, split: bool) -> None:
        self.split = split
        self.facts: list[ContainerFacts] = []
        self.running = True
        self.scraped = 0

    @staticmethod
    def quiet(fact: ContainerFacts) -> bool:
        return not (fact.requests_served or fact.client_requests or fact.busy)

    def resource_usage(self, active_only: bool = False) -> list[ContainerFacts] | None:
        if not self.running:
            return None
        found = [f for f in self.facts if not (active_only and self.split and self.quiet(f))]
        self.scraped += len(found)
        return found

    def container_facts(self, namespace: str | None = None,
                        name: str | None = None) -> list[ContainerFacts]:
        return [f for f in self.facts if namespace in (None, f.namespace)
                and name in (None, f.pod)]


def fact(pod: str, started: datetime, container: str = "web", **kw: Any) -> ContainerFacts:
    return ContainerFacts("default", pod, f"uid-{pod}", container, 0, NGINX, started, **kw)


def node(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}}}


def pod(name: str, where: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "default"}, "spec": {"nodeName": where}}


class Pair:
    """Two metrics-servers over the same containers: one samples all, one only the active."""

    def __init__(self) -> None:
        self.clock = ManualClock()
        self.kubelets = {split: {n: Kubelet(split) for n in ("w1", "w2")}
                         for split in (False, True)}
        self.servers = {split: MetricsServer(self.clock, self.kubelets[split].get,
                                             lambda: [node("w1"), node("w2")])
                        for split in (False, True)}

    def set(self, where: str, facts: list[ContainerFacts]) -> None:
        for split in (False, True):
            self.kubelets[split][where].facts = list(facts)

    def stop(self, where: str, running: bool) -> None:
        for split in (False, True):
            self.kubelets[split][where].running = running

    def scrape(self, after: float) -> None:
        self.clock.advance(after)
        for server in self.servers.values():
            server.scrape()

    def read(self, split: bool) -> tuple[Any, ...]:
        server = self.servers[split]
        pods = [pod(p, w) for p, w in (("a", "w1"), ("b", "w1"), ("c", "w2"), ("d", "w2"),
                                       ("e", "w2"))]
        # A read that does not say the node (an HPA's namespace-wide read) finds the same.
        one = server.pod_usage("default", "c")
        return (server.pod_metrics(pods), server.node_metrics([node("w1"), node("w2")]),
                server.pod_usages("default"), one)

    def same(self) -> tuple[Any, ...]:
        sampled = self.read(False)
        assert self.read(True) == sampled
        return sampled


def test_quiet_containers_read_as_if_sampled() -> None:
    pair = Pair()
    t0 = pair.clock.now()
    a = fact("a", t0 - timedelta(seconds=30))
    c = fact("c", t0 - timedelta(seconds=5))
    pair.set("w1", [a])
    pair.set("w2", [c])
    pair.scrape(0)
    first = pair.same()
    assert [m["window"] for m in first[0]] == ["30s", "5s"]
    b = fact("b", pair.clock.now() + timedelta(seconds=4))
    pair.clock.advance(4)
    pair.set("w1", [a, b])  # starts between scrapes: no metrics until the next one
    assert [m["metadata"]["name"] for m in pair.same()[0]] == ["a", "c"]
    windows = []
    for step, gap in enumerate((11, 15, 16, 15, 14, 15, 15, 15)):
        pair.scrape(gap)
        if step == 2:  # c serves its first requests: from now on it is sampled
            c = replace(c, requests_served=300, cpu_seconds_per_request=0.02)
            pair.set("w2", [c, fact("d", pair.clock.now(), busy=True, cpu_limit_cores=0.5)])
            pair.same()  # between scrapes, c still shows its quiet point
        if step == 4:  # a second container in a pod, one sampled, one quiet
            pair.set("w2", [c, fact("d", t0, busy=True, cpu_limit_cores=0.5),
                            fact("e", t0, "side", busy=True), fact("e", t0, "main")])
        if step == 5:
            pair.stop("w1", False)
        if step == 6:
            pair.stop("w1", True)
        windows.append([(m["metadata"]["name"], m["window"]) for m in pair.same()[0]])
    # The windows cover the rate span as sampling gives them, past it and after a restart.
    assert windows[3][0] == ("a", "61s") and windows[2][1] == ("b", "42s")
    assert [n for n, _ in windows[6]] == ["c", "d", "e"]  # w1's kubelet stopped
    assert ("a", "150s") in windows[7]  # measured since the container's start again
    # The split server sampled only the active containers.
    split_scraped = sum(k.scraped for k in pair.kubelets[True].values())
    all_scraped = sum(k.scraped for k in pair.kubelets[False].values())
    assert split_scraped < all_scraped / 2
