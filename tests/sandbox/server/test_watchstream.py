"""The watch stream drains its queue and writes each drained batch in one write."""

from __future__ import annotations

import asyncio
import json

import pytest

from kubelab.sandbox.api import kinds
from kubelab.sandbox.server import watchstream
from kubelab.sandbox.server.watchstream import BatchWriter, chunks, drain, stream
from kubelab.sandbox.store.registry import WatchEvent

PODS = kinds.core("pods")


def event(n: int, kind: str = "ADDED") -> WatchEvent:
    return WatchEvent(kind, PODS, {"metadata": {"name": f"p{n}", "resourceVersion": str(n)}}, n)


def encode(kind: str, obj: dict[str, object]) -> bytes:
    return json.dumps({"type": kind, "object": obj}).encode() + b"\n"


class Sink:
    """A response stand-in that records every write (and can be slow)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.writes: list[bytes] = []
        self.delay = delay

    async def write(self, data: bytes) -> None:
        self.writes.append(data)
        if self.delay:
            await asyncio.sleep(self.delay)

    def names(self) -> list[str]:
        return [json.loads(line)["object"]["metadata"]["name"]
                for data in self.writes for line in data.splitlines()]


async def test_drain_takes_everything_queued_in_order() -> None:
    queue: asyncio.Queue[WatchEvent | None] = asyncio.Queue()
    for n in range(1, 6):
        queue.put_nowait(event(n))
    batch, closed = drain(queue, event(0))
    assert [e.revision for e in batch] == [0, 1, 2, 3, 4, 5]
    assert not closed and queue.empty()


async def test_drain_stops_at_the_end_marker_and_at_the_limit() -> None:
    queue: asyncio.Queue[WatchEvent | None] = asyncio.Queue()
    queue.put_nowait(event(1))
    queue.put_nowait(None)
    queue.put_nowait(event(9))
    batch, closed = drain(queue, event(0))
    assert [e.revision for e in batch] == [0, 1] and closed
    assert drain(queue, None) == ([], True)

    for n in range(10):
        queue.put_nowait(event(n))
    batch, closed = drain(queue, event(100), limit=4)
    assert len(batch) == 4 and not closed


def test_chunks_join_lines_and_split_only_between_lines() -> None:
    lines = [b"a" * 40 + b"\n" for _ in range(10)]
    assert list(chunks(lines, max_bytes=10_000)) == [b"".join(lines)]
    pieces = list(chunks(lines, max_bytes=100))
    assert b"".join(pieces) == b"".join(lines)
    assert all(p.endswith(b"\n") and len(p) <= 100 for p in pieces)
    assert len(pieces) == 5
    assert list(chunks([b"x" * 500 + b"\n"], max_bytes=100)) == [b"x" * 500 + b"\n"]


async def test_a_burst_of_300_events_leaves_in_one_write() -> None:
    queue: asyncio.Queue[WatchEvent | None] = asyncio.Queue()
    sink = Sink()
    writer = BatchWriter(sink.write, encode)
    for n in range(300):
        queue.put_nowait(event(n))
    queue.put_nowait(None)
    await asyncio.wait_for(stream(queue, writer, seconds=10), 5)
    assert len(sink.writes) == 1 and writer.writes == 1
    assert sink.names() == [f"p{n}" for n in range(300)]
    assert writer.events == 300


async def test_events_arriving_during_a_slow_write_go_out_together_next() -> None:
    queue: asyncio.Queue[WatchEvent | None] = asyncio.Queue()
    sink = Sink(delay=0.05)
    writer = BatchWriter(sink.write, encode)
    task = asyncio.ensure_future(stream(queue, writer, seconds=10))
    queue.put_nowait(event(0))
    await asyncio.sleep(0.01)  # the first write is in progress
    for n in range(1, 51):
        queue.put_nowait(event(n))
    queue.put_nowait(None)
    await asyncio.wait_for(task, 5)
    assert [len(w.splitlines()) for w in sink.writes] == [1, 50]
    assert sink.names() == [f"p{n}" for n in range(51)]


async def test_an_idle_watch_sends_bookmarks_and_ends_at_its_timeout(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watchstream, "BOOKMARK_EVERY", 0.05)
    queue: asyncio.Queue[WatchEvent | None] = asyncio.Queue()
    sink = Sink()
    writer = BatchWriter(sink.write, encode)
    mark = {"metadata": {"name": "bookmark", "resourceVersion": "7"}}
    await asyncio.wait_for(stream(queue, writer, seconds=0.3, bookmark=lambda: mark), 5)
    kinds_sent = {json.loads(w)["type"] for w in sink.writes}
    assert kinds_sent == {"BOOKMARK"} and 2 <= len(sink.writes) <= 7
