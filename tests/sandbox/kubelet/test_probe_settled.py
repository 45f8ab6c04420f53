"""Settled probes: when a probe's next run can change nothing, its timer is upkeep.

Under a virtual clock (grading sandboxes) a foreground timer is a reason to skip idle time to
it; a probe that can only repeat what it found is not. These tests pin down when a probe is
settled (the worker's counting, the container's answer over time) and that the probe loop
then pauses on a background timer, and on a foreground one as soon as anything could change.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sandbox.kubelet.kubelet_sim import Sim
from sandbox.kubelet.test_agent import settle, started

from kubelab.sandbox import images
from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.images.server import AppServer
from kubelab.sandbox.kubelet import agent as agent_module
from kubelab.sandbox.kubelet.probes import ProbeSpec, ProbeWorker
from kubelab.sandbox.reconcile.types import Key

AGNHOST = "registry.k8s.io/e2e-test-images/agnhost:2.40"


def worker(kind: str, **spec: int) -> ProbeWorker:
    probe = {"exec": {"command": ["true"]}, **spec}
    return ProbeWorker(ProbeSpec.of(kind, probe), ManualClock().now())


def test_a_probe_is_steady_once_its_result_says_what_its_outcomes_say() -> None:
    ready = worker("readiness", successThreshold=2)
    assert not ready.steady  # never run
    ready.observe(True, "")
    assert not ready.steady  # one success of two: the next one makes it ready
    ready.observe(True, "")
    assert ready.result and ready.steady
    ready.observe(False, "HTTP probe failed with statuscode: 500")
    assert ready.result and not ready.steady  # counting towards unready

    unready = worker("readiness", failureThreshold=3)
    unready.observe(False, "HTTP probe failed with statuscode: 404")
    assert not unready.result and unready.steady  # never ready: another failure changes nothing

    live = worker("liveness", failureThreshold=3)
    live.observe(True, "")
    assert live.steady
    live.observe(False, "HTTP probe failed with statuscode: 500")
    assert not live.steady  # counting towards a restart
    live.observe(False, "x")
    live.observe(False, "x")
    assert live.gave_up and not live.steady

    startup = worker("startup")
    startup.observe(True, "")
    assert not startup.steady  # runs only until it passes


def test_a_forced_failure_unsettles_a_probe_until_it_is_seen() -> None:
    ready = worker("readiness")
    ready.observe(True, "")
    assert ready.steady
    ready.forced_failure = "HTTP probe failed with statuscode: 500"
    assert not ready.steady
    for _ in range(3):
        ready.observe(True, "")
    assert not ready.result and ready.steady  # failing, as forced
    ready.forced_failure = None
    assert not ready.steady  # lifted: the next run may pass


def test_when_an_app_answer_changes_by_itself() -> None:
    liveness = images.with_argv(images.lookup(AGNHOST), [], ["liveness"]).app
    assert liveness is not None
    assert images.answer_changes_at(liveness, "/healthz", {}) == 10.0
    assert images.answer_changes_at(liveness, "/started", {}) is None
    nginx = images.lookup("nginx:1.27").app
    assert nginx is not None
    assert images.answer_changes_at(nginx, "/", {}) is None


async def test_the_probe_loop_pauses_on_upkeep_only_while_every_probe_is_settled(
        monkeypatch: pytest.MonkeyPatch) -> None:
    sim = Sim()
    agent, fabric = await started(sim)
    try:
        # nginx ready on "/", and a readiness probe failing on a path nginx does not have:
        # both can only repeat themselves.
        sim.pod("web", [{"name": "web", "image": "nginx:1.27", "readinessProbe": {
            "httpGet": {"path": "/", "port": 80}, "periodSeconds": 10}}])
        sim.pod("wrong", [{"name": "web", "image": "nginx:1.27", "readinessProbe": {
            "httpGet": {"path": "/healthz", "port": 80}, "periodSeconds": 10}}])
        sim.run_for(5)
        for name in ("web", "wrong"):
            await settle(fabric, sim.get(name)["status"]["podIP"], 80)  # type: ignore[index]
        assert not agent.probes_settled()  # nothing seen yet
        await agent.probe_once()
        assert agent.probes_settled()

        # agnhost's liveness server passes for ten seconds, then fails: until then its
        # passing probe is awaited (the clock must reach the moment it turns).
        sim.pod("live", [{"name": "live", "image": AGNHOST, "args": ["liveness"],
                          "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080},
                                            "periodSeconds": 3}}])
        sim.run_for(5)
        await settle(fabric, sim.get("live")["status"]["podIP"], 8080)  # type: ignore[index]
        await agent.probe_once()
        live = sim.kubelet.runtime.find("default", "live")
        assert live is not None and live.containers["live"].started_at is not None
        assert sim.clock.sim_elapsed(live.containers["live"].started_at) < 10
        assert live.containers["live"].probes["liveness"].last_ok
        assert not agent.probes_settled()
        sim.clock.advance(12)
        await agent.probe_once()
        assert live.containers["live"].probes["liveness"].last_ok is False
        assert not agent.probes_settled()  # failing liveness: a restart is coming
        sim.delete("live", grace=0)
        sim.run_for(1)

        # A port nobody listens on may open: a refused probe is never settled.
        sim.pod("closed", [{"name": "web", "image": "nginx:1.27", "readinessProbe": {
            "tcpSocket": {"port": 9999}, "periodSeconds": 10}}])
        sim.run_for(5)
        sim.clock.advance(10)
        await agent.probe_once()
        assert not agent.probes_settled()
        sim.delete("closed", grace=0)
        sim.run_for(1)
        sim.kubelet.reconcile(sim.cluster, Key("pods", "default", "closed"), sim.clock)
        assert agent.probes_settled()

        # The loop itself: a background pause while settled, a foreground one after a
        # fault is injected (which wakes it).
        pauses: list[str] = []

        async def background(clock: object, seconds: float) -> None:
            pauses.append("background")
            await asyncio.Event().wait()  # until the loop is woken

        async def foreground(seconds: float) -> None:
            pauses.append("foreground")
            await asyncio.Event().wait()

        monkeypatch.setattr(agent_module, "sleep_background", background)
        monkeypatch.setattr(sim.clock, "sleep", foreground)
        loop = asyncio.create_task(agent._probe_loop())
        await _turns()
        assert pauses == ["background"]
        agent.fail_probe("default", "web", "web", "readiness")
        await _turns()
        assert pauses[-1] == "foreground"
        loop.cancel()
    finally:
        await agent.stop()


async def _turns(count: int = 10) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


def test_settled_needs_time_to_pass_the_change() -> None:
    clock = ManualClock()
    started_at = clock.now() - timedelta(seconds=11)
    live = images.with_argv(images.lookup(AGNHOST), [], ["liveness"]).app
    assert live is not None
    server = AppServer(live, "p", uptime=lambda: clock.sim_elapsed(started_at))
    assert server.answer_fixed("/healthz")  # already past its tenth second
    young = AppServer(live, "p", uptime=lambda: 4.0)
    assert not young.answer_fixed("/healthz") and young.answer_fixed("/started")


def test_a_pod_sync_that_only_waits_for_a_probe_requeues_as_upkeep() -> None:
    """The kubelet looks at a pod again after its next probe as a safety net (the probe loop
    requeues it when a result flips); with nothing else to wait for, that look is upkeep."""
    sim = Sim()
    probe = {"exec": {"command": ["true"]}, "periodSeconds": 10}
    sim.pod("web", [{"name": "web", "image": "nginx:1.27", "readinessProbe": probe}])
    sim.pod("loop", [{"name": "c", "image": "busybox", "readinessProbe": probe,
                      "command": ["sh", "-c", "while true; do sleep 3; done"]}])
    sim.run_for(20)
    key = Key("pods", "default", "web")
    web = sim.kubelet.reconcile(sim.cluster, key, sim.clock)
    assert web.requeue_after is not None and web.background  # the probe only
    loop = sim.kubelet.reconcile(sim.cluster, Key("pods", "default", "loop"), sim.clock)
    assert loop.requeue_after is not None and not loop.background  # its program's next step
