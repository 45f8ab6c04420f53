"""BusyBox's system applets for the sandbox shell: ``sleep``, ``date``, ``hostname``,
``uname``, ``whoami``, ``id``, ``ps``, ``env``/``printenv``, ``kill``, ``uptime``, ``gzip``/``gunzip``/
``zcat`` (``archival/gzip.c``, ``archival/bbunzip.c``: a stream to stdout, or a file replaced by its
``.gz``), and ``nginx -v`` in the nginx image.

Simulated facts, stated once: the container runs as root (the images' default user), the
kernel is the node's (``6.8.0``, x86_64), ``ps`` lists the container's own PID namespace —
PID 1 its main command, then the exec'd shell and ``ps`` itself — and time is the sandbox
clock's (``date`` in UTC, the images' default ``TZ``). ``uptime`` counts from when the container
started (the simulated node has no boot of its own) with no load (``0.00``): what a fresh node
shows.
"""

from __future__ import annotations

import gzip as gzip_format
import re
import zlib

from kubelab.sandbox.images.shell_io import (
    Command,
    Ctx,
    Program,
    Sleep,
    as_bytes,
    as_text,
    err,
    out,
    read_inputs,
)

#: The nginx release when the image names none (the catalog's ``Server`` header does).
NGINX_VERSION = "nginx/1.27.3"


def parse_duration(arg: str) -> float | None:
    """``sleep``'s operand: seconds, or with BusyBox's ``s``/``m``/``h``/``d`` suffixes."""
    units = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
    match = re.fullmatch(r"(\d*\.?\d+)([smhd]?)", arg)
    if not match:
        return None
    return float(match.group(1)) * units.get(match.group(2), 1.0)


def sleep(ctx: Ctx, args: list[str]) -> Program:
    if not args:
        yield err("sleep: missing operand")
        return 1
    total = 0.0
    for arg in args:
        seconds = parse_duration(arg)
        if seconds is None:
            yield err(f"sleep: invalid number '{arg}'")
            return 1
        total += seconds
    yield Sleep(total)
    return 0


def date(ctx: Ctx, args: list[str]) -> Program:
    now = ctx.now()
    formats = [a[1:] for a in args if a.startswith("+")]
    if formats:
        text = formats[0].replace("%N", f"{now.microsecond * 1000:09d}")
        text = text.replace("%s", str(int(now.timestamp())))
        yield out(now.strftime(text))
    elif "-R" in args:
        yield out(now.strftime("%a, %d %b %Y %H:%M:%S +0000"))
    elif "-I" in args:
        yield out(now.strftime("%Y-%m-%d"))
    else:
        yield out(now.strftime("%a %b %e %H:%M:%S UTC %Y"))
    return 0


def hostname(ctx: Ctx, args: list[str]) -> Program:
    name = ctx.env.get("HOSTNAME", "localhost")
    if "-i" in args:
        hosts = ctx.fs.read("/etc/hosts") or ""
        address = next((line.split()[0] for line in hosts.splitlines()
                        if line.split()[1:2] == [name]), "127.0.0.1")
        yield out(address)
    else:
        yield out(name)
    return 0


def uname(ctx: Ctx, args: list[str]) -> Program:
    host = ctx.env.get("HOSTNAME", "localhost")
    if "-a" in args:
        yield out(f"Linux {host} 6.8.0 #1 SMP PREEMPT_DYNAMIC x86_64 GNU/Linux")
    elif "-r" in args:
        yield out("6.8.0")
    elif "-m" in args:
        yield out("x86_64")
    elif "-n" in args:
        yield out(host)
    else:
        yield out("Linux")
    return 0


def whoami(ctx: Ctx, args: list[str]) -> Program:
    yield out("root")
    return 0


def id_(ctx: Ctx, args: list[str]) -> Program:
    if "-u" in args or "-g" in args:
        yield out("root" if "-n" in args else "0")
    else:
        groups = "0(root),1(bin),2(daemon),3(sys),4(adm),6(disk),10(wheel),11(floppy),20(dialout)" \
            ",26(tape),27(video)" if "alpine" in ctx.repository else "0(root)"
        yield out(f"uid=0(root) gid=0(root) groups={groups}")
    return 0


def ps(ctx: Ctx, args: list[str]) -> Program:
    """BusyBox ``ps`` (``procps/ps.c`` without ``-o``): PID, USER, TIME, COMMAND."""
    yield out("PID   USER     TIME  COMMAND")
    processes = list(ctx.processes) or [(1, "sh")]
    last = max(pid for pid, _ in processes)
    for pid, command in [*processes, (last + 6, "ps" + (" " + " ".join(args) if args else ""))]:
        yield out(f"{pid:>5} {'root':<8} {'0:00':>5} {command}")
    return 0


def env(ctx: Ctx, args: list[str]) -> Program:
    for key, value in ctx.env.items():
        yield out(f"{key}={value}")
    return 0


def printenv(ctx: Ctx, args: list[str]) -> Program:
    if not args:
        return (yield from env(ctx, args))
    status = 0
    for var in args:
        if var in ctx.env:
            yield out(ctx.env[var])
        else:
            status = 1
    return status


def kill(ctx: Ctx, args: list[str]) -> Program:
    pids = [a for a in args if not a.startswith("-")]
    known = {str(pid) for pid, _ in ctx.processes}
    status = 0
    for pid in pids:
        if pid not in known:
            yield err(f"sh: can't kill pid {pid}: No such process")
            status = 1
    return status


def uptime(ctx: Ctx, args: list[str]) -> Program:
    """BusyBox ``uptime`` (``procps/uptime.c`` with its default utmp support): the time, how
    long the system is up (``N min``, ``H:MM``, ``D days, H:MM``), users and load."""
    now = ctx.now()
    up = max(0, int((now - ctx.booted).total_seconds())) if ctx.booted is not None else 0
    days, minutes = up // 86400, up // 60
    hours, minutes = (minutes // 60) % 24, minutes % 60
    text = now.strftime(" %H:%M:%S up ")
    if days:
        text += f"{days} day{'s' if days != 1 else ''}, "
    text += f"{hours:2d}:{minutes:02d}" if hours else f"{minutes} min"
    yield out(text + ",  0 users,  load average: 0.00, 0.00, 0.00")
    return 0


def gzip(ctx: Ctx, args: list[str]) -> Program:
    """``gzip [-cdf] [FILE]...``: stdin to stdout, or each FILE replaced by FILE.gz (with
    ``-c`` written to stdout instead); ``-d`` (``gunzip``) the other way."""
    return (yield from _gzip(ctx, args, "gzip"))


def gunzip(ctx: Ctx, args: list[str]) -> Program:
    return (yield from _gzip(ctx, ["-d", *args], "gunzip"))


def zcat(ctx: Ctx, args: list[str]) -> Program:
    return (yield from _gzip(ctx, ["-d", "-c", *args], "zcat"))


def _gzip(ctx: Ctx, args: list[str], name: str) -> Program:
    flags = "".join(a[1:] for a in args if a.startswith("-") and a != "-")
    paths = [a for a in args if not a.startswith("-") or a == "-"]
    decompress = "d" in flags
    unknown = next((f for f in flags if f not in "cdfnq123456789"), None)
    if unknown is not None:
        yield err(f"{name}: invalid option -- '{unknown}'")
        return 1

    def convert(data: bytes) -> bytes:
        return gzip_format.decompress(data) if decompress else gzip_format.compress(data, mtime=0)

    if not paths or "c" in flags:
        text, status = yield from read_inputs(ctx, name, paths)
        try:
            result = convert(as_bytes(text))
        except (OSError, EOFError, zlib.error):
            yield err(f"{name}: invalid magic")
            return 1
        yield out(as_text(result), newline=False)
        return status
    status = 0
    for path in paths:
        absolute = ctx.fs.abspath(path)
        content = ctx.fs.read(absolute)
        if content is None:
            yield err(f"{name}: can't open '{path}': No such file or directory")
            status = 1
            continue
        if decompress and not absolute.endswith(".gz"):
            yield err(f"{name}: {path}: unknown suffix - ignored")
            status = 1
            continue
        try:
            result = convert(as_bytes(content))
        except (OSError, EOFError, zlib.error):
            yield err(f"{name}: invalid magic")
            status = 1
            continue
        ctx.fs.write(absolute[:-3] if decompress else absolute + ".gz", as_text(result))
        ctx.fs.remove(absolute)
    return status


def nginx(ctx: Ctx, args: list[str]) -> Program:
    """``nginx -v``/``-V``/``-t`` in the nginx image (its own binary, not a shell applet)."""
    if "-v" in args or "-V" in args:
        yield err(f"nginx version: {ctx.server if ctx.server.startswith('nginx/') else NGINX_VERSION}")
        return 0
    if "-t" in args:
        yield err("nginx: the configuration file /etc/nginx/nginx.conf syntax is ok")
        yield err("nginx: configuration file /etc/nginx/nginx.conf test is successful")
        return 0
    yield err('nginx: [emerg] bind() to 0.0.0.0:80 failed (98: Address already in use)')
    return 1


COMMANDS: dict[str, Command] = {
    "sleep": sleep, "date": date, "hostname": hostname, "uname": uname, "whoami": whoami,
    "id": id_, "ps": ps, "env": env, "printenv": printenv, "kill": kill, "nginx": nginx,
    "uptime": uptime, "gzip": gzip, "gunzip": gunzip, "zcat": zcat,
}
