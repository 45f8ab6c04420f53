"""HeapFreezer: a full collection's survivors are frozen on the loop, never inside the
collector, and later full collections leave them alone."""

from __future__ import annotations

import asyncio
import gc

from kubelab.sandbox.heap import HeapFreezer


def test_survivors_of_a_full_collection_are_frozen_on_the_loop() -> None:
    async def scenario() -> tuple[int, int, int]:
        freezer = HeapFreezer(asyncio.get_running_loop()).install()
        try:
            before = gc.get_freeze_count()
            kept = [{"n": i} for i in range(10_000)]  # long-lived objects
            gc.collect(2)
            in_collector = freezer.freezes  # nothing frozen inside the callback
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            assert kept
            return before, in_collector, gc.get_freeze_count()
        finally:
            freezer.uninstall()
            gc.unfreeze()

    before, in_collector, after = asyncio.run(scenario())
    assert in_collector == 0
    assert after >= before + 10_000


def test_young_collections_do_not_freeze() -> None:
    async def scenario() -> int:
        freezer = HeapFreezer(asyncio.get_running_loop()).install()
        try:
            gc.collect(0)
            gc.collect(1)
            await asyncio.sleep(0)
            return freezer.freezes
        finally:
            freezer.uninstall()
            gc.unfreeze()

    assert asyncio.run(scenario()) == 0
