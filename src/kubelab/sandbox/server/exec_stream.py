"""The streaming half of ``pods/<name>/exec``: the WebSocket channel protocol kubectl speaks.

Mirrors what a real ``kubectl exec`` goes through — the API server's upgrade-aware proxy and
the kubelet's remote-command server (``k8s.io/apimachinery/pkg/util/remotecommand``; the
client side is ``client-go/tools/remotecommand/websocket.go``). The client offers the
subprotocol ``v5.channel.k8s.io`` (kubectl ≥ 1.30, the Python client's ``stream()``) or
``v4.channel.k8s.io``. Every binary message starts with a channel byte: 0 stdin, 1 stdout,
2 stderr, 3 error (one JSON ``Status`` when the process ends: ``Success``, or
``NonZeroExitCode`` with the exit code as a cause, which kubectl turns into its own exit
code), 4 terminal resize, 255 close (v5 only: the client has no more stdin).

SPDY, kubectl's fallback when the WebSocket upgrade fails, is not spoken: such a request gets
a Status that says so. Validation errors (no such container, pod not scheduled…) are answered
to both attempts alike, so kubectl prints them as a real cluster's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from aiohttp import WSMsgType, web

from kubelab.sandbox.clock import Clock, hold
from kubelab.sandbox.fabric import ExecProcess
from kubelab.sandbox.images.shell import Output, Program, Sleep

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255


def exit_status(code: int, argv: list[str]) -> dict[str, Any]:
    """The Status on the error channel, as the kubelet writes it (``remotecommand``'s
    ``v4WriteStatusFunc``; the message wording is containerd's CRI streaming server's)."""
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {"metadata": {}, "status": "Failure",
            "message": f"command terminated with non-zero exit code: error executing command "
                       f"[{' '.join(argv)}], exit code {code}",
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


def _step(program: Program) -> Output | Sleep | int:
    """The program's next step, or its exit status once it has ended (a StopIteration
    cannot cross from a worker thread into an asyncio future)."""
    try:
        return next(program)
    except StopIteration as stop:
        return int(stop.value or 0)


class ExecStream:
    """One upgraded exec connection: moves bytes and runs the process's programs on the clock."""

    def __init__(self, ws: web.WebSocketResponse, process: ExecProcess, argv: list[str],
                 clock: Clock, *, tty: bool) -> None:
        self.ws = ws
        self.process = process
        self.argv = argv
        self.clock = clock
        self.tty = tty
        self.keys: asyncio.Queue[str | None] = asyncio.Queue()
        self.stdin: list[bytes] = []
        self.stdin_closed = asyncio.Event()

    async def send(self, channel: int, text: str) -> None:
        await self.ws.send_bytes(bytes([channel]) + text.encode())

    async def read_client(self) -> None:
        """Until the client hangs up: stdin (keystrokes or piped data), resize, close."""
        async for msg in self.ws:
            if msg.type != WSMsgType.BINARY or not msg.data:
                continue
            channel, payload = msg.data[0], msg.data[1:]
            if channel == STDIN:
                if self.process.interactive:
                    self.keys.put_nowait(payload.decode(errors="replace"))
                else:
                    self.stdin.append(payload)
            elif channel == CLOSE and payload[:1] == bytes([STDIN]):
                self.stdin_closed.set()
                self.keys.put_nowait(None)
        self.stdin_closed.set()

    async def run(self, program: Program) -> int:
        """Drive a shell program: output to stdout/stderr, sleeps on the simulated clock."""
        end = "\r\n" if self.tty else "\n"
        loop = asyncio.get_running_loop()
        try:
            while True:
                # Stepped off the loop: `wget` and `nslookup` block on the pod network, whose
                # answers (the registry, the app servers) come from this loop.
                with hold(self.clock):  # a program step is running: no time is skipped
                    step = await loop.run_in_executor(None, _step, program)
                if isinstance(step, int):
                    return step
                if isinstance(step, Output):
                    channel = STDERR if step.stderr and not self.tty else STDOUT
                    await self.send(channel, step.text + end)
                elif isinstance(step, Sleep):
                    await self.clock.sleep(step.seconds)
        finally:
            with contextlib.suppress(ValueError):  # still running in its thread: let it be
                program.close()

    async def session(self) -> int:
        process = self.process
        if process.interactive:
            await self.send(STDOUT, process.prompt)
            while not process.finished:
                keys = await self.keys.get()
                if keys is None:
                    return process.exit_code
                for item in process.feed(keys):
                    if isinstance(item, str):
                        await self.send(STDOUT, item)
                        continue
                    await self.run(item)
                    if not process.finished:
                        await self.send(STDOUT, process.prompt)
            return process.exit_code
        if process.reads_stdin:
            await self.stdin_closed.wait()
            return await self.run(process.program(b"".join(self.stdin).decode(errors="replace")))
        return await self.run(process.program())

    async def serve(self) -> None:
        reader = asyncio.ensure_future(self.read_client())
        main = asyncio.ensure_future(self.session())
        try:
            await asyncio.wait({reader, main}, return_when=asyncio.FIRST_COMPLETED)
            if main.done() and not main.cancelled() and main.exception() is None \
                    and not self.ws.closed:
                await self.send(ERROR, json.dumps(exit_status(main.result(), self.argv)))
                await self.ws.close()
        finally:
            for task in (main, reader):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionResetError):
                    await task
