"""BusyBox ``tar`` for the sandbox shell: enough of ``c``, ``x`` and ``t`` for ``kubectl cp``.

``kubectl cp`` has no protocol of its own: it execs ``tar cf - <path>`` in the container and
reads the archive from stdout (copying out), or execs ``tar -xmf - -C <dir>`` and writes an
archive made by Go's ``archive/tar`` to stdin (copying in); see kubectl's
``pkg/cmd/cp/cp.go``. This module reads and writes that ustar/GNU format with Python's
:mod:`tarfile` over the container's in-memory files — only member headers and contents are
read, nothing is extracted to the host. As BusyBox does, ``c`` strips a leading ``/`` from
member names (saying so on stderr) and ``x`` refuses names that climb out of the target
directory. Simulated: modes, owners and times are not kept (``-m``, ``--no-same-owner`` and
``--no-same-permissions`` are accepted); ``-z``/``-j`` compression is not supported.
"""

from __future__ import annotations

import io
import posixpath
import tarfile

from kubelab.sandbox.images.shell_io import (
    MAX_WRITTEN_BYTES,
    NO_SPACE,
    NO_SUCH_FILE,
    Ctx,
    Output,
    Program,
    as_bytes,
    as_text,
    err,
    out,
)

_USAGE = "tar: invalid option -- '{0}'"
_IGNORED_LONG = ("--no-same-owner", "--no-same-permissions", "--same-owner", "--numeric-owner",
                 "--preserve-permissions", "--overwrite")


def _parse(args: list[str]) -> tuple[str, dict[str, str], list[str]] | str:
    """(mode c/x/t, options, operands), or the error text."""
    mode = ""
    options: dict[str, str] = {}
    operands: list[str] = []
    wants: list[str] = []
    for index, arg in enumerate(args):
        if wants:
            options[wants.pop(0)] = arg
            continue
        if arg in _IGNORED_LONG:
            continue
        if arg.startswith("--directory="):
            options["C"] = arg.partition("=")[2]
            continue
        bundled = index == 0 and not arg.startswith("-")
        if not (arg.startswith("-") and len(arg) > 1) and not bundled:
            operands.append(arg)
            continue
        for letter in arg.lstrip("-"):
            if letter in "cxt":
                if mode and mode != letter:
                    return "tar: only one of -c, -x or -t may be given"
                mode = letter
            elif letter in "fC":
                wants.append(letter)
            elif letter in "vmopOhk":
                options[letter] = ""
            elif letter in "zjJ":
                return f"tar: compression (-{letter}) is not supported by the sandbox"
            else:
                return _USAGE.format(letter)
    if wants:
        return "tar: option requires an argument"
    if not mode:
        return "tar: need one of -c, -x or -t"
    return mode, options, operands


def tar(ctx: Ctx, args: list[str]) -> Program:
    parsed = _parse(args)
    if isinstance(parsed, str):
        yield err(parsed)
        return 1
    mode, options, operands = parsed
    archive = options.get("f", "-")
    if mode == "c":
        return (yield from _create(ctx, archive, options, operands))
    if archive == "-":
        data = as_bytes((yield from ctx.stdin.read_all(limit=MAX_WRITTEN_BYTES + 1024 * 1024)))
    else:
        content = ctx.fs.read(ctx.fs.abspath(archive))
        if content is None:
            yield err(f"tar: can't open '{archive}': {NO_SUCH_FILE}")
            return 1
        data = as_bytes(content)
    try:
        members = _members(data)
    except tarfile.TarError:
        yield err("tar: invalid tar magic")
        return 1
    if mode == "t":
        for name, _ in members:
            yield out(name)
        return 0
    return (yield from _extract(ctx, members, options, operands))


def _members(data: bytes) -> list[tuple[str, bytes | None]]:
    """(name, content or None for a directory) of every regular file and directory."""
    members: list[tuple[str, bytes | None]] = []
    if not data.strip(b"\0"):
        return members
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
        for info in archive:
            if info.isdir():
                members.append((info.name.rstrip("/") + "/", None))
            elif info.isfile():
                handle = archive.extractfile(info)
                members.append((info.name, handle.read() if handle else b""))
    return members


def _extract(ctx: Ctx, members: list[tuple[str, bytes | None]], options: dict[str, str],
             operands: list[str]) -> Program:
    base = ctx.fs.abspath(options.get("C", "."))
    if not ctx.fs.is_dir(base):
        yield err(f"tar: can't change directory to '{options.get('C', '.')}': {NO_SUCH_FILE}")
        return 1
    status = 0
    for name, content in members:
        if operands and not any(name.rstrip("/") == o.rstrip("/")
                                or name.startswith(o.rstrip("/") + "/") for o in operands):
            continue
        clean = posixpath.normpath(name.lstrip("/"))
        if clean == ".." or clean.startswith("../"):
            yield err(f"tar: skipping unsafe path '{name}'")
            status = 1
            continue
        target = posixpath.join(base, clean)
        if "v" in options:
            yield out(name)
        if content is None:
            ok = ctx.fs.mkdir(target)
        else:
            parent = posixpath.dirname(target)
            if not ctx.fs.is_dir(parent):
                ctx.fs.mkdir(parent)
            ok = ctx.fs.write(target, as_text(content))
        if not ok:
            yield err(f"tar: write error: {NO_SPACE}")
            return 1
    return status


def _create(ctx: Ctx, archive_path: str, options: dict[str, str],
            operands: list[str]) -> Program:
    if not operands:
        yield err("tar: empty archive")
        return 1
    base = ctx.fs.abspath(options.get("C", "."))
    buffer = io.BytesIO()
    status = 0
    warned = False
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for operand in operands:
            source = posixpath.normpath(posixpath.join(base, operand))
            if not ctx.fs.exists(source):
                yield err(f"tar: {operand}: {NO_SUCH_FILE}")
                status = 1
                continue
            if operand.startswith("/") and not warned:
                yield err("tar: removing leading '/' from member names")
                warned = True
            for entry in ctx.fs.walk(source):
                relative = operand.rstrip("/") + entry.rstrip("/")[len(source.rstrip("/")):]
                name = relative.lstrip("/") or "."
                info = tarfile.TarInfo(name)
                info.mtime = int(ctx.now().timestamp())
                info.uname = info.gname = "root"
                if entry.endswith("/"):
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    archive.addfile(info)
                else:
                    content = as_bytes(ctx.fs.files.get(entry, ""))
                    info.size = len(content)
                    info.mode = 0o644
                    archive.addfile(info, io.BytesIO(content))
                if "v" in options:
                    yield err(name) if archive_path == "-" else out(name)
    data = as_text(buffer.getvalue())
    if archive_path == "-":
        yield Output(data, newline=False)
    elif not ctx.fs.write(ctx.fs.abspath(archive_path), data):
        yield err(f"tar: write error: {NO_SPACE}")
        return 1
    return status
