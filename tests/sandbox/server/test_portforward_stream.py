"""``pods/<name>/portforward`` end to end against a live sandbox, from the clients kubectl
is not: the official Python client's ``portforward()`` (WebSocket channel protocol), and a
raw WebSocket speaking SPDY/3.1 with this package's own codec, to check the frames the
server writes (replies, ping echo, empty error stream, FIN) and how it treats garbage and
attempts to reach a host port. kubectl itself is in tests/conformance."""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import aiohttp
import pytest
from kubernetes import client
from kubernetes.stream import portforward
from sandbox_support import SandboxHandle

from kubelab.sandbox import daemon
from kubelab.sandbox.server import spdy

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "site"},
       "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}
PF = "/api/v1/namespaces/default/pods/site/portforward"
REQUEST = b"GET / HTTP/1.1\r\nHost: site\r\nConnection: close\r\n\r\n"


@pytest.fixture(scope="module")
def site(sandbox: SandboxHandle) -> Iterator[SandboxHandle]:
    sandbox.kubectl("apply", "-f", "-", input=json.dumps(POD))
    sandbox.kubectl("wait", "--for=condition=Ready", "pod/site", "--timeout=60s", timeout=90)
    yield sandbox
    sandbox.kubectl("delete", "pod", "site", "--wait=false")


def test_the_official_clients_portforward(site: SandboxHandle) -> None:
    with site.api_client() as api:
        core = client.CoreV1Api(api)
        pf = portforward(core.connect_get_namespaced_pod_portforward, "site", "default",
                         ports="80,81")
        try:
            sock = pf.socket(80)
            sock.settimeout(30)
            sock.sendall(REQUEST)  # at once: the server may still be dialling the pod
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
            assert data.startswith(b"HTTP/1.1 200 OK\r\n")
            assert b"<title>Welcome to nginx!</title>" in data
            assert pf.error(80) is None
            closed = pf.socket(81)
            closed.settimeout(30)
            assert closed.recv(10) == b""  # closed: nothing listens on 81
            error = pf.error(81) or ""
            assert error.startswith("error forwarding port 81 to pod ")
            assert "connect: connection refused" in error
        finally:
            pf.close()
            # The client's proxy thread closes the WebSocket once its ports are closed, but
            # websocket-client leaves its socket open (see the exec stream tests).
            for _ in range(100):
                if not pf.connected:
                    break
                time.sleep(0.05)
            pf.websocket.shutdown()


# ---------------------------------------------------------------- raw SPDY over WebSocket


class SpdyClient:
    """The client half of kubectl's tunnelled SPDY, written with the package's codec."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.encoder = spdy.Encoder()
        self.decoder = spdy.Decoder()

    async def send(self, *frames: spdy.Frame) -> None:
        for frame in frames:
            await self.ws.send_bytes(self.encoder.encode(frame))

    async def frames(self, until: int = 0) -> list[spdy.Frame]:
        """Frames until the server closes, or until ``until`` FINs have been seen."""
        got: list[spdy.Frame] = []
        while True:
            msg = await asyncio.wait_for(self.ws.receive(), 20)
            if msg.type != aiohttp.WSMsgType.BINARY:
                return got
            got.extend(self.decoder.feed(msg.data))
            fins = sum(1 for f in got if isinstance(f, spdy.DataFrame) and f.fin)
            if until and fins >= until:
                return got


async def _connect(session: aiohttp.ClientSession,
                   sandbox: SandboxHandle) -> aiohttp.ClientWebSocketResponse:
    context = ssl.create_default_context(cadata=daemon.ca_of(sandbox.state_dir).decode())
    return await session.ws_connect(
        f"{sandbox.url}{PF}", protocols=("SPDY/3.1+portforward.k8s.io",), ssl=context,
        headers={"Authorization": f"Bearer {sandbox.info.token}"})


async def _tls_closed() -> None:
    """Give a closed session's TLS transports time to finish closing before the loop ends.

    aiohttp closes an SSL connection asynchronously; a loop ended at once leaves the
    transport to the garbage collector, whose "unclosed transport" warning then fails
    whichever later test is running (aiohttp's docs: graceful shutdown, about 250 ms).
    """
    await asyncio.sleep(0.25)


def _pair(request: str, port: int, error: int, data: int) -> list[spdy.Frame]:
    return [spdy.SynStream(error, {"streamtype": "error", "port": str(port),
                                   "requestid": request}),
            spdy.DataFrame(error, b"", fin=True),
            spdy.SynStream(data, {"streamtype": "data", "port": str(port),
                                  "requestid": request})]


def _payload(frames: list[spdy.Frame], stream: int) -> bytes:
    return b"".join(f.data for f in frames if isinstance(f, spdy.DataFrame)
                    and f.stream_id == stream)


def test_raw_spdy_pair_get_and_ping(site: SandboxHandle) -> None:
    async def scenario() -> tuple[str | None, list[spdy.Frame]]:
        async with aiohttp.ClientSession() as session, await _connect(session, site) as ws:
            peer = SpdyClient(ws)
            await peer.send(spdy.Ping(1), *_pair("0", 80, 1, 3),
                            spdy.DataFrame(3, REQUEST, fin=True))
            result = ws.protocol, await peer.frames(until=2)
        await _tls_closed()
        return result

    protocol, frames = asyncio.run(scenario())
    assert protocol == "SPDY/3.1+portforward.k8s.io"
    assert frames[0] == spdy.Ping(1)
    assert [f for f in frames if isinstance(f, spdy.SynReply)] == [
        spdy.SynReply(1, {}), spdy.SynReply(3, {})]
    assert _payload(frames, 1) == b""  # success: the error stream closes empty
    assert _payload(frames, 3).startswith(b"HTTP/1.1 200 OK\r\n")
    assert {f.stream_id for f in frames if isinstance(f, spdy.DataFrame) and f.fin} == {1, 3}


def test_host_ports_are_not_reachable(site: SandboxHandle) -> None:
    """The API server's own port listens on the host's loopback, but not in the pod."""
    api_port = int(urlsplit(site.url).port or 0)

    async def scenario() -> list[spdy.Frame]:
        async with aiohttp.ClientSession() as session, await _connect(session, site) as ws:
            peer = SpdyClient(ws)
            await peer.send(*_pair("0", api_port, 1, 3))
            frames = await peer.frames(until=2)
        await _tls_closed()
        return frames

    message = _payload(asyncio.run(scenario()), 1).decode()
    assert message.startswith(f"error forwarding port {api_port} to pod ")
    assert f"dial tcp4 127.0.0.1:{api_port}: connect: connection refused" in message


def test_garbage_gets_a_goaway_and_the_server_carries_on(site: SandboxHandle) -> None:
    async def scenario() -> list[spdy.Frame]:
        async with aiohttp.ClientSession() as session, await _connect(session, site) as ws:
            await ws.send_bytes(b"\x80\x02\x00\x01" + bytes(12))  # a SPDY/2 frame
            frames = await SpdyClient(ws).frames()
            await ws.close()
        await _tls_closed()
        return frames

    assert asyncio.run(scenario()) == [spdy.GoAway(0, spdy.GOAWAY_PROTOCOL_ERROR)]
    assert site.kubectl("get", "pod", "site", "-o", "name").stdout == "pod/site\n"


def test_requests_without_an_upgrade_get_a_status(site: SandboxHandle) -> None:
    status, body = site.request("POST", PF)
    assert status == 400 and body["kind"] == "Status"
    assert "upgrade" in body["message"]
    status, body = site.request("GET", "/api/v1/namespaces/default/pods/ghost/portforward")
    assert status == 404 and body["message"] == 'pods "ghost" not found'
