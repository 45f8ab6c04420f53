"""The streaming half of ``pods/<name>/attach``: the same WebSocket channel protocol as exec.

kubectl attaches (``kubectl attach``, and ``kubectl debug -it`` / ``kubectl run -it`` after
creating their container) with ``GET …/attach?container=…&stdin=true&stdout=true&tty=true``
over ``v5.channel.k8s.io``, exactly as it execs. What differs is the end: the kubelet's
remote-command server reports ``Success`` on the error channel once the container runtime's
``Attach`` returns, whatever the container's exit status (``ServeAttach`` in
``k8s.io/kubelet/pkg/cri/streaming/remotecommand``) — the exit status is the container's,
read from the pod's status, not the session's.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from kubelab.sandbox.clock import Clock
from kubelab.sandbox.fabric import ExecProcess
from kubelab.sandbox.server.exec_stream import STDERR, STDOUT, ExecStream


class AttachStream(ExecStream):
    """An exec stream whose closing Status is always ``Success``.

    :attr:`exit_code` is the attached shell's status when the session ended it: ``exit`` (or
    Ctrl-D) on a terminal, or the end of stdin without one (``sh`` reads EOF and exits). A
    client that hangs up a terminal session detaches: the shell keeps running.
    """

    exit_code: int | None = None

    def __init__(self, ws: web.WebSocketResponse, process: ExecProcess, clock: Clock, *,
                 tty: bool, log: Callable[[str], None]) -> None:
        super().__init__(ws, process, [], clock, tty=tty)
        self.log = log

    async def send(self, channel: int, text: str) -> None:
        if channel in (STDOUT, STDERR):
            self.log(text)  # the container's log records what its process writes
        await super().send(channel, text)

    async def session(self) -> int:
        code = await super().session()
        if self.process.finished or not self.process.interactive:
            self.exit_code = code
        return 0
