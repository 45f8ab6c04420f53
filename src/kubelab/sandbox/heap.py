"""Short full garbage collections for a sandbox holding thousands of objects.

CPython's cyclic collector scans every tracked object on a full (generation 2) collection.
A sandbox with 5,000 pods holds millions of dicts and lists (the objects, their encoded
bytes, watch caches, managedFields), nearly all long-lived and acyclic: each full
collection walked all of them and stopped the event loop for 0.5 to 2.7 s (measured at 5,000
pods on 50 nodes: 24 such stalls in one scale run, and the slowest GET waited for one).

:class:`HeapFreezer` moves what survived a full collection into the permanent generation
(:func:`gc.freeze`, the remedy CPython documents for long-lived heaps), so the next full
collection scans only what was allocated since. Objects frozen this way are still freed by
reference counting when dropped, which is how the sandbox's JSON-shaped objects die; only a
reference cycle that was alive at a freeze and dies later is never collected, a bounded
cost (what was in flight at that moment) paid for pauses that no longer grow with the
cluster. The freeze runs on the event loop, scheduled from the collector's callback and
never inside it (freezing while the collector runs is unsafe).
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any


class HeapFreezer:
    """After each full collection, freeze the survivors (see the module docstring)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._pending = False
        self.freezes = 0

    def install(self) -> HeapFreezer:
        gc.callbacks.append(self._on_collection)
        return self

    def uninstall(self) -> None:
        if self._on_collection in gc.callbacks:
            gc.callbacks.remove(self._on_collection)

    def _on_collection(self, phase: str, info: dict[str, Any]) -> None:
        if phase != "stop" or info.get("generation") != 2 or self._pending:
            return
        self._pending = True
        try:
            self._loop.call_soon_threadsafe(self._freeze)
        except RuntimeError:  # the loop is closed: nothing left to keep fast
            self._pending = False

    def _freeze(self) -> None:
        self._pending = False
        gc.freeze()
        self.freezes += 1
