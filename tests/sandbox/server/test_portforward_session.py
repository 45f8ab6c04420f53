"""Stream pairing of a port-forward connection (``server/portforward.py``), frame by frame,
as kubectl's ``handleConnection`` drives it: error stream, data stream, bytes, resets."""

from __future__ import annotations

from kubelab.sandbox.server import spdy
from kubelab.sandbox.server.portforward import (
    MAX_CHUNK,
    ClosePod,
    Dial,
    Expire,
    PodEof,
    Send,
    Session,
    Shutdown,
    ToPod,
    channel_open,
    channel_ports,
)


def syn(sid: int, kind: str, request: str | None = "0", port: str = "80") -> spdy.SynStream:
    headers = {"streamtype": kind, "port": port}
    if request is not None:
        headers["requestid"] = request
    return spdy.SynStream(sid, headers)


def sent(actions: list) -> list[spdy.Frame]:
    return [a.frame for a in actions if isinstance(a, Send)]


def open_pair(session: Session, request: str = "0", error: int = 1, data: int = 3,
              port: str = "80") -> list:
    first = session.receive(syn(error, "error", request, port))
    assert first == [Send(spdy.SynReply(error, {})), Expire(request)]
    return session.receive(syn(data, "data", request, port))


def test_each_stream_gets_a_reply_and_the_pair_dials_its_port() -> None:
    session = Session()
    assert open_pair(session, port="8080") == [Send(spdy.SynReply(3, {})), Dial("0", 8080)]


def test_bytes_sent_before_the_dial_completes_reach_the_pod_in_order() -> None:
    session = Session()
    open_pair(session)
    assert session.receive(spdy.DataFrame(1, b"", fin=True)) == []  # kubectl closes its end
    assert session.receive(spdy.DataFrame(3, b"GET / ")) == []
    assert session.receive(spdy.DataFrame(3, b"HTTP/1.1\r\n\r\n", fin=True)) == []
    assert session.dialed("0") == [ToPod("0", b"GET / "), ToPod("0", b"HTTP/1.1\r\n\r\n"),
                                   PodEof("0")]
    assert session.receive(spdy.DataFrame(3, b"more")) == []  # after FIN: nothing


def test_pod_bytes_go_out_in_chunks_then_error_closes_empty_then_data_fin() -> None:
    session = Session()
    open_pair(session)
    session.dialed("0")
    big = bytes(range(256)) * (MAX_CHUNK // 128)  # two chunks
    frames = sent(session.from_pod("0", big))
    assert [len(f.data) for f in frames] == [MAX_CHUNK, MAX_CHUNK]  # type: ignore[union-attr]
    assert b"".join(f.data for f in frames) == big  # type: ignore[union-attr]
    assert session.pod_closed("0") == [Send(spdy.DataFrame(1, b"", fin=True)),
                                       Send(spdy.DataFrame(3, b"", fin=True))]
    assert session.pairs == {}
    assert session.receive(spdy.RstStream(3, spdy.CANCEL)) == []  # kubectl's reset: done


def test_a_refused_dial_writes_the_message_on_the_error_stream() -> None:
    session = Session()
    open_pair(session)
    assert session.dial_failed("0", "error forwarding port 80 to pod x, uid : refused") == [
        Send(spdy.DataFrame(1, b"error forwarding port 80 to pod x, uid : refused")),
        Send(spdy.DataFrame(1, b"", fin=True)),
        Send(spdy.DataFrame(3, b"", fin=True))]


def test_a_reset_data_stream_closes_the_pod_side_and_the_error_stream() -> None:
    session = Session()
    open_pair(session)
    session.dialed("0")
    assert session.receive(spdy.RstStream(3, spdy.CANCEL)) == [
        ClosePod("0"), Send(spdy.DataFrame(1, b"", fin=True))]
    assert session.from_pod("0", b"late") == []


def test_a_reset_while_dialing_closes_the_connection_once_it_is_made() -> None:
    session = Session()
    open_pair(session)
    assert session.receive(spdy.RstStream(3, spdy.CANCEL)) == [
        Send(spdy.DataFrame(1, b"", fin=True))]
    assert session.dialed("0") == [ClosePod("0")]


def test_pairs_are_independent_and_interleave() -> None:
    session = Session()
    open_pair(session, "0", 1, 3)
    open_pair(session, "1", 5, 7)
    session.dialed("1")
    assert session.receive(spdy.DataFrame(7, b"b")) == [ToPod("1", b"b")]
    assert session.receive(spdy.DataFrame(3, b"a")) == []  # pair 0 still dialing
    assert sent(session.from_pod("1", b"B")) == [spdy.DataFrame(7, b"B")]
    assert session.dialed("0") == [ToPod("0", b"a")]


def test_without_request_id_the_error_stream_pairs_with_the_next_stream() -> None:
    session = Session()
    assert session.receive(syn(1, "error", None))[-1] == Expire("1")
    assert session.receive(syn(3, "data", None)) == [Send(spdy.SynReply(3, {})), Dial("1", 80)]


def test_invalid_streams_are_reset_with_the_kubelets_reasons() -> None:
    session = Session()
    cases = [
        (spdy.SynStream(1, {"streamtype": "data"}), '"port" header is required'),
        (syn(3, "data", port="http"), 'unable to parse "http" as a port'),
        (syn(5, "data", port="0"), 'port "0" must be > 0'),
        (spdy.SynStream(7, {"port": "80"}), '"streamtype" header is required'),
        (syn(9, "stdin"), 'invalid stream type "stdin"'),
    ]
    for frame, reason in cases:
        assert session.receive(frame) == [Send(spdy.RstStream(frame.stream_id, spdy.CANCEL))]
        assert session.refused[-1] == reason
    assert session.pairs == {}


def test_a_second_stream_of_the_same_type_is_reset() -> None:
    session = Session()
    session.receive(syn(1, "error"))
    assert session.receive(syn(3, "error")) == [
        Send(spdy.SynReply(3, {})), Send(spdy.RstStream(3, spdy.CANCEL))]
    assert session.refused == ["error stream already assigned"]


def test_stream_ids_must_be_odd_and_increasing() -> None:
    session = Session()
    session.receive(syn(5, "error"))
    assert session.receive(syn(5, "data")) == [Send(spdy.RstStream(5, spdy.STREAM_IN_USE))]
    assert session.receive(syn(3, "data")) == [Send(spdy.RstStream(3, spdy.PROTOCOL_ERROR))]
    assert session.receive(syn(8, "data")) == [Send(spdy.RstStream(8, spdy.PROTOCOL_ERROR))]


def test_client_pings_are_echoed_and_other_control_frames_ignored() -> None:
    session = Session()
    assert session.receive(spdy.Ping(1)) == [Send(spdy.Ping(1))]
    assert session.receive(spdy.Ping(2)) == []  # an even id would be the server's own
    assert session.receive(spdy.Settings(((0, 7, 1 << 16),))) == []
    assert session.receive(spdy.WindowUpdate(1, 100)) == []


def test_goaway_closes_every_open_pod_connection() -> None:
    session = Session()
    open_pair(session)
    session.dialed("0")
    assert session.receive(spdy.GoAway(3)) == [ClosePod("0"), Shutdown("client sent GOAWAY")]


def test_an_incomplete_pair_times_out() -> None:
    session = Session()
    session.receive(syn(1, "error"))
    assert session.expire("0") == [
        Send(spdy.DataFrame(1, b"(request=0) timed out waiting for streams")),
        Send(spdy.DataFrame(1, b"", fin=True))]
    assert session.pairs == {}
    open_pair(session, "1", 3, 5)
    assert session.expire("1") == []  # complete pairs do not expire


def test_channel_protocol_ports_and_opening_frames() -> None:
    assert channel_ports(["80,8080", "443"]) == [80, 8080, 443]
    for bad, reason in ((["http"], 'unable to parse "http" as a port'),
                        (["0"], 'port "0" must be > 0'), (["70000"], "unable to parse")):
        try:
            channel_ports(bad)
        except ValueError as exc:
            assert reason in str(exc)
        else:
            raise AssertionError(f"{bad} accepted")
    assert channel_open(1, 8080) == (b"\x02\x90\x1f", b"\x03\x90\x1f")
