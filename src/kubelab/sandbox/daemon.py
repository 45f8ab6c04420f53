"""The sandbox as a background process: start, stop, status, reset, logs.

The sandbox outlives notebook kernels (several notebooks and a terminal share one cluster),
so it runs as its own process, like a kind node container. ``start`` spawns
``python -m kubelab.sandbox serve`` in a new session, waits for it to publish
``server.json`` (port, pid) and writes a kubeconfig with mode 0600 holding a ``kubelab``
context only, so it never touches the user's other contexts. State lives in a per-user
directory (``$XDG_STATE_HOME/kubelab``, or ``--state-dir``).

Security by default: the server binds 127.0.0.1 only and requires a random bearer token,
created per sandbox and stored only in files readable by the user: every start tightens the
state directory to 0700 and the files in it (datastore with its Secrets, token, kubeconfig,
log, keys) to 0600, whatever an older version or a umask left behind.

A restart keeps the port: the daemon binds the port it had before (``state/port``), so the
kubeconfig, and every client already configured from it in an open kernel, stays valid after
``kill -9`` and ``kubelab sandbox start``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kubelab.sandbox.clock import RealClock

CONTEXT = "kubelab"
_DETACHED: list[subprocess.Popen[bytes]] = []


def default_state_dir() -> Path:
    env = os.environ.get("KUBELAB_STATE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "kubelab"


@dataclass
class ServerInfo:
    pid: int
    port: int
    token: str
    state_dir: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def tighten(state_dir: Path) -> None:
    """Make ``state_dir`` 0700 and everything in it owner-only (dirs 0700, files 0600)."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(state_dir, 0o700)
    for root, dirs, files in os.walk(state_dir):
        for name in dirs:
            with contextlib.suppress(OSError):
                os.chmod(os.path.join(root, name), 0o700)
        for name in files:
            path = os.path.join(root, name)
            with contextlib.suppress(OSError):
                if not os.path.islink(path):
                    os.chmod(path, 0o600)


def token_for(state_dir: Path) -> str:
    """The sandbox's bearer token, created once per sandbox (``reset`` makes a new one)."""
    path = state_dir / "token"
    if path.exists():
        return path.read_text().strip()
    token = secrets.token_urlsafe(32)
    _write_private(path, token + "\n")
    return token


def kubeconfig_dict(port: int, token: str, ca_pem: bytes) -> dict[str, Any]:
    cluster = {"certificate-authority-data": base64.b64encode(ca_pem).decode(),
               "server": f"https://127.0.0.1:{port}"}
    return {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": CONTEXT, "cluster": cluster}],
        "users": [{"name": CONTEXT, "user": {"token": token}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": CONTEXT,
                                                   "namespace": "default"}}],
        "current-context": CONTEXT,
    }


def write_kubeconfig(path: Path, port: int, token: str, ca_pem: bytes) -> None:
    _write_private(path, yaml.safe_dump(kubeconfig_dict(port, token, ca_pem),
                                        sort_keys=False))


def ca_of(state_dir: Path) -> bytes:
    return (state_dir / "pki" / "ca.crt").read_bytes()


def merge_kubeconfig(target: Path, port: int, token: str, ca_pem: bytes) -> None:
    """Add or refresh only the ``kubelab`` cluster, user and context in ``target``."""
    data: dict[str, Any] = {}
    if target.exists():
        data = yaml.safe_load(target.read_text()) or {}
    ours = kubeconfig_dict(port, token, ca_pem)
    for section in ("clusters", "users", "contexts"):
        entries = [e for e in data.get(section) or [] if e.get("name") != CONTEXT]
        entries.extend(ours[section])
        data[section] = entries
    data.setdefault("apiVersion", "v1")
    data.setdefault("kind", "Config")
    data.setdefault("current-context", CONTEXT)
    _write_private(target, yaml.safe_dump(data, sort_keys=False))


def read_server_info(state_dir: Path) -> ServerInfo | None:
    path = state_dir / "server.json"
    try:
        data = json.loads(path.read_text())
        return ServerInfo(int(data["pid"]), int(data["port"]), token_for(state_dir), state_dir)
    except (OSError, ValueError, KeyError):
        return None


def _alive(pid: int) -> bool:
    for child in _DETACHED:
        if child.pid == pid:
            # Our own child: poll() reaps it, so a stopped daemon is not a zombie "alive".
            if child.poll() is not None:
                _DETACHED.remove(child)
                return False
            return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A daemon that exited but was not yet reaped by its new parent is a zombie: gone.
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def probe(info: ServerInfo, path: str = "/readyz", timeout: float = 1.0) -> tuple[int, str]:
    request = urllib.request.Request(f"https://127.0.0.1:{info.port}{path}",
                                     headers={"Authorization": f"Bearer {info.token}"})
    context = ssl.create_default_context(cadata=ca_of_dir(info).decode())
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
    except OSError as err:
        return 0, str(err)


def ca_of_dir(info: ServerInfo) -> bytes:
    return ca_of(info.state_dir)


def running(state_dir: Path) -> ServerInfo | None:
    info = read_server_info(state_dir)
    if info is None or not _alive(info.pid):
        return None
    return info


def start(state_dir: Path, *, nodes: int = 3, speed: float | None = None, version: str | None = None,
          timeout: float = 20.0, merge: Path | None = None,
          node_ports: bool = True, virtual_time: bool = False,
          in_memory: bool | None = None) -> ServerInfo:
    """Start the daemon (or return the running one) and write the kubeconfig.

    ``node_ports``: serve NodePort and LoadBalancer Services on ``127.0.0.1:<nodePort>``
    (private sandboxes for grading leave those host ports to the learner's sandbox).
    ``virtual_time``: skip idle time to the next timer (grading sandboxes; see
    :class:`~kubelab.sandbox.clock.VirtualClock`).
    ``in_memory``: no datastore file (default: with ``virtual_time``, since a grading
    sandbox is thrown away with its submission).
    """
    tighten(state_dir)
    existing = running(state_dir)
    if existing is not None:
        write_kubeconfig(state_dir / "kubeconfig", existing.port, existing.token,
                         ca_of(state_dir))
        return existing
    token_for(state_dir)
    if speed is None:
        speed = float(os.environ.get("KUBELAB_SPEED", "5"))
    with contextlib.suppress(FileNotFoundError):
        (state_dir / "server.json").unlink()
    previous_port = 0
    with contextlib.suppress(OSError, ValueError):
        previous_port = int((state_dir / "port").read_text())
    cmd = [sys.executable, "-m", "kubelab.sandbox", "--state-dir", str(state_dir), "serve",
           "--nodes", str(nodes), "--speed", str(speed), "--port", str(previous_port)]
    if version:
        cmd += ["--version", version]
    if not node_ports:
        cmd.append("--no-node-ports")
    if virtual_time:
        cmd.append("--virtual-time")
    if virtual_time if in_memory is None else in_memory:
        cmd.append("--in-memory")
    log_path = state_dir / "sandbox.log"
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.chmod(log_path, 0o600)
    with os.fdopen(log_fd, "ab") as log_file:
        process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log_file,
                                   stderr=subprocess.STDOUT, start_new_session=True,
                                   close_fds=True)
    # The daemon outlives this Popen object on purpose; keep a reference so Python does not
    # warn that "subprocess is still running" when the object is collected.
    _DETACHED.append(process)
    waited = 0.0
    while waited < timeout:
        info = read_server_info(state_dir)
        if info is not None and info.pid == process.pid:
            write_kubeconfig(state_dir / "kubeconfig", info.port, info.token,
                             ca_of(state_dir))
            if merge is not None:
                merge_kubeconfig(merge, info.port, info.token, ca_of(state_dir))
            return info
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the sandbox exited with code {process.returncode}:\n{tail}")
        RealClock.blocking_sleep(0.02)
        waited += 0.02
    process.kill()
    raise RuntimeError(f"the sandbox did not become ready within {timeout:.0f}s; "
                       f"see {log_path}")


def stop(state_dir: Path, timeout: float = 10.0) -> bool:
    info = running(state_dir)
    if info is None:
        return False
    os.kill(info.pid, signal.SIGTERM)
    waited = 0.0
    while _alive(info.pid) and waited < timeout:
        RealClock.blocking_sleep(0.05)
        waited += 0.05
    if _alive(info.pid):
        os.kill(info.pid, signal.SIGKILL)
    with contextlib.suppress(FileNotFoundError):
        (state_dir / "server.json").unlink()
    return True


def reset(state_dir: Path) -> None:
    """Stop and forget everything: datastore, token, logs."""
    stop(state_dir)
    if state_dir.exists():
        shutil.rmtree(state_dir)
