"""BusyBox's file applets for the sandbox shell: ``cat``, ``ls``, ``touch``, ``mkdir``,
``rm``, ``mv``, ``cp``, ``find``, ``du``, ``df``, ``basename``, ``dirname``, ``chmod``.

They act on the container's in-memory file tree (:class:`~.shell_io.FileSystem`) and answer
with BusyBox's wording (``coreutils/*.c``: ``rm: can't remove 'x': No such file or
directory``, ``mkdir: can't create directory 'a/b': No such file or directory``). Simulated:
every entry belongs to root, files are mode 0644 and directories 0755, a file's time is the
moment ``ls`` runs, and ``df`` reports one overlay root of a fixed size.
"""

from __future__ import annotations

import fnmatch
import posixpath

from kubelab.sandbox.images.shell_io import (
    NO_SPACE,
    NO_SUCH_FILE,
    Command,
    Ctx,
    Program,
    err,
    out,
    write_text,
)


def _split(args: list[str]) -> tuple[set[str], list[str]]:
    """Single-letter options (``-rf``) and operands, getopt-style (``--`` ends options)."""
    flags: set[str] = set()
    operands: list[str] = []
    ended = False
    for arg in args:
        if not ended and arg == "--":
            ended = True
        elif not ended and arg.startswith("-") and len(arg) > 1:
            flags.update(arg[1:])
        else:
            operands.append(arg)
    return flags, operands


def cat(ctx: Ctx, args: list[str]) -> Program:
    """Files in order; stdin as it arrives (``kubectl exec -i pod -- cat`` echoes each
    line at once)."""
    _, paths = _split(args)
    status = 0
    for path in paths or ["-"]:
        if path == "-":
            while (chunk := (yield from ctx.stdin.read_some())) is not None:
                yield out(chunk, newline=False)
            continue
        absolute = ctx.fs.abspath(path)
        content = ctx.fs.read(absolute)
        if content is None:
            if ctx.fs.is_dir(absolute):
                yield err("cat: read error: Is a directory")
            else:
                yield err(f"cat: can't open '{path}': {NO_SUCH_FILE}")
            status = 1
            continue
        yield from write_text(content)
    return status


def _mode(ctx: Ctx, path: str) -> str:
    return "drwxr-xr-x" if ctx.fs.is_dir(path) else "-rw-r--r--"


def _long(ctx: Ctx, path: str, name: str) -> str:
    """One ``ls -l`` line in BusyBox's columns (``coreutils/ls.c``)."""
    size = 4096 if ctx.fs.is_dir(path) else len((ctx.fs.read(path) or "").encode(
        "utf-8", "surrogateescape"))
    links = 2 if ctx.fs.is_dir(path) else 1
    when = ctx.now().strftime("%b %e %H:%M")
    return f"{_mode(ctx, path)} {links:>4} {'root':<8} {'root':<8} {size:>9} {when} {name}"


def ls(ctx: Ctx, args: list[str]) -> Program:
    flags, paths = _split(args)
    long_format, show_all = "l" in flags, "a" in flags or "A" in flags
    status = 0
    files = [p for p in paths or ["."] if not ctx.fs.is_dir(ctx.fs.abspath(p))]
    dirs = [p for p in paths or ["."] if ctx.fs.is_dir(ctx.fs.abspath(p))]
    shown = False
    for path in files:
        absolute = ctx.fs.abspath(path)
        if not ctx.fs.is_file(absolute):
            yield err(f"ls: {path}: {NO_SUCH_FILE}")
            status = 1
            continue
        yield out(_long(ctx, absolute, path) if long_format else path)
        shown = True
    for path in dirs:
        absolute = ctx.fs.abspath(path)
        names = ctx.fs.children(absolute)
        if not show_all:
            names = [n for n in names if not n.startswith(".")]
        elif "a" in flags:
            names = [".", "..", *names]
        if len(paths) > 1:
            if shown:
                yield out("")
            yield out(f"{path}:")
        if long_format:
            yield out(f"total {4 * len(names)}")
        for name in names:
            yield out(_long(ctx, posixpath.normpath(posixpath.join(absolute, name)), name)
                      if long_format else name)
        shown = True
    return status


def touch(ctx: Ctx, args: list[str]) -> Program:
    _, paths = _split(args)
    status = 0
    for path in paths:
        absolute = ctx.fs.abspath(path)
        if ctx.fs.exists(absolute):
            continue
        if not ctx.fs.is_dir(posixpath.dirname(absolute)):
            yield err(f"touch: {path}: {NO_SUCH_FILE}")
            status = 1
        elif not ctx.fs.write(absolute, ""):
            yield err(f"touch: {path}: {NO_SPACE}")
            status = 1
    return status


def mkdir(ctx: Ctx, args: list[str]) -> Program:
    flags, paths = _split(args)
    status = 0
    for path in paths:
        absolute = ctx.fs.abspath(path)
        parent = posixpath.dirname(absolute)
        if ctx.fs.exists(absolute):
            if "p" in flags and ctx.fs.is_dir(absolute):
                continue
            yield err(f"mkdir: can't create directory '{path}': File exists")
            status = 1
            continue
        if "p" not in flags and not ctx.fs.is_dir(parent):
            yield err(f"mkdir: can't create directory '{path}': {NO_SUCH_FILE}")
            status = 1
            continue
        if not ctx.fs.mkdir(absolute):
            yield err(f"mkdir: can't create directory '{path}': {NO_SPACE}")
            status = 1
    return status


def rm(ctx: Ctx, args: list[str]) -> Program:
    flags, paths = _split(args)
    status = 0
    for path in paths:
        absolute = ctx.fs.abspath(path)
        if not ctx.fs.exists(absolute):
            if "f" not in flags:
                yield err(f"rm: can't remove '{path}': {NO_SUCH_FILE}")
                status = 1
            continue
        if ctx.fs.is_dir(absolute) and not flags & {"r", "R"}:
            yield err(f"rm: '{path}' is a directory")
            status = 1
            continue
        ctx.fs.remove(absolute)
    return status


def _copy(ctx: Ctx, name: str, args: list[str], *, move: bool) -> Program:
    flags, paths = _split(args)
    if len(paths) < 2:
        yield err(f"BusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\n"
                  f"Usage: {name} [-fi] SOURCE DEST")
        return 1
    *sources, dest = paths
    dest_abs = ctx.fs.abspath(dest)
    into = ctx.fs.is_dir(dest_abs)
    if len(sources) > 1 and not into:
        yield err(f"{name}: '{dest}' is not a directory")
        return 1
    status = 0
    for source in sources:
        src = ctx.fs.abspath(source)
        if not ctx.fs.exists(src):
            yield err(f"{name}: can't stat '{source}': {NO_SUCH_FILE}"
                      if name == "cp" else f"{name}: can't rename '{source}': {NO_SUCH_FILE}")
            status = 1
            continue
        target = posixpath.join(dest_abs, posixpath.basename(src)) if into else dest_abs
        if ctx.fs.is_dir(src) and not move and not flags & {"r", "R", "a"}:
            yield err(f"cp: omitting directory '{source}'")
            status = 1
            continue
        entries = ctx.fs.walk(src)
        copied = {e: ctx.fs.files.get(e, "") for e in entries if e in ctx.fs.files}
        if move:
            ctx.fs.remove(src)
        if ctx.fs.is_dir(src) or any(e.endswith("/") for e in entries):
            ctx.fs.mkdir(target)
        for entry, content in copied.items():
            rel = entry[len(src):]
            path = target + rel if rel else target
            ok = ctx.fs.mkdir(path) if path.endswith("/") else ctx.fs.write(path, content)
            if not ok:
                yield err(f"{name}: write error: {NO_SPACE}")
                return 1
    return status


def cp(ctx: Ctx, args: list[str]) -> Program:
    return (yield from _copy(ctx, "cp", args, move=False))


def mv(ctx: Ctx, args: list[str]) -> Program:
    return (yield from _copy(ctx, "mv", args, move=True))


def find(ctx: Ctx, args: list[str]) -> Program:
    """``find [PATH…] [-name PATTERN] [-type f|d]``."""
    paths: list[str] = []
    name, kind = "", ""
    i = 0
    while i < len(args):
        if args[i] == "-name" and i + 1 < len(args):
            name, i = args[i + 1], i + 2
        elif args[i] == "-type" and i + 1 < len(args):
            kind, i = args[i + 1], i + 2
        else:
            paths.append(args[i])
            i += 1
    status = 0
    for path in paths or ["."]:
        absolute = ctx.fs.abspath(path)
        if not ctx.fs.exists(absolute):
            yield err(f"find: {path}: {NO_SUCH_FILE}")
            status = 1
            continue
        for entry in ctx.fs.walk(absolute):
            is_dir = entry.endswith("/")
            shown = entry.rstrip("/") or "/"
            rel = path.rstrip("/") + shown[len(absolute.rstrip("/")):] if shown != absolute \
                else path
            if kind and kind != ("d" if is_dir else "f"):
                continue
            if name and not fnmatch.fnmatchcase(posixpath.basename(shown), name):
                continue
            yield out(rel)
    return status


def _kib(ctx: Ctx, path: str) -> int:
    """Disk use in KiB, as ``du`` counts 4 KiB blocks."""
    total = 0
    for entry in ctx.fs.walk(path):
        size = 4096 if entry.endswith("/") else len(ctx.fs.files.get(entry, ""))
        total += -(-size // 4096) * 4
    return total


def _human(kib: int) -> str:
    if kib < 1024:
        return f"{kib:.1f}K" if kib < 10 else f"{kib}K"
    mib = kib / 1024
    return f"{mib:.1f}M" if mib < 10 else f"{mib:.0f}M"


def du(ctx: Ctx, args: list[str]) -> Program:
    flags, paths = _split(args)
    status = 0
    for path in paths or ["."]:
        absolute = ctx.fs.abspath(path)
        if not ctx.fs.exists(absolute):
            yield err(f"du: {path}: {NO_SUCH_FILE}")
            status = 1
            continue
        entries = [absolute] if "s" in flags else [
            e.rstrip("/") or "/" for e in reversed(ctx.fs.walk(absolute))
            if e.endswith("/") or "a" in flags or e == absolute]
        for entry in entries:
            size = _kib(ctx, entry)
            shown = path.rstrip("/") + entry[len(absolute.rstrip("/")):] if entry != absolute \
                else path
            yield out(f"{_human(size) if 'h' in flags else size}\t{shown}")
    return status


def df(ctx: Ctx, args: list[str]) -> Program:
    """One overlay root of 60 GiB, its use grown by what the container wrote."""
    flags, _ = _split(args)
    total, used = 61_255_492, 9_130_400 + ctx.fs.written // 1024
    free = total - used
    percent = -(-used * 100 // total)
    if "h" in flags:
        yield out("Filesystem                Size      Used Available Use% Mounted on")
        yield out(f"{'overlay':<20}{'58.4G':>10}{_human(used).replace('M', 'M'):>10}"
                  f"{'46.7G':>10}{percent:>4}% /")
        return 0
    yield out("Filesystem           1K-blocks      Used Available Use% Mounted on")
    yield out(f"{'overlay':<20}{total:>10}{used:>10}{free:>10}{percent:>4}% /")
    return 0


def basename(ctx: Ctx, args: list[str]) -> Program:
    if not args:
        yield err("basename: missing operand")
        return 1
    name = args[0].rstrip("/").rsplit("/", 1)[-1] or ("/" if args[0] else "")
    if len(args) > 1 and name != args[1] and name.endswith(args[1]):
        name = name[:-len(args[1])]
    yield out(name)
    return 0


def dirname(ctx: Ctx, args: list[str]) -> Program:
    if not args:
        yield err("dirname: missing operand")
        return 1
    path = args[0].rstrip("/")
    head = path.rsplit("/", 1)[0] if "/" in path else "."
    yield out(head.rstrip("/") or "/")
    return 0


def chmod(ctx: Ctx, args: list[str]) -> Program:
    """Modes are not kept: succeeds for paths that exist."""
    _, operands = _split(args)
    status = 0
    for path in operands[1:]:
        if not ctx.fs.exists(ctx.fs.abspath(path)):
            yield err(f"chmod: {path}: {NO_SUCH_FILE}")
            status = 1
    return status


COMMANDS: dict[str, Command] = {
    "cat": cat, "ls": ls, "touch": touch, "mkdir": mkdir, "rm": rm, "cp": cp, "mv": mv,
    "find": find, "du": du, "df": df, "basename": basename, "dirname": dirname,
    "chmod": chmod, "chown": chmod,
}
