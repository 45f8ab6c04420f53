"""The port-forward session: SPDY streams paired into forwarded connections (pure, no I/O).

Mirrors the kubelet's SPDY port-forward handler (``pkg/kubelet/cri/streaming/portforward/
httpstream.go``) that kube-apiserver tunnels ``pods/<name>/portforward`` to. For every local
connection kubectl accepts, it opens two SPDY streams carrying the same ``requestID`` and
``port`` headers: an *error* stream (``streamType: error``), which it half-closes at once and
reads to its end, and a *data* stream (``streamType: data``), which carries the bytes.
The handler

* answers every acceptable SYN_STREAM with a SYN_REPLY, and resets a stream whose ``port``
  or ``streamType`` header is missing or invalid (``httpStreamReceived``);
* pairs the streams by ``requestID``; once both are there, dials the pod's port;
* copies bytes both ways; when the pod's side ends, closes the error stream *empty* (kubectl
  reads that as success) and half-closes the data stream;
* on a failed dial, writes the runtime's message to the error stream and closes both: kubectl
  logs it and, like against a real cluster, drops the whole connection;
* gives up on a pair that is not complete within the stream-creation timeout;
* echoes the client's PINGs (odd ids) and ignores SETTINGS and WINDOW_UPDATE (spdystream
  does no flow control either).

:class:`Session` takes frames and I/O outcomes and returns :class:`Action` values for the
I/O shell (:mod:`.portforward_stream`) to carry out, in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kubelab.sandbox.server import spdy

#: Header names and values (``k8s.io/api/core/v1`` ``StreamType``, ``PortHeader``, …).
STREAM_TYPE, PORT, REQUEST_ID = "streamtype", "port", "requestid"
TYPE_ERROR, TYPE_DATA = "error", "data"
#: How long a pair may stay incomplete (the kubelet's default ``streamCreationTimeout``).
STREAM_CREATION_TIMEOUT = 30.0
#: Largest DATA frame sent (spdystream reads any size; kubectl's copy buffer is 32 KiB).
MAX_CHUNK = 32 * 1024
#: How long the pod may go on answering after the client's FIN (containerd's
#: ``portForward`` waits one second for the other direction before closing).
POD_EOF_GRACE = 1.0
#: Most pairs one connection may hold at once.
MAX_PAIRS = 256


@dataclass(frozen=True)
class Send:
    """Write this frame to the client."""

    frame: spdy.Frame


@dataclass(frozen=True)
class Dial:
    """Connect to the pod's ``port`` for the pair ``request_id``; report with
    :meth:`Session.dialed` or :meth:`Session.dial_failed`."""

    request_id: str
    port: int


@dataclass(frozen=True)
class ToPod:
    request_id: str
    data: bytes


@dataclass(frozen=True)
class PodEof:
    """The client has no more to send on this pair. containerd does not half-close the pod
    connection: it lets the pod answer for up to :data:`POD_EOF_GRACE` seconds, then closes."""

    request_id: str


@dataclass(frozen=True)
class ClosePod:
    """The client reset the pair: close the pod connection (no more data either way)."""

    request_id: str


@dataclass(frozen=True)
class Expire:
    """Call :meth:`Session.expire` after :data:`STREAM_CREATION_TIMEOUT` seconds."""

    request_id: str


@dataclass(frozen=True)
class Shutdown:
    """End the whole connection."""

    reason: str = ""


Action = Send | Dial | ToPod | PodEof | ClosePod | Expire | Shutdown


@dataclass
class Pair:
    """One forwarded connection: its two streams and where it stands."""

    request_id: str
    port: int
    error_stream: int = 0
    data_stream: int = 0
    state: str = "waiting"  # waiting → dialing → open → (removed)
    client_fin: bool = False
    error_open: bool = True  # the error stream may still be written
    pending: list[bytes] = field(default_factory=list)


def _header_error(headers: spdy.Headers) -> str | None:
    """Why a stream is refused (the kubelet's ``httpStreamReceived`` checks), or None."""
    port = headers.get(PORT, "")
    if not port:
        return f'"{PORT}" header is required'
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        return f'unable to parse "{port}" as a port'
    if int(port) < 1:
        return f'port "{port}" must be > 0'
    kind = headers.get(STREAM_TYPE, "")
    if not kind:
        return f'"{STREAM_TYPE}" header is required'
    if kind not in (TYPE_ERROR, TYPE_DATA):
        return f'invalid stream type "{kind}"'
    return None


class Session:
    """One upgraded port-forward connection to one pod."""

    def __init__(self) -> None:
        self.pairs: dict[str, Pair] = {}
        self._streams: dict[int, tuple[str, str]] = {}  # stream id → (request id, type)
        self._last_stream = 0
        self.refused: list[str] = []  # why streams were reset (for logs and tests)

    # ------------------------------------------------------------------ client frames

    def receive(self, frame: spdy.Frame) -> list[Action]:
        if isinstance(frame, spdy.SynStream):
            return self._syn_stream(frame)
        if isinstance(frame, spdy.DataFrame):
            return self._data(frame)
        if isinstance(frame, spdy.RstStream):
            return self._reset(frame.stream_id)
        if isinstance(frame, spdy.Ping):
            # spdystream answers pings whose id parity is not its own; a server's ids are
            # even, so the client's (odd) pings come back unchanged.
            return [Send(frame)] if frame.id % 2 == 1 else []
        if isinstance(frame, spdy.GoAway):
            return [*self.connection_lost(), Shutdown("client sent GOAWAY")]
        return []  # SETTINGS, WINDOW_UPDATE, HEADERS, a stray SYN_REPLY

    def _syn_stream(self, frame: spdy.SynStream) -> list[Action]:
        sid = frame.stream_id
        if sid in self._streams:
            return [Send(spdy.RstStream(sid, spdy.STREAM_IN_USE))]
        if sid % 2 == 0 or sid <= self._last_stream:
            return [Send(spdy.RstStream(sid, spdy.PROTOCOL_ERROR))]
        self._last_stream = sid
        problem = _header_error(frame.headers)
        if problem is not None:
            self.refused.append(problem)
            return [Send(spdy.RstStream(sid, spdy.CANCEL))]
        kind = frame.headers[STREAM_TYPE]
        # A client too old to send requestID: the kubelet pairs the error stream's id with
        # the data stream opened right after it (id + 2).
        request_id = frame.headers.get(REQUEST_ID) or str(sid if kind == TYPE_ERROR else sid - 2)
        actions: list[Action] = [Send(spdy.SynReply(sid, {}))]
        pair = self.pairs.get(request_id)
        if pair is None:
            if len(self.pairs) >= MAX_PAIRS:
                self.refused.append("too many forwarded connections")
                return [*actions, Send(spdy.RstStream(sid, spdy.REFUSED_STREAM))]
            pair = self.pairs[request_id] = Pair(request_id, int(frame.headers[PORT]))
            actions.append(Expire(request_id))
        if (kind == TYPE_ERROR and pair.error_stream) or (kind == TYPE_DATA and pair.data_stream):
            self.refused.append(f"{kind} stream already assigned")
            return [*actions, Send(spdy.RstStream(sid, spdy.CANCEL))]
        self._streams[sid] = (request_id, kind)
        if kind == TYPE_ERROR:
            pair.error_stream = sid
        else:
            pair.data_stream = sid
            pair.port = int(frame.headers[PORT])  # the kubelet dials the data stream's port
        if pair.error_stream and pair.data_stream and pair.state == "waiting":
            pair.state = "dialing"
            actions.append(Dial(request_id, pair.port))
        return actions

    def _data(self, frame: spdy.DataFrame) -> list[Action]:
        request_id, kind = self._streams.get(frame.stream_id, ("", ""))
        pair = self.pairs.get(request_id)
        if pair is None or kind != TYPE_DATA or pair.client_fin:
            return []  # the error stream carries nothing from the client; after FIN, nothing
        actions: list[Action] = []
        if frame.data:
            if pair.state == "open":
                actions.append(ToPod(request_id, frame.data))
            else:
                pair.pending.append(frame.data)
        if frame.fin and not pair.client_fin:
            pair.client_fin = True
            if pair.state == "open":
                actions.append(PodEof(request_id))
        return actions

    def _reset(self, stream_id: int) -> list[Action]:
        request_id, kind = self._streams.pop(stream_id, ("", ""))
        pair = self.pairs.get(request_id)
        if pair is None:
            return []
        if kind == TYPE_ERROR:
            pair.error_open = False
            return []
        # kubectl resets the data stream once the pod's side has ended, or when its local
        # connection failed: either way, this forwarded connection is over.
        actions: list[Action] = [ClosePod(request_id)] if pair.state == "open" else []
        return actions + self._finish(pair, "", data_fin=False)

    # ------------------------------------------------------------------ I/O outcomes

    def dialed(self, request_id: str) -> list[Action]:
        pair = self.pairs.get(request_id)
        if pair is None:
            return [ClosePod(request_id)]  # reset while dialing
        pair.state = "open"
        actions: list[Action] = [ToPod(request_id, data) for data in pair.pending]
        pair.pending.clear()
        if pair.client_fin:
            actions.append(PodEof(request_id))
        return actions

    def dial_failed(self, request_id: str, message: str) -> list[Action]:
        pair = self.pairs.get(request_id)
        return [] if pair is None else self._finish(pair, message)

    def from_pod(self, request_id: str, data: bytes) -> list[Action]:
        pair = self.pairs.get(request_id)
        if pair is None or not data:
            return []
        return [Send(spdy.DataFrame(pair.data_stream, data[i:i + MAX_CHUNK]))
                for i in range(0, len(data), MAX_CHUNK)]

    def pod_closed(self, request_id: str) -> list[Action]:
        """The pod's side of the connection ended (the app closed it, or it broke)."""
        pair = self.pairs.get(request_id)
        return [] if pair is None else self._finish(pair, "")

    def expire(self, request_id: str) -> list[Action]:
        pair = self.pairs.get(request_id)
        if pair is None or pair.state != "waiting":
            return []
        actions: list[Action] = []
        if pair.data_stream:
            actions.append(Send(spdy.RstStream(pair.data_stream, spdy.CANCEL)))
            self._streams.pop(pair.data_stream, None)
            pair.data_stream = 0
        return actions + self._finish(
            pair, f"(request={request_id}) timed out waiting for streams", data_fin=False)

    def connection_lost(self) -> list[Action]:
        """The client connection is gone: close every pod connection."""
        actions: list[Action] = [ClosePod(p.request_id) for p in self.pairs.values()
                                 if p.state == "open"]
        self.pairs.clear()
        self._streams.clear()
        return actions

    # ------------------------------------------------------------------ helpers

    def _finish(self, pair: Pair, message: str, *, data_fin: bool = True) -> list[Action]:
        """End a pair like the kubelet's ``portForward`` does on return: the message (if
        any) on the error stream, then the error stream closed, then the data stream."""
        actions: list[Action] = []
        if pair.error_stream and pair.error_open:
            if message:
                actions.append(Send(spdy.DataFrame(pair.error_stream, message.encode())))
            actions.append(Send(spdy.DataFrame(pair.error_stream, b"", fin=True)))
        if data_fin and pair.data_stream and pair.data_stream in self._streams:
            actions.append(Send(spdy.DataFrame(pair.data_stream, b"", fin=True)))
        for sid in (pair.error_stream, pair.data_stream):
            self._streams.pop(sid, None)
        self.pairs.pop(pair.request_id, None)
        return actions


# ---------------------------------------------------------------- WebSocket channel protocol

#: The kubelet's WebSocket port-forward (``portforward/websocket.go``), which the official
#: Python client's ``portforward()`` speaks: ports in the ``ports`` query, two channels per
#: port (data ``2i``, error ``2i+1``), each opened by a frame holding the port number.
CHANNEL_PROTOCOLS = ("v4.channel.k8s.io", "channel.k8s.io")


def channel_ports(values: list[str]) -> list[int]:
    """The ``ports`` query (repeated and/or comma-separated), checked as the kubelet's
    ``parsePortForwardOptions`` checks it; raise ValueError with its wording."""
    ports: list[int] = []
    for text in (p.strip() for v in values for p in v.split(",")):
        if not text.isdigit() or int(text) > 65535:
            raise ValueError(f'unable to parse "{text}" as a port')
        if int(text) < 1:
            raise ValueError(f'port "{text}" must be > 0')
        ports.append(int(text))
    if not ports:
        raise ValueError('query parameter "port" is required')
    return ports


def channel_open(index: int, port: int) -> tuple[bytes, bytes]:
    """The first frame of port ``index``'s data and error channels: channel byte, then the
    port as a little-endian uint16."""
    number = port.to_bytes(2, "little")
    return bytes([2 * index]) + number, bytes([2 * index + 1]) + number
