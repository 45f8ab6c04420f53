"""The streaming half of ``pods/<name>/portforward``: SPDY/3.1 over a WebSocket or the raw
upgraded connection, between kubectl and the pod's app servers.

kubectl ≥ 1.31 first asks for a WebSocket with the sub-protocol
``SPDY/3.1+portforward.k8s.io`` (client-go ``tools/portforward/tunneling_dialer.go``): every
binary message carries SPDY bytes, and kube-apiserver (``pkg/util/proxy/streamtunnel.go``)
copies them to and from the kubelet's SPDY server unchanged. When that upgrade fails it falls
back to a plain SPDY upgrade (``Upgrade: SPDY/3.1``, ``X-Stream-Protocol-Version:
portforward.k8s.io``) and the same frames flow on the connection itself. Either way the
session is one :class:`~.portforward.Session`; this module only moves bytes: it decodes
client frames (:mod:`.spdy`), carries out the session's actions — writing frames in order on
one writer task (header compression is one zlib stream, so frames must be encoded in wire
order), dialling the pod through its kubelet, pumping pod bytes back — and tears everything
down when either end goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Coroutine
from typing import Any, Protocol

from aiohttp import WSMsgType, web

from kubelab.sandbox.fabric import PortForwarder, PortForwardError
from kubelab.sandbox.server import spdy
from kubelab.sandbox.server.portforward import (
    CHANNEL_PROTOCOLS,
    MAX_CHUNK,
    POD_EOF_GRACE,
    STREAM_CREATION_TIMEOUT,
    Action,
    ClosePod,
    Dial,
    Expire,
    PodEof,
    Send,
    Session,
    Shutdown,
    ToPod,
    channel_open,
)

log = logging.getLogger("kubelab.sandbox.server.portforward")

#: apimachinery ``pkg/util/portforward/constants.go``: ``PortForwardV1Name`` and the
#: WebSocket tunnelling prefix.
PROTOCOL = "portforward.k8s.io"
WS_PROTOCOL = "SPDY/3.1+" + PROTOCOL
#: Frames queued for the client before pod readers wait (back-pressure).
QUEUE_FRAMES = 64


class Tunnel(Protocol):
    """Where the SPDY bytes travel: a WebSocket, or the upgraded connection itself."""

    async def read(self) -> bytes | None:
        """The next bytes from the client, or None at its end."""
        ...

    async def write(self, data: bytes) -> None: ...

    async def close(self) -> None: ...


class WebSocketTunnel:
    """SPDY inside WebSocket binary messages (client-go's ``tunnelingConnection``: a text
    message is an error, a close is the end)."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws

    async def read(self) -> bytes | None:
        msg = await self.ws.receive()
        if msg.type == WSMsgType.BINARY:
            return bytes(msg.data)
        return None

    async def write(self, data: bytes) -> None:
        await self.ws.send_bytes(data)

    async def close(self) -> None:
        await self.ws.close()


class _RawParser:
    """Receives the upgraded connection's bytes from aiohttp's protocol (the duck type of the
    parser a WebSocketResponse installs) and queues them for :class:`SpdyTunnel`."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.queue.put_nowait(bytes(data))
        return False, b""

    def feed_eof(self) -> None:
        self.queue.put_nowait(None)


class SpdyTunnel:
    """SPDY on the upgraded HTTP connection itself (kubectl's fallback dialer)."""

    def __init__(self, request: web.BaseRequest, parser: _RawParser) -> None:
        self.request = request
        self.parser = parser

    async def read(self) -> bytes | None:
        return await self.parser.queue.get()

    async def write(self, data: bytes) -> None:
        transport = self.request.transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("port-forward client went away")
        transport.write(data)

    async def close(self) -> None:
        if self.request.transport is not None:
            self.request.transport.close()


def wants_spdy(request: web.BaseRequest) -> bool:
    """A plain SPDY/3.1 upgrade offering ``portforward.k8s.io``."""
    offered = [p.strip() for v in request.headers.getall("X-Stream-Protocol-Version", [])
               for p in v.split(",")]
    return (request.headers.get("Upgrade", "").lower() == "spdy/3.1"
            and "upgrade" in request.headers.get("Connection", "").lower()
            and PROTOCOL in offered)


async def upgrade(request: web.BaseRequest, ports: list[int] | None = None
                  ) -> tuple[Tunnel | ChannelPortForward, web.StreamResponse] | None:
    """Answer 101 to a WebSocket (``SPDY/3.1+portforward.k8s.io``, or a channel protocol
    when the ``ports`` query was given) or SPDY upgrade; None when the request asked for
    none of them."""
    offered = (WS_PROTOCOL, *CHANNEL_PROTOCOLS) if ports else (WS_PROTOCOL,)
    ws = web.WebSocketResponse(protocols=offered, autoping=True)
    ready = ws.can_prepare(request)
    if ready.ok and ready.protocol == WS_PROTOCOL:
        await ws.prepare(request)
        return WebSocketTunnel(ws), ws
    if ready.ok and ready.protocol in CHANNEL_PROTOCOLS and ports:
        await ws.prepare(request)
        return ChannelPortForward(ws, ports), ws
    if not wants_spdy(request):
        return None
    # aiohttp upgrades only to WebSocket by itself: take the connection over the way its
    # WebSocketResponse does, by installing a parser for whatever follows this request.
    parser = _RawParser()
    request.protocol.set_parser(parser)  # type: ignore[arg-type]
    request.protocol.keep_alive(False)
    response = web.StreamResponse(status=101, headers={
        "Connection": "Upgrade", "Upgrade": "SPDY/3.1", "X-Stream-Protocol-Version": PROTOCOL})
    await response.prepare(request)
    return SpdyTunnel(request, parser), response


class ChannelPortForward:
    """The kubelet's WebSocket port-forward (``portforward/websocket.go``): one pod
    connection per port in the ``ports`` query, opened at once; data channel ``2i`` carries
    its bytes both ways, error channel ``2i+1`` the runtime's message if the dial fails. The
    WebSocket closes when every port's connection has ended, or when the client hangs up."""

    def __init__(self, ws: web.WebSocketResponse, ports: list[int]) -> None:
        self.ws = ws
        self.ports = ports
        self.writers: dict[int, asyncio.StreamWriter] = {}
        # Resolved once each port's dial is done (None: refused); the client may send
        # before that, and its bytes must wait, not be lost.
        self.dialled: dict[int, asyncio.Future[asyncio.StreamWriter | None]] = {}

    async def _port(self, index: int, port: int, forwarder: PortForwarder) -> None:
        dialled = self.dialled[index]
        try:
            reader, writer = await forwarder.dial(port)
        except PortForwardError as exc:
            dialled.set_result(None)
            await self.ws.send_bytes(bytes([2 * index + 1]) + exc.message.encode())
            return
        self.writers[index] = writer
        dialled.set_result(writer)
        try:
            while chunk := await reader.read(MAX_CHUNK):
                await self.ws.send_bytes(bytes([2 * index]) + chunk)
        except (ConnectionError, OSError):
            pass
        finally:
            self.writers.pop(index, None)
            writer.close()

    async def _from_client(self) -> None:
        async for msg in self.ws:
            if msg.type != WSMsgType.BINARY or not msg.data:
                continue
            channel, data = msg.data[0], msg.data[1:]
            dialled = self.dialled.get(channel // 2) if channel % 2 == 0 else None
            writer = await dialled if dialled is not None else None
            if writer is not None and data and not writer.is_closing():
                writer.write(data)
                with contextlib.suppress(ConnectionError):
                    await writer.drain()

    async def serve(self, forwarder: PortForwarder) -> None:
        loop = asyncio.get_running_loop()
        self.dialled = {i: loop.create_future() for i in range(len(self.ports))}
        for index, port in enumerate(self.ports):
            for frame in channel_open(index, port):
                await self.ws.send_bytes(frame)
        pods: asyncio.Future[Any] = asyncio.gather(
            *(self._port(i, p, forwarder) for i, p in enumerate(self.ports)))
        client: asyncio.Future[Any] = asyncio.ensure_future(self._from_client())
        try:
            await asyncio.wait({pods, client}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (client, pods):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionError, RuntimeError):
                    await task
            for writer in self.writers.values():
                writer.close()
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.ws.close()


class PortForwardStream:
    """One upgraded port-forward connection to one pod."""

    def __init__(self, tunnel: Tunnel, forwarder: PortForwarder) -> None:
        self.tunnel = tunnel
        self.forwarder = forwarder
        self.session = Session()
        self.decoder = spdy.Decoder()
        self.encoder = spdy.Encoder()
        self.outbox: asyncio.Queue[spdy.Frame | None] = asyncio.Queue(QUEUE_FRAMES)
        self.pods: dict[str, asyncio.StreamWriter] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.handles: list[asyncio.TimerHandle] = []
        self.done = asyncio.Event()

    # ------------------------------------------------------------------ actions

    async def apply(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Send):
                await self.outbox.put(action.frame)
            elif isinstance(action, Dial):
                self._spawn(action.request_id, self._dial(action.request_id, action.port))
            elif isinstance(action, ToPod):
                writer = self.pods.get(action.request_id)
                if writer is not None and not writer.is_closing():
                    writer.write(action.data)
                    with contextlib.suppress(ConnectionError):
                        await writer.drain()
            elif isinstance(action, PodEof):
                writer = self.pods.get(action.request_id)
                if writer is not None:
                    self.handles.append(asyncio.get_running_loop().call_later(
                        POD_EOF_GRACE, writer.close))
            elif isinstance(action, ClosePod):
                self._close_pod(action.request_id)
            elif isinstance(action, Expire):
                # Network timeouts stay in real time (only simulated durations run faster).
                self.handles.append(asyncio.get_running_loop().call_later(
                    STREAM_CREATION_TIMEOUT, functools.partial(self._expire, action.request_id)))
            elif isinstance(action, Shutdown):
                self.done.set()

    def _spawn(self, key: str, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks[key] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self.tasks.get(key) is done:
                del self.tasks[key]

        task.add_done_callback(forget)

    def _expire(self, request_id: str) -> None:
        if not self.done.is_set():
            self._spawn(f"expire/{request_id}", self.apply(self.session.expire(request_id)))

    def _close_pod(self, request_id: str) -> None:
        writer = self.pods.pop(request_id, None)
        if writer is not None:
            writer.close()
        task = self.tasks.get(request_id)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    async def _dial(self, request_id: str, port: int) -> None:
        try:
            reader, writer = await self.forwarder.dial(port)
        except PortForwardError as exc:
            await self.apply(self.session.dial_failed(request_id, exc.message))
            return
        self.pods[request_id] = writer
        await self.apply(self.session.dialed(request_id))
        try:
            while chunk := await reader.read(MAX_CHUNK):
                await self.apply(self.session.from_pod(request_id, chunk))
        except (ConnectionError, OSError):
            pass  # the pod side broke: end the pair like an orderly close
        self.pods.pop(request_id, None)
        writer.close()
        await self.apply(self.session.pod_closed(request_id))

    # ------------------------------------------------------------------ the two directions

    async def _write_loop(self) -> None:
        while (frame := await self.outbox.get()) is not None:
            await self.tunnel.write(self.encoder.encode(frame))

    async def _read_loop(self) -> None:
        while not self.done.is_set():
            data = await self.tunnel.read()
            if data is None:
                return
            try:
                frames = self.decoder.feed(data)
            except spdy.ProtocolError as exc:
                log.info("port-forward: closing a connection that is not SPDY/3.1: %s", exc)
                await self.outbox.put(spdy.GoAway(0, spdy.GOAWAY_PROTOCOL_ERROR))
                return
            for frame in frames:
                await self.apply(self.session.receive(frame))

    async def serve(self) -> None:
        writer = asyncio.ensure_future(self._write_loop())
        reader = asyncio.ensure_future(self._read_loop())
        stopper = asyncio.ensure_future(self.done.wait())
        try:
            await asyncio.wait({reader, writer, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.done.set()
            for handle in self.handles:
                handle.cancel()
            for request_id in list(self.pods):
                self._close_pod(request_id)
            self.session.connection_lost()
            pending = [t for t in (reader, stopper, *self.tasks.values()) if not t.done()]
            for task in pending:
                task.cancel()
            if not writer.done():
                # Let what is queued (a GOAWAY, the last replies) reach the client.
                with contextlib.suppress(asyncio.QueueFull):
                    self.outbox.put_nowait(None)
                with contextlib.suppress(TimeoutError, ConnectionError, RuntimeError):
                    await asyncio.wait_for(asyncio.shield(writer), 1.0)
                writer.cancel()
            for task in (*pending, writer):
                with contextlib.suppress(asyncio.CancelledError, ConnectionError, RuntimeError):
                    await task
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.tunnel.close()
