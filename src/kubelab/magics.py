"""``%kubectl`` and ``%%kubectl``: the real kubectl in a notebook cell, with errors that teach.

Why a magic rather than ``!kubectl``: ``!`` runs whatever ``kubectl`` is first on the
kernel's PATH against whatever ``KUBECONFIG`` says, and prints kubectl's errors raw on
stderr. The magic always runs the kubectl bundled with the course against the cluster
:func:`kubelab.connect.current` picked (sandbox, kind, minikube or GKE alike), shows stdout
as kubectl printed it, and shows an error as the API server's words plus one plain sentence
on what to do next, the way the workshop's instructor would say it. Nothing is written to
the stderr stream, so a magic inside an nbgrader test cell cannot cost points.

Usage::

    %kubectl get pods -o wide
    %kubectl create deployment web --image=nginx --dry-run=client -o yaml | kubectl apply -f -
    %%kubectl apply -f -
    apiVersion: v1
    kind: Namespace
    ...

A ``|`` between kubectl commands pipes one's output into the next. Only into kubectl: this
is not a shell, so ``| sed …`` (or ``grep``, ``head``…) is refused before anything runs, with
the same command in the shell-escape form ``!kubectl … | sed …``, which a shell runs. A
``%%kubectl`` cell whose body is still only comments (a fresh exercise) runs nothing and says
so, instead of kubectl's "no objects passed to apply". Mirrors nothing upstream: it is a thin
front end over the kubectl CLI.
"""

from __future__ import annotations

import html
import re
import shlex
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

# (pattern in kubectl's stderr, what to do next) — first match wins.
HINTS: tuple[tuple[str, str], ...] = (
    (r"Unable to connect to the server|connection refused|no such host|i/o timeout",
     "The cluster is not answering: re-run the lesson's first cell (it starts the sandbox), "
     "or run `kubelab sandbox status` in a terminal."),
    # Before "is invalid": re-applying a changed pod is refused with 422 "Forbidden: pod updates
    # may not change fields other than …", and editing the manifest again cannot fix that.
    (r"pod updates may not change fields",
     "A pod cannot change once created, apart from its image and a few other fields: delete "
     "it (`kubectl delete pod <name>`) and run the cell again."),
    (r"exceeded its progress deadline",
     "The rollout stopped making progress: `%why deploy/<name>` says what keeps its pods from "
     "becoming ready (often a misspelt image)."),
    (r"exceeded quota", "A ResourceQuota in this namespace refuses it: compare the requests "
     "with `kubectl describe resourcequota`, then lower them or raise the quota."),
    (r"AlreadyExists|already exists", "An object with that name already exists: use "
     "`kubectl apply` to change it, or delete it first."),
    (r"field is immutable|may not change once set",
     "That field cannot be changed in place: delete the object and create it again."),
    (r"strict decoding error|unknown field",
     "A field name is misspelt or in the wrong place: compare it with "
     "`kubectl explain <kind>.<field>`."),
    (r"is invalid|Invalid value|Required value|Unsupported value",
     "The API server rejected a field: the path before the colon says which one; fix it "
     "and run the cell again."),
    (r"error (parsing|converting) YAML|yaml: |error validating data|json: cannot unmarshal",
     "The manifest could not be parsed: check the indentation (spaces, not tabs) and "
     "that every field has a value."),
    (r"the server doesn't have a resource type",
     "kubectl does not know that resource type: `kubectl api-resources` lists them."),
    (r"NotFound|not found", "Nothing by that name here: check the spelling and namespace "
     "with `kubectl get`, or create it first."),
    (r"unknown flag|unknown shorthand flag|flag needs an argument|invalid argument",
     "kubectl does not accept that flag that way: add `--help` to the command to see how "
     "it is used."),
    (r"unknown command", "kubectl has no such command: `kubectl --help` lists them."),
    (r"Forbidden|forbidden", "The API server refused the request: read the reason above."),
    (r"timed out waiting", "It did not finish in time: look at `kubectl get pods` and "
     "`kubectl describe` for what is holding it up, then try again."),
    (r"not supported|not implemented",
     "This cluster does not support that operation: see the course README's table of "
     "what the sandbox does."),
)
DEFAULT_HINT = "Read kubectl's message above; adding `--help` to the command shows how to use it."


def hint_for(stderr: str) -> str:
    """One plain sentence on what to do next, chosen from kubectl's error text."""
    for pattern, hint in HINTS:
        if re.search(pattern, stderr):
            return hint
    return DEFAULT_HINT


class NotKubectl(ValueError):
    """A ``|`` leads into a program other than kubectl (the magic is not a shell)."""

    def __init__(self, program: str) -> None:
        super().__init__(f"%kubectl pipes only into kubectl, and `{program}` is not kubectl; "
                         "nothing was run")
        self.program = program


def split_pipeline(line: str) -> list[list[str]]:
    """``a b | kubectl c`` → ``[["a", "b"], ["c"]]`` (a leading ``kubectl`` is dropped).

    Every stage after a ``|`` must start with ``kubectl``; otherwise :class:`NotKubectl`.
    """
    lexer = shlex.shlex(line, posix=True, punctuation_chars="|")
    lexer.whitespace_split = True
    stages: list[list[str]] = [[]]
    for token in lexer:
        if token == "|":
            stages.append([])
        else:
            stages[-1].append(token)
    cleaned = []
    for i, stage in enumerate(stages):
        if stage and stage[0] == "kubectl":
            stage = stage[1:]
        elif stage and i:
            raise NotKubectl(stage[0])
        if not stage and i:
            raise ValueError("a `|` must be followed by a kubectl command")
        cleaned.append(stage)
    return cleaned


@dataclass
class Run:
    """What one magic invocation produced."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


Runner = Callable[[Sequence[str], str | None], "subprocess.CompletedProcess[str]"]


class Started:
    """A kubectl stage already running, blocked on its standard input until :meth:`finish`."""

    def __init__(self, args: Sequence[str], process: subprocess.Popen[str]) -> None:
        self.args = list(args)
        self.process = process

    def finish(self, stdin: str | None) -> subprocess.CompletedProcess[str]:
        """Feed ``stdin``, wait (as long as :func:`~kubelab.connect.kubectl_timeout` allows,
        as a stage run on its own would), and return what it printed."""
        from kubelab.connect import kubectl_timeout

        try:
            out, err = self.process.communicate(stdin or "",
                                                timeout=kubectl_timeout(self.args))
        except subprocess.TimeoutExpired:
            self.cancel()
            raise
        return subprocess.CompletedProcess(self.args, self.process.returncode, out, err)

    def cancel(self) -> None:
        """Kill it before it read anything (an earlier stage failed): it has changed nothing."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate()


Starter = Callable[[Sequence[str]], Started]


def _default_runner(args: Sequence[str], stdin: str | None) -> subprocess.CompletedProcess[str]:
    from kubelab.connect import current

    return current().kubectl(*args, input=stdin)


def _default_starter(args: Sequence[str]) -> Started:
    from kubelab.connect import current

    return Started(args, current().kubectl_started(*args))


def reads_stdin(args: Sequence[str]) -> bool:
    """Whether kubectl with ``args`` reads its objects from standard input (``-f -``)."""
    for i, arg in enumerate(args):
        if arg in ("-f", "--filename") and i + 1 < len(args) and args[i + 1] == "-":
            return True
        if arg in ("-f-", "-f=-", "--filename=-"):
            return True
    return False


def run_pipeline(line: str, stdin: str | None = None, runner: Runner | None = None,
                 starter: Starter | None = None) -> Run:
    """Run ``line`` (kubectl arguments, optionally piped into further kubectl commands).

    As a shell does, a later stage that reads ``-f -`` starts beside the first one, so its
    start-up (Go's runtime, kubectl's command tree) overlaps the stage feeding it when a core
    is free: ``create … --dry-run=client -o yaml | kubectl apply -f -``, 40 runs each
    interleaved at load 1.3, median 174 ms one after the other and 120 ms so (at load 1.5-2.2
    the two were even). Unlike a shell, a stage that fails stops the pipeline: a started stage
    is still waiting for its input then (kubectl sends nothing before it has read it), and is
    killed having done nothing. ``runner`` (tests): run the stages one after the other
    through it instead.
    """
    stages = split_pipeline(line)
    start = starter or (_default_starter if runner is None else None)
    run = runner or _default_runner
    started: dict[int, Started] = {}
    try:
        if start is not None:
            for i, stage in enumerate(stages[1:], start=1):
                if reads_stdin(stage):
                    started[i] = start(stage)
        data = stdin
        errors: list[str] = []
        proc: subprocess.CompletedProcess[str] | None = None
        for i, stage in enumerate(stages):
            waiting = started.pop(i, None)
            proc = waiting.finish(data) if waiting is not None else run(stage, data)
            if proc.stderr:
                errors.append(proc.stderr)
            if proc.returncode != 0:
                return Run(proc.returncode, proc.stdout, "".join(errors))
            data = proc.stdout
        assert proc is not None
        return Run(0, proc.stdout, "".join(errors))
    finally:
        for waiting in started.values():
            waiting.cancel()


def error_html(stderr: str, hint: str) -> str:
    return ("<div style='border-left:4px solid #cf222e;padding:4px 8px;background:#fff5f5'>"
            f"<pre style='margin:0;white-space:pre-wrap'>{html.escape(stderr.strip())}</pre>"
            f"<div style='margin-top:4px'><strong>What to do:</strong> "
            f"{html.escape(hint)}</div></div>")


def shell_form(line: str) -> str:
    """The same command as a shell escape, ``!kubectl …``, which a shell runs."""
    words = line.strip()
    return "!" + (words if words.startswith("kubectl ") else f"kubectl {words}")


def is_blank(cell: str) -> bool:
    """True when a cell body holds nothing but blank lines and ``#`` comments."""
    return all(not ln.strip() or ln.lstrip().startswith("#") for ln in cell.splitlines())


def show(result: Run, display: Callable[..., Any] | None = None,
         hint: str | None = None) -> None:
    """Print stdout; show stderr (warnings, or an error plus a hint) as rich output."""
    if result.stdout:
        print(result.stdout, end="" if result.stdout.endswith("\n") else "\n")
    if not result.stderr.strip():
        return
    if display is None:
        from IPython.display import display as ipy_display

        display = ipy_display
    if result.ok:
        display({"text/plain": result.stderr.rstrip()}, raw=True)
        return
    hint = hint or hint_for(result.stderr)
    display({"text/plain": f"{result.stderr.rstrip()}\nWhat to do: {hint}",
             "text/html": error_html(result.stderr, hint)}, raw=True)


def _refused(line: str, exc: ValueError) -> tuple[Run, str | None]:
    hint = None
    if isinstance(exc, NotKubectl):
        hint = (f"For a shell pipeline use the shell escape, which runs the same kubectl: "
                f"{shell_form(line)}")
    return Run(2, "", f"error: {exc}\n"), hint


def kubectl_line(line: str) -> None:
    """``%kubectl ARGS``: run kubectl against the current cluster and show what it says."""
    hint = None
    try:
        result = run_pipeline(line)
    except ValueError as exc:
        result, hint = _refused(line, exc)
    show(result, hint=hint)


def kubectl_cell(line: str, cell: str) -> None:
    """``%%kubectl ARGS`` with the cell's text as kubectl's standard input."""
    hint = None
    try:
        split_pipeline(line)   # refuse a pipe into another program before anything else
        if is_blank(cell):
            print(f"Not answered yet: nothing to pass to `kubectl {line.strip()}` — write "
                  "the manifest below the cell's first line, then run the cell.")
            return
        result = run_pipeline(line, stdin=cell)
    except ValueError as exc:
        result, hint = _refused(line, exc)
    show(result, hint=hint)


def why_line(line: str) -> None:
    """``%why pod/x [-n ns]`` (also ``deploy/x``, ``svc/x``, ``node/x``): why it is not
    working, in plain words (:mod:`kubelab.why`)."""
    from kubelab.why.cli import magic

    magic(line)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext kubelab.magics`` registers ``%kubectl``, ``%%kubectl`` and ``%why``."""
    ipython.register_magic_function(kubectl_line, magic_kind="line", magic_name="kubectl")
    ipython.register_magic_function(kubectl_cell, magic_kind="cell", magic_name="kubectl")
    ipython.register_magic_function(why_line, magic_kind="line", magic_name="why")
