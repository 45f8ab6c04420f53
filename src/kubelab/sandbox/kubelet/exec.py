"""``kubectl exec`` into a simulated container: the kubelet's ``/exec`` handler and CRI ``Exec``.

Upstream, ``kubectl exec`` upgrades a request to the API server, which proxies it to the
kubelet (``pkg/kubelet/server/server.go`` ``getExec``), which asks the container runtime to
start one more process in the container's namespaces (CRI ``Exec``, streamed by
``pkg/kubelet/cri/streaming``). Here the "process" is the sandbox shell
(:mod:`kubelab.sandbox.images.shell`) started with the container's environment and *its*
file system — the same mapping the container's own program writes to, with the image's own
files (:mod:`kubelab.sandbox.images.filesystems`, laid when the container started) beneath —
so ``env``, ``cat`` of a mounted Secret, ``ls``, pipelines of BusyBox applets, ``tar``
(``kubectl cp``) and ``sh -c`` scripts answer as the image would, and
``wget``/``curl``/``nslookup`` reach Services through the pod network the API server lends
the session. ``ps`` sees the container's PID namespace: PID 1 its main command. Programs the
shell does not simulate answer ``sh: NAME: not found`` on stderr with status 127.

This module is pure: :class:`ExecSession` turns the request and, for interactive sessions, the
keystrokes into shell programs and terminal output; the API server's stream handler
(:mod:`kubelab.sandbox.server.exec_stream`) moves bytes and runs programs on the clock.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from kubelab.sandbox import images
from kubelab.sandbox.fabric import ExecError
from kubelab.sandbox.images.netutils import PodNetwork
from kubelab.sandbox.images.shell import Input, Program, Shell
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
    * ``reads_stdin`` (``kubectl exec -i pod -- …`` without a terminal): the program starts
      at once and reads stdin as it arrives (:meth:`send_stdin`, :meth:`close_stdin`), so
      ``cat`` echoes each line when it comes, ``sh`` runs each command line as soon as it is
      complete, and ``tar -xmf -`` unpacks what ``kubectl cp`` streams in.
    * otherwise the program starts at once with an empty stdin.

    Simulated: the commands typed into an interactive session get an empty stdin (a real
    terminal would hand them the keys typed next).
    """

    argv: list[str]
    shell: Shell
    image: images.Image | None
    stdin: bool = False
    tty: bool = False
    prompt: str = "# "
    _line: list[str] = field(default_factory=list)
    input: Input = field(default_factory=lambda: Input(closed=False))
    _decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")("surrogateescape"))

    @property
    def interactive(self) -> bool:
        return self.tty and self.stdin and _is_shell(self.argv) and "-c" not in self.argv[1:2]

    @property
    def reads_stdin(self) -> bool:
        return self.stdin and not self.interactive

    @property
    def finished(self) -> bool:
        return self.shell.exited

    @property
    def exit_code(self) -> int:
        return self.shell.status

    def send_stdin(self, data: bytes) -> None:
        """Bytes the client sent on the stdin channel (split anywhere, even inside a
        character)."""
        self.input.feed(self._decoder.decode(data))

    def close_stdin(self) -> None:
        self.input.feed(self._decoder.decode(b"", final=True))
        self.input.close()

    def program(self, stdin_text: str = "") -> Program:
        """The non-interactive program ``argv``, reading :attr:`input` (``stdin_text`` is
        sent first and ends stdin, for callers that have it all)."""
        if stdin_text:
            self.input.feed(stdin_text)
        if not self.reads_stdin or stdin_text:
            self.input.close()
        if _is_shell(self.argv):
            rest = self.argv[1:]
            if rest[:1] == ["-c"]:
                return self.shell.run_script(rest[1] if len(rest) > 1 else "", self.input)
            if not rest:
                return self.shell.run_stdin(self.input)
        elif self.image is not None and self.image.behaviour.runner:
            # The image's own program (`python -c …`, `perl -e …`) where argv names it.
            return images.program(self.image, self.argv, [], self.shell)
        return self.shell.run_argv(self.argv, self.input)

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


def main_command(container: ContainerRecord) -> str:
    """PID 1's command line as ``ps`` shows it: ``command`` + ``args``, or the image's."""
    spec = container.spec
    argv = [str(a) for a in (spec.get("command") or [])] + [str(a) for a in
                                                          (spec.get("args") or [])]
    if not spec.get("command") and not spec.get("args") and container.image is not None:
        argv = list(container.image.behaviour.default_command)
    if not argv and container.image is not None and container.image.behaviour.http:
        argv = [container.image.ref.name.rsplit("/", 1)[-1]]
    return " ".join(argv) or "sh"


def open_session(container: ContainerRecord, argv: list[str], *, stdin: bool, tty: bool,
                 now: Callable[[], datetime], network: PodNetwork | None = None) -> ExecSession:
    """Start a process in ``container`` (the CRI's ``Exec``); raise
    :class:`~kubelab.sandbox.fabric.ExecError`."""
    if not argv:
        raise ExecError("you must specify at least 1 command")
    if not container.running:
        raise ExecError(f'container not found ("{container.name}")', 500, plain=True)
    image = container.image  # its files were laid under the container's at start
    processes = [(1, main_command(container))]
    if _is_shell(list(argv)):
        processes.append((7, " ".join(argv)))
    app = image.app if image is not None else None
    shell = Shell(dict(container.env), container.files, now=now, network=network,
                  processes=processes, repository=image.ref.name if image is not None else "",
                  server=app.server if app is not None else "", booted=container.started_at)
    busybox_like = image is not None and image.behaviour.shell
    return ExecSession(list(argv), shell, image, stdin=stdin, tty=tty,
                       prompt="/ # " if busybox_like else "# ")
