"""``kubectl exec`` into a simulated container: the kubelet's ``/exec`` handler and CRI ``Exec``.

Upstream, ``kubectl exec`` upgrades a request to the API server, which proxies it to the
kubelet (``pkg/kubelet/server/server.go`` ``getExec``), which asks the container runtime to
start one more process in the container's namespaces (CRI ``Exec``, streamed by
``pkg/kubelet/cri/streaming``). Here the "process" is the sandbox shell
(:mod:`kubelab.sandbox.images.shell`) started with the container's environment and *its*
file system — the same mapping the container's own program writes to — so ``env``, ``cat`` of
a mounted Secret, ``ls``, ``echo`` and ``sh -c`` scripts answer as the image would, and
``wget``/``curl``/``nslookup`` reach Services through the pod network the API server lends
the session. Programs the shell does not simulate (``grep``, ``ps``…) answer "not found"
with status 127.

This module is pure: :class:`ExecSession` turns the request and, for interactive sessions, the
keystrokes into shell programs and terminal output; the API server's stream handler
(:mod:`kubelab.sandbox.server.exec_stream`) moves bytes and runs programs on the clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from kubelab.sandbox import images
from kubelab.sandbox.fabric import ExecError
from kubelab.sandbox.images.netutils import PodNetwork, text_lines
from kubelab.sandbox.images.shell import Output, Program, Shell
from kubelab.sandbox.kubelet.runtime import ContainerRecord

SHELLS = ("sh", "ash", "bash")
#: Terminal control bytes an interactive session understands (a tty's line discipline).
_CTRL_C, _CTRL_D, _BACKSPACES, _NEWLINES = "\x03", "\x04", ("\x7f", "\b"), ("\r", "\n")


def _is_shell(argv: list[str]) -> bool:
    return bool(argv) and argv[0].rsplit("/", 1)[-1] in SHELLS


@dataclass
class ExecSession:
    """One exec'd process in a container.

    * ``interactive`` (a bare shell with stdin and a tty: ``kubectl exec -it pod -- sh``):
      :meth:`feed` echoes keystrokes like a terminal in cooked mode and returns each
      completed line as a program; the session ends on ``exit`` or Ctrl-D.
    * ``reads_stdin`` (``kubectl exec -i pod -- sh`` with a script piped in, or ``cat``):
      the program starts once stdin is closed, from what was sent (:meth:`program`).
    * otherwise the program starts at once.
    """

    argv: list[str]
    shell: Shell
    image: images.Image | None
    stdin: bool = False
    tty: bool = False
    prompt: str = "# "
    _line: list[str] = field(default_factory=list)

    @property
    def interactive(self) -> bool:
        return self.tty and self.stdin and _is_shell(self.argv) and "-c" not in self.argv[1:2]

    @property
    def reads_stdin(self) -> bool:
        if not self.stdin or self.interactive:
            return False
        name = self.argv[0].rsplit("/", 1)[-1]
        return (name in SHELLS and "-c" not in self.argv[1:2]) or (name == "cat"
                                                                    and len(self.argv) == 1)

    @property
    def finished(self) -> bool:
        return self.shell.exited

    @property
    def exit_code(self) -> int:
        return self.shell.status

    def program(self, stdin_text: str = "") -> Program:
        """The non-interactive program: ``argv`` (and, when it reads stdin, what was sent)."""
        if self.reads_stdin:
            if self.argv[0].rsplit("/", 1)[-1] == "cat":
                return _echo(stdin_text)
            return self.shell.run_script(stdin_text)
        if self.image is not None:
            return images.program(self.image, self.argv, [], self.shell)
        return self.shell.run_argv(self.argv)

    def feed(self, keys: str) -> list[str | Program]:
        """Keystrokes in; terminal output (str) and programs for completed lines out, in
        order. After a program runs, the caller writes :attr:`prompt` unless
        :attr:`finished`."""
        out: list[str | Program] = []
        for key in keys:
            if self.finished:
                break
            if key in _NEWLINES:
                line = "".join(self._line)
                self._line.clear()
                out.append("\r\n")
                if line.strip():
                    out.append(self.shell.run_script(line))
                else:
                    out.append(self.prompt)
            elif key == _CTRL_C:
                self._line.clear()
                out.append("^C\r\n" + self.prompt)
            elif key == _CTRL_D:
                if not self._line:
                    out.append("exit\r\n")
                    out.append(self.shell.run_script("exit"))
            elif key in _BACKSPACES:
                if self._line:
                    self._line.pop()
                    out.append("\b \b")
            elif key == "\x1b" or (key < " " and key != "\t"):
                continue  # escape sequences and other controls: not a line editor
            else:
                self._line.append(key)
                out.append(key)
        return out


def _echo(text: str) -> Program:
    for line in text_lines(text):
        yield Output(line)
    return 0


def open_session(container: ContainerRecord, argv: list[str], *, stdin: bool, tty: bool,
                 now: Callable[[], datetime], network: PodNetwork | None = None) -> ExecSession:
    """Start a process in ``container`` (the CRI's ``Exec``); raise
    :class:`~kubelab.sandbox.fabric.ExecError`."""
    if not argv:
        raise ExecError("you must specify at least 1 command")
    if not container.running:
        raise ExecError(f'unable to upgrade connection: container not found ("{container.name}")')
    shell = Shell(dict(container.env), container.files, now=now, network=network)
    image = container.image
    busybox_like = image is not None and image.behaviour.shell
    return ExecSession(list(argv), shell, image, stdin=stdin, tty=tty,
                       prompt="/ # " if busybox_like else "# ")
