"""Overlapping grading runs share the kernels' traverse grant; only the last one restores.

Two instructors (or a test suite) grading at once on one machine as root: each run grants the
kernels' group traverse rights on the directories above the interpreter. When the first run
ends, the second's kernels must still reach Python; when the last ends, every directory has
its ACL and mode from before the first run. Each ``kernel_access()`` below stands for one
grading run (flock locks belong to open files, so two in one process behave as two runs).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import pytest

from autograders import outside

pytestmark = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                                reason="the grant exists only when grading runs as root")


def _has_acl_support(path: Path) -> bool:
    try:
        outside._grant_traverse(path, outside.KERNEL_GID)
    except OSError:
        return False
    os.removexattr(path, outside.ACL_XATTR)
    return True


@pytest.fixture
def closed_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    closed = tmp_path / "home"
    closed.mkdir(mode=0o700)
    os.chmod(closed, 0o700)
    if not _has_acl_support(closed):
        pytest.skip("this file system keeps no POSIX ACLs")
    locks = tmp_path / "locks"
    locks.mkdir(mode=0o700)
    monkeypatch.setattr(outside, "_locks_dir", lambda: locks)
    monkeypatch.setattr(outside, "closed_ancestors", lambda paths: [closed])
    monkeypatch.setattr(outside, "privilege_drop",
                        lru_cache(maxsize=1)(lambda: (True, "")))
    yield closed


def _granted(path: Path) -> bool:
    return any(e[0] == outside.ACL_GROUP and e[2] == outside.KERNEL_GID
               for e in outside._acl_entries(path))


def _state(path: Path) -> tuple[bytes | None, int]:
    try:
        raw: bytes | None = os.getxattr(path, outside.ACL_XATTR)
    except OSError:
        raw = None
    return raw, path.stat().st_mode & 0o7777


def test_the_first_run_to_end_leaves_the_grant_for_the_second(closed_dir: Path) -> None:
    before = _state(closed_dir)
    first = outside.kernel_access()
    second = outside.kernel_access()
    assert first.__enter__() == (True, "")
    assert _granted(closed_dir)
    assert second.__enter__() == (True, "")
    first.__exit__(None, None, None)
    assert _granted(closed_dir), "the second run's kernels lost their way to Python"
    second.__exit__(None, None, None)
    assert not _granted(closed_dir)
    assert _state(closed_dir) == before


def test_the_second_run_ending_first_restores_nothing_either(closed_dir: Path) -> None:
    before = _state(closed_dir)
    with outside.kernel_access():
        with outside.kernel_access():
            assert _granted(closed_dir)
        assert _granted(closed_dir)
    assert _state(closed_dir) == before


def test_a_killed_run_is_restored_by_the_next_one(closed_dir: Path, tmp_path: Path) -> None:
    before = _state(closed_dir)
    saved_file = tmp_path / "locks" / "acl.saved.json"
    # What a run killed mid-grading leaves: its grant, and the ACL it noted before granting
    # (its locks died with it).
    outside._write_saved(saved_file, {closed_dir: before})
    outside._grant_traverse(closed_dir, outside.KERNEL_GID)
    with outside.kernel_access():
        assert _granted(closed_dir)
    assert _state(closed_dir) == before
    assert not saved_file.exists()


def test_grading_one_lesson_holds_the_grant_while_its_kernels_run(
        closed_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``grade_lesson`` (the benchmark's and the course tests' path) used to decide from a
    probe alone: a probe made while another run held the grant said yes, and once that run
    ended the kernel could not start Python ("Permission denied")."""
    from autograders import nbgrading

    seen: list[object] = []

    def autograde(work: Path, lesson: str, student: str, drop: bool | None) -> list[object]:
        seen.append((drop, _granted(closed_dir)))
        with outside.kernel_access():  # another grading run starts and ends meanwhile
            pass
        seen.append(_granted(closed_dir))
        return []

    monkeypatch.setattr(nbgrading, "autograde", autograde)
    before = _state(closed_dir)
    (tmp_path / "template").mkdir()
    notebook = tmp_path / "01.ipynb"
    notebook.write_text("{}")
    nbgrading.grade_lesson(tmp_path / "template", tmp_path / "work", "01", {"ada": notebook})
    assert seen == [(True, True), True]
    assert _state(closed_dir) == before
