"""The agent: real app servers in the fabric, real HTTP probes, logs with upstream errors."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from sandbox.kubelet.kubelet_sim import Sim

from kubelab.sandbox.fabric import Fabric, LogError
from kubelab.sandbox.kubelet.agent import KubeletAgent
from kubelab.sandbox.reconcile.types import Key

PROBES_11 = "quay.io/apprenda/k8s-workshop-probes:1.1"


async def started(sim: Sim) -> tuple[KubeletAgent, Fabric]:
    fabric = Fabric()
    agent = KubeletAgent(sim.kubelet.runtime, fabric, sim.clock)
    requeued: list[Key] = []
    agent.requeue = requeued.append
    sim.probe = None
    await agent.start(probe_loop=False)
    assert requeued == [Key("nodes", "", "node-1")]
    return agent, fabric


async def settle(fabric: Fabric, ip: str, port: int) -> tuple[str, int]:
    for _ in range(100):
        target = fabric.resolve(ip, port)
        if target is not None:
            return target
        await asyncio.sleep(0.01)
    raise AssertionError(f"{ip}:{port} never registered")


async def test_app_is_reachable_through_the_fabric_and_probed_for_real() -> None:
    sim = Sim()
    agent, fabric = await started(sim)
    try:
        probe = {"httpGet": {"path": "/healthz", "port": 80}, "periodSeconds": 10}
        sim.pod("broken", [{"name": "probes", "image": PROBES_11, "livenessProbe": probe}])
        sim.run_for(5)
        ip = sim.get("broken")["status"]["podIP"]  # type: ignore[index]
        host, port = await settle(fabric, ip, 80)
        async with aiohttp.ClientSession() as session, session.get(
                f"http://{host}:{port}/") as response:
            assert await response.text() == "version 1.1\n"
        keys = await agent.probe_once()
        assert keys == [Key("pods", "default", "broken")]
        record = sim.kubelet.runtime.find("default", "broken")
        assert record is not None
        worker = record.containers["probes"].probes["liveness"]
        assert worker.pending_failures == ["HTTP probe failed with statuscode: 404"]
        assert await agent.probe_once() == []  # not due again before periodSeconds
        # Once the pod is deleted its endpoint disappears.
        sim.delete("broken")
        sim.run_for(2)
        sim.kubelet.reconcile(sim.cluster, Key("pods", "default", "broken"), sim.clock)
        assert fabric.resolve(ip, 80) is None
    finally:
        await agent.stop()


async def test_http_probe_of_an_image_app_is_answered_in_process(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An image's app answers a probe without a socket (same status, count and log line as a
    GET); a path an HTTP client would rewrite still goes over a real connection."""
    sessions: list[object] = []
    real_session = aiohttp.ClientSession

    def counted(*args: object, **kwargs: object) -> aiohttp.ClientSession:
        session = real_session(*args, **kwargs)  # type: ignore[arg-type]
        sessions.append(session)
        return session

    sim = Sim()
    agent, fabric = await started(sim)
    try:
        liveness = {"httpGet": {"path": "/healthz", "port": 80}, "periodSeconds": 10}
        readiness = {"httpGet": {"path": "/health%7Ccheck", "port": 80}, "periodSeconds": 10}
        sim.pod("broken", [{"name": "probes", "image": PROBES_11, "livenessProbe": liveness,
                            "readinessProbe": readiness}])
        sim.run_for(5)
        ip = sim.get("broken")["status"]["podIP"]  # type: ignore[index]
        await settle(fabric, ip, 80)
        server = next(iter(agent._servers.values()))
        monkeypatch.setattr(aiohttp, "ClientSession", counted)
        await agent.probe_once()
        record = sim.kubelet.runtime.find("default", "broken")
        assert record is not None
        probes = record.containers["probes"].probes
        assert probes["liveness"].pending_failures == ["HTTP probe failed with statuscode: 404"]
        assert probes["readiness"].pending_failures == [
            "HTTP probe failed with statuscode: 404"]
        assert len(sessions) == 1  # the readiness probe's escaped path only
        assert server.requests == 2
        # nginx's access log has the probe's line, as for a GET over the socket.
        sim.pod("web", [{"name": "web", "image": "nginx:1.25", "readinessProbe": {
            "httpGet": {"path": "/", "port": 80}}}])
        sim.run_for(5)
        await settle(fabric, sim.get("web")["status"]["podIP"], 80)  # type: ignore[index]
        await agent.probe_once()
        web = sim.kubelet.runtime.find("default", "web")
        assert web is not None and web.containers["web"].probes["readiness"].result is True
        assert len(sessions) == 1
        assert [line.text for line in web.containers["web"].logs
                if '"GET / HTTP/1.1" 200' in line.text]
    finally:
        await agent.stop()


async def test_connection_refused_probe_message() -> None:
    sim = Sim()
    agent, fabric = await started(sim)
    try:
        probe = {"httpGet": {"path": "/", "port": 9999}}
        sim.pod("p", [{"name": "web", "image": "nginx:1.25", "readinessProbe": probe}])
        sim.run_for(5)
        await settle(fabric, sim.get("p")["status"]["podIP"], 80)  # type: ignore[index]
        await agent.probe_once()
        worker = sim.kubelet.runtime.find("default", "p").containers["web"].probes["readiness"]  # type: ignore[union-attr]
        ip = sim.get("p")["status"]["podIP"]  # type: ignore[index]
        assert worker.pending_failures == [
            f'Get "http://{ip}:9999/": dial tcp {ip}:9999: connect: connection refused']
    finally:
        await agent.stop()


async def test_logs_and_their_errors() -> None:
    sim = Sim()
    agent, _ = await started(sim)
    try:
        sim.pod("typo", [{"name": "web", "image": "ngnix"}])
        sim.pod("crash", [{"name": "c", "image": "busybox",
                           "command": ["sh", "-c", "echo run $HOSTNAME; exit 1"]}])
        sim.pod("ticker", [{"name": "t", "image": "busybox",
                            "command": ["sh", "-c", "while true; do echo tick; sleep 1; done"]}])
        sim.run_for(0.1)
        with pytest.raises(LogError) as err:
            agent.logs("default", "typo", "web")
        assert err.value.message == ('container "web" in pod "typo" is waiting to start: '
                                     "ContainerCreating")
        sim.run_for(1.5)
        with pytest.raises(LogError) as err:
            agent.logs("default", "typo", "web")
        assert err.value.message == ('container "web" in pod "typo" is waiting to start: '
                                     "image can't be pulled")
        sim.run_for(1.5)
        with pytest.raises(LogError) as err:
            agent.logs("default", "typo", "web")
        assert err.value.message == ('container "web" in pod "typo" is waiting to start: '
                                     "trying and failing to pull image")
        with pytest.raises(LogError, match='previous terminated container "t" in pod "ticker" '
                                           "not found"):
            agent.logs("default", "ticker", "t", previous=True)
        sim.run_for(10)
        assert agent.logs("default", "crash", "c") == ["run crash\n"]
        assert agent.logs("default", "crash", "c", previous=True) == ["run crash\n"]
        ticks = agent.logs("default", "ticker", "t")
        assert len(ticks) >= 10 and set(ticks) == {"tick\n"}
        assert agent.logs("default", "ticker", "t", tail_lines=2) == ["tick\n", "tick\n"]
        assert len(agent.logs("default", "ticker", "t", since_seconds=3)) in (3, 4)
        stamped = agent.logs("default", "ticker", "t", tail_lines=1, timestamps=True)
        assert stamped[0].endswith("Z tick\n") and stamped[0].startswith("2026-01-01T00:00:")
        with pytest.raises(LogError, match='container "x" in pod "ticker" is not available'):
            agent.logs("default", "ticker", "x")
    finally:
        await agent.stop()


async def test_follow_logs_streams_new_lines() -> None:
    sim = Sim()
    agent, _ = await started(sim)
    try:
        sim.pod("ticker", [{"name": "t", "image": "busybox",
                            "command": ["sh", "-c", "echo a; sleep 2; echo b; sleep 2; echo c"]}],
                restartPolicy="Never")
        sim.run_for(2)
        seen: list[str] = []

        async def follow() -> None:
            async for line in agent.follow_logs("default", "ticker", "t"):
                seen.append(line)

        task = asyncio.create_task(follow())
        await asyncio.sleep(0.01)
        assert seen == ["a\n"]
        for _ in range(20):
            sim.clock.advance(0.5)
            await asyncio.sleep(0)
        sim.run_for(1)
        for _ in range(4):
            sim.clock.advance(0.5)
            await asyncio.sleep(0.01)
        await asyncio.wait_for(task, 1)
        assert seen == ["a\n", "b\n", "c\n"]
    finally:
        await agent.stop()


async def _turns(count: int = 10) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


async def test_probe_loop_rests_until_a_container_with_a_probe_starts() -> None:
    """No probe anywhere: the loop does not wake on the clock (it scanned every pod of the
    node each simulated second); a started container with a probe wakes it and is probed."""
    sim = Sim()
    sim.probe = None
    runtime = sim.kubelet.runtime
    scans: list[float] = []
    scan = runtime.due_probes

    def counted(clock: object) -> list[object]:
        scans.append(sim.clock.monotonic())
        return scan(sim.clock)  # type: ignore[return-value]

    runtime.due_probes = counted  # type: ignore[assignment,method-assign]
    agent = KubeletAgent(runtime, Fabric(), sim.clock)
    agent.requeue = lambda key: None
    await agent.start(heartbeat=False)
    try:
        sim.pod("plain", [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}])
        sim.run_for(5)
        await _turns()
        assert sim.container("plain")["state"].get("running")
        quiet = len(scans)
        for _ in range(30):
            sim.clock.advance(1.0)
            await _turns()
        assert len(scans) == quiet  # thirty simulated seconds, no scan
        probe = {"exec": {"command": ["true"]}, "periodSeconds": 1}
        sim.pod("probed", [{"name": "c", "image": "busybox", "command": ["sleep", "3600"],
                            "readinessProbe": probe}])
        sim.run_for(5)
        for _ in range(3):
            sim.clock.advance(1.0)
            await _turns()
        record = runtime.find("default", "probed")
        assert record is not None
        assert record.containers["c"].probes["readiness"].result is True
        assert len(scans) > quiet
    finally:
        await agent.stop()
