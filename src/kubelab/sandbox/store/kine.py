"""The datastore: a kine-style log in SQLite.

kine (k3s's etcd shim) stores etcd's key space in one SQL table used as a log: every write is
a new row whose auto-increment id *is* the new cluster-wide revision (Kubernetes'
``resourceVersion``), deletes are rows with ``deleted = 1``, a watch is "rows after revision
N", and compaction removes superseded rows, after which asking for an older revision gets
``410 Gone``. This module is that table and nothing more: no Kubernetes semantics.

Durability: the database runs in WAL mode and every append commits before the write is
acknowledged, so an acknowledged write survives ``kill -9`` of the sandbox process (the WAL is
in the OS page cache; ``synchronous=NORMAL`` trades only power-loss durability).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


@dataclass(frozen=True)
class Row:
    revision: int
    key: str
    created: bool
    deleted: bool
    create_revision: int
    prev_revision: int
    value: dict[str, Any] | None


class KineLog:
    """An append-only key/value log with revisions, backed by SQLite (or ``:memory:``)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._db = sqlite3.connect(str(path) if path else ":memory:", isolation_level=None,
                                   check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        # Compaction frees pages that later writes reuse, so the database file levels off;
        # the WAL is truncated back to this size after each checkpoint instead of keeping
        # its largest size for ever.
        self._db.execute("PRAGMA journal_size_limit=16777216")
        self._db.executescript(_SCHEMA)
        row = self._db.execute("SELECT MAX(id) FROM kine").fetchone()
        self._revision = int(row[0] or 0)
        compact = self._db.execute(
            "SELECT value FROM kine_meta WHERE key = 'compact_revision'").fetchone()
        self.compact_revision = int(compact[0]) if compact else 0

    @property
    def revision(self) -> int:
        return self._revision

    def next_revision(self) -> int:
        return self._revision + 1

    def append(self, key: str, value: dict[str, Any] | None, *, created: bool,
               deleted: bool, create_revision: int, prev_revision: int) -> int:
        """Append one row at revision ``next_revision()``; committed before returning."""
        revision = self._revision + 1
        text = json.dumps(value, separators=(",", ":")) if value is not None else None
        self._db.execute(
            "INSERT INTO kine (id, name, created, deleted, create_revision, prev_revision, "
            "value) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (revision, key, int(created), int(deleted), create_revision or revision,
             prev_revision, text))
        self._revision = revision
        return revision

    def current(self) -> Iterator[Row]:
        """The latest live row of every key (what etcd's range over ``/registry`` returns)."""
        cursor = self._db.execute(
            "SELECT k.id, k.name, k.created, k.deleted, k.create_revision, k.prev_revision, "
            "k.value FROM kine k JOIN (SELECT name, MAX(id) AS id FROM kine GROUP BY name) m "
            "ON k.id = m.id WHERE k.deleted = 0 ORDER BY k.id")
        for r in cursor:
            yield self._row(r)

    def rows_after(self, revision: int, limit: int = 100_000) -> list[Row]:
        cursor = self._db.execute(
            "SELECT id, name, created, deleted, create_revision, prev_revision, value "
            "FROM kine WHERE id > ? ORDER BY id LIMIT ?", (revision, limit))
        return [self._row(r) for r in cursor]

    def keys_changed_after(self, revision: int, low: str, high: str) -> list[str]:
        """Keys in ``[low, high)`` written after ``revision`` (what a read at that revision
        must take from history instead of the latest values)."""
        cursor = self._db.execute(
            "SELECT DISTINCT name FROM kine WHERE id > ? AND name >= ? AND name < ?",
            (revision, low, high))
        return [r[0] for r in cursor]

    def value_at(self, key: str, revision: int) -> dict[str, Any] | None:
        """The key's value as of ``revision`` (None when absent then): etcd's range read at
        a revision, valid for revisions not older than the last compaction."""
        row = self._db.execute(
            "SELECT deleted, value FROM kine WHERE name = ? AND id <= ? ORDER BY id DESC "
            "LIMIT 1", (key, revision)).fetchone()
        if row is None or row[0] or row[1] is None:
            return None
        value: dict[str, Any] = json.loads(row[1])
        return value

    def compact(self, keep_after: int) -> int:
        """Delete rows superseded at or before ``keep_after``; return rows removed."""
        if keep_after <= self.compact_revision:
            return 0
        # Only keys written since the last compaction can have rows to remove (older rows
        # are already each key's latest as of that compaction), so the work is the window's
        # writes, not the whole table.
        cur = self._db.execute(
            "DELETE FROM kine WHERE id <= :keep AND name IN "
            "(SELECT name FROM kine WHERE id > :last AND id <= :keep) AND (deleted = 1 OR id < "
            "(SELECT MAX(id) FROM kine k2 WHERE k2.name = kine.name AND k2.id <= :keep))",
            {"keep": keep_after, "last": self.compact_revision})
        self.compact_revision = keep_after
        self._db.execute(
            "INSERT OR REPLACE INTO kine_meta (key, value) VALUES ('compact_revision', ?)",
            (keep_after,))
        return cur.rowcount

    def close(self) -> None:
        self._db.close()

    @staticmethod
    def _row(r: tuple[Any, ...]) -> Row:
        return Row(int(r[0]), r[1], bool(r[2]), bool(r[3]), int(r[4]), int(r[5]),
                   json.loads(r[6]) if r[6] is not None else None)
