"""The streaming half of ``pods/<name>/exec``: the WebSocket channel protocol kubectl speaks.

Mirrors what a real ``kubectl exec`` goes through — the API server's upgrade-aware proxy and
the kubelet's remote-command server (``k8s.io/apimachinery/pkg/util/remotecommand``; the
client side is ``client-go/tools/remotecommand/websocket.go``). The client offers the
subprotocol ``v5.channel.k8s.io`` (kubectl ≥ 1.30, the Python client's ``stream()``) or
``v4.channel.k8s.io``. Every binary message starts with a channel byte: 0 stdin, 1 stdout,
2 stderr, 3 error (one JSON ``Status`` when the process ends: ``Success``, or
``NonZeroExitCode`` with the exit code as a cause, which kubectl turns into its own exit
code), 4 terminal resize, 255 close (v5 only: the client has no more stdin). A client may send its
frames as text (the Python client does for ``str`` data); the API server's WebSocket reader
takes a frame's payload whatever its opcode, and so does this one. A stream the client did not
ask for (``stderr=false``, ``stdout=false``) gets nothing: the kubelet discards that output.

Stdin is handed to the process as it arrives (``kubectl exec -i pod -- cat`` echoes each
line; ``kubectl cp`` streams a tar archive). The process runs under the CPU budget a
container's program gets from the kubelet (:data:`~kubelab.sandbox.images.shell.STEP_BUDGET`
steps per slice, then a pause of :data:`BUSY_PAUSE` real seconds, :data:`BUSY_PAUSE_LONG` once
it has not slept for a second), so ``kubectl exec pod --
sh -c 'while true; do :; done'`` cannot starve the API server; Ctrl-C on a terminal, or the
client hanging up, stops it.

SPDY, kubectl's fallback when the WebSocket upgrade fails, is not spoken: such a request gets
a Status that says so. Validation errors (no such container, pod not scheduled…) are answered
to both attempts alike, so kubectl prints them as a real cluster's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from kubelab.sandbox.clock import Clock, hold
from kubelab.sandbox.fabric import ExecProcess
from kubelab.sandbox.images.shell import STEP_BUDGET, Output, Program, Sleep, WaitInput

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
#: Real seconds between two slices of a process that did not sleep or wait for stdin.
BUSY_PAUSE = 0.05
#: ...and once it has computed without a break for :data:`BUSY_STREAK` slices (a busy
#: loop, not a short computation): the kubelet's pace for a busy container program.
BUSY_PAUSE_LONG = 0.25
BUSY_STREAK = 20
#: Simulated seconds of loop-iteration costs a slice gathers before it sleeps them.
_SLICE_SLEEP = 0.05
#: Bytes of output a slice gathers before it hands them to the client.
_SLICE_BYTES = 64 * 1024
#: What Ctrl-C on a terminal leaves the process with (128 + SIGINT).
INTERRUPTED = 130


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


@dataclass
class _Slice:
    """What one slice of a process's steps did: writes, then why it stopped."""

    writes: list[Output] = field(default_factory=list)
    sleep: float = 0.0
    #: The slice ended on one real sleep (``sleep 5``), not on loop costs or its budget.
    slept: bool = False
    wait_input: bool = False
    status: int | None = None


def _run_slice(program: Program, budget: int) -> _Slice:
    """Run at most ``budget`` steps: until the program ends, sleeps for real, waits for
    stdin, has written :data:`_SLICE_BYTES`, or spent its budget. Loop costs (sleeps under
    :data:`_SLICE_SLEEP`) are summed, not slept one by one. Runs on a worker thread (a
    StopIteration cannot cross into an asyncio future, hence the status field)."""
    done = _Slice()
    size = 0
    for _ in range(budget):
        try:
            step = next(program)
        except StopIteration as stop:
            done.status = int(stop.value or 0)
            return done
        if isinstance(step, Output):
            done.writes.append(step)
            size += len(step.text)
            if size >= _SLICE_BYTES:
                return done
        elif isinstance(step, WaitInput):
            done.wait_input = True
            return done
        elif isinstance(step, Sleep):
            done.sleep += max(0.0, step.seconds)
            if done.sleep >= _SLICE_SLEEP:
                done.slept = step.seconds >= _SLICE_SLEEP
                return done
    return done


class ExecStream:
    """One upgraded exec connection: moves bytes and runs the process's programs on the clock."""

    def __init__(self, ws: web.WebSocketResponse, process: ExecProcess, argv: list[str],
                 clock: Clock, *, tty: bool, stdout: bool = True, stderr: bool = True) -> None:
        self.ws = ws
        self.process = process
        self.argv = argv
        self.clock = clock
        self.tty = tty
        self.stdout = stdout
        self.stderr = stderr
        self.keys: asyncio.Queue[str | None] = asyncio.Queue()
        self.stdin_closed = asyncio.Event()
        #: Set when stdin data (or its end) arrives for a process waiting on it.
        self.stdin_ready = asyncio.Event()
        #: Set by Ctrl-C on a terminal while a program runs.
        self.interrupt = asyncio.Event()
        self.running = False

    async def send(self, channel: int, text: str) -> None:
        await self.ws.send_bytes(bytes([channel]) + text.encode("utf-8", "surrogateescape"))

    async def read_client(self) -> None:
        """Until the client hangs up: stdin (keystrokes or piped data), resize, close."""
        async for msg in self.ws:
            if msg.type == WSMsgType.TEXT:
                data = msg.data.encode("utf-8", "surrogateescape")
            elif msg.type == WSMsgType.BINARY:
                data = msg.data
            else:
                continue
            if not data:
                continue
            channel, payload = data[0], data[1:]
            if channel == STDIN:
                if self.tty and self.running and b"\x03" in payload:
                    self.interrupt.set()  # the terminal's line discipline sends SIGINT
                elif self.process.interactive:
                    self.keys.put_nowait(payload.decode(errors="replace"))
                else:
                    self.process.send_stdin(payload)
                self.stdin_ready.set()
            elif channel == CLOSE and payload[:1] == bytes([STDIN]):
                self._close_stdin()
        self._close_stdin()

    def _close_stdin(self) -> None:
        if not self.stdin_closed.is_set():
            self.stdin_closed.set()
            self.process.close_stdin()
            self.keys.put_nowait(None)
        self.stdin_ready.set()

    async def run(self, program: Program) -> int:
        """Drive a shell program slice by slice under the step budget: writes to
        stdout/stderr, sleeps on the simulated clock, waits for stdin."""
        loop = asyncio.get_running_loop()
        streak = 0
        self.running = True
        self.interrupt.clear()
        try:
            while True:
                if self.ws.closed:
                    # The client hung up: aiohttp marks the socket closed at once, but its
                    # reader may wait out the close handshake before it ends the session.
                    return INTERRUPTED
                if self.interrupt.is_set():
                    if self.tty:
                        await self.send(STDOUT, "^C\r\n")
                    return INTERRUPTED
                # Stepped off the loop: `wget` and `nslookup` block on the pod network, whose
                # answers (the registry, the app servers) come from this loop.
                self.stdin_ready.clear()
                with hold(self.clock):  # a program step is running: no time is skipped
                    done = await loop.run_in_executor(None, _run_slice, program, STEP_BUDGET)
                for write in done.writes:
                    await self._write(write)
                if done.status is not None:
                    return done.status
                if done.wait_input:
                    streak = 0
                    await self.stdin_ready.wait()
                elif done.slept:
                    streak = 0
                    await self._sleep(done.sleep)
                else:
                    # At most one budget of steps per tick, like a container's program: a
                    # busy loop is throttled as by its cgroup's CPU quota.
                    streak += 1
                    pause = BUSY_PAUSE if streak < BUSY_STREAK else BUSY_PAUSE_LONG
                    await self._sleep(max(done.sleep, pause * self.clock.speed))
        finally:
            self.running = False
            with contextlib.suppress(ValueError):  # still running in its thread: let it be
                program.close()

    async def _sleep(self, seconds: float) -> None:
        """Sleep on the simulated clock; Ctrl-C cuts it short."""
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        interrupted = asyncio.ensure_future(self.interrupt.wait())
        try:
            await asyncio.wait({sleeper, interrupted}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, interrupted):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _write(self, write: Output) -> None:
        data = write.data
        if self.tty:
            data = data.replace("\r\n", "\n").replace("\n", "\r\n")  # the tty's ONLCR
        channel = STDERR if write.stderr and not self.tty else STDOUT
        if not (self.stderr if channel == STDERR else self.stdout):
            return
        for start in range(0, len(data), _SLICE_BYTES):
            await self.send(channel, data[start:start + _SLICE_BYTES])

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
