"""The kubelet's port-forward target (``kubelet/portforward.py`` and ``agent.port_forward``):
what a pod's network namespace answers, with containerd's wording when nothing does."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

import pytest

from kubelab.sandbox.clock import ManualClock
from kubelab.sandbox.fabric import ExecError, Fabric, PortForwardError
from kubelab.sandbox.kubelet.agent import KubeletAgent
from kubelab.sandbox.kubelet.portforward import netns_path, refused, sandbox_id
from kubelab.sandbox.kubelet.runtime import NodeRuntime, PodRecord

UID = "0b5e9a52-3c55-4f4e-9a0c-2f1d6c1a7e10"


def agent_with_pod() -> tuple[KubeletAgent, Fabric, PodRecord]:
    fabric = Fabric()
    runtime = NodeRuntime("node-1", 1)
    pod = PodRecord(UID, "default", "web", datetime.now(UTC), ip="10.244.1.7")
    runtime.pods[UID] = pod
    return KubeletAgent(runtime, fabric, ManualClock()), fabric, pod


def test_refused_wording_is_containerds_wrapped_by_the_streaming_server() -> None:
    sid = sandbox_id(UID)
    assert re.fullmatch(r"[0-9a-f]{64}", sid) and sid == sandbox_id(UID) != sandbox_id("x")
    assert re.fullmatch(r"/var/run/netns/cni-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}",
                        netns_path(UID))
    # As printed by real clusters (containerd sandbox_portforward_linux.go inside
    # "error forwarding port %d to pod %s, uid %v: %v").
    assert refused(UID, 81) == (
        f"error forwarding port 81 to pod {sid}, uid : failed to execute portforward in "
        f'network namespace "{netns_path(UID)}": failed to connect to localhost:81 inside '
        f'namespace "{sid}", IPv4: dial tcp4 127.0.0.1:81: connect: connection refused IPv6 '
        "dial tcp6 [::1]:81: connect: connection refused ")


def test_dial_reaches_only_what_the_pod_registered() -> None:
    async def scenario() -> None:
        agent, fabric, _pod = agent_with_pod()

        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"pod says " + await reader.readline())
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        host_port = server.sockets[0].getsockname()[1]
        try:
            forwarder = agent.port_forward("default", "web")
            # A host port that is listening, but not in the pod: refused.
            with pytest.raises(PortForwardError) as refused_host:
                await forwarder.dial(host_port)
            assert refused_host.value.message == refused(UID, host_port)
            fabric.register_endpoint("10.244.1.7", 80, "127.0.0.1", host_port)
            reader, writer = await forwarder.dial(80)
            writer.write(b"hi\n")
            assert await reader.read() == b"pod says hi\n"
            writer.close()
            # Only loopback addresses are ever dialled, whatever the table says.
            fabric.register_endpoint("10.244.1.7", 8080, "192.0.2.1", 8080)
            with pytest.raises(PortForwardError):
                await forwarder.dial(8080)
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(scenario())


def test_a_removed_sandbox_and_a_stopped_kubelet() -> None:
    async def scenario() -> None:
        agent, _fabric, _pod = agent_with_pod()
        forwarder = agent.port_forward("default", "web")
        agent.runtime.pods.clear()
        with pytest.raises(PortForwardError, match=f'failed to find sandbox "{sandbox_id(UID)}"'):
            await forwarder.dial(80)

    asyncio.run(scenario())
    agent, _fabric, _pod = agent_with_pod()
    with pytest.raises(ExecError, match="pod does not exist"):
        agent.port_forward("default", "other")
    agent.stop_kubelet()
    with pytest.raises(ExecError, match=re.escape("error dialing backend: dial tcp 172.18.0.3:10250")):
        agent.port_forward("default", "web")
