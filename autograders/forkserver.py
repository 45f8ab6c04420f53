"""Graded kernels forked from a warm template process, once a process grades a class.

Why: each submission gets a new kernel, and a new kernel is a new Python that imports
IPython and ipykernel (about half a second of CPU) and then, in the lesson's first cells,
the official ``kubernetes`` client (about 1.2 s more: its API classes validate thousands of
methods and build hundreds of pydantic models when imported). A worker grading a class
starts that same kernel dozens of times. The fork server imports it all once; each kernel
is then a fork of it (copy-on-write, a few milliseconds) that becomes the submission's own
process before it runs anything: its own session and process group, the submission's user
(as ``Popen(user=, group=, extra_groups=[], umask=)`` would set it), working directory and
environment, and ipykernel's own start-up from there on. The same design as Python's
``multiprocessing`` "forkserver" start method and Android's zygote.

What a forked kernel could inherit, and why it does not matter here:
- Memory: the server is started with the environment a kernel gets (an empty home of its
  own, none of the grading process's variables), imports only libraries, and never sees a
  notebook, a kubeconfig or a score. Of earlier kernels it has seen only their launch
  requests: the scratch folder's path and the minimal environment each kernel is given,
  folders another submission's uid cannot enter.
- A way back: the server is reached only through a socket pair the grading process made
  (no path in the file system); a kernel closes the server's descriptors (its socket, its
  epoll set, its pipes) before it drops its privileges, so it cannot ask for another fork,
  let alone one as root.
- State computed at import time from the server's environment, or with no kernel running
  (``tempfile.tempdir``, the client's default kubeconfig path, ipykernel's parent pid,
  ipywidgets' comm targets): set again in the child, from the kernel's own environment and
  once its kernel runs.

Lifecycle: :func:`start` (a worker that will grade two or more notebooks calls it) spawns
the server beside the grading; :class:`ForkingProvisioner` asks it for each kernel and falls
back to a normal launch if it is not up. The server exits when the grading process closes
its end of the socket (it exits or dies), and each forked kernel exits when the server does,
through ipykernel's parent poller, as a normally launched kernel does with its parent.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from jupyter_client.provisioning import LocalProvisioner

# What a graded kernel imports sooner or later: ipykernel's app, and what the lessons' first
# cells import (the client's core and apps API classes, kubelab's connect and magics, the
# checks). Modules only; nothing here may start a thread or open a connection on import.
WARM_MODULES = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    # The kernel resolves its Debugger class (ipykernel.debugger: debugpy and its vendored
    # pydevd) while it starts; 0.1-0.3 s of imports per kernel when not warm.
    "ipykernel.debugger",
    "kubernetes",
    "kubernetes.client.api.core_v1_api",
    "kubernetes.client.api.apps_v1_api",
    "kubernetes.client.api.networking_v1_api",  # open_ingress (lesson 14)
    "kubernetes.client.api.discovery_v1_api",  # EndpointSlices (lesson 14)
    "kubernetes.client.api.coordination_v1_api",  # the diagrams' Lease watch (58 ms cold)
    "kubernetes.watch",
    "kubelab.connect",
    "kubelab.magics",
    "kubelab.viz.widgets",  # show_cluster and the other diagrams: ipywidgets, anywidget
    "autograders",
)

#: The kernel command a fork can replace: ``<this python> -m ipykernel_launcher <args>``.
LAUNCHER = ("-m", "ipykernel_launcher")

#: ``Popen`` arguments a fork carries out itself; any other one means a normal launch.
FORKABLE_KWARGS = frozenset({"env", "cwd", "user", "group", "extra_groups", "umask",
                             "kernel_id"})

READY = b"ready\n"


def _refresh_import_time_settings() -> None:
    """Module settings the server computed from *its* environment when it imported them."""
    import tempfile

    tempfile.tempdir = None  # gettempdir() caches TMPDIR on first use
    if "debugpy._vendored.force_pydevd" in sys.modules:
        # What importing it does to the environment (a normally started kernel has it):
        # pydevd's frame-evaluation mode off unless chosen.
        os.environ.setdefault("PYDEVD_USE_FRAME_EVAL", "NO")
    kube_config = sys.modules.get("kubernetes.config.kube_config")
    if kube_config is not None:  # load_kube_config()'s default file: $KUBECONFIG
        default = os.environ.get("KUBECONFIG", "~/.kube/config")
        kube_config.KUBE_CONFIG_DEFAULT_LOCATION = default  # type: ignore[attr-defined]
        package = sys.modules.get("kubernetes.config")
        if package is not None and hasattr(package, "KUBE_CONFIG_DEFAULT_LOCATION"):
            package.KUBE_CONFIG_DEFAULT_LOCATION = default  # type: ignore[attr-defined]


def _register_with_the_kernel() -> None:
    """What warm modules do at import when a kernel is running, done once it runs.

    ipywidgets registers its comm targets (``jupyter.widget``, ``jupyter.widget.control``)
    with the kernel it is imported in; the server imported it with no kernel around.
    """
    ipywidgets = sys.modules.get("ipywidgets")
    if ipywidgets is not None:
        ipywidgets.register_comm_target()


# --- The server (runs in its own process: python -m autograders.forkserver <fd>) -------------

class _Server:
    """Imports the warm set, then forks a kernel per request and reports each one's exit."""

    def __init__(self, control: socket.socket) -> None:
        self.control = control
        self.reports: dict[int, socket.socket] = {}  # pid -> where its exit status goes
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        self.home = os.getcwd()

    def serve(self) -> int:
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so the wakeup fd fires
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the grading process's Ctrl-C is its own
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.control, selectors.EVENT_READ, "control")
        self.selector.register(self.wake_r, selectors.EVENT_READ, "child")
        self.control.sendall(READY)
        while True:
            for key, _ in self.selector.select():
                if key.data == "child":
                    os.read(self.wake_r, 512)
                    self._reap()
                    continue
                try:
                    message, fds, _, _ = socket.recv_fds(self.control, 1 << 20, 1)
                except OSError:
                    message, fds = b"", []
                if not message:
                    return 0  # the grading process is gone
                self._fork(message, fds)

    def _reap(self) -> None:
        while self.reports:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            report = self.reports.pop(pid, None)
            if report is not None:
                with contextlib.suppress(OSError):
                    report.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
                report.close()

    def _fork(self, message: bytes, fds: list[int]) -> None:
        request = json.loads(message)
        report = socket.socket(fileno=fds[0]) if fds else None
        if threading.active_count() != 1:  # never fork a process with other threads
            self._answer({"error": "the fork server has threads"})
            if report is not None:
                report.close()
            return
        pid = os.fork()
        if pid == 0:
            _become_kernel(request, [self.control.fileno(), self.wake_r, self.wake_w,
                                     self.selector.fileno(),  # its epoll set watches control
                                     *(r.fileno() for r in self.reports.values()),
                                     *([report.fileno()] if report is not None else [])],
                           self.home)
        if report is not None:
            self.reports[pid] = report
        self._answer({"pid": pid})

    def _answer(self, answer: dict[str, Any]) -> None:
        self.control.sendall(json.dumps(answer).encode() + b"\n")


def _become_kernel(request: dict[str, Any], server_fds: list[int], server_cwd: str) -> None:
    """In the forked child: become the submission's kernel process, then run ipykernel."""
    code: int = 1
    try:
        signal.set_wakeup_fd(-1)
        for signum in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)
        for fd in server_fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        os.setsid()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        if request.get("gid") is not None:
            os.setgroups([])
            os.setresgid(request["gid"], request["gid"], request["gid"])
        if request.get("uid") is not None:
            os.setresuid(request["uid"], request["uid"], request["uid"])
        if request.get("umask") is not None:
            os.umask(request["umask"])
        os.chdir(request["cwd"] or server_cwd)
    except BaseException as exc:  # never run a kernel half set up
        os.write(2, f"kubelab fork server: cannot set up the kernel: {exc}\n".encode())
        os._exit(126)
    try:
        os.environ.clear()
        os.environ.update(request["env"])
        _refresh_import_time_settings()
        atexit._clear()
        # As ipykernel_launcher does: this directory comes back as '' (InteractiveShellApp).
        if sys.path and sys.path[0] in ("", server_cwd):
            del sys.path[0]
        import ipykernel_launcher
        from ipykernel.kernelapp import IPKernelApp

        sys.argv = [ipykernel_launcher.__file__, *request["args"]]
        app = IPKernelApp.instance()  # what IPKernelApp.launch_instance does, in two steps
        app.initialize([*request["args"], f"--IPKernelApp.parent_handle={os.getppid()}"])
        _register_with_the_kernel()
        app.start()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # the kernel's own crash, printed as Python would
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(Exception):
            atexit._run_exitfuncs()
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _main(argv: list[str]) -> int:
    control = socket.socket(fileno=int(argv[0]))
    import gc
    import importlib

    gc.disable()
    # pydevd warns on stderr at import that the debugger may miss breakpoints in frozen
    # modules; the grading process's terminal is no place for it (each kernel, given its own
    # environment, sees the variable gone).
    os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    for name in WARM_MODULES:
        importlib.import_module(name)
    gc.enable()
    gc.collect()
    gc.freeze()  # the children's collections skip the inherited modules (and their pages)
    return _Server(control).serve()


# --- The grading process's side ---------------------------------------------------------------

class ForkedKernel:
    """A forked kernel seen as ``subprocess.Popen`` is (what LocalProvisioner manages).

    It is the server's child, not ours: its exit status comes over ``report``, and signals
    go to its pid (or its process group, which LocalProvisioner prefers).
    """

    stdin = stdout = stderr = None

    def __init__(self, pid: int, report: socket.socket) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._report = report

    def poll(self) -> int | None:
        if self.returncode is None:
            self._report.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                self._read()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self._report.setblocking(True)
            self._report.settimeout(timeout)
            try:
                self._read()
            except TimeoutError:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout or 0) from None
        assert self.returncode is not None
        return self.returncode

    def _read(self) -> None:
        data = b""
        while not data.endswith(b"\n"):
            chunk = self._report.recv(64)
            if not chunk:  # the server died before reporting: its kernel must not outlive it
                with contextlib.suppress(OSError):
                    os.kill(self.pid, signal.SIGKILL)
                self.returncode = -signal.SIGKILL
                break
            data += chunk
        else:
            self.returncode = int(data)
        self._report.close()

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class ForkServer:
    """The grading process's handle on its fork server."""

    def __init__(self, env: dict[str, str], home: Path) -> None:
        ours, theirs = socket.socketpair()
        self._lock = threading.Lock()
        self._control = ours
        self._ready = False
        self.process = subprocess.Popen(
            [sys.executable, "-m", "autograders.forkserver", str(theirs.fileno())],
            pass_fds=[theirs.fileno()], env=env, cwd=str(home), stdin=subprocess.DEVNULL)
        theirs.close()

    def ready(self, timeout: float) -> bool:
        """Whether the server has imported its modules (waiting up to ``timeout`` s)."""
        with self._lock:
            if not self._ready and self.process.poll() is None:
                self._control.settimeout(timeout)
                with contextlib.suppress(OSError):
                    self._ready = self._control.recv(len(READY)) == READY
            return self._ready and self.process.poll() is None

    def fork(self, args: list[str], env: dict[str, str], cwd: str | None, uid: int | None,
             gid: int | None, umask: int | None) -> ForkedKernel:
        ours, theirs = socket.socketpair()
        request = {"args": args, "env": env, "cwd": cwd, "uid": uid, "gid": gid,
                   "umask": umask}
        with self._lock:
            self._control.settimeout(30)
            try:
                socket.send_fds(self._control, [json.dumps(request).encode()],
                                [theirs.fileno()])
                answer = b""
                while not answer.endswith(b"\n"):
                    chunk = self._control.recv(4096)
                    if not chunk:
                        raise OSError("the fork server exited")
                    answer += chunk
            except OSError:
                self._ready = False
                ours.close()
                raise
            finally:
                theirs.close()
        reply = json.loads(answer)
        if "pid" not in reply:
            ours.close()
            raise OSError(reply.get("error", "the fork server refused"))
        return ForkedKernel(int(reply["pid"]), ours)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._control.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


_server: ForkServer | None = None
_server_home: Any = None
#: Seconds a launch waits for a started server to finish importing (it is started about as
#: long before the first kernel as it takes to warm; a slower one means a normal launch).
READY_WAIT = 30.0


def start() -> ForkServer:
    """Start this process's fork server (once); kernels launched from now on are forks."""
    global _server, _server_home
    if _server is None:
        import tempfile

        from autograders.outside import kernel_env

        _server_home = tempfile.TemporaryDirectory(prefix="kubelab-forkserver-")
        home = Path(_server_home.name)
        env = kernel_env(home, home / "kubeconfig", None)
        env.pop("KUBELAB_CONTEXT", None)
        _server = ForkServer(env, home)
        atexit.register(stop)
    return _server


def stop() -> None:
    """Stop this process's fork server, if one runs."""
    global _server, _server_home
    if _server is not None:
        _server.close()
        _server = None
    if _server_home is not None:
        _server_home.cleanup()
        _server_home = None


def running() -> ForkServer | None:
    return _server


class ForkingProvisioner(LocalProvisioner):  # type: ignore[misc]
    """jupyter_client's local provisioner, launching the python3 kernel as a fork when this
    process has a fork server up (:func:`start`); a normal launch otherwise."""

    forked: bool = False

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        server = running()
        forkable = (server is not None and len(cmd) >= 3 and tuple(cmd[1:3]) == LAUNCHER
                    and os.path.realpath(cmd[0]) == os.path.realpath(sys.executable)
                    and set(kwargs) <= FORKABLE_KWARGS
                    and not kwargs.get("extra_groups"))
        if server is not None and forkable:
            import asyncio

            if await asyncio.to_thread(server.ready, READY_WAIT):
                env = dict(kwargs.get("env") or os.environ)
                env["JPY_PARENT_PID"] = str(server.process.pid)
                try:
                    process = server.fork(list(cmd[3:]), env, kwargs.get("cwd"),
                                          kwargs.get("user"), kwargs.get("group"),
                                          kwargs.get("umask"))
                except OSError:
                    process = None
                if process is not None:
                    self.process = process  # type: ignore[assignment]  # Popen-like
                    self.pid = process.pid
                    self.pgid = process.pid  # the child starts its own session
                    self.cwd = kwargs.get("cwd")
                    self.forked = True
                    return self.connection_info
        return await super().launch_kernel(cmd, **kwargs)


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
