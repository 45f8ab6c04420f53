"""``pods/<name>/exec`` over WebSocket, from every client a learner has: the real kubectl in a
terminal (``-it``, through a pseudo-terminal), the official Python client's ``stream()``, and
a raw WebSocket that misbehaves (garbage frames, hanging up mid-command, SPDY only)."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Iterator

import aiohttp
import pexpect
import pytest
from kubernetes import client
from kubernetes.stream import stream
from sandbox_support import SandboxHandle

from kubelab.connect import kubectl_binary
from kubelab.sandbox import daemon

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "shell"},
       "spec": {"containers": [{"name": "shell", "image": "busybox:1.36",
                                "command": ["sh", "-c", "while true; do sleep 5; done"],
                                "env": [{"name": "GREETING", "value": "hello"}]}]}}
EXEC = "/api/v1/namespaces/default/pods/shell/exec"


@pytest.fixture(scope="module")
def shell_pod(sandbox: SandboxHandle) -> Iterator[SandboxHandle]:
    sandbox.kubectl("apply", "-f", "-", input=json.dumps(POD))
    sandbox.kubectl("wait", "--for=condition=Ready", "pod/shell", "--timeout=60s", timeout=90)
    yield sandbox
    sandbox.kubectl("delete", "pod", "shell", "--wait=false")


def test_kubectl_exec_it_gives_an_interactive_shell(shell_pod: SandboxHandle) -> None:
    env = {"KUBECONFIG": str(shell_pod.kubeconfig), "PATH": "/usr/bin:/bin", "TERM": "dumb"}
    cache = str(shell_pod.state_dir / "kubectl-cache")  # not ./.kube: the env has no HOME
    child = pexpect.spawn(kubectl_binary(), ["--cache-dir", cache, "exec", "-it", "shell", "--",
                                             "sh"], env=env, encoding="utf-8", timeout=20)
    try:
        child.expect_exact("/ # ")
        child.sendline("echo $GREETING from $(hostname)")
        child.expect_exact("hello from shell")
        child.expect_exact("/ # ")
        child.sendline("cd /; export COLOUR=blue")
        child.expect_exact("/ # ")
        child.sendline("echo $COLOUR")
        child.expect_exact("blue")
        child.sendline("exit 4")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert "command terminated with exit code 4" in (child.before or "")
    assert child.exitstatus == 4


def test_the_official_clients_stream_runs_commands(shell_pod: SandboxHandle) -> None:
    # _preload_content=False, then close the socket by hand: websocket-client answers the
    # server's close frame but never shuts its socket, and the official client's WSClient
    # never does either (a ResourceWarning in the client libraries, against any cluster).
    with shell_pod.api_client() as api:
        core = client.CoreV1Api(api)
        for command, stdout, stderr, code in (
                (["sh", "-c", "echo $GREETING; hostname"], "hello\nshell\n", "", 0),
                (["sh", "-c", "echo out; cat /missing; exit 5"], "out\n",
                 "cat: can't open '/missing': No such file or directory\n", 5)):
            resp = stream(core.connect_get_namespaced_pod_exec, "shell", "default",
                          command=command, stderr=True, stdin=False, stdout=True, tty=False,
                          _preload_content=False)
            try:
                resp.run_forever(timeout=10)
                assert (resp.read_stdout(), resp.read_stderr(), resp.returncode) == (
                    stdout, stderr, code)
            finally:
                resp.close()
                resp.sock.shutdown()


def _ssl(sandbox: SandboxHandle) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=daemon.ca_of(sandbox.state_dir).decode())


async def _connect(session: aiohttp.ClientSession, sandbox: SandboxHandle, query: str,
                   ) -> aiohttp.ClientWebSocketResponse:
    return await session.ws_connect(
        f"{sandbox.url}{EXEC}?{query}", protocols=("v5.channel.k8s.io",), ssl=_ssl(sandbox),
        headers={"Authorization": f"Bearer {sandbox.info.token}"})


async def _frames(ws: aiohttp.ClientWebSocketResponse) -> list[bytes]:
    frames = []
    async for msg in ws:
        if msg.type == aiohttp.WSMsgType.BINARY:
            frames.append(msg.data)
    return frames


def test_garbage_frames_are_ignored_and_the_command_still_answers(
        shell_pod: SandboxHandle) -> None:
    async def scenario() -> list[bytes]:
        async with aiohttp.ClientSession() as session:
            ws = await _connect(session, shell_pod,
                                "command=sh&stdin=true&stdout=true&stderr=true")
            await ws.send_str("not a channel frame")
            await ws.send_bytes(b"")
            await ws.send_bytes(bytes([9]) + b"unknown channel")
            await ws.send_bytes(bytes([4]) + b'{"Width": 80, "Height": 24}')
            await ws.send_bytes(bytes([0]) + b"echo still \xff here\n")
            await ws.send_bytes(bytes([255, 0]))  # v5: no more stdin
            frames = await asyncio.wait_for(_frames(ws), 10)
        await asyncio.sleep(0.25)  # aiohttp's documented grace for SSL transports to close
        return frames

    frames = asyncio.run(scenario())
    # Bytes pass through unchanged, as a real process echoes them (no UTF-8 repair).
    assert frames[0] == bytes([1]) + b"still \xff here\n"
    assert json.loads(frames[-1][1:]) == {"metadata": {}, "status": "Success"}


def test_hanging_up_mid_command_stops_it_and_the_server_carries_on(
        shell_pod: SandboxHandle) -> None:
    async def scenario() -> bytes:
        async with aiohttp.ClientSession() as session:
            ws = await _connect(session, shell_pod, "command=sh&command=-c&command="
                                "while%20true%3B%20do%20echo%20tick%3B%20sleep%201%3B%20done"
                                "&stdout=true")
            first = await asyncio.wait_for(ws.receive(), 10)
            await ws.close()
        await asyncio.sleep(0.25)  # aiohttp's documented grace for SSL transports to close
        return bytes(first.data)

    assert asyncio.run(scenario()) == bytes([1]) + b"tick\n"
    assert shell_pod.kubectl("exec", "shell", "--", "echo", "alive").stdout == "alive\n"


def test_spdy_only_clients_and_bad_requests_get_a_status_saying_why(
        shell_pod: SandboxHandle) -> None:
    status, body = shell_pod.request("POST", f"{EXEC}?command=ls&stdout=true")
    assert status == 400 and "WebSocket only" in body["message"]
    status, body = shell_pod.request("POST", f"{EXEC}?stdout=true")
    assert (status, body["message"]) == (400, "you must specify at least 1 command")
    status, body = shell_pod.request("POST", f"{EXEC}?command=ls&container=nope")
    assert (status, body["message"]) == (400, "container nope is not valid for pod shell")


def test_text_frames_are_stdin_and_an_unrequested_stream_gets_nothing(
        shell_pod: SandboxHandle) -> None:
    """The official client sends ``str`` stdin as text frames; the API server takes a frame's
    payload whatever its opcode. ``stderr=false`` means the kubelet discards stderr."""
    async def scenario() -> list[bytes]:
        async with aiohttp.ClientSession() as session:
            ws = await _connect(session, shell_pod,
                                "command=sh&stdin=true&stdout=true&stderr=false")
            await ws.send_str("\x00echo typed; echo hidden >&2; cat /missing\n")
            await ws.send_bytes(bytes([255, 0]))  # v5: no more stdin
            frames = await asyncio.wait_for(_frames(ws), 10)
        await asyncio.sleep(0.25)  # aiohttp's documented grace for SSL transports to close
        return frames

    frames = asyncio.run(scenario())
    assert [f for f in frames if f[0] in (1, 2)] == [bytes([1]) + b"typed\n"]
    assert json.loads(frames[-1][1:])["reason"] == "NonZeroExitCode"
