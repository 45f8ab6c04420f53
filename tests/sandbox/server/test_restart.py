"""After ``kill -9`` and ``kubelab sandbox start`` the sandbox comes back on the same port
with the same token and CA, so the kubeconfig and open Python clients keep working; every
start tightens the state directory to 0700 and its files to 0600."""

from __future__ import annotations

import os
import signal
import stat
from pathlib import Path

from kubernetes import client
from sandbox_support import SandboxHandle, start_sandbox

from kubelab.sandbox import daemon


def _modes(state_dir: Path) -> dict[str, int]:
    out = {".": stat.S_IMODE(state_dir.stat().st_mode)}
    for path in state_dir.rglob("*"):
        if path.is_symlink() or path.name.startswith("kubectl-cache"):
            continue
        if "kubectl-cache" in path.parts:
            continue
        out[str(path.relative_to(state_dir))] = stat.S_IMODE(path.stat().st_mode)
    return out


def _kill9(handle: SandboxHandle) -> None:
    os.kill(handle.info.pid, signal.SIGKILL)
    waited = 0.0
    while daemon.running(handle.state_dir) is not None and waited < 10:
        daemon.RealClock.blocking_sleep(0.05)
        waited += 0.05


def test_restart_after_kill_keeps_port_token_and_open_clients(fresh_sandbox: SandboxHandle
                                                               ) -> None:
    api = client.CoreV1Api(fresh_sandbox.api_client())
    api.create_namespaced_config_map("default", {"metadata": {"name": "before"}})
    kubeconfig = fresh_sandbox.kubeconfig.read_text()
    for round_ in range(2):
        port = fresh_sandbox.info.port
        assert api.read_namespaced_config_map("before", "default").metadata.name == "before"
        _kill9(fresh_sandbox)
        again = start_sandbox(fresh_sandbox.state_dir)
        assert again.info.port == port, f"round {round_}: port moved"
        assert again.info.token == fresh_sandbox.info.token
        assert fresh_sandbox.kubeconfig.read_text() == kubeconfig
        # The client made before the crash (its pooled connection is dead) still works.
        names = [n.metadata.name for n in api.list_namespace().items]
        assert "default" in names
        api.create_namespaced_config_map("default", {"metadata": {"name": f"after{round_}"}})
        fresh_sandbox.info = again.info


def test_every_start_makes_state_files_private(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    handle = start_sandbox(state_dir)
    try:
        modes = _modes(state_dir)
        assert modes["."] == 0o700
        for name in ("etcd.sqlite", "token", "kubeconfig", "sandbox.log", "server.json",
                     "port"):
            assert modes[name] == 0o600, (name, oct(modes[name]))
        assert all(m & 0o077 == 0 for m in modes.values()), modes
        handle.stop()
        # An older version (or a umask) left them readable: the next start tightens them.
        os.chmod(state_dir, 0o755)
        for name in ("etcd.sqlite", "sandbox.log", "token", "kubeconfig"):
            os.chmod(state_dir / name, 0o644)
        handle = start_sandbox(state_dir)
        modes = _modes(state_dir)
        assert modes["."] == 0o700
        assert all(m & 0o077 == 0 for m in modes.values()), {k: oct(v) for k, v in modes.items()}
        assert any(name.startswith("etcd.sqlite-") for name in modes)  # the WAL too
    finally:
        handle.stop()
