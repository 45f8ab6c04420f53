"""The kine log commits on a writer thread: reads see queued rows, ``synced`` waits for the
commit, ``close`` commits what is queued, a failed commit is never acknowledged.

A second connection holding SQLite's write lock (``BEGIN IMMEDIATE``) keeps the writer from
committing, so the tests see the log with rows appended and not yet committed.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kubelab.sandbox.store.kine import DatastoreError, KineLog


@contextmanager
def writer_blocked(path: Path) -> Iterator[None]:
    blocker = sqlite3.connect(str(path), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


def _append(log: KineLog, key: str, value: dict | None, *, created: bool = False,
            deleted: bool = False) -> int:
    return log.append(key, value, created=created, deleted=deleted, create_revision=0,
                      prev_revision=0)


def _rows_on_disk(path: Path) -> list[tuple[int, str]]:
    db = sqlite3.connect(str(path))
    try:
        return [(int(r[0]), r[1]) for r in db.execute("SELECT id, name FROM kine ORDER BY id")]
    finally:
        db.close()


def test_reads_see_rows_the_writer_has_not_committed(tmp_path: Path) -> None:
    path = tmp_path / "kine.sqlite"
    log = KineLog(path)
    first = _append(log, "/registry/configmaps/default/a", {"v": 1}, created=True)
    log.flush()
    with writer_blocked(path):
        second = _append(log, "/registry/configmaps/default/a", {"v": 2})
        third = _append(log, "/registry/configmaps/default/b", {"v": 3}, created=True)
        fourth = _append(log, "/registry/configmaps/default/a", None, deleted=True)
        assert log.revision == fourth and log.durable_revision == first
        assert _rows_on_disk(path) == [(first, "/registry/configmaps/default/a")]
        # History reads merge the committed rows with the queued ones.
        assert [r.revision for r in log.rows_after(0)] == [first, second, third, fourth]
        assert [r.revision for r in log.rows_after(first, limit=2)] == [second, third]
        assert log.value_at("/registry/configmaps/default/a", first) == {"v": 1}
        assert log.value_at("/registry/configmaps/default/a", third) == {"v": 2}
        assert log.value_at("/registry/configmaps/default/a", fourth) is None
        assert sorted(log.keys_changed_after(first, "/registry/configmaps/",
                                             "/registry/configmaps0")) == [
            "/registry/configmaps/default/a", "/registry/configmaps/default/b"]
        assert log.keys_changed_after(third, "/registry/configmaps/default/b",
                                      "/registry/configmaps0") == []
    log.flush()
    assert log.durable_revision == fourth
    assert [r for r, _ in _rows_on_disk(path)] == [first, second, third, fourth]
    log.close()


def test_synced_returns_once_the_writes_are_committed(tmp_path: Path) -> None:
    path = tmp_path / "kine.sqlite"
    log = KineLog(path)

    async def scenario() -> None:
        await log.synced()  # nothing appended: at once
        with writer_blocked(path):
            revision = _append(log, "/registry/configmaps/default/a", {"v": 1}, created=True)
            waiting = asyncio.ensure_future(log.synced())
            await asyncio.sleep(0.2)
            assert not waiting.done()
            assert log.durable_revision < revision
        await asyncio.wait_for(waiting, timeout=10)
        assert log.durable_revision == revision

    asyncio.run(scenario())
    log.close()


def test_close_commits_what_is_queued(tmp_path: Path) -> None:
    path = tmp_path / "kine.sqlite"
    log = KineLog(path)
    _append(log, "/registry/configmaps/default/first", {}, created=True)
    log.flush()
    with writer_blocked(path):  # one batch of more rows than one INSERT takes
        for i in range(1, 1200):
            _append(log, f"/registry/configmaps/default/c{i}", {"i": i}, created=True)
        log.compact(250)
    log.close()
    again = KineLog(path)
    assert again.revision == 1200
    assert again.compact_revision == 250
    assert [r.revision for r in again.current()] == list(range(1, 1201))
    assert again.value_at("/registry/configmaps/default/c1199", 1200) == {"i": 1199}
    again.close()


def test_compaction_in_the_background_keeps_reads_at_later_revisions(tmp_path: Path) -> None:
    path = tmp_path / "kine.sqlite"
    log = KineLog(path)
    key = "/registry/configmaps/default/a"
    for i in range(10):
        _append(log, key, {"v": i}, created=i == 0)
    log.compact(5)
    assert log.compact_revision == 5
    assert log.value_at(key, 5) == {"v": 4}
    assert [r.revision for r in log.rows_after(5)] == [6, 7, 8, 9, 10]
    log.flush()
    assert [r for r, _ in _rows_on_disk(path)] == [5, 6, 7, 8, 9, 10]
    log.close()


def test_a_failed_commit_is_never_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "kine.sqlite"
    log = KineLog(path)
    _append(log, "/registry/configmaps/default/a", {"v": 1}, created=True)
    log.flush()
    # Another writer took revision 2 behind the log's back: the log's row 2 cannot commit.
    db = sqlite3.connect(str(path), isolation_level=None)
    db.execute("INSERT INTO kine (id, name, created, deleted, create_revision, prev_revision, "
               "value) VALUES (2, 'x', 1, 0, 2, 0, NULL)")
    db.close()
    _append(log, "/registry/configmaps/default/b", {"v": 2}, created=True)
    log.flush()
    with pytest.raises(DatastoreError):
        asyncio.run(log.synced())
    assert log.durable_revision == 1
    log.close()


def test_a_log_without_a_file_commits_at_once() -> None:
    log = KineLog(None)
    revision = _append(log, "/registry/configmaps/default/a", {"v": 1}, created=True)
    assert log.durable_revision == revision
    asyncio.run(log.synced())
    assert log.value_at("/registry/configmaps/default/a", revision) == {"v": 1}
    log.close()
