"""Writing a watch stream: drain the watcher's queue, write each drained batch at once.

kube-apiserver's watch handler (``staging/src/k8s.io/apiserver/pkg/endpoints/handlers/
watch.go``, ``serveWatch``) encodes each event into a buffered writer and flushes only when
the result channel has nothing more ready (``len(ch) == 0``), so a burst of events — 300
pods created by one ``kubectl scale`` — leaves in a few writes, not one write per event.

The sandbox does the same for the same reason: every ``response.write`` is a trip through
the event loop that the API server shares with the controllers and kubelets, and on a busy
loop a stream written one event per turn falls seconds behind the objects it reports. The
stream here takes what is queued (up to :data:`MAX_BATCH_EVENTS`), encodes it, writes it in
one call (split at :data:`MAX_WRITE_BYTES`), and only then waits for the queue again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Iterator

from kubelab.apimachinery.types import Obj
from kubelab.sandbox.store.registry import WatchEvent

#: Most events taken from the queue for one write (a client still sees progress in a flood).
MAX_BATCH_EVENTS = 1000
#: Largest single write; a bigger batch is written in pieces of about this size.
MAX_WRITE_BYTES = 1024 * 1024
#: Longest wait for an event before a bookmark may be sent (kube-apiserver: about a minute).
BOOKMARK_EVERY = 60.0


def drain(queue: asyncio.Queue[WatchEvent | None], first: WatchEvent | None,
          limit: int = MAX_BATCH_EVENTS) -> tuple[list[WatchEvent], bool]:
    """``first`` and every event already queued behind it, in order, up to ``limit``.

    Returns ``(events, closed)``: ``closed`` when the queue's end marker (``None``, the
    registry closing the watch) was reached; events before it are still returned.
    """
    if first is None:
        return [], True
    events = [first]
    while len(events) < limit:
        try:
            item = queue.get_nowait()
        except asyncio.QueueEmpty:
            break
        if item is None:
            return events, True
        events.append(item)
    return events, False


def chunks(lines: Iterable[bytes], max_bytes: int = MAX_WRITE_BYTES) -> Iterator[bytes]:
    """Join encoded lines into writes of at most about ``max_bytes`` (one line never split)."""
    buffer: list[bytes] = []
    size = 0
    for line in lines:
        if buffer and size + len(line) > max_bytes:
            yield b"".join(buffer)
            buffer, size = [], 0
        buffer.append(line)
        size += len(line)
    if buffer:
        yield b"".join(buffer)


class BatchWriter:
    """Encodes ``(type, object)`` events and writes them in as few writes as possible."""

    def __init__(self, write: Callable[[bytes], Awaitable[None]],
                 encode: Callable[[str, Obj], bytes],
                 max_bytes: int = MAX_WRITE_BYTES) -> None:
        self._write = write
        self._encode = encode
        self._max_bytes = max_bytes
        #: Writes done and events sent (for tests and benchmarks).
        self.writes = 0
        self.events = 0

    async def send(self, events: Iterable[tuple[str, Obj]]) -> None:
        encoded = (self._encode(kind, obj) for kind, obj in events)
        for chunk in chunks(encoded, self._max_bytes):
            self.events += chunk.count(b"\n")
            self.writes += 1
            await self._write(chunk)


async def stream(queue: asyncio.Queue[WatchEvent | None], writer: BatchWriter, *,
                 seconds: float, bookmark: Callable[[], Obj] | None = None) -> None:
    """Send live events for ``seconds`` (real) or until the watch is closed.

    Waits for one event, drains what else is queued, writes the batch, repeats. With
    ``bookmark``, a BOOKMARK is sent after :data:`BOOKMARK_EVERY` seconds without events.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            return
        try:
            first = await asyncio.wait_for(queue.get(), timeout=min(remaining,
                                                                     BOOKMARK_EVERY))
        except TimeoutError:
            if bookmark is not None:
                await writer.send([("BOOKMARK", bookmark())])
            continue
        batch, closed = drain(queue, first)
        if batch:
            await writer.send((event.type, event.obj) for event in batch)
        if closed:
            return
