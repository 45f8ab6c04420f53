"""The work queue keeps client-go ``workqueue.Type``'s promises: a key waits at most once,
is never handed to two workers at once, and a key dirtied while processed comes back once."""

from __future__ import annotations

import asyncio

from kubelab.sandbox.reconcile.runner import WorkQueue
from kubelab.sandbox.reconcile.types import Key


def k(name: str) -> Key:
    return Key("pods", "default", name)


async def test_a_key_added_twice_waits_once_in_fifo_order() -> None:
    q = WorkQueue()
    for name in ("a", "b", "a", "c", "b"):
        q.add(k(name))
    assert len(q) == 3
    got = [await q.get() for _ in range(3)]
    assert got == [k("a"), k("b"), k("c")]
    assert len(q) == 0 and q.busy  # three keys are being processed


async def test_a_key_dirtied_while_processed_is_handed_out_again_only_after_done() -> None:
    q = WorkQueue()
    q.add(k("a"))
    key = await q.get()
    q.add(k("a"))
    q.add(k("a"))
    assert len(q) == 0  # not handed to a second worker while the first has it
    getter = asyncio.ensure_future(q.get())
    await asyncio.sleep(0)
    assert not getter.done()
    q.done(key)
    assert await asyncio.wait_for(getter, 1) == k("a")
    q.done(k("a"))
    assert len(q) == 0 and not q.busy  # the two adds during processing made one visit


async def test_concurrent_workers_never_process_the_same_key_at_once() -> None:
    q = WorkQueue()
    in_flight: set[Key] = set()
    overlaps: list[Key] = []
    processed: list[Key] = []

    async def worker() -> None:
        while True:
            key = await q.get()
            if key in in_flight:
                overlaps.append(key)
            in_flight.add(key)
            await asyncio.sleep(0)  # yield mid-reconcile, as a real worker may
            if len(processed) < 40:
                q.add(key)  # an event for the key arrives while it is being reconciled
            in_flight.discard(key)
            processed.append(key)
            q.done(key)

    workers = [asyncio.ensure_future(worker()) for _ in range(4)]
    for _ in range(10):
        for name in ("a", "b", "c"):
            q.add(k(name))
        await asyncio.sleep(0)
    for _ in range(200):
        if not q.busy:
            break
        await asyncio.sleep(0)
    for w in workers:
        w.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    assert overlaps == []
    assert not q.busy
    assert set(processed) == {k("a"), k("b"), k("c")}
