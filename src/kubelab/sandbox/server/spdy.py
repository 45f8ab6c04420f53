"""SPDY/3.1 framing: the wire format under ``kubectl port-forward`` (pure, no I/O).

kubectl 1.37 still speaks SPDY/3.1 to the kubelet's port-forward server
(``pkg/kubelet/cri/streaming/portforward``), either tunnelled in WebSocket binary messages
(sub-protocol ``SPDY/3.1+portforward.k8s.io``) or on the upgraded connection itself. Both
ends use ``moby/spdystream``; this module encodes and decodes the frames they exchange, as
the SPDY/3 draft specifies them (all integers big-endian):

* control frame: ``1 | version(15) | type(16)``, ``flags(8) | length(24)``, payload;
* data frame: ``0 | stream-id(31)``, ``flags(8) | length(24)``, data.

Header blocks (SYN_STREAM, SYN_REPLY, HEADERS) are zlib-compressed with the SPDY/3
dictionary, one zlib stream per direction for the whole connection, each block ending in a
sync flush; so an :class:`Encoder` and a :class:`Decoder` belong to one connection and one
direction each. Unknown control frame types are skipped, as the draft asks.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS = 1, 2, 3, 4
PING, GOAWAY, HEADERS, WINDOW_UPDATE = 6, 7, 8, 9
FLAG_FIN = 0x01
FLAG_UNIDIRECTIONAL = 0x02
FLAG_SETTINGS_CLEAR = 0x01

# RST_STREAM status codes (SPDY/3 §2.6.3).
PROTOCOL_ERROR, INVALID_STREAM, REFUSED_STREAM, UNSUPPORTED_VERSION = 1, 2, 3, 4
CANCEL, INTERNAL_ERROR, FLOW_CONTROL_ERROR, STREAM_IN_USE = 5, 6, 7, 8
STREAM_ALREADY_CLOSED = 9
# GOAWAY status codes (SPDY/3 §2.6.6).
GOAWAY_OK, GOAWAY_PROTOCOL_ERROR, GOAWAY_INTERNAL_ERROR = 0, 1, 2

MAX_LENGTH = (1 << 24) - 1
#: Largest control frame accepted (port-forward header blocks are a few dozen bytes).
MAX_CONTROL_LENGTH = 64 * 1024
#: Largest decompressed header block accepted (a guard against zlib bombs).
MAX_HEADER_BLOCK = 256 * 1024
_STREAM_MASK = 0x7FFFFFFF

#: The zlib dictionary of SPDY/3 header compression (SPDY/3 draft §2.6.10.1), a protocol
#: constant: 1423 bytes, Adler-32 0xe3c6a7c2.
SPDY3_DICTIONARY = bytes.fromhex(
    "000000076f7074696f6e73000000046865616400000004706f7374000000037075740000000664656c65"
    "7465000000057472616365000000066163636570740000000e6163636570742d63686172736574000000"
    "0f6163636570742d656e636f64696e670000000f6163636570742d6c616e67756167650000000d616363"
    "6570742d72616e6765730000000361676500000005616c6c6f770000000d617574686f72697a6174696f"
    "6e0000000d63616368652d636f6e74726f6c0000000a636f6e6e656374696f6e0000000c636f6e74656e"
    "742d6261736500000010636f6e74656e742d656e636f64696e6700000010636f6e74656e742d6c616e67"
    "756167650000000e636f6e74656e742d6c656e67746800000010636f6e74656e742d6c6f636174696f6e"
    "0000000b636f6e74656e742d6d64350000000d636f6e74656e742d72616e67650000000c636f6e74656e"
    "742d74797065000000046461746500000004657461670000000665787065637400000007657870697265"
    "730000000466726f6d00000004686f73740000000869662d6d617463680000001169662d6d6f64696669"
    "65642d73696e63650000000d69662d6e6f6e652d6d617463680000000869662d72616e67650000001369"
    "662d756e6d6f6469666965642d73696e63650000000d6c6173742d6d6f646966696564000000086c6f63"
    "6174696f6e0000000c6d61782d666f72776172647300000006707261676d610000001270726f78792d61"
    "757468656e7469636174650000001370726f78792d617574686f72697a6174696f6e0000000572616e67"
    "6500000007726566657265720000000b72657472792d6166746572000000067365727665720000000274"
    "6500000007747261696c6572000000117472616e736665722d656e636f64696e67000000077570677261"
    "64650000000a757365722d6167656e74000000047661727900000003766961000000077761726e696e67"
    "000000107777772d61757468656e746963617465000000066d6574686f64000000036765740000000673"
    "746174757300000006323030204f4b0000000776657273696f6e00000008485454502f312e3100000003"
    "75726c000000067075626c69630000000a7365742d636f6f6b69650000000a6b6565702d616c69766500"
    "0000066f726967696e313030313031323031323032323035323036333030333032333033333034333035"
    "333036333037343032343035343036343037343038343039343130343131343132343133343134343135"
    "343136343137353032353034353035323033204e6f6e2d417574686f726974617469766520496e666f72"
    "6d6174696f6e323034204e6f20436f6e74656e74333031204d6f766564205065726d616e656e746c7934"
    "303020426164205265717565737434303120556e617574686f72697a656434303320466f726269646465"
    "6e343034204e6f7420466f756e6435303020496e7465726e616c20536572766572204572726f72353031"
    "204e6f7420496d706c656d656e746564353033205365727669636520556e617661696c61626c654a616e"
    "20466562204d617220417072204d6179204a756e204a756c204175672053657074204f6374204e6f7620"
    "4465632030303a30303a3030204d6f6e2c205475652c205765642c205468752c204672692c205361742c"
    "2053756e2c20474d546368756e6b65642c746578742f68746d6c2c696d6167652f706e672c696d616765"
    "2f6a70672c696d6167652f6769662c6170706c69636174696f6e2f786d6c2c6170706c69636174696f6e"
    "2f7868746d6c2b786d6c2c746578742f706c61696e2c746578742f6a6176617363726970742c7075626c"
    "6963707269766174656d61782d6167653d677a69702c6465666c6174652c73646368636861727365743d"
    "7574662d38636861727365743d69736f2d383835392d312c7574662d2c2a2c656e713d302e"
)

Headers = dict[str, str]
"""Header name (lower case) → value; several values of one name are joined by NUL."""


class ProtocolError(Exception):
    """Bytes that are not SPDY/3 (the connection cannot continue: answer GOAWAY and close)."""


@dataclass(frozen=True)
class DataFrame:
    stream_id: int
    data: bytes = b""
    fin: bool = False


@dataclass(frozen=True)
class SynStream:
    stream_id: int
    headers: Headers
    associated_id: int = 0
    priority: int = 0
    fin: bool = False
    unidirectional: bool = False


@dataclass(frozen=True)
class SynReply:
    stream_id: int
    headers: Headers
    fin: bool = False


@dataclass(frozen=True)
class RstStream:
    stream_id: int
    status: int


@dataclass(frozen=True)
class Settings:
    #: (flags, id, value) per entry.
    entries: tuple[tuple[int, int, int], ...] = ()
    clear: bool = False


@dataclass(frozen=True)
class Ping:
    id: int


@dataclass(frozen=True)
class GoAway:
    last_good_stream_id: int
    status: int = GOAWAY_OK


@dataclass(frozen=True)
class HeadersFrame:
    stream_id: int
    headers: Headers
    fin: bool = False


@dataclass(frozen=True)
class WindowUpdate:
    stream_id: int
    delta: int


Frame = (DataFrame | SynStream | SynReply | RstStream | Settings | Ping | GoAway | HeadersFrame
         | WindowUpdate)


# ---------------------------------------------------------------- header blocks

def pack_headers(headers: Headers) -> bytes:
    """The uncompressed name/value block: count, then (length, name, length, value)."""
    out = [struct.pack(">I", len(headers))]
    for name, value in headers.items():
        raw_name, raw_value = name.lower().encode(), value.encode()
        out.append(struct.pack(">I", len(raw_name)) + raw_name)
        out.append(struct.pack(">I", len(raw_value)) + raw_value)
    return b"".join(out)


def unpack_headers(block: bytes) -> Headers:
    """Parse an uncompressed name/value block; names must be lower case and unique."""
    def take(at: int, size: int) -> tuple[bytes, int]:
        if at + size > len(block):
            raise ProtocolError("truncated header block")
        return block[at:at + size], at + size

    raw, at = take(0, 4)
    (count,) = struct.unpack(">I", raw)
    headers: Headers = {}
    for _ in range(count):
        raw, at = take(at, 4)
        name_bytes, at = take(at, struct.unpack(">I", raw)[0])
        raw, at = take(at, 4)
        value, at = take(at, struct.unpack(">I", raw)[0])
        name = name_bytes.decode("latin-1")
        if not name or name != name.lower():
            raise ProtocolError(f"header name {name!r} is not lower case")
        if name in headers:
            raise ProtocolError(f"duplicate header {name!r}")
        headers[name] = value.decode("utf-8", errors="replace")
    return headers


# ---------------------------------------------------------------- encoder

class Encoder:
    """Frames → bytes for one direction of one connection (owns the header compressor)."""

    def __init__(self) -> None:
        self._zlib = zlib.compressobj(zdict=SPDY3_DICTIONARY)

    def _compress(self, headers: Headers) -> bytes:
        return self._zlib.compress(pack_headers(headers)) + self._zlib.flush(zlib.Z_SYNC_FLUSH)

    @staticmethod
    def _control(kind: int, flags: int, payload: bytes) -> bytes:
        if len(payload) > MAX_LENGTH:
            raise ValueError("control frame too large")
        return struct.pack(">HHI", 0x8000 | VERSION, kind, (flags << 24) | len(payload)) + payload

    def encode(self, frame: Frame) -> bytes:
        if isinstance(frame, DataFrame):
            if len(frame.data) > MAX_LENGTH:
                raise ValueError("data frame too large: split it")
            flags = FLAG_FIN if frame.fin else 0
            return struct.pack(">II", frame.stream_id & _STREAM_MASK,
                               (flags << 24) | len(frame.data)) + frame.data
        if isinstance(frame, SynStream):
            flags = (FLAG_FIN if frame.fin else 0) | (
                FLAG_UNIDIRECTIONAL if frame.unidirectional else 0)
            payload = struct.pack(">IIBB", frame.stream_id & _STREAM_MASK,
                                  frame.associated_id & _STREAM_MASK,
                                  (frame.priority & 0x7) << 5, 0)
            return self._control(SYN_STREAM, flags, payload + self._compress(frame.headers))
        if isinstance(frame, SynReply):
            payload = struct.pack(">I", frame.stream_id & _STREAM_MASK)
            return self._control(SYN_REPLY, FLAG_FIN if frame.fin else 0,
                                 payload + self._compress(frame.headers))
        if isinstance(frame, HeadersFrame):
            payload = struct.pack(">I", frame.stream_id & _STREAM_MASK)
            return self._control(HEADERS, FLAG_FIN if frame.fin else 0,
                                 payload + self._compress(frame.headers))
        if isinstance(frame, RstStream):
            return self._control(RST_STREAM, 0, struct.pack(
                ">II", frame.stream_id & _STREAM_MASK, frame.status))
        if isinstance(frame, Settings):
            body = struct.pack(">I", len(frame.entries)) + b"".join(
                struct.pack(">II", (flags << 24) | (ident & 0xFFFFFF), value)
                for flags, ident, value in frame.entries)
            return self._control(SETTINGS, FLAG_SETTINGS_CLEAR if frame.clear else 0, body)
        if isinstance(frame, Ping):
            return self._control(PING, 0, struct.pack(">I", frame.id))
        if isinstance(frame, GoAway):
            return self._control(GOAWAY, 0, struct.pack(
                ">II", frame.last_good_stream_id & _STREAM_MASK, frame.status))
        if isinstance(frame, WindowUpdate):
            return self._control(WINDOW_UPDATE, 0, struct.pack(
                ">II", frame.stream_id & _STREAM_MASK, frame.delta & _STREAM_MASK))
        raise TypeError(f"not a SPDY frame: {frame!r}")


# ---------------------------------------------------------------- decoder

class Decoder:
    """Bytes → frames for one direction of one connection (owns the header decompressor).

    :meth:`feed` takes bytes in any chunking (a WebSocket message need not hold whole
    frames) and returns the frames completed so far; it raises :class:`ProtocolError`.
    """

    def __init__(self) -> None:
        self._zlib = zlib.decompressobj(zdict=SPDY3_DICTIONARY)
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        while len(self._buffer) >= 8:
            first, second = struct.unpack_from(">II", self._buffer)
            length = second & 0xFFFFFF
            control = bool(first & 0x80000000)
            if control and length > MAX_CONTROL_LENGTH:
                raise ProtocolError(f"control frame of {length} bytes")
            if len(self._buffer) < 8 + length:
                break
            payload = bytes(self._buffer[8:8 + length])
            del self._buffer[:8 + length]
            flags = second >> 24
            if not control:
                frames.append(DataFrame(first & _STREAM_MASK, payload, bool(flags & FLAG_FIN)))
                continue
            version, kind = (first >> 16) & 0x7FFF, first & 0xFFFF
            if version != VERSION:
                raise ProtocolError(f"unsupported SPDY version {version}")
            frame = self._control(kind, flags, payload)
            if frame is not None:
                frames.append(frame)
        return frames

    def _headers(self, block: bytes) -> Headers:
        try:
            raw = self._zlib.decompress(block, MAX_HEADER_BLOCK)
        except zlib.error as exc:
            raise ProtocolError(f"bad header block: {exc}") from exc
        if self._zlib.unconsumed_tail:
            raise ProtocolError("header block too large")
        return unpack_headers(raw)

    def _control(self, kind: int, flags: int, payload: bytes) -> Frame | None:
        def words(count: int) -> tuple[int, ...]:
            if len(payload) < 4 * count:
                raise ProtocolError(f"control frame type {kind} too short")
            return struct.unpack_from(">" + "I" * count, payload)

        fin = bool(flags & FLAG_FIN)
        if kind == SYN_STREAM:
            if len(payload) < 10:
                raise ProtocolError("SYN_STREAM too short")
            stream_id, associated = words(2)
            return SynStream(stream_id & _STREAM_MASK, self._headers(payload[10:]),
                             associated & _STREAM_MASK, payload[8] >> 5, fin,
                             bool(flags & FLAG_UNIDIRECTIONAL))
        if kind == SYN_REPLY:
            (stream_id,) = words(1)
            return SynReply(stream_id & _STREAM_MASK, self._headers(payload[4:]), fin)
        if kind == HEADERS:
            (stream_id,) = words(1)
            return HeadersFrame(stream_id & _STREAM_MASK, self._headers(payload[4:]), fin)
        if kind == RST_STREAM:
            stream_id, status = words(2)
            if len(payload) != 8 or not stream_id & _STREAM_MASK:
                raise ProtocolError("invalid RST_STREAM")
            return RstStream(stream_id & _STREAM_MASK, status)
        if kind == SETTINGS:
            (count,) = words(1)
            if len(payload) != 4 + 8 * count:
                raise ProtocolError("invalid SETTINGS")
            entries = tuple((head >> 24, head & 0xFFFFFF, value) for head, value in (
                struct.unpack_from(">II", payload, 4 + 8 * i) for i in range(count)))
            return Settings(entries, bool(flags & FLAG_SETTINGS_CLEAR))
        if kind == PING:
            if len(payload) != 4:
                raise ProtocolError("invalid PING")
            return Ping(words(1)[0])
        if kind == GOAWAY:
            if len(payload) != 8:
                raise ProtocolError("invalid GOAWAY")
            last, status = words(2)
            return GoAway(last & _STREAM_MASK, status)
        if kind == WINDOW_UPDATE:
            if len(payload) != 8:
                raise ProtocolError("invalid WINDOW_UPDATE")
            stream_id, delta = words(2)
            return WindowUpdate(stream_id & _STREAM_MASK, delta & _STREAM_MASK)
        return None  # an unknown control frame: ignored (SPDY/3 §2.2.1)
