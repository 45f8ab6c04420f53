"""``kubectl attach`` (and ``kubectl debug -it``, ``kubectl run -it``): the kubelet's ``/attach``.

Upstream, attach connects the client to the streams of a container's *main* process (CRI
``Attach``, ``pkg/kubelet/cri/streaming``), where exec starts a new one. Two kinds of
simulated container are attachable:

- an *interactive* shell (``stdin: true`` and a bare ``sh``: what ``kubectl debug -it
  --image=busybox`` starts in its ephemeral container): the attached session is that shell —
  it reads the client's stdin, writes to its stdout, and when it exits (``exit``, Ctrl-D, or
  the end of stdin) the container terminates with its status;
- any other running container: the session follows what the process writes (its log, from
  the start, as a container attached before it printed would see it) until the container
  stops; stdin is not read.

This module is pure; :mod:`kubelab.sandbox.server.attach_stream` moves the bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from kubelab.sandbox.clock import Clock
from kubelab.sandbox.fabric import ExecError, ExecProcess
from kubelab.sandbox.images.netutils import PodNetwork
from kubelab.sandbox.images.shell import Output, Program, Sleep
from kubelab.sandbox.kubelet.exec import open_session
from kubelab.sandbox.kubelet.runtime import ContainerRecord

#: Simulated seconds between two looks at a followed container's output.
FOLLOW_POLL = 0.5


def shell_argv(container: ContainerRecord) -> list[str]:
    """The interactive shell's argv as the container runtime started it."""
    spec = container.spec
    command = [str(a) for a in spec.get("command") or []]
    args = [str(a) for a in spec.get("args") or []]
    if command:
        return command + args
    if container.image is not None:
        behaviour = container.image.behaviour
        return [*behaviour.entrypoint, *(args or behaviour.default_command)] or ["sh"]
    return args or ["sh"]


@dataclass
class OutputFollower:
    """An attached session to a container whose process is not a shell reading stdin."""

    container: ContainerRecord
    clock: Clock
    prompt: str = ""
    _finished: bool = False
    _exit: int = 0

    @property
    def interactive(self) -> bool:
        return False

    @property
    def reads_stdin(self) -> bool:
        return False

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def exit_code(self) -> int:
        return self._exit

    def send_stdin(self, data: bytes) -> None:
        """The process does not read stdin (the container was not started with it)."""

    def close_stdin(self) -> None:
        """Nothing to close."""

    def feed(self, keys: str) -> list[str | Program]:
        return []

    def _lines(self) -> list[str]:
        c = self.container
        if c.run is not None and c.started_at is not None and c.running:
            c.run.advance(self.clock.sim_elapsed(c.started_at))
        return [line.text for line in c.all_logs(self.clock)]

    def program(self, stdin_text: str = "") -> Program:
        sent = 0
        while True:
            running = self.container.running  # before reading: its last lines are read too
            lines = self._lines()
            new, sent = lines[sent:], len(lines)
            for text in new:
                yield Output(text)
            if not running:
                self._finished = True
                self._exit = self.container.exit_code or 0
                return self._exit
            yield Sleep(FOLLOW_POLL)


def open_attach(container: ContainerRecord, *, stdin: bool, tty: bool, clock: Clock,
                now: Callable[[], datetime],
                network: PodNetwork | None = None) -> ExecProcess:
    """Attach to ``container``'s process (the CRI's ``Attach``); raise :class:`ExecError`
    (plain text, as the kubelet answers) when it is not running."""
    if not container.running:
        raise ExecError(f'container not found ("{container.name}")', 500, plain=True)
    if container.interactive:
        return open_session(container, shell_argv(container), stdin=stdin, tty=tty, now=now,
                            network=network)
    return OutputFollower(container, clock)
