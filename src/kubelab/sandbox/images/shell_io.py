"""What the sandbox shell's commands share: program steps, standard input, the file tree.

A real container's process reads file descriptor 0 and writes 1 and 2; the kernel's pipes
connect the stages of ``a | b``. The sandbox runs no processes, so every command is a Python
generator of :class:`Step` values whose return value is its exit status:

* :class:`Output` is a write to stdout (or stderr), :class:`Sleep` a wait on the simulated
  clock, :class:`WaitInput` a ``read(0)`` that blocks until the exec client sends more.
* :class:`Input` is a command's fd 0: text already there (a file, a here-document), a pipe
  whose writer is the previous stage's generator (stepped only when the reader wants more,
  so ``yes | head -1`` ends), or an exec session's stdin fed by the API server as WebSocket
  frames arrive.
* :class:`FileSystem` is the container's writable layer plus its mounts: one ``dict`` of
  absolute path to content, shared by the container's program and every ``kubectl exec``
  into it, under the storage limits an emptyDir-like layer would have. A key ending in
  ``/`` is a directory created by ``mkdir`` (a directory also exists while it holds a file).

Byte-exact data (``tar`` archives over ``kubectl cp``) travels as ``str`` decoded with
``surrogateescape``, so any byte sequence survives the round trip through the text-based
steps unchanged.

Nothing here touches the host: no real files, no processes.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import datetime

#: The longest value the shell holds (a variable, an expanded word, a substitution's output).
MAX_VALUE_BYTES = 1024 * 1024
#: The largest file a program may write, and all it may write (an emptyDir-like budget).
MAX_FILE_BYTES = 1024 * 1024
MAX_WRITTEN_BYTES = 8 * 1024 * 1024
MAX_FILES = 10_000
#: The directories every image has (a Linux image's file system hierarchy), empty until written.
STANDARD_DIRECTORIES = ("/tmp/", "/root/", "/home/", "/etc/", "/var/", "/var/log/", "/var/tmp/",
                        "/usr/", "/usr/bin/", "/usr/local/", "/usr/local/bin/", "/bin/", "/sbin/",
                        "/dev/", "/proc/", "/sys/", "/run/", "/opt/", "/mnt/", "/srv/", "/lib/")
#: What ``ls /`` shows besides the directories of mounted files: the image's root, derived from
#: :data:`STANDARD_DIRECTORIES` so the two cannot disagree.
ROOT_DIRECTORIES = frozenset(path.split("/")[1] for path in STANDARD_DIRECTORIES)
NO_SPACE = "No space left on device"
NO_SUCH_FILE = "No such file or directory"


@dataclass(frozen=True)
class Output:
    """A write to stdout, or to stderr when ``stderr`` (both go to the container log; an exec
    session sends them on separate channels). ``newline`` is False for a write that does not
    end a line (``echo -n``, ``printf``, a ``tar`` archive)."""

    text: str
    stderr: bool = False
    newline: bool = True

    @property
    def data(self) -> str:
        return self.text + "\n" if self.newline else self.text


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class WaitInput:
    """The program blocks reading stdin until its driver feeds or closes :class:`Input`."""


Step = Output | Sleep | WaitInput
Program = Generator[Step, None, int]


class OutOfMemory(Exception):
    """A value outgrew :data:`MAX_VALUE_BYTES`: the shell dies like ash when malloc fails."""


def bounded(text: str, limit: int = MAX_VALUE_BYTES) -> str:
    if len(text) > limit:
        raise OutOfMemory
    return text


def as_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def as_text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


class Input:
    """A command's standard input (see the module docstring).

    Args:
        text: what is already there.
        closed: no more will come (a file, a here-document, ``/dev/null``).
        source: the writer of a pipe: its stdout becomes this input, its other steps
            (sleeps, stderr) pass through to whoever reads.
    """

    def __init__(self, text: str = "", *, closed: bool = True,
                 source: Program | None = None) -> None:
        self.buffer = text
        self.closed = closed and source is None
        self.source = source
        #: The writer's exit status once it has ended.
        self.status = 0

    def feed(self, data: str) -> None:
        self.buffer += data

    def close(self) -> None:
        self.closed = True

    def _more(self) -> Iterator[Step]:
        if self.source is None:
            yield WaitInput()
            return
        try:
            step = next(self.source)
        except StopIteration as stop:
            self.status = int(stop.value or 0)
            self.closed = True
            return
        if isinstance(step, Output) and not step.stderr:
            self.buffer += step.data
            # The write was a step of the writer's: it counts against the step budget.
            yield Sleep(0.0)
        else:
            yield step

    def ready(self) -> bool:
        """Whether :meth:`read_line` can answer without waiting for the writer."""
        return "\n" in self.buffer or self.closed

    def read_line(self) -> Generator[Step, None, str | None]:
        """The next line with its newline (the last one may lack it); None at end of input."""
        while "\n" not in self.buffer and not self.closed:
            yield from self._more()
        if not self.buffer:
            return None
        cut = self.buffer.find("\n") + 1 or len(self.buffer)
        line, self.buffer = self.buffer[:cut], self.buffer[cut:]
        return line

    def read_some(self) -> Generator[Step, None, str | None]:
        """Whatever has arrived (at least one byte), as ``read(2)`` returns; None at EOF."""
        while not self.buffer and not self.closed:
            yield from self._more()
        if not self.buffer:
            return None
        data, self.buffer = self.buffer, ""
        return data

    def read_all(self, limit: int = MAX_VALUE_BYTES) -> Generator[Step, None, str]:
        """Everything up to end of input; a reader holding more than ``limit`` runs out of
        memory."""
        while not self.closed:
            yield from self._more()
            bounded(self.buffer, limit)
        data, self.buffer = self.buffer, ""
        return data

    def lines(self) -> Generator[Step, None, list[str]]:
        """All lines without their newlines."""
        return (yield from self.read_all()).splitlines()

    def broken_pipe(self) -> Iterator[Step]:
        """The reader has exited: run the writer on until its next write, which kills it
        (``SIGPIPE``), or its end."""
        if self.source is None:
            return
        while not self.closed:
            try:
                step = next(self.source)
            except StopIteration as stop:
                self.status = int(stop.value or 0)
                break
            if isinstance(step, Output) and not step.stderr:
                self.source.close()
                self.status = 141
                break
            yield step
        self.closed = True
        self.buffer = ""


def closed_input() -> Input:
    return Input("", closed=True)


@dataclass
class FileSystem:
    """The container's files (see the module docstring); ``env["PWD"]`` is the working
    directory."""

    files: dict[str, str]
    env: dict[str, str]
    written: int = 0

    @property
    def cwd(self) -> str:
        return self.env.get("PWD", "/") or "/"

    def abspath(self, path: str) -> str:
        joined = path if path.startswith("/") else posixpath.join(self.cwd, path)
        normal = posixpath.normpath(joined)
        return "/" + normal.lstrip("/") if normal != "/" else "/"

    def is_file(self, path: str) -> bool:
        return not path.endswith("/") and path in self.files

    def is_dir(self, path: str) -> bool:
        if path == "/" or (path.count("/") == 1 and path[1:] in ROOT_DIRECTORIES):
            return True
        prefix = path.rstrip("/") + "/"
        return any(key.startswith(prefix) for key in self.files)

    def exists(self, path: str) -> bool:
        return self.is_file(path) or self.is_dir(path)

    def children(self, path: str) -> list[str]:
        """Names directly inside directory ``path``, sorted."""
        prefix = "/" if path == "/" else path.rstrip("/") + "/"
        names = {key[len(prefix):].split("/")[0] for key in self.files if key.startswith(prefix)}
        if path == "/":
            names |= ROOT_DIRECTORIES
        names.discard("")
        return sorted(names)

    def walk(self, path: str) -> list[str]:
        """``path`` and every file and directory under it (directories end in ``/``)."""
        if self.is_file(path):
            return [path]
        out = [path.rstrip("/") + "/"]
        for name in self.children(path):
            out.extend(self.walk(posixpath.join(path, name)))
        return out

    def read(self, path: str) -> str | None:
        return self.files.get(path) if self.is_file(path) else None

    def write(self, path: str, text: str, *, append: bool = False) -> bool:
        """Write (or append) ``text`` unless a storage limit forbids it."""
        old = self.files.get(path, "") if append else ""
        if len(old) + len(text) > MAX_FILE_BYTES:
            return False
        if path not in self.files and len(self.files) >= MAX_FILES:
            return False
        grown = len(old) + len(text) - len(self.files.get(path, ""))
        if grown > 0:
            if self.written + grown > MAX_WRITTEN_BYTES:
                return False
            self.written += grown
        self.files[path] = old + text
        return True

    def mkdir(self, path: str) -> bool:
        if self.is_dir(path):
            return True
        if len(self.files) >= MAX_FILES:
            return False
        self.files[path.rstrip("/") + "/"] = ""
        return True

    def remove(self, path: str) -> None:
        """Remove a file, or a directory and everything in it."""
        self.files.pop(path, None)
        prefix = path.rstrip("/") + "/"
        for key in [k for k in self.files if k.startswith(prefix)]:
            del self.files[key]


@dataclass
class Ctx:
    """What a command sees: its standard input, the environment, the files and the time."""

    stdin: Input
    env: dict[str, str]
    fs: FileSystem
    now: Callable[[], datetime]
    #: The container's process list for ``ps``: (pid, command line), PID 1 first.
    processes: list[tuple[int, str]] = field(default_factory=list)
    #: The image's normalised repository (``docker.io/library/nginx``), or "".
    repository: str = ""
    #: The image's HTTP server and version (``nginx/1.27.3``), or "".
    server: str = ""
    #: When the container started (``uptime`` counts from it), or None.
    booted: datetime | None = None


Command = Callable[[Ctx, list[str]], Program]


def out(text: str, *, newline: bool = True) -> Output:
    return Output(bounded(text), newline=newline)


def err(text: str) -> Output:
    return Output(text, stderr=True)


#: The most a command writes in one step (a stdio buffer's worth, generously).
WRITE_CHUNK = 64 * 1024


def write_text(text: str) -> Iterator[Output]:
    """``text`` as a few large writes, as a program's buffered stdout writes to a pipe: one
    step per chunk, not one per line, so big outputs do not eat the step budget."""
    for start in range(0, len(text), WRITE_CHUNK):
        yield Output(text[start:start + WRITE_CHUNK], newline=False)


def write_lines(lines: list[str]) -> Iterator[Output]:
    """Each of ``lines`` ended by a newline, written as :func:`write_text` writes."""
    yield from write_text("".join(line + "\n" for line in lines))


def read_inputs(ctx: Ctx, name: str, paths: list[str], *, plain: bool = False,
                join_lines: bool = False) -> Generator[Step, None, tuple[str, int]]:
    """The concatenated text of ``paths`` (stdin when none or ``-``), and 1 when a file was
    missing. The error is busybox's ``fopen_or_warn`` wording (``wc: can't open 'x': No such
    file or directory``), or with ``plain`` its ``perror`` one (``grep: x: No such file…``).
    With ``join_lines`` a file's unterminated last line is ended before the next file (as
    line-oriented tools read them)."""
    if not paths:
        return (yield from ctx.stdin.read_all()), 0
    chunks: list[str] = []
    status = 0
    for path in paths:
        if path == "-":
            chunks.append((yield from ctx.stdin.read_all()))
            continue
        absolute = ctx.fs.abspath(path)
        content = ctx.fs.read(absolute)
        if content is None:
            reason = "Is a directory" if ctx.fs.is_dir(absolute) else NO_SUCH_FILE
            yield err(f"{name}: {path}: {reason}" if plain
                      else f"{name}: can't open '{path}': {reason}")
            status = 1
            continue
        chunks.append(content)
    if join_lines:
        chunks = [c + "\n" if c and not c.endswith("\n") and any(chunks[k + 1:]) else c
                  for k, c in enumerate(chunks)]
    return "".join(chunks), status
