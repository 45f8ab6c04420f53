"""The SPDY/3.1 frame codec (``server/spdy.py``): wire layout, header compression, chunked
input and malformed bytes. The layout checks are written from the SPDY/3 draft (§2.2, §2.6);
kubectl itself decodes what the encoder writes in the port-forward conformance tests."""

from __future__ import annotations

import struct
import zlib

import pytest

from kubelab.sandbox.server import spdy

FRAMES: list[spdy.Frame] = [
    spdy.SynStream(1, {"streamtype": "error", "port": "80", "requestid": "0"}),
    spdy.SynStream(3, {"port": "8080"}, associated_id=1, priority=5, fin=True,
                   unidirectional=True),
    spdy.SynReply(1, {}),
    spdy.SynReply(3, {"a": "x\x00y"}, fin=True),
    spdy.HeadersFrame(5, {"k": "v"}, fin=True),
    spdy.DataFrame(3, b"GET / HTTP/1.1\r\n\r\n"),
    spdy.DataFrame(1, b"", fin=True),
    spdy.RstStream(3, spdy.CANCEL),
    spdy.Settings(((0, 7, 65536), (1, 4, 100)), clear=True),
    spdy.Ping(7),
    spdy.GoAway(9, spdy.GOAWAY_PROTOCOL_ERROR),
    spdy.WindowUpdate(3, 1 << 20),
]


def test_every_frame_round_trips_through_one_connection() -> None:
    encoder = spdy.Encoder()
    wire = b"".join(encoder.encode(f) for f in FRAMES)
    assert spdy.Decoder().feed(wire) == FRAMES


def test_frames_split_anywhere_decode_the_same() -> None:
    encoder = spdy.Encoder()
    wire = b"".join(encoder.encode(f) for f in FRAMES)
    decoder, got = spdy.Decoder(), []
    for i in range(0, len(wire), 3):  # WebSocket messages need not hold whole frames
        got.extend(decoder.feed(wire[i:i + 3]))
    assert got == FRAMES


def test_data_frame_layout() -> None:
    # 0 | stream-id(31), flags(8) | length(24), data
    assert spdy.Encoder().encode(spdy.DataFrame(5, b"hi", fin=True)) == \
        bytes.fromhex("00000005" "01000002") + b"hi"


def test_control_frame_layouts() -> None:
    encoder = spdy.Encoder()
    # 1 | version 3 | type, flags | length, payload
    assert encoder.encode(spdy.Ping(1)) == bytes.fromhex("80030006" "00000004" "00000001")
    assert encoder.encode(spdy.RstStream(3, spdy.CANCEL)) == \
        bytes.fromhex("80030003" "00000008" "00000003" "00000005")
    assert encoder.encode(spdy.GoAway(7, 0)) == \
        bytes.fromhex("80030007" "00000008" "00000007" "00000000")
    assert encoder.encode(spdy.WindowUpdate(1, 10)) == \
        bytes.fromhex("80030009" "00000008" "00000001" "0000000a")


def test_syn_reply_header_block_is_zlib_with_the_spdy3_dictionary() -> None:
    frame = spdy.Encoder().encode(spdy.SynReply(1, {"port": "80"}))
    kind, flags_length, stream_id = struct.unpack(">III", frame[:12])
    assert (kind, stream_id) == (0x80030002, 1)
    assert flags_length & 0xFFFFFF == len(frame) - 8
    block = frame[12:]
    # A zlib header with FDICT set, naming the dictionary by its Adler-32.
    assert block[0] == 0x78 and block[1] & 0x20
    assert struct.unpack(">I", block[2:6])[0] == zlib.adler32(spdy.SPDY3_DICTIONARY) \
        == 0xE3C6A7C2
    assert len(spdy.SPDY3_DICTIONARY) == 1423
    raw = zlib.decompressobj(zdict=spdy.SPDY3_DICTIONARY).decompress(block)
    assert raw == struct.pack(">I", 1) + struct.pack(">I", 4) + b"port" + \
        struct.pack(">I", 2) + b"80"


def test_header_compression_is_one_stream_per_direction() -> None:
    encoder = spdy.Encoder()
    first = encoder.encode(spdy.SynReply(1, {"port": "80"}))
    second = encoder.encode(spdy.SynReply(3, {"port": "80"}))
    # The second block refers back into the first: alone it is not a zlib stream...
    with pytest.raises(spdy.ProtocolError):
        spdy.Decoder().feed(second)
    # ...and after the first, on the same decoder, it decodes.
    decoder = spdy.Decoder()
    assert decoder.feed(first + second) == [spdy.SynReply(1, {"port": "80"}),
                                            spdy.SynReply(3, {"port": "80"})]


def test_unknown_control_frames_are_skipped() -> None:
    unknown = struct.pack(">HHI", 0x8003, 0x00F0, 4) + b"abcd"
    assert spdy.Decoder().feed(unknown + spdy.Encoder().encode(spdy.Ping(3))) == [spdy.Ping(3)]


@pytest.mark.parametrize("wire", [
    struct.pack(">HHI", 0x8002, spdy.PING, 4) + b"\0\0\0\1",     # SPDY/2
    struct.pack(">HHI", 0x8003, spdy.PING, 3) + b"\0\0\1",       # short PING
    struct.pack(">HHI", 0x8003, spdy.RST_STREAM, 8) + bytes(8),  # RST of stream 0
    struct.pack(">HHI", 0x8003, spdy.SYN_STREAM, 2 * spdy.MAX_CONTROL_LENGTH),
    struct.pack(">HHI", 0x8003, spdy.SYN_REPLY, 9) + b"\0\0\0\1" + b"junk!",
])
def test_malformed_frames_are_protocol_errors(wire: bytes) -> None:
    with pytest.raises(spdy.ProtocolError):
        spdy.Decoder().feed(wire)


def test_header_names_must_be_lower_case_and_unique() -> None:
    def block(*pairs: tuple[bytes, bytes]) -> bytes:
        out = struct.pack(">I", len(pairs))
        for name, value in pairs:
            out += struct.pack(">I", len(name)) + name + struct.pack(">I", len(value)) + value
        return out

    assert spdy.unpack_headers(block((b"port", b"80"))) == {"port": "80"}
    with pytest.raises(spdy.ProtocolError):
        spdy.unpack_headers(block((b"Port", b"80")))
    with pytest.raises(spdy.ProtocolError):
        spdy.unpack_headers(block((b"port", b"80"), (b"port", b"81")))
    with pytest.raises(spdy.ProtocolError):
        spdy.unpack_headers(block((b"port", b"80"))[:-1])


def test_an_oversized_header_block_is_refused() -> None:
    compressor = zlib.compressobj(zdict=spdy.SPDY3_DICTIONARY)
    huge = spdy.pack_headers({"x": "a" * (spdy.MAX_HEADER_BLOCK + 10)})
    block = compressor.compress(huge) + compressor.flush(zlib.Z_SYNC_FLUSH)
    wire = struct.pack(">HHI", 0x8003, spdy.SYN_REPLY, 4 + len(block)) + \
        struct.pack(">I", 1) + block
    with pytest.raises(spdy.ProtocolError, match="too large"):
        spdy.Decoder().feed(wire)
