"""The datastore: a kine-style log in SQLite.

kine (k3s's etcd shim) stores etcd's key space in one SQL table used as a log: every write is
a new row whose auto-increment id *is* the new cluster-wide revision (Kubernetes'
``resourceVersion``), deletes are rows with ``deleted = 1``, a watch is "rows after revision
N", and compaction removes superseded rows, after which asking for an older revision gets
``410 Gone``. This module is that table and nothing more: no Kubernetes semantics.

Writes leave the event loop. The revision is assigned at once (the registry's watch cache and
its watchers move on), and the row goes to a writer thread that commits whatever has queued
up in one transaction (etcd's batched backend commits; SQLite releases the GIL while it
writes). A commit of a datastore file, and above all a WAL checkpoint or a compaction, can
take hundreds of milliseconds on a busy disk; on the event loop thread that stalled every
request of the API server. Reads of history (``rows_after``, ``value_at``…) see the rows
still queued as well as the committed ones, so a reader never notices the difference.

Durability: the database runs in WAL mode; :meth:`KineLog.synced` returns once every row
appended so far is committed, and the API server awaits it before it answers a write, so an
acknowledged write survives ``kill -9`` of the sandbox process, as etcd answers only after
its commit (the WAL is in the OS page cache; ``synchronous=NORMAL`` trades only power-loss
durability). Unlike etcd, a watcher or a reader may see a write some milliseconds before
its commit; a crash in between loses it as it loses a write not yet answered. A log with no
file (``:memory:``, for tests) commits each row synchronously and has nothing to wait for.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("kubelab.sandbox.store")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kine (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    created INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    create_revision INTEGER NOT NULL,
    prev_revision INTEGER NOT NULL,
    value TEXT
);
CREATE INDEX IF NOT EXISTS kine_name_index ON kine (name, id);
CREATE TABLE IF NOT EXISTS kine_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

_INSERT_MANY = ("INSERT INTO kine (id, name, created, deleted, create_revision, "
                "prev_revision, value) VALUES ")
_INSERT = _INSERT_MANY + "(?, ?, ?, ?, ?, ?, ?)"
#: Rows per INSERT statement (7 parameters each, under SQLite's 32,766).
ROWS_PER_INSERT = 500
# Only keys written since the last compaction can have rows to remove (older rows are already
# each key's latest as of that compaction), so the work is the window's writes, not the table.
_COMPACT = ("DELETE FROM kine WHERE id <= :keep AND name IN "
            "(SELECT name FROM kine WHERE id > :last AND id <= :keep) AND (deleted = 1 OR id < "
            "(SELECT MAX(id) FROM kine k2 WHERE k2.name = kine.name AND k2.id <= :keep))")
_COMPACT_META = "INSERT OR REPLACE INTO kine_meta (key, value) VALUES ('compact_revision', ?)"
#: Most queued operations one writer transaction takes (a bounded commit latency).
MAX_BATCH = 2000


@dataclass(frozen=True)
class Row:
    revision: int
    key: str
    created: bool
    deleted: bool
    create_revision: int
    prev_revision: int
    value: dict[str, Any] | None


@dataclass(frozen=True)
class _Append:
    """A row waiting for the writer (its value as the JSON it is stored as)."""

    revision: int
    key: str
    created: bool
    deleted: bool
    create_revision: int
    prev_revision: int
    text: str | None

    def params(self) -> tuple[Any, ...]:
        return (self.revision, self.key, int(self.created), int(self.deleted),
                self.create_revision, self.prev_revision, self.text)

    def row(self) -> Row:
        return Row(self.revision, self.key, self.created, self.deleted, self.create_revision,
                   self.prev_revision, json.loads(self.text) if self.text is not None else None)


@dataclass(frozen=True)
class _Compact:
    keep: int
    last: int


class DatastoreError(RuntimeError):
    """The writer could not commit: writes since are not durable and are not acknowledged."""


def _connect(path: Path | None) -> sqlite3.Connection:
    db = sqlite3.connect(str(path) if path else ":memory:", isolation_level=None,
                         check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    # Compaction frees pages that later writes reuse, so the database file levels off; the
    # WAL is truncated back to this size after each checkpoint instead of keeping its largest
    # size for ever.
    db.execute("PRAGMA journal_size_limit=16777216")
    db.execute("PRAGMA busy_timeout=10000")
    return db


class KineLog:
    """An append-only key/value log with revisions, backed by SQLite (or ``:memory:``)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        # The reading connection (the event loop's); with no file it also writes.
        self._db = _connect(path)
        self._db.executescript(_SCHEMA)
        row = self._db.execute("SELECT MAX(id) FROM kine").fetchone()
        self._revision = int(row[0] or 0)
        compact = self._db.execute(
            "SELECT value FROM kine_meta WHERE key = 'compact_revision'").fetchone()
        self.compact_revision = int(compact[0]) if compact else 0
        # Operations appended and not yet committed, oldest first; the writer removes a batch
        # only once it is committed, so readers always find a row in one place or the other.
        self._queue: deque[_Append | _Compact] = deque()
        self._cond = threading.Condition()
        self._durable = self._revision
        self._error: BaseException | None = None
        self._closing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._thread: threading.Thread | None = None
        if path is not None:
            writer = _connect(path)
            self._thread = threading.Thread(target=self._write_loop, args=(writer,),
                                            name="kine-writer", daemon=True)
            self._thread.start()

    @property
    def revision(self) -> int:
        return self._revision

    @property
    def durable_revision(self) -> int:
        """The newest revision committed to the datastore file."""
        return self._durable

    def next_revision(self) -> int:
        return self._revision + 1

    @staticmethod
    def encode(value: dict[str, Any]) -> str:
        """A row's value as it is stored (compact JSON)."""
        return json.dumps(value, separators=(",", ":"))

    def append(self, key: str, value: dict[str, Any] | None, *, created: bool,
               deleted: bool, create_revision: int, prev_revision: int,
               text: str | None = None) -> int:
        """Append one row at revision ``next_revision()`` and return it; the row is committed
        in the background (see :meth:`synced`), or at once for a log with no file.
        ``text``: ``value`` already encoded by :meth:`encode` (the registry's size check)."""
        revision = self._revision + 1
        # Encoded here, on the caller's thread: the writer never touches a live object.
        if text is None and value is not None:
            text = self.encode(value)
        op = _Append(revision, key, created, deleted, create_revision or revision,
                     prev_revision, text)
        self._revision = revision
        self._submit(op)
        return revision

    def compact(self, keep_after: int) -> None:
        """Delete rows superseded at or before ``keep_after``. Reads at older revisions are
        refused from now on (``compact_revision``); the rows go in the background."""
        if keep_after <= self.compact_revision:
            return
        op = _Compact(keep_after, self.compact_revision)
        self.compact_revision = keep_after
        self._submit(op)

    def _submit(self, op: _Append | _Compact) -> None:
        if self._thread is None:
            self._apply(self._db, op)
            self._durable = self._revision
            return
        with self._cond:
            if self._closing:
                raise DatastoreError("the datastore is closed")
            self._queue.append(op)
            if len(self._queue) == 1:  # the writer waits only for an empty queue to fill
                self._cond.notify_all()

    @staticmethod
    def _apply(db: sqlite3.Connection, op: _Append | _Compact) -> None:
        if isinstance(op, _Append):
            db.execute(_INSERT, op.params())
        else:
            db.execute(_COMPACT, {"keep": op.keep, "last": op.last})
            db.execute(_COMPACT_META, (op.keep,))

    @classmethod
    def _apply_batch(cls, db: sqlite3.Connection, batch: list[_Append | _Compact]) -> None:
        """The batch in order, consecutive rows in multi-row INSERTs: every statement
        takes the GIL back from the event loop thread once, so one per row would make the
        writer wait for the loop's switch interval row after row."""
        rows: list[_Append] = []
        for op in [*batch, None]:
            if isinstance(op, _Append):
                rows.append(op)
                if len(rows) < ROWS_PER_INSERT:
                    continue
            if rows:
                values = ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(rows))
                db.execute(_INSERT_MANY + values,
                           [p for row in rows for p in row.params()])
                rows = []
            if isinstance(op, _Compact):
                cls._apply(db, op)

    # ------------------------------------------------------------------ the writer thread

    def _write_loop(self, db: sqlite3.Connection) -> None:
        try:
            while True:
                with self._cond:
                    while not self._queue and not self._closing:
                        self._cond.wait()
                    if not self._queue:
                        return
                    batch = [self._queue[i] for i in range(min(len(self._queue), MAX_BATCH))]
                error: BaseException | None = None
                try:
                    db.execute("BEGIN")
                    self._apply_batch(db, batch)
                    db.execute("COMMIT")
                except sqlite3.Error as exc:
                    log.exception("the datastore could not commit %d writes", len(batch))
                    error = exc
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                with self._cond:
                    for _ in batch:
                        self._queue.popleft()
                    if error is not None and self._error is None:
                        self._error = error
                    last = max((op.revision for op in batch if isinstance(op, _Append)),
                               default=self._durable)
                    if error is None:
                        self._durable = max(self._durable, last)
                    self._cond.notify_all()
                    loop = self._loop if self._waiters else None
                if loop is not None:
                    # A closed loop raises: nobody waits any more.
                    with contextlib.suppress(RuntimeError):
                        loop.call_soon_threadsafe(self._wake)
        finally:
            db.close()

    def _wake(self) -> None:
        """On the event loop: release the waiters whose revision is committed."""
        with self._cond:
            durable, error = self._durable, self._error
            ready = [(t, f) for t, f in self._waiters if t <= durable or error is not None]
            self._waiters = [(t, f) for t, f in self._waiters if not (t <= durable or error)]
        for _, future in ready:
            if future.done():
                continue
            if error is not None:
                future.set_exception(DatastoreError(f"the datastore could not commit: {error}"))
            else:
                future.set_result(None)

    async def synced(self) -> None:
        """Return once every row appended so far is committed (at once when it is); raises
        :class:`DatastoreError` when the writer failed (the write must not be acknowledged)."""
        target = self._revision
        with self._cond:
            if self._error is not None:
                raise DatastoreError(f"the datastore could not commit: {self._error}")
            if self._durable >= target:
                return
            self._loop = asyncio.get_running_loop()
            future: asyncio.Future[None] = self._loop.create_future()
            self._waiters.append((target, future))
        await future

    def flush(self) -> None:
        """Block until everything queued is committed (closing, and tests)."""
        with self._cond:
            while self._queue and self._thread is not None and self._thread.is_alive():
                self._cond.wait(timeout=1.0)

    # ------------------------------------------------------------------ reading

    def _queued(self) -> tuple[list[_Append], int]:
        """The rows still queued and the revision committed below them (one consistent
        view: a row leaves the queue in the same step that raises the committed revision)."""
        with self._cond:
            return [op for op in self._queue if isinstance(op, _Append)], self._durable

    def current(self) -> Iterator[Row]:
        """The latest live row of every key (what etcd's range over ``/registry`` returns);
        read when the log is opened, before anything is queued."""
        cursor = self._db.execute(
            "SELECT k.id, k.name, k.created, k.deleted, k.create_revision, k.prev_revision, "
            "k.value FROM kine k JOIN (SELECT name, MAX(id) AS id FROM kine GROUP BY name) m "
            "ON k.id = m.id WHERE k.deleted = 0 ORDER BY k.id")
        for r in cursor:
            yield self._row(r)

    def rows_after(self, revision: int, limit: int = 100_000) -> list[Row]:
        queued, durable = self._queued()
        cursor = self._db.execute(
            "SELECT id, name, created, deleted, create_revision, prev_revision, value "
            "FROM kine WHERE id > ? AND id <= ? ORDER BY id LIMIT ?", (revision, durable, limit))
        rows = [self._row(r) for r in cursor]
        rows += [op.row() for op in queued[:max(0, limit - len(rows))]
                 if op.revision > revision]
        return rows[:limit]

    def keys_changed_after(self, revision: int, low: str, high: str) -> list[str]:
        """Keys in ``[low, high)`` written after ``revision`` (what a read at that revision
        must take from history instead of the latest values)."""
        queued, durable = self._queued()
        cursor = self._db.execute(
            "SELECT DISTINCT name FROM kine WHERE id > ? AND id <= ? AND name >= ? "
            "AND name < ?", (revision, durable, low, high))
        keys = dict.fromkeys(r[0] for r in cursor)
        keys.update(dict.fromkeys(op.key for op in queued
                                  if op.revision > revision and low <= op.key < high))
        return list(keys)

    def value_at(self, key: str, revision: int) -> dict[str, Any] | None:
        """The key's value as of ``revision`` (None when absent then): etcd's range read at
        a revision, valid for revisions not older than the last compaction."""
        queued, durable = self._queued()
        for op in reversed(queued):
            if op.key == key and op.revision <= revision:
                return None if op.deleted else op.row().value
        row = self._db.execute(
            "SELECT deleted, value FROM kine WHERE name = ? AND id <= ? ORDER BY id DESC "
            "LIMIT 1", (key, min(revision, durable))).fetchone()
        if row is None or row[0] or row[1] is None:
            return None
        value: dict[str, Any] = json.loads(row[1])
        return value

    def close(self) -> None:
        """Commit what is queued, stop the writer and close the datastore."""
        if self._thread is not None:
            with self._cond:
                self._closing = True
                self._cond.notify_all()
            self._thread.join()
            self._thread = None
        self._db.close()

    @staticmethod
    def _row(r: tuple[Any, ...]) -> Row:
        return Row(int(r[0]), r[1], bool(r[2]), bool(r[3]), int(r[4]), int(r[5]),
                   json.loads(r[6]) if r[6] is not None else None)
