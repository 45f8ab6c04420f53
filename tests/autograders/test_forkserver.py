"""Kernels forked from the warm fork server are the kernels a normal launch gives.

Each test launches real ipykernel kernels through jupyter_client, once with
:class:`~autograders.forkserver.ForkingProvisioner` and a running server, once the normal way
(``subprocess.Popen``), and compares what the kernel itself sees: its directory,
environment, user, session, temporary folder, IPython's folder, the client's default
kubeconfig, ``sys.path`` and descriptors.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.manager import KernelManager

from autograders import forkserver
from autograders.outside import (
    Account,
    allocate_account,
    drop_kwargs,
    kernel_access,
    kernel_env,
    release_account,
)

PROBE = r'''
import json as _j, os as _o, sys as _s, tempfile as _t
import kubernetes.config.kube_config as _kc
import ipywidgets as _w  # registers its comm targets with the kernel it is imported in
_mask = _o.umask(0); _o.umask(_mask)
print("PROBE" + _j.dumps({
    "cwd": _o.getcwd(), "env": dict(_o.environ),
    "ids": [_o.getuid(), _o.geteuid(), _o.getgid(), _o.getegid(), sorted(_o.getgroups())],
    "umask": _mask, "session_leader": _o.getsid(0) == _o.getpid(),
    "group_leader": _o.getpgid(0) == _o.getpid(), "tmp": _t.gettempdir(),
    "ipython_dir": get_ipython().ipython_dir,
    "kubeconfig_default": _kc.KUBE_CONFIG_DEFAULT_LOCATION,
    "path0": _s.path[0], "argv0": _o.path.basename(_s.argv[0]),
    "stdin": _o.path.realpath("/proc/self/fd/0"),
    "comm_targets": sorted(get_ipython().kernel.comm_manager.targets),
    "pid": _o.getpid(), "ppid": _o.getppid(),
}))
'''


def _wait(predicate: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


@pytest.fixture(scope="module")
def server() -> Iterator[forkserver.ForkServer]:
    srv = forkserver.start()
    assert srv.ready(60), "the fork server did not come up"
    yield srv
    forkserver.stop()


@pytest.fixture
def home() -> Iterator[Path]:
    """A kernel's scratch folder in a directory every user may traverse."""
    path = Path(tempfile.mkdtemp(prefix="kubelab-forktest-"))
    path.chmod(0o755)
    for sub in ("tmp", ".runtime"):
        (path / sub).mkdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _launch(home: Path, forked: bool, account: Account | None) -> KernelManager:
    km = KernelManager(kernel_name="python3")
    km.transport = "ipc"
    km.ip = str(home / ".runtime" / ("fork" if forked else "popen"))
    km.connection_file = str(home / ".runtime" / f"{'fork' if forked else 'popen'}.json")
    if forked:
        km.provisioner = forkserver.ForkingProvisioner(kernel_spec=km.kernel_spec, parent=km)
    kwargs: dict[str, Any] = {"cwd": str(home),
                              "env": kernel_env(home, home / "kubeconfig", None)}
    if account is not None:
        kwargs.update(drop_kwargs(account))
        km.write_connection_file()
        os.chown(km.connection_file, account.uid, account.gid)
    km.start_kernel(**kwargs)
    assert getattr(km.provisioner, "forked", False) is forked
    return km


def _run(km: KernelManager, code: str, timeout: float = 30) -> tuple[str, dict[str, Any]]:
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=timeout)
        out: list[str] = []
        reply = kc.execute_interactive(
            code, timeout=timeout,
            output_hook=lambda m: out.append(m["content"].get("text", ""))
            if m["msg_type"] == "stream" else None)
        return "".join(out), reply["content"]
    finally:
        kc.stop_channels()


def _probe(km: KernelManager) -> dict[str, Any]:
    text, reply = _run(km, PROBE)
    assert reply["status"] == "ok", reply
    line = next(x for x in text.splitlines() if x.startswith("PROBE"))
    result: dict[str, Any] = json.loads(line[len("PROBE"):])
    return result


@pytest.mark.parametrize("drop", [False, True], ids=["same-user", "own-user"])
def test_a_forked_kernel_sees_what_a_normally_launched_one_sees(
        server: forkserver.ForkServer, home: Path, drop: bool) -> None:
    if drop and os.geteuid() != 0:
        pytest.skip("only root can start a kernel as another user")
    with kernel_access() as (can_drop, reason):
        if drop and not can_drop:
            pytest.skip(reason)
        account = allocate_account() if drop else None
        if account is not None:
            for path in [home, *home.rglob("*")]:
                os.chown(path, account.uid, account.gid)
        seen = {}
        try:
            for forked in (False, True):
                km = _launch(home, forked, account)
                try:
                    seen[forked] = _probe(km)
                finally:
                    km.shutdown_kernel(now=True)
        finally:
            if account is not None:
                release_account(account)
    normal, fork = seen[False], seen[True]
    assert fork["ppid"] == server.process.pid and normal["ppid"] == os.getpid()
    # Each kernel is told its own parent to watch; everything else is the same.
    assert fork["env"].pop("JPY_PARENT_PID") == str(server.process.pid)
    assert normal["env"].pop("JPY_PARENT_PID") == str(os.getpid())
    for key in ("pid", "ppid"):
        del fork[key], normal[key]
    # Neither kernel reads its standard input (ipykernel has a channel for input()): a
    # normal launch hands it an unused pipe, a fork /dev/null.
    assert fork.pop("stdin") == os.devnull and normal.pop("stdin").startswith(("pipe:", "/proc/"))
    assert fork == normal
    assert fork["cwd"] == str(home) and fork["tmp"] == str(home / "tmp")
    assert fork["kubeconfig_default"] == str(home / "kubeconfig")
    assert fork["session_leader"] and fork["group_leader"]
    assert "jupyter.widget.control" in fork["comm_targets"]
    if account is not None:
        assert fork["ids"] == [account.uid] * 2 + [account.gid] * 2 + [[]]
        assert fork["umask"] == 0o077


def _socket_inodes(pid: int | str) -> set[str]:
    fds = Path(f"/proc/{pid}/fd")
    links = set()
    for fd in fds.iterdir():
        try:
            links.add(os.readlink(fd))
        except OSError:
            continue
    return {link for link in links if link.startswith(("socket:", "pipe:"))}


def _epoll_sets(pid: int | str) -> int:
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            count += os.readlink(fd) == "anon_inode:[eventpoll]"
    return count


def test_a_forked_kernel_holds_none_of_the_servers_descriptors(
        server: forkserver.ForkServer, home: Path) -> None:
    epoll_sets = {}
    for forked in (False, True):
        km = _launch(home, forked, None)
        try:
            _probe(km)  # the kernel is up and serving
            assert km.provisioner is not None
            kernel_pid = km.provisioner.pid
            epoll_sets[forked] = _epoll_sets(kernel_pid)
            if forked:
                shared = _socket_inodes(server.process.pid) & _socket_inodes(kernel_pid)
                assert shared == set(), "a kernel could reach the fork server"
        finally:
            km.shutdown_kernel(now=True)
    # The server's own epoll set (it watches the server's socket) is not inherited either:
    # a forked kernel has exactly the epoll sets a normally launched one makes (zmq's).
    assert epoll_sets[True] == epoll_sets[False], epoll_sets


def test_a_forked_kernel_is_interrupted_and_its_exit_is_seen(
        server: forkserver.ForkServer, home: Path) -> None:
    km = _launch(home, True, None)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=30)
        msg_id = kc.execute("import time\ntime.sleep(60)")
        time.sleep(0.5)
        km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=10)
        assert reply["parent_header"]["msg_id"] == msg_id
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        assert km.is_alive()
        assert km.provisioner is not None
        pid = km.provisioner.pid
        os.kill(pid, signal.SIGKILL)
        assert _wait(lambda: not km.is_alive(), 5)
        process = km.provisioner.process
        assert process is not None and process.returncode == -signal.SIGKILL
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_without_a_running_server_a_kernel_is_launched_normally(home: Path) -> None:
    assert forkserver.running() is None or forkserver.stop() is None
    km = _launch(home, False, None)  # a ForkingProvisioner would report forked=True
    km.shutdown_kernel(now=True)
    km = KernelManager(kernel_name="python3")
    km.transport = "ipc"
    km.ip = str(home / ".runtime" / "fallback")
    km.provisioner = forkserver.ForkingProvisioner(kernel_spec=km.kernel_spec, parent=km)
    km.start_kernel(cwd=str(home), env=kernel_env(home, home / "kubeconfig", None))
    try:
        assert getattr(km.provisioner, "forked", None) is False
        assert _probe(km)["ppid"] == os.getpid()
    finally:
        km.shutdown_kernel(now=True)


ORPHAN = r"""
import json, os, sys, time
from pathlib import Path
from jupyter_client.manager import KernelManager
from autograders import forkserver
from autograders.outside import kernel_env
home = Path(sys.argv[1])
server = forkserver.start()
assert server.ready(60)
km = KernelManager(kernel_name="python3")
km.transport = "ipc"
km.ip = str(home / ".runtime" / "orphan")
km.provisioner = forkserver.ForkingProvisioner(kernel_spec=km.kernel_spec, parent=km)
km.start_kernel(cwd=str(home), env=kernel_env(home, home / "kubeconfig", None))
assert km.provisioner.forked
kc = km.client(); kc.start_channels(); kc.wait_for_ready(timeout=30)
print(json.dumps({"server": server.process.pid, "kernel": km.provisioner.pid}), flush=True)
os._exit(0)  # no clean-up at all: as if the grading process were killed
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_the_server_and_its_kernels_end_with_the_grading_process(home: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", ORPHAN, str(home)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    pids = json.loads(proc.stdout.strip().splitlines()[-1])
    assert _wait(lambda: not _alive(pids["server"]), 10), "the fork server outlived its parent"
    assert _wait(lambda: not _alive(pids["kernel"]), 10), "a forked kernel outlived the server"
