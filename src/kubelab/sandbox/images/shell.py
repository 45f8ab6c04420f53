"""A small, safe POSIX-shell interpreter for the simulated ``busybox``/``alpine`` images.

Course manifests run commands such as ``sh -c 'while true; do echo "hello $(cat
/etc/secret-volume/user)"; sleep 10; done'``. A real container would run BusyBox ``ash``; the
sandbox runs no processes, so this module interprets the subset of shell those manifests use,
against an in-memory file system (the pod's secret/configMap/emptyDir volumes, resolved by the
kubelet) and an environment (``env``/``envFrom``).

Supported: ``;``/newline lists, ``&&``/``||``, ``!``, ``while``/``until``/``for``/``if``
compound commands, single and double quotes, ``$VAR``/``${VAR}``/``${VAR:-x}``/``$?``,
``$(…)`` and backquote substitution, ``NAME=value`` assignments, redirections ``>``, ``>>``,
``2>&1`` and ``/dev/null``; built-ins ``echo``, ``printf`` (``%s``/``%d``), ``cat``, ``sleep``,
``exit``, ``date``, ``hostname``, ``env``/``printenv``, ``export``, ``true``/``false``/``:``,
``test``/``[``, ``touch``, ``rm``, ``mkdir``, ``ls``, ``pwd``, ``whoami``, ``id``, ``uname``;
``wget``, ``curl`` and ``nslookup`` when the shell is given a pod network (:mod:`.netutils`). Text tools (``grep``, ``wc``…), pipes
and background jobs are not supported and say so. Nothing here touches the host: no
``subprocess``, no real files, no ``eval`` of Python.

Execution is a generator of :class:`Output` and :class:`Sleep` steps whose return value is the
exit status, so the kubelet can run a container's program lazily on the simulated clock (see
:class:`ProgramRun`); command substitutions are steps of the same generator, so their sleeps
take simulated time and their loops are stepped like any other. A loop iteration that never
sleeps costs one simulated millisecond.

Simulated programs share one event loop with the API server, so they run under two budgets a
real container would get from its cgroup:

* **CPU**: :meth:`ProgramRun.advance` runs at most ``budget`` steps per call. A program that
  is still behind when its budget is spent (a ``while true; do :; done`` loop at any speed)
  *skips* the rest of that simulated time instead of running it, as a container throttled by
  its CPU quota gets less done than the clock allows. Sleeping programs (the course's
  ``echo …; sleep 10`` loops) never come near the budget.
* **Memory**: a variable, an expansion, a command substitution's output or a printed line
  longer than :data:`MAX_VALUE_BYTES` ends the shell with ``sh: out of memory`` (BusyBox's
  wording when ``malloc`` fails) and status 1; a write that would grow a file past
  :data:`MAX_FILE_BYTES`, or what the shell wrote in all past :data:`MAX_WRITTEN_BYTES`, fails
  with ``No space left on device``; the log keeps the last :data:`MAX_LOG_BYTES` (the
  kubelet's ``containerLogMaxSize``).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from kubelab.sandbox.images import netutils
from kubelab.sandbox.images.netutils import PodNetwork

MAX_LOG_LINES = 10_000
#: The log's size cap, as the kubelet's default ``containerLogMaxSize`` (10Mi) rotates it.
MAX_LOG_BYTES = 10 * 1024 * 1024
#: The longest value the shell holds (a variable, an expanded word, a substitution's output).
MAX_VALUE_BYTES = 1024 * 1024
#: The largest file a program may write, and all it may write (an emptyDir-like budget).
MAX_FILE_BYTES = 1024 * 1024
MAX_WRITTEN_BYTES = 8 * 1024 * 1024
MAX_FILES = 10_000
#: Steps :meth:`ProgramRun.advance` runs per call before it skips simulated time.
STEP_BUDGET = 200
#: What ``ls /`` shows besides the directories of mounted files: a Linux image's root.
ROOT_DIRECTORIES = frozenset({"bin", "dev", "etc", "home", "lib", "proc", "root", "run", "sbin",
                              "sys", "tmp", "usr", "var"})
_BUSY_LOOP_COST = 0.001


@dataclass(frozen=True)
class Output:
    """One line written to stdout, or to stderr when ``stderr`` (both go to the container
    log; an exec session sends them on separate channels)."""

    text: str
    stderr: bool = False


@dataclass(frozen=True)
class Sleep:
    seconds: float


Step = Output | Sleep
Program = Generator[Step, None, int]


class ShellError(Exception):
    """A syntax error or an unsupported construct; reported as ``sh: …`` with status 2."""


class _Exit(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class _OutOfMemory(Exception):
    """A value outgrew :data:`MAX_VALUE_BYTES`: the shell dies like ash when malloc fails."""


def _bounded(text: str) -> str:
    if len(text) > MAX_VALUE_BYTES:
        raise _OutOfMemory
    return text


OUT_OF_MEMORY = "sh: out of memory"
NO_SPACE = "No space left on device"


# ----------------------------------------------------------------------------- tokens

_OPERATORS = ("&&", "||", ";;", ">>", "2>&1", "2>", ";", "\n", "|", "&", ">", "<", "(", ")")
_KEYWORDS = {"while", "until", "do", "done", "for", "in", "if", "then", "elif", "else", "fi",
             "!"}


@dataclass(frozen=True)
class _Tok:
    kind: str  # "word" or "op"
    text: str


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


def tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
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
        else:
            for op in _OPERATORS:
                if text.startswith(op, i) and not (op in ("2>", "2>&1") and word):
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


@dataclass
class _Simple:
    words: list[str]
    redirects: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _While:
    cond: list[_AndOr]
    body: list[_AndOr]
    until: bool = False


@dataclass
class _For:
    var: str
    items: list[str]
    body: list[_AndOr]


@dataclass
class _If:
    branches: list[tuple[list[_AndOr], list[_AndOr]]]
    otherwise: list[_AndOr] | None


_Command = _Simple | _While | _For | _If


@dataclass
class _AndOr:
    first: _Command
    rest: list[tuple[str, _Command]]
    negate: bool = False


class _Parser:
    def __init__(self, tokens: list[_Tok]) -> None:
        self.toks = tokens
        self.pos = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def is_word(self, text: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "word" and tok.text == text

    def expect_word(self, text: str) -> None:
        if not self.is_word(text):
            found = self.peek()
            raise ShellError(f"syntax error: unexpected {found.text if found else 'end of file'!r}"
                             f" (expecting \"{text}\")")
        self.pos += 1

    def skip_separators(self) -> None:
        while (tok := self.peek()) is not None and tok.kind == "op" and tok.text in (";", "\n"):
            self.pos += 1

    def parse_list(self, *, stop: tuple[str, ...] = ()) -> list[_AndOr]:
        items: list[_AndOr] = []
        self.skip_separators()
        while (tok := self.peek()) is not None:
            if tok.kind == "word" and tok.text in stop:
                break
            items.append(self.parse_and_or())
            tok = self.peek()
            if tok is not None and tok.kind == "op" and tok.text in ("&", "|"):
                kind = "pipes" if tok.text == "|" else "background jobs"
                raise ShellError(f"{kind} are not supported by the sandbox shell")
            self.skip_separators()
        return items

    def parse_and_or(self) -> _AndOr:
        negate = False
        if self.is_word("!"):
            self.pos += 1
            negate = True
        node = _AndOr(self.parse_command(), [], negate)
        while (tok := self.peek()) is not None and tok.kind == "op" and tok.text in ("&&", "||"):
            self.pos += 1
            while (nl := self.peek()) is not None and nl.kind == "op" and nl.text == "\n":
                self.pos += 1
            node.rest.append((tok.text, self.parse_command()))
        return node

    def parse_command(self) -> _Command:
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
            items: list[str] = []
            self.skip_separators()
            if self.is_word("in"):
                self.pos += 1
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
        if tok.kind == "word" and tok.text in _KEYWORDS:
            raise ShellError(f"syntax error: unexpected \"{tok.text}\"")
        simple = _Simple([])
        while (tok := self.peek()) is not None:
            if tok.kind == "word":
                simple.words.append(tok.text)
                self.pos += 1
            elif tok.text in (">", ">>", "<", "2>"):
                self.pos += 1
                target = self.peek()
                if target is None or target.kind != "word":
                    raise ShellError("syntax error: missing redirection target")
                simple.redirects.append((tok.text, target.text))
                self.pos += 1
            elif tok.text == "2>&1":
                self.pos += 1
            elif tok.text in ("(", ")"):
                raise ShellError("subshells are not supported by the sandbox shell")
            else:
                break
        if not simple.words and not simple.redirects:
            raise ShellError(f"syntax error: unexpected \"{tok.text if tok else 'end of file'}\"")
        return simple


def parse(script: str) -> list[_AndOr]:
    """Parse ``script``; raise :class:`ShellError` for syntax the sandbox does not support."""
    return _Parser(tokenize(script)).parse_list()


# ----------------------------------------------------------------------------- execution

_SPECIAL = re.compile(r"[$`'\"\\]")
_VAR_RE = re.compile(r"\$(?:\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*)|([?$#0-9]))")


class Shell:
    """One shell process: an environment, a file system and a clock offset for ``date``.

    Args:
        env: environment variables (the container's ``env``/``envFrom`` plus ``HOSTNAME``…).
        files: path → content; mutated by ``touch``/``rm``/redirections.
        now: returns the wall-clock time at the program's current simulated offset.
        network: the pod network ``wget``/``curl``/``nslookup`` use (``kubectl exec``
            sessions only; see :mod:`.netutils`).
    """

    def __init__(self, env: dict[str, str], files: dict[str, str],
                 now: Callable[[], datetime] | None = None,
                 network: PodNetwork | None = None) -> None:
        self.env = dict(env)
        self.files = files
        self.network = network
        self.status = 0
        #: Set when the ``exit`` built-in ended the shell (an interactive session closes).
        self.exited = False
        self._now = now or (lambda: datetime(2026, 1, 1, tzinfo=UTC))
        self._capture: list[list[str]] = []
        #: Bytes this shell added to the file system (bounded by MAX_WRITTEN_BYTES).
        self._written = 0

    # --- program entry points

    def run_script(self, script: str) -> Program:
        """Run ``sh -c script``; the generator's return value is the exit status."""
        try:
            tree = parse(script)
        except ShellError as err:
            yield Output(f"sh: {err}", stderr=True)
            return 2
        try:
            yield from self._run_list(tree)
        except _Exit as done:
            self.exited = True
            self.status = done.code
            return done.code
        except _OutOfMemory:
            return (yield from self._out_of_memory())
        return self.status

    def run_argv(self, argv: list[str]) -> Program:
        """Run an ``exec``-form command (``["sleep", "3600"]``) without shell parsing."""
        try:
            yield from self._run_words(argv, [], expanded=True)
        except _Exit as done:
            self.exited = True
            return done.code
        except _OutOfMemory:
            return (yield from self._out_of_memory())
        return self.status

    def _out_of_memory(self) -> Program:
        self._capture.clear()
        yield Output(OUT_OF_MEMORY, stderr=True)
        self.exited = True
        self.status = 1
        return 1

    # --- structure

    def _run_list(self, items: list[_AndOr]) -> Iterator[Step]:
        for item in items:
            yield from self._run_and_or(item)

    def _run_and_or(self, node: _AndOr) -> Iterator[Step]:
        yield from self._run_command(node.first)
        for op, cmd in node.rest:
            if (op == "&&") == (self.status == 0):
                yield from self._run_command(cmd)
        if node.negate:
            self.status = 0 if self.status else 1

    def _run_command(self, cmd: _Command) -> Iterator[Step]:
        if isinstance(cmd, _Simple):
            yield from self._run_words(cmd.words, cmd.redirects)
        elif isinstance(cmd, _While):
            while True:
                yield from self._run_list(cmd.cond)
                if (self.status == 0) == cmd.until:
                    break
                slept = yield from self._timed(self._run_list(cmd.body))
                if not slept:
                    yield Sleep(_BUSY_LOOP_COST)
            self.status = 0
        elif isinstance(cmd, _For):
            items: list[str] = []
            for raw in cmd.items:
                items.extend((yield from self._expand(raw)))
            for item in items:
                self.env[cmd.var] = item
                yield from self._run_list(cmd.body)
        else:
            for cond, body in cmd.branches:
                yield from self._run_list(cond)
                if self.status == 0:
                    yield from self._run_list(body)
                    return
            if cmd.otherwise is not None:
                yield from self._run_list(cmd.otherwise)
            else:
                self.status = 0

    def _timed(self, steps: Iterator[Step]) -> Generator[Step, None, bool]:
        slept = False
        for step in steps:
            if isinstance(step, Sleep) and step.seconds > 0:
                slept = True
            yield step
        return slept

    # --- expansion

    def _lookup(self, name: str) -> str:
        if name == "?":
            return str(self.status)
        if name == "$":
            return "1"
        if name == "#":
            return "0"
        if name == "0":
            return "sh"
        if ":-" in name:
            var, _, default = name.partition(":-")
            return self.env.get(var) or default
        if ":=" in name:
            var, _, default = name.partition(":=")
            if not self.env.get(var):
                self.env[var] = default
            return self.env[var]
        return self.env.get(name, "")

    def _substitute(self, script: str) -> Generator[Step, None, str]:
        """``$(…)``: run the script as part of this program (its sleeps take simulated time,
        its loops are stepped under the budget); its stdout becomes the value."""
        saved = self.status
        buffer: list[str] = []
        self._capture.append(buffer)
        try:
            for step in self._run_list(parse(script)):
                if isinstance(step, Output):
                    buffer.append(step.text)
                else:
                    yield step
        except _Exit:
            pass
        except ShellError as err:
            buffer.append(f"sh: {err}")
        finally:
            if self._capture and self._capture[-1] is buffer:
                self._capture.pop()
        self.status = saved
        return _bounded("\n".join(buffer).rstrip("\n"))

    def _expand_vars(self, text: str) -> Generator[Step, None, str]:
        out: list[str] = []
        size = 0
        i = 0
        while i < len(text):
            if text.startswith("$(", i):
                end = _scan_substitution(text, i + 1)
                out.append((yield from self._substitute(text[i + 2:end - 1])))
                size += len(out[-1])
                if size > MAX_VALUE_BYTES:
                    raise _OutOfMemory
                i = end
                continue
            if text[i] == "`":
                end = text.find("`", i + 1)
                out.append((yield from self._substitute(text[i + 1:end])))
                size += len(out[-1])
                if size > MAX_VALUE_BYTES:
                    raise _OutOfMemory
                i = end + 1
                continue
            if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in '$`"\\':
                out.append(text[i + 1])
                i += 2
                continue
            match = _VAR_RE.match(text, i) if text[i] == "$" else None
            if match:
                out.append(self._lookup(match.group(1) or match.group(2) or match.group(3)))
                size += len(out[-1])
                if size > MAX_VALUE_BYTES:
                    raise _OutOfMemory
                i = match.end()
                continue
            out.append(text[i])
            i += 1
        return "".join(out)

    def _expand(self, raw: str) -> Generator[Step, None, list[str]]:
        """Expand one word: quotes, variables, substitutions; unquoted results are split."""
        if not _SPECIAL.search(raw):
            return [raw]
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

    # --- simple commands

    def _emit(self, text: str) -> Iterator[Step]:
        if self._capture:
            buffer = self._capture[-1]
            buffer.append(_bounded(text))
            # A capture (``$(…)``, ``> file``) grows by a line per step: stop it at the cap.
            if len(buffer) % 64 == 0 and sum(len(t) + 1 for t in buffer) > MAX_VALUE_BYTES:
                raise _OutOfMemory
        else:
            yield Output(_bounded(text))

    def _error(self, text: str) -> Iterator[Step]:
        """A diagnostic on stderr: ``>`` redirects only stdout, so it is never captured."""
        yield Output(text, stderr=True)

    def _run_words(self, words: list[str], redirects: list[tuple[str, str]], *,
                   expanded: bool = False) -> Iterator[Step]:
        assignments: dict[str, str] = {}
        argv: list[str] = []
        for raw in words:
            if not argv and not expanded and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", raw):
                name, _, value = raw.partition("=")
                assignments[name] = _bounded(
                    " ".join((yield from self._expand(value)))) if value else ""
                continue
            argv.extend([raw] if expanded else (yield from self._expand(raw)))
        if not argv:
            self.env.update(assignments)
            self.status = 0
            return
        target: tuple[str, str] | None = None
        for op, raw_target in redirects:
            path = self._absolute(" ".join((yield from self._expand(raw_target))))
            if op in (">", ">>"):
                target = (op, path)
                if op == ">" and path != "/dev/null" and not self._store(path, "", ""):
                    yield from self._error(f"sh: can't create {raw_target}: {NO_SPACE}")
                    self.status = 1
                    return
            elif op == "<" and path not in self.files:
                yield from self._error(f"sh: can't open {raw_target}: no such file")
                self.status = 1
                return
        if target is None:
            yield from self._builtin(argv)
            return
        buffer: list[str] = []
        self._capture.append(buffer)
        try:
            yield from self._builtin(argv)
        finally:
            self._capture.pop()
        if target[1] != "/dev/null":
            text = "".join(line + "\n" for line in buffer)
            if not self._store(target[1], self.files.get(target[1], ""), text):
                yield from self._error(f"sh: write error: {NO_SPACE}")
                self.status = 1

    def _builtin(self, argv: list[str]) -> Iterator[Step]:
        name, args = argv[0].rsplit("/", 1)[-1], argv[1:]
        self.status = 0
        if name == "echo":
            newline = True
            escapes = False
            while args and args[0] in ("-n", "-e", "-ne", "-en"):
                newline = newline and "n" not in args[0]
                escapes = escapes or "e" in args[0]
                args = args[1:]
            text = " ".join(args)
            if escapes:
                text = text.replace("\\n", "\n").replace("\\t", "\t")
            yield from self._write(text, newline)
        elif name == "printf":
            yield from self._write(self._printf(args), False)
        elif name == "cat":
            for path in args:
                content = self.files.get(self._absolute(path))
                if content is None:
                    yield from self._error(f"cat: can't open '{path}': No such file or directory")
                    self.status = 1
                    continue
                yield from self._write(content.removesuffix("\n"), content.endswith("\n"))
        elif name == "sleep":
            total = 0.0
            for arg in args:
                total += _parse_sleep(arg)
            if not args:
                yield from self._error("sleep: missing operand")
                self.status = 1
            else:
                yield Sleep(total)
        elif name == "exit":
            raise _Exit(int(args[0]) % 256 if args and args[0].lstrip("-").isdigit()
                        else self.status)
        elif name == "date":
            yield from self._emit(self._now().astimezone(UTC).strftime("%a %b %e %H:%M:%S UTC %Y"))
        elif name == "hostname":
            yield from self._emit(self.env.get("HOSTNAME", "localhost"))
        elif name in ("env", "printenv"):
            if args:
                for var in args:
                    if var in self.env:
                        yield from self._emit(self.env[var])
                    else:
                        self.status = 1
            else:
                for key in sorted(self.env):
                    yield from self._emit(f"{key}={self.env[key]}")
        elif name == "export":
            for arg in args:
                var, eq, value = arg.partition("=")
                if eq:
                    self.env[var] = value
        elif name == "pwd":
            yield from self._emit(self.env.get("PWD", "/"))
        elif name == "whoami":
            yield from self._emit("root")
        elif name == "id":
            yield from self._emit("uid=0(root) gid=0(root) groups=0(root)")
        elif name == "uname":
            yield from self._emit("Linux" if args in ([], ["-s"]) else
                                  f"Linux {self.env.get('HOSTNAME', 'localhost')} 6.8.0 x86_64")
        elif name in ("wget", "curl", "nslookup"):
            yield from self._net(name, args)
        elif name in ("true", ":"):
            pass
        elif name == "false":
            self.status = 1
        elif name in ("test", "["):
            if name == "[":
                if not args or args[-1] != "]":
                    yield from self._error("sh: missing ]")
                    self.status = 2
                    return
                args = args[:-1]
            self.status = 0 if self._test(args) else 1
        elif name == "touch":
            for path in args:
                absolute = self._absolute(path)
                if absolute not in self.files and not self._store(absolute, "", ""):
                    yield from self._error(f"touch: {path}: {NO_SPACE}")
                    self.status = 1
        elif name == "rm":
            for path in (a for a in args if not a.startswith("-")):
                if self.files.pop(self._absolute(path), None) is None and "-f" not in args:
                    yield from self._error(f"rm: can't remove '{path}': No such file or directory")
                    self.status = 1
        elif name == "mkdir":
            pass
        elif name == "ls":
            paths = [a for a in args if not a.startswith("-")] or ["."]
            for path in paths:
                absolute = self._absolute(path)
                prefix = absolute.rstrip("/") + "/"
                names = {p[len(prefix):].split("/")[0] for p in self.files
                         if p.startswith(prefix)}
                if absolute == "/":
                    names |= ROOT_DIRECTORIES
                if absolute in self.files:
                    yield from self._emit(path)
                elif names:
                    if len(paths) > 1:
                        yield from self._emit(f"{path}:")
                    for entry in sorted(names):
                        yield from self._emit(entry)
                else:
                    yield from self._error(f"ls: {path}: No such file or directory")
                    self.status = 1
        else:
            yield from self._error(f"sh: {argv[0]}: not found")
            self.status = 127

    def _net(self, name: str, args: list[str]) -> Iterator[Step]:
        written = ""
        if name == "wget":
            lines, self.status, written = netutils.wget(args, self.network)
        elif name == "curl":
            lines, self.status = netutils.curl(args, self.network)
        else:
            lines, self.status = netutils.nslookup(args, self.network)
        for text, is_error in lines:
            yield from (self._error(text) if is_error else self._emit(text))
        if written:
            path, _, content = written.partition("\0")
            if not self._store(self._absolute(path), "", content):
                yield from self._error(f"wget: write error: {NO_SPACE}")
                self.status = 1

    def _store(self, path: str, old: str, added: str) -> bool:
        """Write ``old + added`` to ``path`` unless a storage limit forbids it."""
        if len(old) + len(added) > MAX_FILE_BYTES:
            return False
        if path not in self.files and len(self.files) >= MAX_FILES:
            return False
        grown = len(old) + len(added) - len(self.files.get(path, ""))
        if grown > 0:
            if self._written + grown > MAX_WRITTEN_BYTES:
                return False
            self._written += grown
        self.files[path] = old + added
        return True

    def _absolute(self, path: str) -> str:
        """Paths are kept absolute; the working directory is ``PWD`` (``/`` by default)."""
        if path.startswith("/"):
            return path
        cwd = self.env.get("PWD", "/").rstrip("/")
        rest = "" if path in (".", "./") else path.removeprefix("./")
        return f"{cwd}/{rest}" if rest else (cwd or "/")

    def _write(self, text: str, newline: bool) -> Iterator[Step]:
        # The log is line-based: a trailing partial line is still shown as a line.
        lines = _bounded(text).split("\n")
        if not newline and lines and lines[-1] == "":
            lines.pop()
        for line in lines:
            yield from self._emit(line)

    def _printf(self, args: list[str]) -> str:
        if not args:
            return ""
        fmt, values = args[0], list(args[1:])
        fmt = fmt.replace("\\n", "\n").replace("\\t", "\t")

        def repl(match: re.Match[str]) -> str:
            if match.group(0) == "%%":
                return "%"
            value = values.pop(0) if values else ""
            if match.group(1) == "d":
                return str(int(value) if value.lstrip("-").isdigit() else 0)
            return value

        return re.sub(r"%%|%([sd])", repl, fmt)

    def _test(self, args: list[str]) -> bool:
        if not args:
            return False
        if args[0] == "!":
            return not self._test(args[1:])
        if len(args) == 1:
            return args[0] != ""
        if len(args) == 2:
            op, operand = args
            if op in ("-f", "-e", "-r", "-s"):
                path = self._absolute(operand)
                return path in self.files and (op != "-s" or bool(self.files[path]))
            if op == "-d":
                return any(p.startswith(self._absolute(operand).rstrip("/") + "/")
                           for p in self.files)
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


def _parse_sleep(arg: str) -> float:
    units = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
    if arg and arg[-1] in units:
        return float(arg[:-1]) * units[arg[-1]]
    try:
        return float(arg)
    except ValueError:
        return 0.0


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
                break
            except (RecursionError, ShellError) as err:
                self._log(offset, f"sh: {err or 'nesting too deep'}")
                self.exit_code, self.exit_at = 2, offset
                break
            if isinstance(step, Output):
                self._log(offset, step.text)
            else:
                self._wake = offset + max(0.0, step.seconds)
        self.steps += ran
        self.busy = False
        return ran

    def _log(self, offset: float, text: str) -> None:
        if len(self.lines) == self.lines.maxlen:
            self._log_bytes -= len(self.lines[0][1])
        self.lines.append((offset, text))
        self._log_bytes += len(text)
        while self._log_bytes > MAX_LOG_BYTES and self.lines:
            self._log_bytes -= len(self.lines.popleft()[1])

    def stop(self) -> None:
        self._gen.close()
