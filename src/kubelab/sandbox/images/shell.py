"""A safe interpreter of BusyBox ``sh`` (ash) for the simulated container images.

Course manifests run commands such as ``sh -c 'while true; do echo "hello $(cat
/etc/secret-volume/user)"; sleep 10; done'`` and learners type ``kubectl exec pod -- sh -c
'env | grep KUBERNETES | sort'``. A real container would run BusyBox ``ash``; the sandbox runs
no processes, so this module interprets the shell language against the container's in-memory
file tree (:class:`~.shell_io.FileSystem`: its volumes, the kubelet's ``/etc/hosts``… and the
image's own files from :mod:`.filesystems`) and its environment (``env``/``envFrom``).

The language: ``;``/newline lists, pipelines ``a | b | c`` (each stage a generator whose
stdout is the next one's stdin, stepped only when the reader wants more; the status is the
last stage's, no ``pipefail``; a stage writing after its reader exited dies of ``SIGPIPE``),
``&&``/``||``, ``!``, ``while``/``until``/``for``/``if``, ``{ …; }`` and ``( … )`` groups,
single and double quotes, ``$VAR``/``${VAR}``/``${VAR:-x}``/``${#VAR}``/``$?``, ``$((…))``
arithmetic, ``$(…)`` and backquotes (capturing stdout only), ``*``/``?`` globs, assignments,
redirections ``>``, ``>>``, ``<``, ``N>``, ``N>&M``, ``/dev/null``, here-documents (``<<EOF``,
``<<-EOF``, a quoted delimiter turning expansion off). ``a | b`` stages share the shell's
variables (ash forks them into subshells; the difference shows only in ``… | read x``).
Background jobs (``&``) are refused with a message.

The commands are BusyBox applets with their wording and exit statuses: shell built-ins here
(``echo`` as BusyBox's "fancy" echo: escapes only with ``-e``; ``printf``, ``read``, ``cd``,
``test``/``[``, ``exit``, ``export``…), text tools in :mod:`.shell_text`, file tools in
:mod:`.shell_files`, ``tar`` in :mod:`.tar`, system tools (``ps``, ``date``, ``id``…) in
:mod:`.shell_system`, and ``wget``/``curl``/``nslookup`` when the shell has a pod network
(:mod:`.netutils`). An unknown command is ``sh: NAME: not found`` on stderr, status 127.
Nothing here touches the host: no ``subprocess``, no real files, no ``eval`` of Python.

Execution is a generator of :class:`Output`, :class:`Sleep` and :class:`WaitInput` steps whose
return value is the exit status, so the kubelet can run a container's program lazily on the
simulated clock (see :class:`ProgramRun`) and an exec session can stream it; command
substitutions and pipeline stages are steps of the same generator, so their sleeps take
simulated time and their loops are stepped like any other. A loop iteration that never sleeps
costs one simulated millisecond.

Simulated programs share one event loop with the API server, so they run under two budgets a
real container would get from its cgroup:

* **CPU**: :meth:`ProgramRun.advance` runs at most ``budget`` steps per call. A program that
  is still behind when its budget is spent (a ``while true; do :; done`` loop at any speed)
  *skips* the rest of that simulated time instead of running it, as a container throttled by
  its CPU quota gets less done than the clock allows. Sleeping programs (the course's
  ``echo …; sleep 10`` loops) never come near the budget. ``kubectl exec`` sessions run
  under the same budget (see :mod:`kubelab.sandbox.server.exec_stream`).
* **Memory**: a variable, an expansion, a command substitution's output or a printed line
  longer than :data:`MAX_VALUE_BYTES` ends the shell with ``sh: out of memory`` (BusyBox's
  wording when ``malloc`` fails) and status 1; a write that would grow a file past
  :data:`MAX_FILE_BYTES`, or what the shell wrote in all past :data:`MAX_WRITTEN_BYTES`, fails
  with ``No space left on device``; the log keeps the last :data:`MAX_LOG_BYTES` (the
  kubelet's ``containerLogMaxSize``).
"""

from __future__ import annotations

import ast
import fnmatch
import re
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from kubelab.sandbox.images import netutils, shell_files, shell_system, shell_text, tar
from kubelab.sandbox.images.netutils import PodNetwork
from kubelab.sandbox.images.shell_io import (
    MAX_FILE_BYTES,
    MAX_FILES,
    MAX_VALUE_BYTES,
    MAX_WRITTEN_BYTES,
    NO_SPACE,
    ROOT_DIRECTORIES,
    Command,
    Ctx,
    FileSystem,
    Input,
    Output,
    Program,
    Sleep,
    Step,
    WaitInput,
    bounded,
    closed_input,
    err,
    out,
)
from kubelab.sandbox.images.shell_io import OutOfMemory as _OutOfMemory

__all__ = ["MAX_FILES", "MAX_FILE_BYTES", "MAX_LOG_BYTES", "MAX_LOG_LINES", "MAX_VALUE_BYTES",
           "MAX_WRITTEN_BYTES", "NO_SPACE", "OUT_OF_MEMORY", "ROOT_DIRECTORIES", "STEP_BUDGET",
           "Input", "Output", "Program", "ProgramRun", "Shell", "ShellError", "Sleep", "Step",
           "WaitInput", "parse", "tokenize"]

MAX_LOG_LINES = 10_000
#: The log's size cap, as the kubelet's default ``containerLogMaxSize`` (10Mi) rotates it.
MAX_LOG_BYTES = 10 * 1024 * 1024
#: Steps :meth:`ProgramRun.advance` runs per call before it skips simulated time.
STEP_BUDGET = 200
_BUSY_LOOP_COST = 0.001
#: Nesting of ``sh -c`` and substitutions beyond which ash would run out of stack.
_MAX_DEPTH = 64

#: Every command that is not a shell built-in, by name.
COMMANDS: dict[str, Command] = {**shell_text.COMMANDS, **shell_files.COMMANDS,
                                **shell_system.COMMANDS, "tar": tar.tar}
_BUILTINS = frozenset({"echo", "printf", "exit", "export", "unset", "cd", "pwd", "read", "test",
                       "[", "[[", "true", "false", ":", "set", "sh", "ash", "bash", "wget", "curl",
                       "nslookup", "which", "command", "type", "exec", ".", "source"})


def available(name: str) -> bool:
    """Whether ``name`` is a command of the sandbox shell (a built-in or an applet)."""
    return name in _BUILTINS or name in COMMANDS


class ShellError(Exception):
    """A syntax error or an unsupported construct; reported as ``sh: …`` with status 2."""


class _Exit(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _bounded(text: str) -> str:
    return bounded(text)


OUT_OF_MEMORY = "sh: out of memory"


# ----------------------------------------------------------------------------- tokens

_OPERATORS = ("&&", "||", ";;", ";", "|", "&", "(", ")")
_REDIRECT = re.compile(r"(\d?)(<<-|<<|>>|>&|<&|>\||>|<)")
_KEYWORDS = {"while", "until", "do", "done", "for", "in", "if", "then", "elif", "else", "fi",
             "!", "{", "}"}


@dataclass(frozen=True)
class _Tok:
    kind: str  # "word", "op", "redir" or "heredoc" (a here-document's body)
    text: str
    quoted: bool = False


def _scan_substitution(text: str, i: int) -> int:
    """Return the index just past the ``)`` closing a ``$(`` that starts at ``i``."""
    depth = 0
    j = i
    quote = ""
    while j < len(text):
        c = text[j]
        if quote:
            if c == quote:
                quote = ""
            elif c == "\\" and quote == '"':
                j += 1
        elif c in "'\"":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    raise ShellError("syntax error: unterminated $(")


@dataclass
class _PendingHeredoc:
    index: int
    delimiter: str
    quoted: bool
    strip_tabs: bool


def _heredoc_delimiter(text: str, i: int) -> tuple[str, bool, int]:
    while i < len(text) and text[i] in " \t":
        i += 1
    j = i
    while j < len(text) and text[j] not in " \t\n;&|<>()":
        if text[j] in "'\"":
            end = text.find(text[j], j + 1)
            j = len(text) if end < 0 else end + 1
        else:
            j += 1
    raw = text[i:j]
    if not raw:
        raise ShellError("syntax error: unexpected newline")
    quoted = any(q in raw for q in "'\"\\")
    return re.sub(r"['\"\\]", "", raw), quoted, j


def _heredoc_bodies(text: str, i: int, pending: list[_PendingHeredoc],
                    tokens: list[_Tok]) -> int:
    """Read the bodies of the here-documents started on the line that ended at ``i``."""
    for doc in pending:
        body: list[str] = []
        while i < len(text):
            end = text.find("\n", i)
            line = text[i:] if end < 0 else text[i:end]
            i = len(text) if end < 0 else end + 1
            if doc.strip_tabs:
                line = line.lstrip("\t")
            if line == doc.delimiter:
                break
            body.append(line + "\n")
        tokens[doc.index] = _Tok("heredoc", "".join(body), doc.quoted)
    pending.clear()
    return i


def tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pending: list[_PendingHeredoc] = []
    i = 0
    word: list[str] = []

    def flush() -> None:
        if word:
            tokens.append(_Tok("word", "".join(word)))
            word.clear()

    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            if text[i + 1] == "\n":
                i += 2
                continue
            word.append(text[i:i + 2])
            i += 2
        elif c == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise ShellError("syntax error: unterminated quoted string")
            word.append(text[i:end + 1])
            i = end + 1
        elif c == '"':
            j = i + 1
            while j < len(text) and text[j] != '"':
                if text[j] == "\\":
                    j += 1
                elif text.startswith("$(", j):
                    j = _scan_substitution(text, j + 1) - 1
                j += 1
            if j >= len(text):
                raise ShellError("syntax error: unterminated quoted string")
            word.append(text[i:j + 1])
            i = j + 1
        elif c == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise ShellError("syntax error: unterminated `")
            word.append(text[i:end + 1])
            i = end + 1
        elif text.startswith("$(", i):
            end = _scan_substitution(text, i + 1)
            word.append(text[i:end])
            i = end
        elif c == "#" and not word:
            while i < len(text) and text[i] != "\n":
                i += 1
        elif c in " \t":
            flush()
            i += 1
        elif c == "\n":
            flush()
            tokens.append(_Tok("op", "\n"))
            i = _heredoc_bodies(text, i + 1, pending, tokens) if pending else i + 1
        elif (c in "<>" or (c.isdigit() and not word)) and (m := _REDIRECT.match(text, i)):
            flush()
            tokens.append(_Tok("redir", m.group(1) + m.group(2)))
            i = m.end()
            if m.group(2) in ("<<", "<<-"):
                delimiter, quoted, i = _heredoc_delimiter(text, i)
                tokens.append(_Tok("heredoc", ""))
                pending.append(_PendingHeredoc(len(tokens) - 1, delimiter, quoted,
                                               m.group(2) == "<<-"))
        else:
            for op in _OPERATORS:
                if text.startswith(op, i):
                    flush()
                    tokens.append(_Tok("op", op))
                    i += len(op)
                    break
            else:
                word.append(c)
                i += 1
    flush()
    return tokens


# ----------------------------------------------------------------------------- syntax tree


@dataclass(frozen=True)
class _Redir:
    fd: int
    op: str  # ">", ">>", "<", ">&", "<&", "<<" (target is the body)
    target: str
    quoted: bool = False


@dataclass
class _Simple:
    words: list[str]
    redirects: list[_Redir] = field(default_factory=list)


@dataclass
class _While:
    cond: list[_AndOr]
    body: list[_AndOr]
    until: bool = False


@dataclass
class _For:
    var: str
    items: list[str] | None
    body: list[_AndOr]


@dataclass
class _If:
    branches: list[tuple[list[_AndOr], list[_AndOr]]]
    otherwise: list[_AndOr] | None


@dataclass
class _Group:
    body: list[_AndOr]
    subshell: bool


@dataclass
class _Redirected:
    """A compound command with redirections (``while …; done < file``)."""

    command: _Command
    redirects: list[_Redir]


_Command = _Simple | _While | _For | _If | _Group | _Redirected


@dataclass
class _Pipeline:
    commands: list[_Command]
    negate: bool = False


@dataclass
class _AndOr:
    first: _Pipeline
    rest: list[tuple[str, _Pipeline]]


class _Parser:
    def __init__(self, tokens: list[_Tok]) -> None:
        self.toks = tokens
        self.pos = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def is_word(self, text: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "word" and tok.text == text

    def is_op(self, *texts: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "op" and tok.text in texts

    def expect_word(self, text: str) -> None:
        if not self.is_word(text):
            found = self.peek()
            raise ShellError(f"syntax error: unexpected {found.text if found else 'end of file'!r}"
                             f" (expecting \"{text}\")")
        self.pos += 1

    def skip_separators(self) -> None:
        while self.is_op(";", "\n"):
            self.pos += 1

    def skip_newlines(self) -> None:
        while self.is_op("\n"):
            self.pos += 1

    def parse_list(self, *, stop: tuple[str, ...] = ()) -> list[_AndOr]:
        items: list[_AndOr] = []
        self.skip_separators()
        while (tok := self.peek()) is not None:
            if (tok.kind == "word" and tok.text in stop) or (tok.kind == "op" and tok.text in stop):
                break
            items.append(self.parse_and_or())
            if self.is_op("&"):
                raise ShellError("background jobs are not supported by the sandbox shell")
            self.skip_separators()
        return items

    def parse_and_or(self) -> _AndOr:
        node = _AndOr(self.parse_pipeline(), [])
        while (tok := self.peek()) is not None and tok.kind == "op" and tok.text in ("&&", "||"):
            self.pos += 1
            self.skip_newlines()
            node.rest.append((tok.text, self.parse_pipeline()))
        return node

    def parse_pipeline(self) -> _Pipeline:
        negate = False
        if self.is_word("!"):
            self.pos += 1
            negate = True
        pipeline = _Pipeline([self.parse_command()], negate)
        while self.is_op("|"):
            self.pos += 1
            self.skip_newlines()
            pipeline.commands.append(self.parse_command())
        return pipeline

    def parse_redirects(self, into: list[_Redir]) -> None:
        while (tok := self.peek()) is not None and tok.kind == "redir":
            self.pos += 1
            target = self.peek()
            if target is None or target.kind not in ("word", "heredoc"):
                raise ShellError("syntax error: unexpected newline")
            self.pos += 1
            fd_text, op = tok.text[:1], tok.text
            if fd_text.isdigit():
                op = tok.text[1:]
            fd = int(fd_text) if fd_text.isdigit() else (0 if op[0] == "<" else 1)
            if op == ">|":
                op = ">"
            if op == "<<-":
                op = "<<"
            into.append(_Redir(fd, op, target.text, target.quoted))

    def parse_command(self) -> _Command:
        command = self._parse_command()
        if not isinstance(command, _Simple) and (tok := self.peek()) is not None \
                and tok.kind == "redir":
            redirects: list[_Redir] = []
            self.parse_redirects(redirects)
            return _Redirected(command, redirects)
        return command

    def _parse_command(self) -> _Command:
        tok = self.peek()
        if tok is None:
            raise ShellError("syntax error: unexpected end of file")
        if tok.kind == "word" and tok.text in ("while", "until"):
            self.pos += 1
            cond = self.parse_list(stop=("do",))
            self.expect_word("do")
            body = self.parse_list(stop=("done",))
            self.expect_word("done")
            return _While(cond, body, until=tok.text == "until")
        if tok.kind == "word" and tok.text == "for":
            self.pos += 1
            var = self.peek()
            if var is None or var.kind != "word":
                raise ShellError("syntax error: bad for loop variable")
            self.pos += 1
            items: list[str] | None = None
            self.skip_newlines()
            if self.is_word("in"):
                self.pos += 1
                items = []
                while (w := self.peek()) is not None and w.kind == "word":
                    items.append(w.text)
                    self.pos += 1
            self.skip_separators()
            self.expect_word("do")
            body = self.parse_list(stop=("done",))
            self.expect_word("done")
            return _For(var.text, items, body)
        if tok.kind == "word" and tok.text == "if":
            self.pos += 1
            branches: list[tuple[list[_AndOr], list[_AndOr]]] = []
            otherwise: list[_AndOr] | None = None
            while True:
                cond = self.parse_list(stop=("then",))
                self.expect_word("then")
                body = self.parse_list(stop=("elif", "else", "fi"))
                branches.append((cond, body))
                if self.is_word("elif"):
                    self.pos += 1
                    continue
                if self.is_word("else"):
                    self.pos += 1
                    otherwise = self.parse_list(stop=("fi",))
                self.expect_word("fi")
                return _If(branches, otherwise)
        if tok.kind == "word" and tok.text == "{":
            self.pos += 1
            body = self.parse_list(stop=("}",))
            self.expect_word("}")
            return _Group(body, subshell=False)
        if tok.kind == "op" and tok.text == "(":
            self.pos += 1
            body = self.parse_list(stop=(")",))
            if not self.is_op(")"):
                raise ShellError("syntax error: unexpected end of file (expecting \")\")")
            self.pos += 1
            return _Group(body, subshell=True)
        if tok.kind == "word" and tok.text in _KEYWORDS:
            raise ShellError(f"syntax error: unexpected \"{tok.text}\"")
        simple = _Simple([])
        while (tok := self.peek()) is not None:
            if tok.kind == "word":
                simple.words.append(tok.text)
                self.pos += 1
            elif tok.kind == "redir":
                self.parse_redirects(simple.redirects)
            else:
                break
        if not simple.words and not simple.redirects:
            raise ShellError(f"syntax error: unexpected \"{tok.text if tok else 'end of file'}\"")
        return simple


def parse(script: str) -> list[_AndOr]:
    """Parse ``script``; raise :class:`ShellError` for syntax the sandbox does not support."""
    return _Parser(tokenize(script)).parse_list()


def incomplete(script: str) -> bool:
    """Whether ``script`` ends inside a compound command or a quote, so an interactive shell
    reads another line before running it (ash's ``> `` continuation prompt)."""
    try:
        parse(script)
    except ShellError as error:
        text = str(error)
        return "end of file" in text or "unterminated" in text
    return False


# ----------------------------------------------------------------------------- execution

_SPECIAL = re.compile(r"[$`'\"\\]")
_GLOB = re.compile(r"[*?\[]")
_VAR_RE = re.compile(r"\$(?:\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*)|([?$#0-9!@*]))")
_Dest = tuple[str, str]  # ("out"|"err"|"null", "") or ("file", path)
_STDOUT: _Dest = ("out", "")
_STDERR: _Dest = ("err", "")


class Shell:
    """One shell process: an environment, a file system and a clock offset for ``date``.

    Args:
        env: environment variables (the container's ``env``/``envFrom`` plus ``HOSTNAME``…).
        files: path → content; mutated by ``touch``/``rm``/redirections.
        now: returns the wall-clock time at the program's current simulated offset.
        network: the pod network ``wget``/``curl``/``nslookup`` use (``kubectl exec``
            sessions only; see :mod:`.netutils`).
        processes: the container's processes for ``ps`` (PID 1 is its main command).
        repository: the image's normalised repository (``nginx -v`` exists in nginx only).
        server: the image's HTTP server and version (``nginx/1.27.3``), for ``nginx -v``.
        booted: when the container started, for ``uptime``.
    """

    def __init__(self, env: dict[str, str], files: dict[str, str],
                 now: Callable[[], datetime] | None = None,
                 network: PodNetwork | None = None,
                 processes: list[tuple[int, str]] | None = None,
                 repository: str = "", server: str = "",
                 booted: datetime | None = None) -> None:
        self.env = dict(env)
        self.files = files
        self.fs = FileSystem(files, self.env)
        self.network = network
        self.status = 0
        #: Set when the ``exit`` built-in ended the shell (an interactive session closes).
        self.exited = False
        self._now = now or (lambda: datetime(2026, 1, 1, tzinfo=UTC))
        self.processes = list(processes or [])
        self.repository = repository
        self.server = server
        self.booted = booted
        self._depth = 0
        self._last_substitution: int | None = None

    # --- program entry points

    def run_script(self, script: str, stdin: Input | None = None) -> Program:
        """Run ``sh -c script``; the generator's return value is the exit status."""
        try:
            tree = parse(script)
        except ShellError as error:
            yield err(f"sh: {error}")
            self.status = 2
            return 2
        try:
            yield from self._run_list(tree, stdin or closed_input())
        except _Exit as done:
            self.exited = True
            self.status = done.code
            return done.code
        except _OutOfMemory:
            return (yield from self._out_of_memory())
        return self.status

    def run_argv(self, argv: list[str], stdin: Input | None = None) -> Program:
        """Run an ``exec``-form command (``["sleep", "3600"]``) without shell parsing."""
        try:
            yield from self._run_argv(list(argv), stdin or closed_input())
        except _Exit as done:
            self.exited = True
            return done.code
        except _OutOfMemory:
            return (yield from self._out_of_memory())
        return self.status

    def run_stdin(self, stdin: Input) -> Program:
        """``sh`` reading its commands from stdin (``kubectl exec -i pod -- sh``): each
        complete command runs as soon as its line has arrived, and reads the same stdin."""
        pending = ""
        while not self.exited:
            line = yield from stdin.read_line()
            if line is None:
                if pending.strip():
                    yield from self.run_script(pending, stdin)
                break
            pending += line
            if incomplete(pending):
                continue
            script, pending = pending, ""
            if script.strip():
                yield from self.run_script(script, stdin)
        return self.status

    def _out_of_memory(self) -> Program:
        yield err(OUT_OF_MEMORY)
        self.exited = True
        self.status = 1
        return 1

    # --- structure

    def _run_list(self, items: list[_AndOr], stdin: Input) -> Iterator[Step]:
        for item in items:
            yield from self._run_and_or(item, stdin)

    def _run_and_or(self, node: _AndOr, stdin: Input) -> Iterator[Step]:
        yield from self._run_pipeline(node.first, stdin)
        for op, pipeline in node.rest:
            if (op == "&&") == (self.status == 0):
                yield from self._run_pipeline(pipeline, stdin)

    def _run_pipeline(self, pipeline: _Pipeline, stdin: Input) -> Iterator[Step]:
        if len(pipeline.commands) == 1:
            yield from self._run_command(pipeline.commands[0], stdin)
        else:
            pipes: list[Input] = []
            source = stdin
            for command in pipeline.commands[:-1]:
                source = Input(source=self._stage(command, source))
                pipes.append(source)
            yield from self._run_command(pipeline.commands[-1], source)
            status = self.status
            for pipe in reversed(pipes):
                yield from pipe.broken_pipe()
            self.status = status
        if pipeline.negate:
            self.status = 0 if self.status else 1

    def _stage(self, command: _Command, stdin: Input) -> Program:
        """One pipeline stage but the last: a subshell, so ``exit`` ends only the stage."""
        try:
            yield from self._run_command(command, stdin)
        except _Exit as done:
            return done.code
        return self.status

    def _run_command(self, cmd: _Command, stdin: Input) -> Iterator[Step]:
        if isinstance(cmd, _Simple):
            yield from self._run_simple(cmd, stdin)
        elif isinstance(cmd, _Redirected):
            yield from self._with_redirects(cmd.redirects, stdin,
                                            lambda inner: self._run_command(cmd.command, inner))
        elif isinstance(cmd, _While):
            while True:
                waited = yield from self._timed(self._run_list(cmd.cond, stdin))
                if (self.status == 0) == cmd.until:
                    break
                slept = yield from self._timed(self._run_list(cmd.body, stdin))
                if not (waited or slept):
                    yield Sleep(_BUSY_LOOP_COST)
            self.status = 0
        elif isinstance(cmd, _For):
            items: list[str] = []
            for raw in cmd.items if cmd.items is not None else ['"$@"']:
                items.extend((yield from self._expand(raw)))
            self.status = 0
            for item in items:
                self.env[cmd.var] = item
                yield from self._run_list(cmd.body, stdin)
        elif isinstance(cmd, _Group):
            if not cmd.subshell:
                yield from self._run_list(cmd.body, stdin)
                return
            saved = dict(self.env)
            try:
                yield from self._run_list(cmd.body, stdin)
            except _Exit as done:
                self.status = done.code
            finally:
                self.env.clear()
                self.env.update(saved)
        else:
            for cond, body in cmd.branches:
                yield from self._run_list(cond, stdin)
                if self.status == 0:
                    yield from self._run_list(body, stdin)
                    return
            if cmd.otherwise is not None:
                yield from self._run_list(cmd.otherwise, stdin)
            else:
                self.status = 0

    def _timed(self, steps: Iterator[Step]) -> Generator[Step, None, bool]:
        slept = False
        for step in steps:
            if isinstance(step, Sleep | WaitInput) and (not isinstance(step, Sleep)
                                                        or step.seconds > 0):
                slept = True
            yield step
        return slept

    # --- redirections

    def _with_redirects(self, redirects: list[_Redir], stdin: Input,
                        body: Callable[[Input], Iterator[Step]]) -> Iterator[Step]:
        """Apply ``redirects`` in order (``>f 2>&1`` and ``2>&1 >f`` differ, as in ash), then
        run ``body`` with its writes routed."""
        fds: dict[int, _Dest] = {1: _STDOUT, 2: _STDERR}
        for redirect in redirects:
            if redirect.op == "<<":
                text = redirect.target if redirect.quoted else (
                    yield from self._expand_vars(redirect.target, heredoc=True))
                stdin = Input(text)
                continue
            target = " ".join((yield from self._expand(redirect.target)))
            if redirect.op in (">&", "<&"):
                if target.isdigit() and int(target) in fds:
                    fds[redirect.fd] = fds[int(target)]
                elif target != "-" and not target.isdigit():
                    fds[redirect.fd] = ("file", self.fs.abspath(target))
                continue
            path = self.fs.abspath(target)
            if redirect.op == "<":
                content = self.fs.read(path)
                if path == "/dev/null":
                    content = ""
                if content is None:
                    yield err(f"sh: can't open {target}: no such file")
                    self.status = 1
                    return
                stdin = Input(content)
                continue
            special = {"/dev/null": ("null", ""), "/dev/stdout": _STDOUT,
                       "/dev/stderr": _STDERR}
            if path in special:
                fds[redirect.fd] = special[path]
                continue
            if self.fs.is_dir(path):
                yield err(f"sh: can't create {target}: Is a directory")
                self.status = 1
                return
            parent = path.rsplit("/", 1)[0] or "/"
            if not self.fs.is_dir(parent):
                yield err(f"sh: can't create {target}: nonexistent directory")
                self.status = 1
                return
            if (redirect.op == ">" or not self.fs.is_file(path)) \
                    and not self.fs.write(path, "", append=redirect.op == ">>"):
                yield err(f"sh: can't create {target}: {NO_SPACE}")
                self.status = 1
                return
            fds[redirect.fd] = ("file", path)
        inner = body(stdin)
        if fds[1] == _STDOUT and fds[2] == _STDERR:
            yield from inner
            return
        failed = False
        for step in inner:
            if not isinstance(step, Output):
                yield step
                continue
            dest = fds[2] if step.stderr else fds[1]
            if dest[0] == "out" or dest[0] == "err":
                yield Output(step.text, dest[0] == "err", step.newline)
            elif dest[0] == "file" and not self.fs.write(dest[1], step.data, append=True) \
                    and not failed:
                failed = True
                yield err(f"sh: write error: {NO_SPACE}")
        if failed:
            self.status = 1

    # --- expansion

    def _lookup(self, name: str) -> str:
        if name == "?":
            return str(self.status)
        if name in ("$", "!"):
            return "1"
        if name == "#":
            return "0"
        if name in ("@", "*"):
            return ""
        if name == "0":
            return "sh"
        if name.startswith("#") and len(name) > 1:
            return str(len(self.env.get(name[1:], "")))
        for op in (":-", ":=", ":+", ":?", "-", "=", "+"):
            var, found, word = name.partition(op)
            if found and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", var):
                value = self.env.get(var)
                unset = value is None or (op.startswith(":") and not value)
                if op.endswith("-"):
                    return word if unset else value or ""
                if op.endswith("="):
                    if unset:
                        self.env[var] = word
                    return self.env[var]
                if op.endswith("+"):
                    return "" if unset else word
                return value or ""
        return self.env.get(name, "")

    def _substitute(self, script: str) -> Generator[Step, None, str]:
        """``$(…)``: run the script as part of this program (its sleeps take simulated time,
        its loops are stepped under the budget); its stdout becomes the value, its stderr
        goes where the shell's does."""
        buffer: list[str] = []
        size = 0
        self._depth += 1
        try:
            if self._depth > _MAX_DEPTH:
                raise RecursionError
            for step in self._run_list(parse(script), closed_input()):
                if isinstance(step, Output) and not step.stderr:
                    buffer.append(step.data)
                    size += len(buffer[-1])
                    if size > MAX_VALUE_BYTES:
                        raise _OutOfMemory
                else:
                    yield step
        except _Exit as done:
            self.status = done.code
        except ShellError as error:
            yield err(f"sh: {error}")
            self.status = 2
        finally:
            self._depth -= 1
        return _bounded("".join(buffer).rstrip("\n"))

    def _arithmetic(self, expression: str) -> str:
        """``$((…))``: integer arithmetic over variables, as ash's ``math.c`` (C semantics:
        division truncates towards zero)."""
        try:
            tree = ast.parse(expression.strip() or "0", mode="eval")
            return str(self._arith(tree.body))
        except (SyntaxError, ValueError, ZeroDivisionError, RecursionError) as error:
            reason = "divide by zero" if isinstance(error, ZeroDivisionError) else \
                "arithmetic syntax error"
            raise ShellError(reason) from None

    def _arith(self, node: ast.expr) -> int:
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return int(node.value)
        if isinstance(node, ast.Name):
            value = self.env.get(node.id, "0").strip() or "0"
            return int(value) if re.fullmatch(r"-?\d+", value) else 0
        if isinstance(node, ast.UnaryOp):
            operand = self._arith(node.operand)
            if isinstance(node.op, ast.USub):
                return -operand
            if isinstance(node.op, ast.Not):
                return int(not operand)
            return operand
        if isinstance(node, ast.BinOp):
            left, right = self._arith(node.left), self._arith(node.right)
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Sub):
                return left - right
            if isinstance(node.op, ast.Mult):
                return left * right
            if isinstance(node.op, ast.Div | ast.FloorDiv | ast.Mod):
                if right == 0:
                    raise ZeroDivisionError
                quotient = abs(left) // abs(right) * (1 if (left < 0) == (right < 0) else -1)
                return quotient if not isinstance(node.op, ast.Mod) else left - right * quotient
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            left, right = self._arith(node.left), self._arith(node.comparators[0])
            ops: dict[type, Callable[[int, int], bool]] = {
                ast.Lt: int.__lt__, ast.LtE: int.__le__, ast.Gt: int.__gt__,
                ast.GtE: int.__ge__, ast.Eq: int.__eq__, ast.NotEq: int.__ne__}
            return int(ops[type(node.ops[0])](left, right))
        raise ValueError("unsupported")

    def _expand_vars(self, text: str, *, heredoc: bool = False) -> Generator[Step, None, str]:
        out_parts: list[str] = []
        size = 0
        i = 0
        while i < len(text):
            if text.startswith("$((", i):
                end = text.find("))", i + 3)
                if end < 0:
                    raise ShellError("syntax error: unterminated $((")
                inner = yield from self._expand_vars(text[i + 3:end])
                out_parts.append(self._arithmetic(inner.replace("&&", " and ")
                                                  .replace("||", " or ")))
                i = end + 2
                continue
            if text.startswith("$(", i):
                end = _scan_substitution(text, i + 1)
                out_parts.append((yield from self._substitute(text[i + 2:end - 1])))
                size += len(out_parts[-1])
                if size > MAX_VALUE_BYTES:
                    raise _OutOfMemory
                i = end
                continue
            if text[i] == "`":
                end = text.find("`", i + 1)
                out_parts.append((yield from self._substitute(text[i + 1:end])))
                size += len(out_parts[-1])
                if size > MAX_VALUE_BYTES:
                    raise _OutOfMemory
                i = end + 1
                continue
            if text[i] == "\\" and i + 1 < len(text) and (
                    text[i + 1] in "$`\\" or (text[i + 1] == '"' and not heredoc)):
                out_parts.append(text[i + 1])
                i += 2
                continue
            match = _VAR_RE.match(text, i) if text[i] == "$" else None
            if match:
                out_parts.append(self._lookup(match.group(1) or match.group(2) or match.group(3)))
                size += len(out_parts[-1])
                if size > MAX_VALUE_BYTES:
                    raise _OutOfMemory
                i = match.end()
                continue
            out_parts.append(text[i])
            i += 1
        return "".join(out_parts)

    def _expand(self, raw: str) -> Generator[Step, None, list[str]]:
        """Expand one word: quotes, variables, substitutions; unquoted results are split and
        globbed against the file tree."""
        if not _SPECIAL.search(raw):
            return self._glob(raw) if _GLOB.search(raw) else [raw]
        fields: list[str] = []
        current: list[str] = []
        quoted = False
        i = 0
        while i < len(raw):
            c = raw[i]
            if c == "'":
                end = raw.index("'", i + 1)
                current.append(raw[i + 1:end])
                quoted = True
                i = end + 1
            elif c == '"':
                j = i + 1
                while raw[j] != '"':
                    if raw[j] == "\\":
                        j += 1
                    elif raw.startswith("$(", j):
                        j = _scan_substitution(raw, j + 1) - 1
                    j += 1
                current.append((yield from self._expand_vars(raw[i + 1:j])))
                quoted = True
                i = j + 1
            elif c == "\\" and i + 1 < len(raw):
                current.append(raw[i + 1])
                quoted = True
                i += 2
            else:
                j = i
                while j < len(raw) and raw[j] not in "'\"\\":
                    if raw.startswith("$(", j):
                        j = _scan_substitution(raw, j + 1)
                    else:
                        j += 1
                expanded = yield from self._expand_vars(raw[i:j])
                parts = expanded.split()
                if expanded[:1].isspace() and current:
                    fields.append("".join(current))
                    current = []
                for n, part in enumerate(parts):
                    if n > 0:
                        fields.append("".join(current))
                        current = []
                    current.append(part)
                if expanded[-1:].isspace() and parts:
                    fields.append("".join(current))
                    current = []
                i = j
        if current or quoted:
            fields.append("".join(current))
        if sum(len(f) for f in fields) > MAX_VALUE_BYTES:
            raise _OutOfMemory
        return fields

    def _glob(self, pattern: str) -> list[str]:
        """Pathname expansion; a pattern that matches nothing stays as written (POSIX)."""
        absolute = self.fs.abspath(pattern)
        depth = absolute.count("/")
        candidates = {key.rstrip("/") for key in self.files}
        for key in list(candidates):
            while key.count("/") > depth:
                key = key.rsplit("/", 1)[0]
            candidates.add(key)
        if depth == 1:
            candidates |= {f"/{name}" for name in ROOT_DIRECTORIES}
        matches = sorted(c for c in candidates if c.count("/") == depth
                         and fnmatch.fnmatchcase(c, absolute)
                         and not c.rsplit("/", 1)[-1].startswith("."))
        if not matches:
            return [pattern]
        if pattern.startswith("/"):
            return matches
        prefix = self.fs.cwd.rstrip("/") + "/"
        return [m.removeprefix(prefix) for m in matches]

    # --- simple commands

    def _run_simple(self, cmd: _Simple, stdin: Input) -> Iterator[Step]:
        assignments: dict[str, str] = {}
        argv: list[str] = []
        self._last_substitution = None
        for raw in cmd.words:
            if not argv and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", raw):
                name, _, value = raw.partition("=")
                before = self.status
                self.status = 0
                assignments[name] = _bounded(
                    " ".join((yield from self._expand(value)))) if value else ""
                if "$(" in value or "`" in value:
                    self._last_substitution = self.status
                self.status = before
                continue
            argv.extend((yield from self._expand(raw)))
        if not argv:
            self.env.update(assignments)
            if cmd.redirects:
                yield from self._with_redirects(cmd.redirects, stdin, lambda _: iter(()))
                if self.status:
                    return
            self.status = self._last_substitution or 0
            return
        if assignments:
            saved = {k: self.env.get(k) for k in assignments}
            self.env.update(assignments)
        try:
            if cmd.redirects:
                yield from self._with_redirects(cmd.redirects, stdin,
                                                lambda inner: self._run_argv(argv, inner))
            else:
                yield from self._run_argv(argv, stdin)
        finally:
            if assignments:
                for key, old in saved.items():
                    if old is None:
                        self.env.pop(key, None)
                    else:
                        self.env[key] = old

    def _ctx(self, stdin: Input) -> Ctx:
        return Ctx(stdin, self.env, self.fs, self._now, self.processes, self.repository,
                   self.server, self.booted)

    def _run_argv(self, argv: list[str], stdin: Input) -> Iterator[Step]:
        name, args = argv[0].rsplit("/", 1)[-1], argv[1:]
        self.status = 0
        if name in _BUILTINS:
            yield from self._builtin(name, args, stdin)
        elif name in COMMANDS and (name != "nginx" or self.repository.endswith("/nginx")):
            self.status = yield from COMMANDS[name](self._ctx(stdin), args)
        else:
            yield err(f"sh: {argv[0]}: not found")
            self.status = 127

    def _builtin(self, name: str, args: list[str], stdin: Input) -> Iterator[Step]:
        if name == "echo":
            yield from self._echo(args)
        elif name == "printf":
            text = self._printf(args)
            if text:
                yield out(text, newline=False)
        elif name == "exit":
            raise _Exit(int(args[0]) % 256 if args and args[0].lstrip("-").isdigit()
                        else self.status)
        elif name == "export":
            for arg in args:
                var, eq, value = arg.partition("=")
                if eq:
                    self.env[var] = value
        elif name == "unset":
            for var in args:
                self.env.pop(var, None)
        elif name == "cd":
            target = self.fs.abspath(args[0] if args else self.env.get("HOME", "/root"))
            if not self.fs.is_dir(target):
                yield err(f"sh: cd: can't cd to {args[0] if args else target}: "
                          f"No such file or directory")
                self.status = 2
            else:
                self.env["OLDPWD"] = self.fs.cwd
                self.env["PWD"] = target
        elif name == "pwd":
            yield out(self.fs.cwd)
        elif name == "read":
            yield from self._read(args, stdin)
        elif name in ("wget", "curl", "nslookup"):
            yield from self._net(name, args)
        elif name in ("true", ":", "set"):
            pass
        elif name == "false":
            self.status = 1
        elif name in ("sh", "ash", "bash"):
            yield from self._sub_shell(args, stdin)
        elif name in (".", "source"):
            script = self.fs.read(self.fs.abspath(args[0])) if args else None
            if script is None:
                yield err(f"sh: .: can't open '{args[0] if args else ''}': "
                          f"No such file or directory")
                self.status = 2
                return
            yield from self._run_list(parse(script), stdin)
        elif name == "exec":
            if args:
                yield from self._run_argv(args, stdin)
                raise _Exit(self.status)
        elif name in ("which", "command", "type"):
            names = args[1:] if name == "command" and args[:1] == ["-v"] else args
            for arg in names:
                if available(arg):
                    yield out(arg if name == "command" and arg in _BUILTINS else
                              f"{arg} is a shell builtin" if name == "type" and arg in _BUILTINS
                              else f"/bin/{arg}")
                else:
                    self.status = 1
                    if name == "type":
                        yield out(f"{arg}: not found")
        else:
            if name in ("[", "[["):
                # BusyBox ash's bash compatibility (BASH_TEST2) makes [[ a regular built-in:
                # test with a closing ]] (coreutils/test.c), its words expanded as usual.
                closing = "]" if name == "[" else "]]"
                if not args or args[-1] != closing:
                    yield err(f"sh: missing {closing}")
                    self.status = 2
                    return
                args = args[:-1]
            self.status = 0 if self._test(args) else 1

    def _echo(self, args: list[str]) -> Iterator[Step]:
        """BusyBox's echo (``coreutils/echo.c`` with ``FEATURE_FANCY_ECHO``): options are
        ``-n``/``-e``/``-E`` clusters; backslash escapes only with ``-e``."""
        newline, escapes = True, False
        while args and re.fullmatch(r"-[neE]+", args[0]):
            newline = newline and "n" not in args[0]
            for flag in args[0][1:]:
                escapes = flag == "e" if flag in "eE" else escapes
            args = args[1:]
        text = " ".join(args)
        if escapes:
            text, stop = _escapes(text)
            newline = newline and not stop
        if newline:
            yield from (out(line) for line in text.split("\n"))
        elif text:
            yield out(text, newline=False)

    def _read(self, args: list[str], stdin: Input) -> Iterator[Step]:
        names = [a for a in args if not a.startswith("-")] or ["REPLY"]
        line = yield from stdin.read_line()
        if line is None:
            self.status = 1
            return
        text = line.removesuffix("\n")
        if "-r" not in args:
            text = re.sub(r"\\(.)", r"\1", text)
        parts = text.split(None, len(names) - 1) if len(names) > 1 else [text.strip()]
        for n, var in enumerate(names):
            self.env[var] = parts[n] if n < len(parts) else ""

    def _sub_shell(self, args: list[str], stdin: Input) -> Iterator[Step]:
        child = Shell(self.env, self.files, self._now, self.network, self.processes,
                      self.repository, self.server)
        child.fs = self.fs
        child._depth = self._depth + 1
        if child._depth > _MAX_DEPTH:
            raise RecursionError
        if args[:1] == ["-c"]:
            self.status = yield from child.run_script(args[1] if len(args) > 1 else "", stdin)
        elif args:
            script = self.fs.read(self.fs.abspath(args[0]))
            if script is None:
                yield err(f"sh: can't open '{args[0]}': No such file or directory")
                self.status = 2
            else:
                self.status = yield from child.run_script(script, stdin)
        else:
            self.status = yield from child.run_stdin(stdin)

    def _net(self, name: str, args: list[str]) -> Iterator[Step]:
        written = ""
        if name == "wget":
            lines, self.status, written = netutils.wget(args, self.network)
        elif name == "curl":
            lines, self.status = netutils.curl(args, self.network)
        else:
            lines, self.status = netutils.nslookup(args, self.network)
        for text, is_error in lines:
            yield err(text) if is_error else out(text)
        if written:
            path, _, content = written.partition("\0")
            if not self.fs.write(self.fs.abspath(path), content):
                yield err(f"wget: write error: {NO_SPACE}")
                self.status = 1

    def _printf(self, args: list[str]) -> str:
        if not args:
            return ""
        fmt, values = _escapes(args[0])[0], list(args[1:])
        pieces: list[str] = []

        def repl(match: re.Match[str]) -> str:
            if match.group(0) == "%%":
                return "%"
            value = values.pop(0) if values else ""
            flags, conv = match.group(1), match.group(2)
            if conv in "di":
                number = int(value) if re.fullmatch(r"[-+]?\d+", value.strip()) else 0
                return f"%{flags}d" % number
            if conv == "b":
                return _escapes(value)[0]
            return f"%{flags}s" % value

        while True:
            pieces.append(re.sub(r"%%|%([-0-9.]*)([sdib])", repl, fmt))
            if not values or "%" not in fmt:
                break
        return "".join(pieces)

    def _test(self, args: list[str]) -> bool:
        if not args:
            return False
        if args[0] == "!":
            return not self._test(args[1:])
        if "-a" in args[1:-1]:
            n = args.index("-a", 1)
            return self._test(args[:n]) and self._test(args[n + 1:])
        if "-o" in args[1:-1]:
            n = args.index("-o", 1)
            return self._test(args[:n]) or self._test(args[n + 1:])
        if len(args) == 1:
            return args[0] != ""
        if len(args) == 2:
            op, operand = args
            path = self.fs.abspath(operand) if operand else ""
            if op in ("-f", "-r", "-w"):
                return self.fs.is_file(path)
            if op == "-s":
                return bool(self.fs.read(path))
            if op == "-e":
                return bool(path) and self.fs.exists(path)
            if op == "-d":
                return bool(path) and self.fs.is_dir(path)
            if op == "-x":
                return available(operand.rsplit("/", 1)[-1])
            if op == "-z":
                return operand == ""
            if op == "-n":
                return operand != ""
            return False
        left, op, right = args[0], args[1], args[2]
        if op in ("=", "=="):
            return left == right
        if op == "!=":
            return left != right
        numeric = {"-eq": int.__eq__, "-ne": int.__ne__, "-lt": int.__lt__, "-le": int.__le__,
                   "-gt": int.__gt__, "-ge": int.__ge__}
        if op in numeric:
            try:
                return bool(numeric[op](int(left), int(right)))
            except ValueError:
                return False
        return False


_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
            "\\": "\\"}


def _escapes(text: str) -> tuple[str, bool]:
    """Backslash escapes as ``echo -e``/``printf`` read them; True when ``\\c`` stopped the
    output."""
    result: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c != "\\" or i + 1 >= len(text):
            result.append(c)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt in _ESCAPES:
            result.append(_ESCAPES[nxt])
            i += 2
        elif nxt == "c":
            return "".join(result), True
        elif nxt == "0" or nxt in "1234567":
            digits = re.match(r"0?[0-7]{0,3}", text[i + 1:])
            code = digits.group(0) if digits else "0"
            result.append(chr(int(code or "0", 8) & 0xFF))
            i += 1 + max(1, len(code))
        elif nxt == "x" and (hexa := re.match(r"[0-9a-fA-F]{1,2}", text[i + 2:])):
            result.append(chr(int(hexa.group(0), 16)))
            i += 2 + len(hexa.group(0))
        else:
            result.append(c)
            i += 1
    return "".join(result), False


# ----------------------------------------------------------------------------- a running program


class ProgramRun:
    """A program advanced lazily along simulated time, under a step budget.

    ``advance(elapsed)`` runs the steps due at or before ``elapsed`` simulated seconds after
    the container started, at most ``budget`` of them; a program still behind after that
    skips to ``elapsed`` (:attr:`skipped` counts the simulated seconds it lost, :attr:`busy`
    says the last advance used its whole budget). Log lines keep the offset at which they
    were written, so the kubelet can answer ``--timestamps`` and ``--since``.
    """

    def __init__(self, program: Program) -> None:
        self._gen = program
        self._wake = 0.0
        self.lines: deque[tuple[float, str]] = deque(maxlen=MAX_LOG_LINES)
        self._log_bytes = 0
        self._partial = ""
        self.exit_code: int | None = None
        self.exit_at: float | None = None
        #: The simulated offset of the step being run (for ``date``).
        self.offset = 0.0
        self.skipped = 0.0
        self.busy = False
        self.steps = 0

    @property
    def next_wake(self) -> float | None:
        """The offset of the next step, or None once the program has exited."""
        return None if self.exit_code is not None else self._wake

    def advance(self, elapsed: float, budget: int = STEP_BUDGET) -> int:
        """Run what is due by ``elapsed``, at most ``budget`` steps; return the steps run."""
        ran = 0
        while self.exit_code is None and self._wake <= elapsed + 1e-9:
            if ran >= budget:
                # Out of budget: the rest of this stretch of simulated time is skipped.
                self.skipped += elapsed - self._wake
                self._wake = elapsed
                self.steps += ran
                self.busy = True
                return ran
            ran += 1
            offset = self._wake
            self.offset = offset
            try:
                step = next(self._gen)
            except StopIteration as stop:
                self.exit_code = int(stop.value or 0)
                self.exit_at = offset
                self._flush(offset)
                break
            except (RecursionError, ShellError) as error:
                self._flush(offset)
                self._log(offset, f"sh: {error or 'nesting too deep'}")
                self.exit_code, self.exit_at = 2, offset
                break
            if isinstance(step, Output):
                self._write(offset, step)
            elif isinstance(step, Sleep):
                self._wake = offset + max(0.0, step.seconds)
        self.steps += ran
        self.busy = False
        return ran

    def _write(self, offset: float, step: Output) -> None:
        """The log is line-based, as the container runtime's: a write without a newline waits
        for the rest of its line (bounded; flushed at exit)."""
        if not step.newline:
            self._partial += step.text
            if "\n" not in self._partial and len(self._partial) < MAX_VALUE_BYTES:
                return
            *complete, self._partial = self._partial.split("\n")
            for line in complete:
                self._log(offset, line)
            return
        text, self._partial = self._partial + step.text, ""
        for line in text.split("\n"):
            self._log(offset, line)

    def _flush(self, offset: float) -> None:
        if self._partial:
            self._log(offset, self._partial)
            self._partial = ""

    def _log(self, offset: float, text: str) -> None:
        if len(self.lines) == self.lines.maxlen:
            self._log_bytes -= len(self.lines[0][1])
        self.lines.append((offset, text))
        self._log_bytes += len(text)
        while self._log_bytes > MAX_LOG_BYTES and self.lines:
            self._log_bytes -= len(self.lines.popleft()[1])

    def stop(self) -> None:
        self._gen.close()
