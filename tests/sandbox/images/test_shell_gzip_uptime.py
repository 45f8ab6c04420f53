"""BusyBox's ``gzip``/``gunzip``/``zcat`` and ``uptime`` in the sandbox shell.

``gzip`` output is checked by decompressing it with Python's ``gzip`` (an independent
implementation of RFC 1952), as the official client's e2e test does with what
``echo -n … | gzip`` returns over exec. ``uptime``'s layout follows ``procps/uptime.c``:
`` HH:MM:SS up `` then ``N min``, ``H:MM`` or ``D day(s), H:MM``, users, load average.
"""

from __future__ import annotations

import gzip as gzip_format
from datetime import UTC, datetime, timedelta

import pytest
from sandbox.images.shell_steps import drain_text

from kubelab.sandbox.images.shell import Input, Shell
from kubelab.sandbox.images.shell_io import as_bytes, as_text

NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def sh(script: str, *, stdin: str = "", files: dict[str, str] | None = None,
       booted: datetime | None = None) -> tuple[str, str, int]:
    shell = Shell({"HOSTNAME": "web-1"}, files if files is not None else {}, now=lambda: NOW,
                  booted=booted)
    return drain_text(shell.run_script(script, Input(stdin)))


def test_gzip_compresses_a_pipe_to_stdout_byte_exactly() -> None:
    out, err, status = sh('echo -n "This is a test string" | gzip')
    assert (err, status) == ("", 0)
    data = as_bytes(out)
    assert data[:2] == b"\x1f\x8b"
    assert gzip_format.decompress(data) == b"This is a test string"


def test_binary_bytes_survive_a_round_trip_through_gunzip_and_zcat() -> None:
    payload = bytes(range(256)) * 4
    packed = as_text(gzip_format.compress(payload))
    files = {"/data.gz": packed}
    out, _, status = sh("zcat /data.gz", files=files)
    assert (as_bytes(out), status) == (payload, 0)
    out, _, status = sh("gzip -d", stdin=packed)
    assert (as_bytes(out), status) == (payload, 0)


def test_gzip_replaces_a_file_by_its_gz_and_gunzip_restores_it() -> None:
    files = {"/tmp/notes.txt": "hello\n"}
    assert sh("gzip /tmp/notes.txt", files=files) == ("", "", 0)
    assert set(files) == {"/tmp/notes.txt.gz"}
    assert gzip_format.decompress(as_bytes(files["/tmp/notes.txt.gz"])) == b"hello\n"
    assert sh("gunzip /tmp/notes.txt.gz", files=files) == ("", "", 0)
    assert files == {"/tmp/notes.txt": "hello\n"}


def test_gzip_errors_use_busybox_wording() -> None:
    assert sh("gzip /nope") == ("", "gzip: can't open '/nope': No such file or directory\n", 1)
    assert sh("gunzip", stdin="plain text") == ("", "gunzip: invalid magic\n", 1)
    assert sh("gzip -z", stdin="x") == ("", "gzip: invalid option -- 'z'\n", 1)


@pytest.mark.parametrize(("up", "shown"), [
    (timedelta(seconds=59), "0 min"),
    (timedelta(minutes=42), "42 min"),
    (timedelta(hours=3, minutes=5), " 3:05"),
    (timedelta(days=1, minutes=7), "1 day, 7 min"),
    (timedelta(days=2, hours=13, minutes=1), "2 days, 13:01"),
])
def test_uptime_counts_from_the_containers_start(up: timedelta, shown: str) -> None:
    out, err, status = sh("uptime", booted=NOW - up)
    assert (out, err, status) == (
        f" 05:06:07 up {shown},  0 users,  load average: 0.00, 0.00, 0.00\n", "", 0)
